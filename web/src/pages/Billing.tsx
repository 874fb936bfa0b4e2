/**
 * Invoices, detailed statements (call records) and usage statistics, each shown only where my
 * grants give it: the menu and the service page ask the engine's answers the API returns.
 */
import { useInfiniteQuery, useQuery } from '@tanstack/react-query'
import { useId } from 'react'
import { api, call } from '../api/client'
import { ErrorBox, Loading, PageTitle, Select } from '../components/ui'
import { type MessageKey, useI18n } from '../i18n'
import { enc, navigate, useLocation } from '../router'
import { rootsWith, type TreeItem } from '../session'

type On = 'accounts' | 'services'

function NodePicker({
  customer,
  screen,
  nodes,
  node,
}: {
  customer: string
  screen: string
  nodes: (TreeItem & { depth: number })[]
  node: string
}) {
  const { t } = useI18n()
  if (nodes.length < 2 && nodes.some((n) => n.id === node)) return null
  return (
    <div className="toolbar">
      <Select
        label={t('billing.of')}
        value={node}
        onChange={(e) => navigate(`/c/${enc(customer)}/${screen}?node=${enc(e.target.value)}`)}
      >
        {nodes.some((n) => n.id === node) ? null : <option value={node}>{node}</option>}
        {nodes.map((n) => (
          <option key={n.id} value={n.id}>
            {'\u00a0\u00a0'.repeat(n.depth)}
            {n.name} ({t(`kind.${n.kind}` as MessageKey)})
          </option>
        ))}
      </Select>
    </div>
  )
}

/**
 * The customer and accounts where I may see the documents: my top-most nodes and the accounts
 * under them (the first 1000 children of each, three levels deep), for the picker. Documents hang
 * on accounts, so an account is the default over the customer itself.
 */
function useBillingNodes(customer: string, roots: TreeItem[] | undefined, permission: string) {
  return useQuery({
    queryKey: ['billing-nodes', customer, permission, roots?.map((r) => r.id).join(',')],
    enabled: roots !== undefined,
    queryFn: async () => {
      const out: (TreeItem & { depth: number })[] = []
      const visit = async (item: TreeItem, depth: number) => {
        if (item.permissions.includes(permission)) out.push({ ...item, depth })
        if (item.kind === 'service' || !item.has_children || depth >= 3 || out.length > 300) return
        const page = await call(() =>
          api.GET('/api/v1/customers/{customer}/tree', {
            params: { path: { customer }, query: { parent: item.id, limit: 1000 } },
          }),
        )
        for (const child of page.items) if (child.kind === 'account') await visit(child, depth + 1)
      }
      for (const r of rootsWith(roots, permission)) await visit(r, 0)
      return out
    },
  })
}

function useTarget(customer: string, roots: TreeItem[] | undefined, permission: string) {
  const { query } = useLocation()
  const nodes = useBillingNodes(customer, roots, permission)
  const list = nodes.data ?? []
  const fallback = list.find((n) => n.kind === 'account') ?? list[0]
  const node = query.get('node') ?? fallback?.id ?? null
  const known = list.find((r) => r.id === node)
  const on: On = (query.get('on') as On | null) ?? (known?.kind === 'service' ? 'services' : 'accounts')
  return { node, on, allowed: list, loading: nodes.isPending }
}

export function InvoicesScreen({ customer, roots }: { customer: string; roots: TreeItem[] | undefined }) {
  const { t } = useI18n()
  const { node, on, allowed, loading } = useTarget(customer, roots, 'billing.invoices.view')
  return (
    <>
      <PageTitle>{t('billing.invoices')}</PageTitle>
      {loading ? (
        <Loading />
      ) : node === null ? (
        <p className="muted">{t('billing.notAllowed')}</p>
      ) : (
        <>
          <NodePicker customer={customer} screen="invoices" nodes={allowed} node={node} />
          <InvoiceTable on={on} node={node} />
        </>
      )}
    </>
  )
}

export function StatementsScreen({ customer, roots }: { customer: string; roots: TreeItem[] | undefined }) {
  const { t } = useI18n()
  const { node, on, allowed, loading } = useTarget(customer, roots, 'billing.statements.view')
  return (
    <>
      <PageTitle>{t('billing.statements')}</PageTitle>
      {loading ? (
        <Loading />
      ) : node === null ? (
        <p className="muted">{t('billing.notAllowed')}</p>
      ) : (
        <>
          <NodePicker customer={customer} screen="statements" nodes={allowed} node={node} />
          <StatementList on={on} node={node} />
        </>
      )}
    </>
  )
}

export function InvoiceTable({ on, node }: { on: On; node: string }) {
  const { t, date, money } = useI18n()
  const invoices = useInfiniteQuery({
    queryKey: ['invoices', on, node],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => {
      const params = { path: { id: node }, query: { limit: 24, ...(pageParam ? { cursor: pageParam } : {}) } }
      return on === 'accounts'
        ? call(() => api.GET('/api/v1/accounts/{id}/invoices', { params }))
        : call(() => api.GET('/api/v1/services/{id}/invoices', { params }))
    },
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  })
  if (invoices.isPending) return <Loading />
  if (invoices.isError) return <ErrorBox error={invoices.error} retry={() => invoices.refetch()} />
  const items = invoices.data.pages.flatMap((p) => p.items)
  const payments = invoices.data.pages[0]?.payments_visible ?? false
  if (items.length === 0) return <p className="muted">{t('billing.none')}</p>
  return (
    <div className="table-wrap">
      <table className="invoices">
        <caption className="visually-hidden">{t('billing.invoices')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('billing.number')}</th>
            <th scope="col">{t('billing.issued')}</th>
            <th scope="col">{t('billing.due')}</th>
            <th scope="col" className="num">
              {t('billing.amount')}
            </th>
            {payments ? <th scope="col">{t('billing.payment')}</th> : null}
          </tr>
        </thead>
        <tbody>
          {items.map((i) => (
            <tr key={i.id}>
              <th scope="row">{i.number}</th>
              <td>{date(i.issued_on)}</td>
              <td>{date(i.due_on)}</td>
              <td className="num">{money(i.amount_cents, i.currency)}</td>
              {payments ? (
                <td>
                  {i.payment ? (
                    <span className={`badge pay-${i.payment.status}`}>
                      {t(`pay.${i.payment.status}` as MessageKey)}
                    </span>
                  ) : (
                    '–'
                  )}
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
      {invoices.hasNextPage ? (
        <button
          type="button"
          className="secondary"
          disabled={invoices.isFetchingNextPage}
          onClick={() => invoices.fetchNextPage()}
        >
          {t('tree.loadMore')}
        </button>
      ) : null}
    </div>
  )
}

export function StatementList({ on, node }: { on: On; node: string }) {
  const { t } = useI18n()
  const statements = useInfiniteQuery({
    queryKey: ['statements', on, node],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => {
      const params = { path: { id: node }, query: { limit: 6, ...(pageParam ? { cursor: pageParam } : {}) } }
      return on === 'accounts'
        ? call(() => api.GET('/api/v1/accounts/{id}/statements', { params }))
        : call(() => api.GET('/api/v1/services/{id}/statements', { params }))
    },
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  })
  if (statements.isPending) return <Loading />
  if (statements.isError) return <ErrorBox error={statements.error} retry={() => statements.refetch()} />
  const items = statements.data.pages.flatMap((p) => p.items)
  if (items.length === 0)
    return (
      <p className="muted">
        {t('statements.none')} {on === 'accounts' ? t('statements.perLine') : null}
      </p>
    )
  return (
    <div className="statements">
      {items.map((s) => {
        const lines = s.lines as Record<string, unknown>[]
        const columns = [...new Set(lines.slice(0, 20).flatMap((l) => Object.keys(l)))].slice(0, 6)
        return (
          <details key={s.id} className="card">
            <summary>
              <strong>{s.period}</strong> · {s.node} · {t('statements.lines', { count: lines.length })}
            </summary>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    {columns.map((c) => (
                      <th key={c} scope="col">
                        {c}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {lines.slice(0, 50).map((l, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: call records have no id of their own
                    <tr key={i}>
                      {columns.map((c) => (
                        <td key={c}>{String(l[c] ?? '')}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
              {lines.length > 50 ? (
                <p className="muted small">{t('statements.firstOf', { count: lines.length })}</p>
              ) : null}
            </div>
          </details>
        )
      })}
      {statements.hasNextPage ? (
        <button type="button" className="secondary" onClick={() => statements.fetchNextPage()}>
          {t('tree.loadMore')}
        </button>
      ) : null}
    </div>
  )
}

/** Usage per day as a bar chart, and for server housing the traffic per IP address. */
export function UsagePanel({ service, perIp }: { service: string; perIp: boolean }) {
  const { t, number } = useI18n()
  const daily = useQuery({
    queryKey: ['usage', service, 'day'],
    queryFn: () =>
      call(() =>
        api.GET('/api/v1/services/{id}/usage', {
          params: { path: { id: service }, query: { by: 'day', limit: 1000 } },
        }),
      ),
  })
  const byIp = useQuery({
    queryKey: ['usage', service, 'ip'],
    enabled: perIp,
    queryFn: () =>
      call(() =>
        api.GET('/api/v1/services/{id}/usage', {
          params: { path: { id: service }, query: { by: 'ip', limit: 1000 } },
        }),
      ),
  })
  if (daily.isPending) return <Loading />
  if (daily.isError) return <ErrorBox error={daily.error} retry={() => daily.refetch()} />
  const metrics = [...new Set(daily.data.items.map((i) => i.metric))]
  return (
    <div>
      {metrics.length === 0 ? <p className="muted">{t('usage.none')}</p> : null}
      {metrics.map((m) => (
        <BarChart
          key={m}
          title={t('usage.chart', { metric: m, from: daily.data.from, to: daily.data.to })}
          points={daily.data.items
            .filter((i) => i.metric === m && i.day)
            .map((i) => ({ label: i.day as string, value: i.value }))}
        />
      ))}
      {perIp ? (
        <section>
          <h3>{t('usage.byIp')}</h3>
          {byIp.isPending ? (
            <Loading />
          ) : byIp.isError ? (
            <ErrorBox error={byIp.error} />
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t('usage.ip')}</th>
                    <th scope="col">{t('usage.metric')}</th>
                    <th scope="col" className="num">
                      {t('usage.value')}
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {byIp.data.items.map((i) => (
                    <tr key={`${i.ip}-${i.metric}`}>
                      <th scope="row">{i.ip ?? '–'}</th>
                      <td>{i.metric}</td>
                      <td className="num">{number(i.value)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      ) : null}
    </div>
  )
}

/** A plain SVG bar chart with a text alternative (the numbers as a hidden table would be too long: a summary). */
function BarChart({ title, points }: { title: string; points: { label: string; value: number }[] }) {
  const { number, date } = useI18n()
  const id = useId()
  const w = 720
  const h = 200
  const pad = 32
  const max = Math.max(1, ...points.map((p) => p.value))
  const bw = points.length ? (w - pad) / points.length : 0
  const total = points.reduce((s, p) => s + p.value, 0)
  const first = points[0]
  const last = points[points.length - 1]
  return (
    <figure className="chart">
      <figcaption id={id}>{title}</figcaption>
      <svg viewBox={`0 0 ${w} ${h + 24}`} role="img" aria-labelledby={id}>
        <title>{title}</title>
        <desc>
          {first && last
            ? `${date(first.label)} – ${date(last.label)}: max ${number(max)}, Σ ${number(total)}`
            : ''}
        </desc>
        <line x1={pad} y1={h} x2={w} y2={h} className="axis" />
        <text x={pad - 4} y={12} textAnchor="end" className="tick">
          {number(max)}
        </text>
        <text x={pad - 4} y={h} textAnchor="end" className="tick">
          0
        </text>
        {points.map((p, i) => {
          const bh = (p.value / max) * (h - 8)
          return (
            <rect
              key={p.label}
              x={pad + i * bw + 1}
              y={h - bh}
              width={Math.max(bw - 2, 1)}
              height={bh}
              className="bar"
            >
              <title>
                {date(p.label)}: {number(p.value)}
              </title>
            </rect>
          )
        })}
        {first ? (
          <text x={pad} y={h + 18} className="tick">
            {date(first.label)}
          </text>
        ) : null}
        {last ? (
          <text x={w} y={h + 18} textAnchor="end" className="tick">
            {date(last.label)}
          </text>
        ) : null}
      </svg>
    </figure>
  )
}
