/**
 * The accounts and services I may see: my top-most nodes, each account opening into its children,
 * or a search by name, number or id. Pages come from the server a hundred at a time and only the
 * rows on screen are in the DOM, so a customer with 100 000 services scrolls like one with ten.
 */
import { useInfiniteQuery } from '@tanstack/react-query'
import { useVirtualizer } from '@tanstack/react-virtual'
import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react'
import { api, call } from '../api/client'
import { ErrorBox, PageTitle, StatusBadge } from '../components/ui'
import { type MessageKey, useI18n } from '../i18n'
import { enc, Link, navigate, useLocation } from '../router'
import type { TreeItem, TreePage } from '../session'
import { ORDER, useServiceOrders } from './Order'

const PAGE = 100
const ROW = 56

export function TreeScreen({ customer }: { customer: string }) {
  const { t } = useI18n()
  const { query } = useLocation()
  const q = query.get('q') ?? ''
  const [text, setText] = useState(q)
  useEffect(() => setText(q), [q])
  const submit = (e: FormEvent) => {
    e.preventDefault()
    const v = text.trim()
    navigate(`/c/${enc(customer)}/tree${v ? `?q=${enc(v)}` : ''}`)
  }
  return (
    <>
      <PageTitle>{t('tree.title')}</PageTitle>
      <search>
        <form className="search" onSubmit={submit}>
          <label htmlFor="tree-q" className="visually-hidden">
            {t('tree.search')}
          </label>
          <input
            id="tree-q"
            className="search-input"
            type="search"
            placeholder={t('tree.search')}
            value={text}
            maxLength={100}
            onChange={(e) => setText(e.target.value)}
          />
          <button type="submit">{t('tree.searchButton')}</button>
          {q ? (
            <button type="button" className="secondary" onClick={() => navigate(`/c/${enc(customer)}/tree`)}>
              {t('tree.clear')}
            </button>
          ) : null}
        </form>
      </search>
      {q ? (
        <SearchList key={`${customer}:${q}`} customer={customer} q={q} />
      ) : (
        <TreeList key={customer} customer={customer} />
      )}
    </>
  )
}

type OrderItem = NonNullable<ReturnType<typeof useServiceOrders>['data']>[number]

type Row =
  | { type: 'node'; item: TreeItem; depth: number }
  | { type: 'more'; key: string; depth: number; loading: boolean; error: unknown }
  // A new service ordered under the node and not yet set up by the operator's systems.
  | { type: 'ordered'; order: OrderItem; depth: number }

interface Branch {
  items: TreeItem[]
  next: string | null
  loading: boolean
  loaded: boolean
  error: unknown
}

const ROOTS = ''

function TreeList({ customer }: { customer: string }) {
  const { t } = useI18n()
  const [branches, setBranches] = useState<Map<string, Branch>>(new Map())
  const [expanded, setExpanded] = useState<Set<string>>(new Set())
  const busy = useRef(new Set<string>())
  const branchesRef = useRef(branches)
  branchesRef.current = branches

  const load = useCallback(
    async (key: string) => {
      const b = branchesRef.current.get(key)
      if (busy.current.has(key) || (b?.loaded && b.next === null)) return
      busy.current.add(key)
      const update = (f: (b: Branch) => Branch) =>
        setBranches((m) => {
          const copy = new Map(m)
          copy.set(
            key,
            f(copy.get(key) ?? { items: [], next: null, loading: false, loaded: false, error: null }),
          )
          return copy
        })
      update((x) => ({ ...x, loading: true, error: null }))
      try {
        const cursor = b?.next ?? undefined
        const page: TreePage =
          key === ROOTS
            ? await call(() =>
                api.GET('/api/v1/customers/{customer}/roots', {
                  params: { path: { customer }, query: { limit: PAGE, ...(cursor ? { cursor } : {}) } },
                }),
              )
            : await call(() =>
                api.GET('/api/v1/customers/{customer}/tree', {
                  params: {
                    path: { customer },
                    query: { parent: key, limit: PAGE, ...(cursor ? { cursor } : {}) },
                  },
                }),
              )
        update((x) => ({
          items: [...x.items, ...page.items],
          next: page.next_cursor,
          loading: false,
          loaded: true,
          error: null,
        }))
        // One top-most node (the usual case): open it, nobody wants to click first.
        if (key === ROOTS && !b && page.items.length === 1 && page.items[0]?.has_children)
          setExpanded(new Set([page.items[0].id]))
      } catch (e) {
        update((x) => ({ ...x, loading: false, error: e }))
      } finally {
        busy.current.delete(key)
      }
    },
    [customer],
  )

  useEffect(() => {
    void load(ROOTS)
  }, [load])
  useEffect(() => {
    for (const id of expanded) if (!branchesRef.current.has(id)) void load(id)
  }, [expanded, load])

  const orders = useServiceOrders(customer)
  const ordered = new Map<string, OrderItem[]>()
  for (const o of orders.data ?? [])
    if (o.status === 'pending' || o.status === 'sent')
      ordered.set(o.node, [...(ordered.get(o.node) ?? []), o])

  const rows: Row[] = []
  const walk = (key: string, depth: number) => {
    const b = branches.get(key)
    // What is on order comes first under its account: it is what the person just did.
    for (const order of ordered.get(key) ?? []) rows.push({ type: 'ordered', order, depth })
    for (const item of b?.items ?? []) {
      const withOrders = ordered.has(item.id) ? { ...item, has_children: true } : item
      rows.push({ type: 'node', item: withOrders, depth })
      if (expanded.has(item.id)) walk(item.id, depth + 1)
    }
    if (!b || b.loading || b.next !== null || b.error)
      rows.push({ type: 'more', key, depth, loading: !b || b.loading, error: b?.error ?? null })
  }
  walk(ROOTS, 0)

  const toggle = (id: string) =>
    setExpanded((s) => {
      const copy = new Set(s)
      if (copy.has(id)) copy.delete(id)
      else copy.add(id)
      return copy
    })

  const rootBranch = branches.get(ROOTS)
  if (rootBranch?.loaded && rootBranch.items.length === 0) return <p className="muted">{t('tree.empty')}</p>
  return <VirtualRows rows={rows} customer={customer} expanded={expanded} onToggle={toggle} onMore={load} />
}

function SearchList({ customer, q }: { customer: string; q: string }) {
  const { t } = useI18n()
  const search = useInfiniteQuery({
    queryKey: ['search', customer, q],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      call(() =>
        api.GET('/api/v1/customers/{customer}/tree', {
          params: {
            path: { customer },
            query: { q, limit: PAGE, ...(pageParam ? { cursor: pageParam } : {}) },
          },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  })
  if (search.isError && !search.data) return <ErrorBox error={search.error} retry={() => search.refetch()} />
  const items = search.data?.pages.flatMap((p) => p.items) ?? []
  // Results are a flat list: an account found here does not open in place.
  const rows: Row[] = items.map((item) => ({
    type: 'node',
    item: { ...item, has_children: false },
    depth: 0,
  }))
  if (search.isPending || search.hasNextPage)
    rows.push({ type: 'more', key: 'search', depth: 0, loading: search.isFetching, error: search.error })
  return (
    <>
      <p className="muted" role="status" aria-live="polite">
        {search.isPending
          ? t('app.loading')
          : items.length === 0
            ? t('tree.empty')
            : t('tree.results', { count: items.length, more: search.hasNextPage ? '+' : '' })}
      </p>
      {items.length > 0 || search.isPending ? (
        <VirtualRows
          rows={rows}
          customer={customer}
          expanded={new Set()}
          onToggle={() => {}}
          onMore={() => {
            if (!search.isFetching) void search.fetchNextPage()
          }}
        />
      ) : null}
    </>
  )
}

function VirtualRows({
  rows,
  customer,
  expanded,
  onToggle,
  onMore,
}: {
  rows: Row[]
  customer: string
  expanded: Set<string>
  onToggle: (id: string) => void
  onMore: (key: string) => void
}) {
  const { t } = useI18n()
  const scroller = useRef<HTMLDivElement>(null)
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW,
    overscan: 12,
  })
  const visible = virtualizer.getVirtualItems()
  // A "more" row scrolled into view fetches the next page: server paging without a click.
  const wanted = visible
    .map((v) => rows[v.index])
    .filter((r): r is Extract<Row, { type: 'more' }> => r?.type === 'more' && !r.loading && !r.error)
    .map((r) => r.key)
    .join('|')
  useEffect(() => {
    if (wanted) for (const key of wanted.split('|')) onMore(key)
  }, [wanted, onMore])

  return (
    <div
      ref={scroller}
      className="vlist"
      style={{ height: `min(70vh, ${Math.max(rows.length, 3) * ROW}px)` }}
      tabIndex={-1}
    >
      <ul className="vlist-inner" style={{ height: virtualizer.getTotalSize() }}>
        {visible.map((v) => {
          const row = rows[v.index] as Row
          return (
            <li
              key={
                row.type === 'node'
                  ? `${row.item.id}@${v.index}`
                  : row.type === 'ordered'
                    ? `ordered:${row.order.id}`
                    : `more:${row.key}`
              }
              className={`row row-${row.type === 'node' ? row.item.kind : row.type}`}
              style={{
                transform: `translateY(${v.start}px)`,
                height: ROW,
                paddingInlineStart: `${0.5 + row.depth * 1.25}rem`,
              }}
            >
              {row.type === 'node' ? (
                <NodeRow
                  item={row.item}
                  customer={customer}
                  open={expanded.has(row.item.id)}
                  onToggle={onToggle}
                />
              ) : row.type === 'ordered' ? (
                <OrderedRow order={row.order} />
              ) : row.error ? (
                <button type="button" className="link" onClick={() => onMore(row.key)}>
                  {t('app.retry')}
                </button>
              ) : row.loading ? (
                <span className="muted" role="status">
                  {t('app.loading')}
                </span>
              ) : (
                <button type="button" className="link" onClick={() => onMore(row.key)}>
                  {t('tree.loadMore')}
                </button>
              )}
            </li>
          )
        })}
      </ul>
    </div>
  )
}

function NodeRow({
  item,
  customer,
  open,
  onToggle,
}: {
  item: TreeItem
  customer: string
  open: boolean
  onToggle: (id: string) => void
}) {
  const { t } = useI18n()
  const base = `/c/${enc(customer)}`
  const canInvoices = item.permissions.includes('billing.invoices.view')
  const canStatements = item.permissions.includes('billing.statements.view')
  const canReview = item.permissions.includes('users.manage')
  const canOrder = item.permissions.includes(ORDER)
  const kind = t(`kind.${item.kind}` as MessageKey)
  return (
    <>
      {item.has_children ? (
        <button
          type="button"
          className="toggle"
          aria-expanded={open}
          aria-label={t(open ? 'tree.collapse' : 'tree.expand', { name: item.name })}
          onClick={() => onToggle(item.id)}
        >
          <span aria-hidden="true">{open ? '▾' : '▸'}</span>
        </button>
      ) : (
        <span className="toggle-space" aria-hidden="true" />
      )}
      <span className={`kind kind-${item.kind}`} title={kind}>
        <span className="visually-hidden">{kind}: </span>
      </span>
      <span className="row-main">
        {item.kind === 'service' ? (
          <Link to={`${base}/services/${enc(item.id)}`} className="row-name">
            {item.name}
          </Link>
        ) : item.has_children ? (
          <button
            type="button"
            className="link row-name"
            onClick={() => onToggle(item.id)}
            aria-expanded={open}
          >
            {item.name}
          </button>
        ) : (
          <span className="row-name">{item.name}</span>
        )}
        <span className="row-meta muted small">
          {[
            item.service_type ? t(`type.${item.service_type}` as MessageKey).replace(/^type\./, '') : null,
            item.tariff,
          ]
            .filter(Boolean)
            .join(' · ') || (item.kind !== 'service' ? kind : '')}
        </span>
      </span>
      <StatusBadge status={item.status} />
      {item.kind !== 'service' && (canInvoices || canStatements || canReview || canOrder) ? (
        <span className="row-links small">
          {canInvoices ? <Link to={`${base}/invoices?node=${enc(item.id)}`}>{t('nav.invoices')}</Link> : null}
          {canStatements ? (
            <Link to={`${base}/statements?node=${enc(item.id)}`}>{t('tree.statements')}</Link>
          ) : null}
          {canReview ? (
            <Link to={`${base}/access?node=${enc(item.id)}`}>{t('access.whoHasAccess')}</Link>
          ) : null}
          {canOrder ? <Link to={`${base}/order?account=${enc(item.id)}`}>{t('nav.order')}</Link> : null}
        </span>
      ) : null}
    </>
  )
}

/** A new service on order: its type and tariff, when it was ordered, and the order's status. */
function OrderedRow({ order }: { order: OrderItem }) {
  const { t, date } = useI18n()
  const type = order.payload.service_type
  const name = typeof type === 'string' ? t(`type.${type}` as MessageKey).replace(/^type\./, '') : order.kind
  const tariff = typeof order.payload.tariff === 'string' ? order.payload.tariff : null
  return (
    <>
      <span className="toggle-space" aria-hidden="true" />
      <span className="kind kind-service" title={t('kind.service')}>
        <span className="visually-hidden">{t('kind.service')}: </span>
      </span>
      <span className="row-main">
        <span className="row-name">{[name, tariff].filter(Boolean).join(' · ')}</span>
        <span className="row-meta muted small">{t('neworder.inTree', { date: date(order.created_at) })}</span>
      </span>
      <span className={`badge status-${order.status}`}>{t(`orderStatus.${order.status}` as MessageKey)}</span>
    </>
  )
}
