/**
 * The audit log (invariant I5): one event per state change, written in the same
 * transaction as the change. The database refuses to update or delete events.
 */
import type { Executor } from './common.ts'
import { json } from './common.ts'
import type { AuditEvent, JsonValue } from './schema.ts'

export interface AuditEventInput {
  /** A person id, 'operator:<name>', 'api-key:<id>' or 'system'. */
  actor: string
  onBehalfOf?: string | null
  /** Past tense, dotted: 'grant.added', 'login.deactivated'. */
  action: string
  customerId?: string | null
  nodeId?: string | null
  subject?: string | null
  /** Any JSON-able value (rows with Dates become ISO strings). */
  before?: unknown
  after?: unknown
  ip?: string | null
  at?: Date
}

/**
 * Appends one event; call it with the transaction that makes the change.
 *
 * @example
 * await insertAuditEvent(trx, { actor: personId, action: 'grant.revoked', customerId, subject: grant.id, before: grant })
 */
export async function insertAuditEvent(db: Executor, event: AuditEventInput): Promise<AuditEvent> {
  return db
    .insertInto('auditEvents')
    .values({
      actor: event.actor,
      onBehalfOf: event.onBehalfOf ?? null,
      action: event.action,
      customerId: event.customerId ?? null,
      nodeId: event.nodeId ?? null,
      subject: event.subject ?? null,
      before: event.before === undefined ? null : json(toJson(event.before)),
      after: event.after === undefined ? null : json(toJson(event.after)),
      ip: event.ip ?? null,
      at: event.at,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
}

export interface AuditFilter {
  customerId?: string
  nodeId?: string
  actor?: string
  subject?: string
  /** An exact action, or a prefix ending in '.' ('grant.' for every grant event). */
  action?: string
  from?: Date
  to?: Date
  /** Keyset pagination: events with an id below this one (newest first). */
  beforeId?: number
  limit?: number
}

/** Events newest first; page with `beforeId` = the last id of the previous page. */
export async function listAuditEvents(db: Executor, filter: AuditFilter = {}): Promise<AuditEvent[]> {
  let query = db.selectFrom('auditEvents').selectAll()
  if (filter.customerId !== undefined) query = query.where('customerId', '=', filter.customerId)
  if (filter.nodeId !== undefined) query = query.where('nodeId', '=', filter.nodeId)
  if (filter.actor !== undefined) query = query.where('actor', '=', filter.actor)
  if (filter.subject !== undefined) query = query.where('subject', '=', filter.subject)
  if (filter.action !== undefined) {
    query = filter.action.endsWith('.')
      ? query.where('action', 'like', `${filter.action.replaceAll(/[\\%_]/g, '\\$&')}%`)
      : query.where('action', '=', filter.action)
  }
  if (filter.from) query = query.where('at', '>=', filter.from)
  if (filter.to) query = query.where('at', '<', filter.to)
  if (filter.beforeId !== undefined) query = query.where('id', '<', filter.beforeId)
  return query
    .orderBy('id', 'desc')
    .limit(filter.limit ?? 100)
    .execute()
}

/** Rows carry Dates and maybe bigints; JSON gets ISO strings and numbers. */
function toJson(value: unknown): JsonValue {
  return JSON.parse(
    JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)) ?? 'null',
  ) as JsonValue
}
