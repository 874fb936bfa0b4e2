/**
 * The audit log as evidence (I5, I2): replays the grant events recorded after a point through
 * the pure engine, starting from the grants as they were then, and gives back the grants it ends
 * with – which must be exactly the grants table – and every recorded change the delegation rules
 * would not have allowed at the point where it was made. Used by the race and crash suites.
 */
import type { Kysely } from 'kysely'
import type { Catalog } from '../../../src/domain/catalog.ts'
import { AccessEngine, type GrantInput } from '../../../src/domain/engine.ts'
import { CustomerTree } from '../../../src/domain/tree.ts'
import type { Database, Grant } from '../../../src/store/schema.ts'
import { loadTreeShape } from '../../../src/store/tree.ts'

export interface AuditRow {
  id: number | string
  actor: string
  action: string
  before: unknown
  after: unknown
}

export type GrantJson = Omit<Grant, 'grantedAt' | 'expiresAt'> & {
  grantedAt: string
  expiresAt: string | null
}

/** An audit event's before/after as grant rows (a single row, an array of them, or nothing). */
export const rows = (v: unknown): GrantJson[] =>
  v == null ? [] : Array.isArray(v) ? (v as GrantJson[]) : [v as GrantJson]

export const grantKey = (g: { role: string; scopeNodeId: string; options: readonly string[] }) =>
  `${g.role}@${g.scopeNodeId}${g.options.length ? `[${[...g.options].sort().join(',')}]` : ''}`

function engineInput(g: GrantJson | Grant): GrantInput {
  return {
    id: g.id,
    person: g.personId,
    role: g.role,
    scope: g.scopeNodeId,
    options: g.options,
    expiresAt: g.expiresAt ? new Date(g.expiresAt).getTime() : null,
    grantedBy: g.grantedBy,
    grantedAt: new Date(g.grantedAt).getTime(),
  }
}

/** Every grant as 'person role@scope[options]', by id. */
export async function grantsTable(db: Kysely<Database>): Promise<Map<string, string>> {
  const all = await db.selectFrom('grants').selectAll().execute()
  return new Map(all.map((g) => [g.id, `${g.personId} ${grantKey(g)}`]))
}

/** The highest audit event id so far: replay from here. */
export async function lastAuditId(db: Kysely<Database>): Promise<number> {
  const r = await db
    .selectFrom('auditEvents')
    .select((eb) => eb.fn.max('id').as('max'))
    .executeTakeFirst()
  return Number(r?.max ?? 0)
}

export async function replayAudit(
  db: Kysely<Database>,
  catalog: Catalog,
  start: Grant[],
  fromId: number,
): Promise<{ grants: Map<string, string>; refused: string[]; events: number }> {
  const tree = new CustomerTree()
  for (const n of await loadTreeShape(db)) {
    if (n.kind === 'customer') tree.addCustomer(n.id)
    else if (n.kind === 'account') tree.addAccount(n.id, n.parentId as string)
    else tree.addService(n.id, n.parentId as string, n.serviceType ?? undefined)
  }
  const engine = new AccessEngine(catalog, tree)
  const held = new Map<string, string>()
  const add = (g: GrantJson | Grant) => {
    engine.addGrant(engineInput(g))
    held.set(g.id, `${g.personId} ${grantKey(g)}`)
  }
  const remove = (id: string) => {
    engine.removeGrant(id)
    held.delete(id)
  }
  for (const g of start) add(g)
  const events = (await db
    .selectFrom('auditEvents')
    .select(['id', 'actor', 'action', 'before', 'after'])
    .where('id', '>', fromId)
    .where((eb) => eb.or([eb('action', 'like', 'grant.%'), eb('action', '=', 'contact_change.applied')]))
    .orderBy('id')
    .execute()) as AuditRow[]
  const refused: string[] = []
  for (const e of events) {
    const before = rows(e.before)
    const after = rows(e.after)[0]
    const byPerson = !e.actor.startsWith('operator:')
    const expires = (g: GrantJson) => (g.expiresAt ? new Date(g.expiresAt).getTime() : null)
    if (e.action === 'grant.added' && after) {
      const d = engine.canGrant(e.actor, {
        person: after.personId,
        role: after.role,
        scope: after.scopeNodeId,
        options: after.options,
        expiresAt: expires(after),
      })
      if (byPerson && !d.allowed) refused.push(`event ${e.id} (${e.action} by ${e.actor}): ${d.reason}`)
      for (const b of before) remove(b.id)
      add(after)
    } else if (e.action === 'grant.changed' && after) {
      const original = before[0]
      if (original && byPerson) {
        const d = engine.canChange(e.actor, original.id, {
          role: after.role,
          scope: after.scopeNodeId,
          options: after.options,
          expiresAt: expires(after),
        })
        if (!d.allowed) refused.push(`event ${e.id} (${e.action} by ${e.actor}): ${d.reason}`)
      }
      for (const b of before) remove(b.id)
      remove(after.id)
      add(after)
    } else if (e.action === 'grant.revoked') {
      for (const b of before) {
        const d = engine.canRevoke(e.actor, b.id)
        if (byPerson && !d.allowed) refused.push(`event ${e.id} (${e.action} by ${e.actor}): ${d.reason}`)
        remove(b.id)
      }
    } else if (e.action === 'contact_change.applied' && after) {
      // Both parties approved with their codes; the request was checked by the engine when made.
      for (const b of before) remove(b.id)
      add(after)
    }
  }
  return { grants: held, refused, events: events.length }
}
