/**
 * Reading the audit log as operator staff: filtered pages, newest first, and the same rows as
 * a stream for export (CSV or JSON lines), read a batch at a time so an export of millions of
 * events never sits in memory.
 */
import { csvRow } from '../../import/csv.ts'
import { type AuditFilter, listAuditEvents } from '../../store/audit.ts'
import type { AuditEvent } from '../../store/schema.ts'
import type { Zona } from '../context.ts'
import { decodeCursor, pageOf } from './cursor.ts'

export interface AuditQuery {
  customer?: string | undefined
  actor?: string | undefined
  /** An exact action, or a prefix ending in '.' ('primary.' for both appointment events). */
  action?: string | undefined
  from?: Date | undefined
  to?: Date | undefined
}

function filterOf(query: AuditQuery): AuditFilter {
  const filter: AuditFilter = {}
  if (query.customer !== undefined) filter.customerId = query.customer
  if (query.actor !== undefined) filter.actor = query.actor
  if (query.action !== undefined) filter.action = query.action
  if (query.from !== undefined) filter.from = query.from
  if (query.to !== undefined) filter.to = query.to
  return filter
}

/** One page of events, newest first. */
export async function listAudit(
  zona: Zona,
  query: AuditQuery & { cursor?: string | undefined; limit: number },
): Promise<{ items: AuditEvent[]; next_cursor: string | null }> {
  const filter = filterOf(query)
  if (query.cursor) filter.beforeId = Number(decodeCursor(query.cursor, 1)[0])
  const rows = await listAuditEvents(zona.store.db, { ...filter, limit: query.limit + 1 })
  return pageOf(rows, query.limit, (e) => [Number(e.id)])
}

/** Every matching event, newest first, a batch at a time. */
export async function* auditEvents(zona: Zona, query: AuditQuery, batch = 1000): AsyncGenerator<AuditEvent> {
  const filter = filterOf(query)
  for (;;) {
    const rows = await listAuditEvents(zona.store.db, { ...filter, limit: batch })
    for (const row of rows) yield row
    if (rows.length < batch) return
    filter.beforeId = Number((rows[rows.length - 1] as AuditEvent).id)
  }
}

/** An event in the API's words (snake_case), as the list and the JSON-lines export give it. */
export function auditEventView(e: AuditEvent) {
  return {
    id: Number(e.id),
    at: e.at.toISOString(),
    actor: e.actor,
    on_behalf_of: e.onBehalfOf,
    action: e.action,
    customer_id: e.customerId,
    node_id: e.nodeId,
    subject: e.subject,
    before: e.before,
    after: e.after,
    ip: e.ip,
  }
}

export const AUDIT_CSV_COLUMNS = [
  'id',
  'at',
  'actor',
  'on_behalf_of',
  'action',
  'customer_id',
  'node_id',
  'subject',
  'before',
  'after',
  'ip',
] as const

/**
 * The export as text chunks: CSV (a header row, then one event a row, before/after as JSON
 * text) or JSON lines (one event object a line).
 */
export async function* exportAudit(
  zona: Zona,
  query: AuditQuery,
  format: 'csv' | 'jsonl',
): AsyncGenerator<string> {
  if (format === 'csv') yield csvRow(AUDIT_CSV_COLUMNS)
  let buffer = ''
  for await (const event of auditEvents(zona, query)) {
    const v = auditEventView(event)
    buffer +=
      format === 'csv'
        ? csvRow(
            AUDIT_CSV_COLUMNS.map((c) => {
              const value = v[c]
              return c === 'before' || c === 'after'
                ? value === null
                  ? null
                  : JSON.stringify(value)
                : (value as string | number | null)
            }),
          )
        : `${JSON.stringify(v)}\n`
    // Fewer, larger writes: a chunk per ~64 KiB rather than one per event.
    if (buffer.length >= 65536) {
      yield buffer
      buffer = ''
    }
  }
  if (buffer) yield buffer
}
