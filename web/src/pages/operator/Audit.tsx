/**
 * Back office: the audit log, newest first, filtered by actor, action, customer and time range
 * (the filters live in the address, so a customer's page can link to its events), paged on the
 * server, and exported with the same filters as CSV or JSON lines.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { call } from '../../api/client'
import { ErrorBox, Field, FormError, Loading, PageTitle } from '../../components/ui'
import { useI18n } from '../../i18n'
import { navigate, useLocation } from '../../router'
import { type AuditEvent, download, opApi, opFetch } from './api'
import { Pager, useCursorPages } from './parts'

const PAGE_SIZE = 50
const FILTERS = ['actor', 'action', 'customer', 'from', 'to'] as const
type Filter = (typeof FILTERS)[number]
type Filters = Partial<Record<Filter, string>>

/** datetime-local (the person's own time) ↔ the ISO instant the API takes. */
const toIso = (local: string) => (local ? new Date(local).toISOString() : '')
function toLocal(iso: string | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`
}

function filtersOf(query: URLSearchParams): Filters {
  const out: Filters = {}
  for (const f of FILTERS) {
    const v = query.get(f)
    if (v) out[f] = v
  }
  return out
}

export function AuditScreen() {
  const { t, dateTime } = useI18n()
  const { query } = useLocation()
  const filters = filtersOf(query)
  const key = FILTERS.map((f) => filters[f] ?? '').join('|')
  const pages = useCursorPages()
  const [exportError, setExportError] = useState<unknown>(null)
  const [exporting, setExporting] = useState(false)
  const events = useQuery({
    queryKey: ['operator', 'audit', key, pages.cursor ?? null],
    placeholderData: keepPreviousData,
    queryFn: () =>
      call(() =>
        opApi.GET('/api/v1/operator/audit', {
          params: {
            query: { ...filters, limit: PAGE_SIZE, ...(pages.cursor ? { cursor: pages.cursor } : {}) },
          },
        }),
      ),
  })
  const apply = (next: Filters) => {
    pages.reset()
    const qs = new URLSearchParams()
    for (const f of FILTERS) if (next[f]) qs.set(f, next[f] as string)
    const s = qs.toString()
    navigate(s ? `/operator/audit?${s}` : '/operator/audit')
  }
  const exportAs = async (format: 'csv' | 'jsonl') => {
    setExportError(null)
    setExporting(true)
    try {
      const qs = new URLSearchParams({ ...filters, format })
      const response = await opFetch(`/api/v1/operator/audit/export?${qs}`)
      await download(response, `zona-audit.${format}`)
    } catch (e) {
      setExportError(e)
    } finally {
      setExporting(false)
    }
  }
  return (
    <>
      <PageTitle sub={t('operator.audit.intro')}>{t('operator.audit.title')}</PageTitle>
      <AuditFilters key={key} filters={filters} onApply={apply} error={events.error} />
      <div className="actions op-export">
        <span>{t('operator.audit.export')}:</span>
        <button type="button" className="secondary" disabled={exporting} onClick={() => exportAs('csv')}>
          {t('operator.audit.exportCsv')}
        </button>
        <button type="button" className="secondary" disabled={exporting} onClick={() => exportAs('jsonl')}>
          {t('operator.audit.exportJsonl')}
        </button>
      </div>
      <FormError error={exportError} />
      {events.isPending ? (
        <Loading />
      ) : events.isError ? (
        <ErrorBox error={events.error} retry={() => events.refetch()} />
      ) : events.data.items.length === 0 ? (
        <p className="muted">{t('operator.audit.none')}</p>
      ) : (
        <>
          <div className="table-wrap">
            <table className="op-audit">
              <caption className="visually-hidden">{t('operator.audit.title')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('operator.audit.at')}</th>
                  <th scope="col">{t('operator.audit.actor')}</th>
                  <th scope="col">{t('operator.audit.action')}</th>
                  <th scope="col">{t('operator.audit.customer')}</th>
                  <th scope="col">{t('operator.audit.subject')}</th>
                </tr>
              </thead>
              <tbody>
                {events.data.items.map((e) => (
                  <EventRow key={e.id} event={e} at={dateTime(e.at)} />
                ))}
              </tbody>
            </table>
          </div>
          <Pager pages={pages} nextCursor={events.data.next_cursor} label={t('operator.audit.pages')} />
        </>
      )}
    </>
  )
}

function EventRow({ event: e, at }: { event: AuditEvent; at: string }) {
  const { t } = useI18n()
  const changed = e.before != null || e.after != null
  return (
    <tr>
      <td>
        <time dateTime={e.at}>{at}</time>
      </td>
      <td>
        {e.actor}
        {e.on_behalf_of ? (
          <div className="muted small">{t('operator.audit.onBehalfOf', { who: e.on_behalf_of })}</div>
        ) : null}
      </td>
      <td>
        <code>{e.action}</code>
      </td>
      <td>{e.customer_id ?? '–'}</td>
      <td>
        {[e.node_id, e.subject].filter(Boolean).join(' · ') || '–'}
        {changed ? (
          <details className="op-change">
            <summary>{t('operator.audit.details')}</summary>
            <pre>{JSON.stringify({ before: e.before ?? null, after: e.after ?? null }, null, 2)}</pre>
          </details>
        ) : null}
      </td>
    </tr>
  )
}

function AuditFilters({
  filters,
  onApply,
  error,
}: {
  filters: Filters
  onApply: (f: Filters) => void
  error: unknown
}) {
  const { t } = useI18n()
  const [actor, setActor] = useState(filters.actor ?? '')
  const [action, setAction] = useState(filters.action ?? '')
  const [customer, setCustomer] = useState(filters.customer ?? '')
  const [from, setFrom] = useState(toLocal(filters.from))
  const [to, setTo] = useState(toLocal(filters.to))
  const submit = (e: FormEvent) => {
    e.preventDefault()
    onApply({
      actor: actor.trim(),
      action: action.trim(),
      customer: customer.trim(),
      from: toIso(from),
      to: toIso(to),
    })
  }
  return (
    <form className="card op-filters" onSubmit={submit} noValidate aria-label={t('operator.audit.filters')}>
      <div className="grid">
        <Field
          label={t('operator.audit.actor')}
          hint={t('operator.audit.actorHint')}
          name="querystring.actor"
          error={error}
          value={actor}
          onChange={(e) => setActor(e.target.value)}
        />
        <Field
          label={t('operator.audit.action')}
          hint={t('operator.audit.actionHint')}
          name="querystring.action"
          error={error}
          value={action}
          onChange={(e) => setAction(e.target.value)}
        />
        <Field
          label={t('operator.audit.customer')}
          name="querystring.customer"
          error={error}
          value={customer}
          onChange={(e) => setCustomer(e.target.value)}
        />
        <Field
          label={t('operator.audit.from')}
          name="querystring.from"
          error={error}
          type="datetime-local"
          value={from}
          onChange={(e) => setFrom(e.target.value)}
        />
        <Field
          label={t('operator.audit.to')}
          name="querystring.to"
          error={error}
          type="datetime-local"
          value={to}
          onChange={(e) => setTo(e.target.value)}
        />
      </div>
      <div className="actions">
        <button type="submit">{t('operator.audit.apply')}</button>
        <button type="button" className="secondary" onClick={() => onApply({})}>
          {t('operator.audit.clear')}
        </button>
      </div>
    </form>
  )
}
