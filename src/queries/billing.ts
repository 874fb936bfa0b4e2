/**
 * Billing and usage documents in the portal (W7): invoices (billing.invoices.view, and the payment
 * status only with billing.payments.view), detailed statements / call records
 * (billing.statements.view) and usage statistics (usage.stats.view; per IP for server housing).
 * Each list is keyset-paged on its sort order.
 */
import { sql } from 'kysely'
import type { Zona } from '../commands/context.ts'
import type { NodeKind } from '../domain/tree.ts'
import { ZonaError } from '../errors.ts'
import type { StatementLine } from '../store/schema.ts'
import { decodeCursor, encodeCursor, type PageOf } from './paging.ts'
import { requireAllowed, seeNode } from './visibility.ts'

/** Accounts, and the customer itself (the top billing account in many billing systems). */
export const ACCOUNT_KINDS: readonly NodeKind[] = ['account', 'customer']
export const SERVICE_KINDS: readonly NodeKind[] = ['service']

export interface InvoiceItem {
  id: string
  number: string
  node: string
  issued_on: string
  due_on: string
  amount_cents: number
  currency: string
  /** Null without billing.payments.view. */
  payment: { status: 'paid' | 'unpaid' | 'overdue'; paid_at: string | null; reference: string | null } | null
}

export interface InvoicePage extends PageOf<InvoiceItem> {
  /** Whether the person sees payment status; the UI can say why a column is empty. */
  payments_visible: boolean
}

/** Invoices of one account or service, newest first. */
export async function listInvoices(
  zona: Zona,
  person: string,
  input: { node: string; kinds: readonly NodeKind[]; cursor?: string; limit: number },
): Promise<InvoicePage> {
  const engine = zona.access.engine
  seeNode(engine, person, input.node, input.kinds, 'params.id')
  requireAllowed(engine, person, 'billing.invoices.view', input.node)
  const payments = engine.check(person, 'billing.payments.view', input.node)
  const after = decodeCursor(input.cursor, ['string', 'string'])
  let query = zona.store.db.selectFrom('invoices').selectAll().where('nodeId', '=', input.node)
  if (after) {
    const [issuedOn, id] = after
    query = query.where((eb) =>
      eb.or([eb('issuedOn', '<', issuedOn), eb.and([eb('issuedOn', '=', issuedOn), eb('id', '>', id)])]),
    )
  }
  const rows = await query
    .orderBy('issuedOn', 'desc')
    .orderBy('id')
    .limit(input.limit + 1)
    .execute()
  const today = zona.clock().toISOString().slice(0, 10)
  const page = rows.slice(0, input.limit)
  const last = page[page.length - 1]
  return {
    payments_visible: payments,
    items: page.map((r) => ({
      id: r.id,
      number: r.number,
      node: r.nodeId,
      issued_on: r.issuedOn,
      due_on: r.dueOn,
      amount_cents: Number(r.amountCents),
      currency: r.currency,
      payment: payments
        ? {
            status: r.paidAt ? 'paid' : r.dueOn < today ? 'overdue' : 'unpaid',
            paid_at: r.paidAt ? r.paidAt.toISOString() : null,
            reference: r.paymentReference,
          }
        : null,
    })),
    next_cursor: rows.length > input.limit && last ? encodeCursor([last.issuedOn, last.id]) : null,
  }
}

export interface StatementItem {
  id: string
  node: string
  /** 'YYYY-MM' */
  period: string
  lines: StatementLine[]
}

/** Detailed statements (call records) of one account or service, newest period first. */
export async function listStatements(
  zona: Zona,
  person: string,
  input: {
    node: string
    kinds: readonly NodeKind[]
    from?: string
    to?: string
    cursor?: string
    limit: number
  },
): Promise<PageOf<StatementItem>> {
  const engine = zona.access.engine
  seeNode(engine, person, input.node, input.kinds, 'params.id')
  requireAllowed(engine, person, 'billing.statements.view', input.node)
  const after = decodeCursor(input.cursor, ['string'])
  let query = zona.store.db.selectFrom('statements').selectAll().where('nodeId', '=', input.node)
  if (input.from) query = query.where('period', '>=', input.from)
  if (input.to) query = query.where('period', '<=', input.to)
  if (after) query = query.where('period', '<', after[0])
  const rows = await query
    .orderBy('period', 'desc')
    .limit(input.limit + 1)
    .execute()
  const page = rows.slice(0, input.limit)
  const last = page[page.length - 1]
  return {
    items: page.map((r) => ({ id: r.id, node: r.nodeId, period: r.period, lines: r.lines })),
    next_cursor: rows.length > input.limit && last ? encodeCursor([last.period]) : null,
  }
}

export interface UsageItem {
  /** The day, when listed by day; null in per-IP totals. */
  day: string | null
  metric: string
  /** Per-IP statistics (server housing); null for the service as a whole. */
  ip: string | null
  value: number
}

export interface UsagePage extends PageOf<UsageItem> {
  from: string
  to: string
  by: 'day' | 'ip'
}

const DAY_MS = 86_400_000

/**
 * Usage statistics of a service between two days (default: the last 31 days). `by: 'day'` lists
 * the values as recorded; `by: 'ip'` sums each IP's values over the period (server housing traffic).
 */
export async function listUsage(
  zona: Zona,
  person: string,
  input: {
    node: string
    from?: string
    to?: string
    metric?: string
    by: 'day' | 'ip'
    cursor?: string
    limit: number
  },
): Promise<UsagePage> {
  const engine = zona.access.engine
  seeNode(engine, person, input.node, SERVICE_KINDS, 'params.id')
  requireAllowed(engine, person, 'usage.stats.view', input.node)
  const to = input.to ?? zona.clock().toISOString().slice(0, 10)
  const from = input.from ?? new Date(Date.parse(to) - 30 * DAY_MS).toISOString().slice(0, 10)
  if (from > to)
    throw new ZonaError('VALIDATION_FAILED', 'query.from is after query.to', { field: 'query.from' })
  const db = zona.store.db
  if (input.by === 'ip') {
    const after = decodeCursor(input.cursor, ['string', 'string'])
    let query = db
      .selectFrom('usageStats')
      .select(['ip', 'metric', sql<number>`cast(sum(value) as bigint)`.as('total')])
      .where('nodeId', '=', input.node)
      .where('day', '>=', from)
      .where('day', '<=', to)
      .where('ip', 'is not', null)
      .groupBy(['ip', 'metric'])
    if (input.metric) query = query.where('metric', '=', input.metric)
    if (after) {
      const [ip, metric] = after
      query = query.having((eb) =>
        eb.or([eb('ip', '>', ip), eb.and([eb('ip', '=', ip), eb('metric', '>', metric)])]),
      )
    }
    const rows = await query
      .orderBy('ip')
      .orderBy('metric')
      .limit(input.limit + 1)
      .execute()
    const page = rows.slice(0, input.limit)
    const last = page[page.length - 1]
    return {
      from,
      to,
      by: 'ip',
      items: page.map((r) => ({ day: null, metric: r.metric, ip: r.ip, value: Number(r.total) })),
      next_cursor: rows.length > input.limit && last ? encodeCursor([last.ip ?? '', last.metric]) : null,
    }
  }
  // A null IP (the service as a whole) sorts as '' so the keyset stays a plain comparison.
  const ipKey = sql<string>`coalesce(ip, '')`
  const after = decodeCursor(input.cursor, ['string', 'string', 'string'])
  let query = db
    .selectFrom('usageStats')
    .selectAll()
    .where('nodeId', '=', input.node)
    .where('day', '>=', from)
    .where('day', '<=', to)
  if (input.metric) query = query.where('metric', '=', input.metric)
  if (after) {
    const [day, metric, ip] = after
    query = query.where((eb) =>
      eb.or([
        eb('day', '>', day),
        eb.and([eb('day', '=', day), eb('metric', '>', metric)]),
        eb.and([eb('day', '=', day), eb('metric', '=', metric), eb(ipKey, '>', ip)]),
      ]),
    )
  }
  const rows = await query
    .orderBy('day')
    .orderBy('metric')
    .orderBy(ipKey)
    .limit(input.limit + 1)
    .execute()
  const page = rows.slice(0, input.limit)
  const last = page[page.length - 1]
  return {
    from,
    to,
    by: 'day',
    items: page.map((r) => ({ day: r.day, metric: r.metric, ip: r.ip, value: Number(r.value) })),
    next_cursor:
      rows.length > input.limit && last ? encodeCursor([last.day, last.metric, last.ip ?? '']) : null,
  }
}
