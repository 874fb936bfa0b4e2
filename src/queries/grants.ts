/**
 * Access review in the portal (DOMAIN.md section 6, W3): the grants a person may manage, one
 * person's access and why, and everyone who can do what on a node. What is shown is what the
 * reviewer manages (users.manage on the grant's scope), or the reviewer's own access.
 */
import type { Zona } from '../commands/context.ts'
import type { GrantView } from '../domain/decision.ts'
import type { AccessEngine } from '../domain/engine.ts'
import { ZonaError } from '../errors.ts'
import type { Executor } from '../store/common.ts'
import { findPeople } from '../store/people.ts'
import type { PersonStatus } from '../store/schema.ts'
import { decodeCursor, encodeCursor, type PageOf, pageOfArray } from './paging.ts'
import {
  explanationWithin,
  personOfOtherCustomers,
  refusalCode,
  requireAllowed,
  seeCustomer,
  seeNode,
} from './visibility.ts'

export const MANAGE = 'users.manage'

export interface PersonRef {
  id: string
  login: string | null
  display_name: string | null
  status: PersonStatus | null
}

export interface GrantItem {
  id: string
  person: PersonRef
  role: string
  scope: { id: string; kind: string; name: string | null }
  options: string[]
  expires_at: string | null
  /** Who granted it: a person (kept when they are gone, delegation rule 5) or operator:<name>. */
  granted_by: PersonRef | null
  granted_at: string | null
  /** Whether the reviewer may revoke it, and the engine's reason. */
  revoke: { allowed: boolean; code: string; reason: string }
}

/** People by id, with a placeholder for ids that are not people (operator:<name>, removed people). */
async function peopleById(db: Executor, ids: Iterable<string | null>): Promise<(id: string) => PersonRef> {
  const wanted = [...new Set([...ids].filter((x): x is string => x !== null))]
  const rows = await findPeople(db, wanted)
  const byId = new Map(rows.map((p) => [p.id, p]))
  return (id) => {
    const p = byId.get(id)
    return p
      ? { id, login: p.login, display_name: p.displayName, status: p.status }
      : { id, login: null, display_name: null, status: null }
  }
}

async function namesOf(db: Executor, ids: Iterable<string>): Promise<Map<string, string>> {
  const wanted = [...new Set(ids)]
  if (wanted.length === 0) return new Map()
  const rows = await db.selectFrom('nodes').select(['id', 'name']).where('id', 'in', wanted).execute()
  return new Map(rows.map((r) => [r.id, r.name]))
}

interface GrantFacts {
  id: string
  personId: string
  role: string
  scopeNodeId: string
  options: string[]
  expiresAt: Date | number | null
  grantedBy: string | null
  grantedAt: Date | number | null
}

async function grantItems(
  db: Executor,
  engine: AccessEngine,
  reviewer: string,
  grants: readonly GrantFacts[],
): Promise<GrantItem[]> {
  const person = await peopleById(
    db,
    grants.flatMap((g) => [g.personId, g.grantedBy]),
  )
  const names = await namesOf(
    db,
    grants.map((g) => g.scopeNodeId),
  )
  const iso = (t: Date | number | null) => (t === null ? null : new Date(t).toISOString())
  return grants.map((g) => {
    const d = engine.canRevoke(reviewer, g.id)
    return {
      id: g.id,
      person: person(g.personId),
      role: g.role,
      scope: {
        id: g.scopeNodeId,
        kind: engine.tree.info(g.scopeNodeId)?.kind ?? 'unknown',
        name: names.get(g.scopeNodeId) ?? null,
      },
      options: [...g.options],
      expires_at: iso(g.expiresAt),
      granted_by: g.grantedBy === null ? null : person(g.grantedBy),
      granted_at: iso(g.grantedAt),
      revoke: { allowed: d.allowed, code: d.code, reason: d.reason },
    }
  })
}

/** Grants scanned per round trip while filtering to those the reviewer manages. */
const GRANT_CHUNK = 500

/**
 * GET /customers/:customer/grants – every grant of the customer whose scope the reviewer holds
 * users.manage on, with who granted it, ordered by id.
 */
export async function listManagedGrants(
  zona: Zona,
  reviewer: string,
  input: { customer: string; person?: string; cursor?: string; limit: number },
): Promise<PageOf<GrantItem>> {
  const engine = zona.access.engine
  seeCustomer(engine, reviewer, input.customer, 'params.customer')
  const db = zona.store.db
  let after = decodeCursor(input.cursor, ['string'])?.[0] ?? null
  const found: GrantFacts[] = []
  for (;;) {
    let query = db.selectFrom('grants').selectAll().where('customerId', '=', input.customer)
    if (input.person !== undefined) query = query.where('personId', '=', input.person)
    if (after !== null) query = query.where('id', '>', after)
    const rows = await query.orderBy('id').limit(GRANT_CHUNK).execute()
    for (const g of rows) if (engine.check(reviewer, MANAGE, g.scopeNodeId)) found.push(g)
    if (rows.length < GRANT_CHUNK || found.length > input.limit) break
    after = (rows[rows.length - 1] as { id: string }).id
  }
  const page = found.slice(0, input.limit)
  const last = page[page.length - 1]
  return {
    items: await grantItems(db, engine, reviewer, page),
    next_cursor: found.length > input.limit && last ? encodeCursor([last.id]) : null,
  }
}

export interface PermissionVerdict {
  permission: string
  allowed: boolean
  code: string
  /** The engine's explanation: which grant allows it, or what each grant lacks. */
  reason: string
  grant: string | null
}

export interface PersonAccess {
  person: PersonRef
  customer: string
  /** The person's grants in the customer that the reviewer manages (all of them for one's own access). */
  grants: GrantItem[]
  /** With ?node=: every permission of the catalog on that node, allowed or not, and why. */
  node: { id: string; permissions: PermissionVerdict[] } | null
}

function fromView(g: GrantView): GrantFacts {
  return {
    id: g.id,
    personId: g.person,
    role: g.role,
    scopeNodeId: g.scope,
    options: g.options,
    expiresAt: g.expiresAt,
    grantedBy: g.grantedBy,
    grantedAt: g.grantedAt,
  }
}

/**
 * GET /people/:id/access?customer=&node= – a person's grants in a customer and, for a node,
 * everything they can do there and why. Needs users.manage (on the node, or on the grants shown),
 * unless it is the reviewer's own access.
 */
export async function personAccess(
  zona: Zona,
  reviewer: string,
  input: { person: string; customer: string; node?: string },
): Promise<PersonAccess> {
  const engine = zona.access.engine
  const db = zona.store.db
  seeCustomer(engine, reviewer, input.customer, 'query.customer')
  const self = input.person === reviewer
  const person = (await peopleById(db, [input.person]))(input.person)
  if (person.login === null || (!self && personOfOtherCustomers(engine, input.person, input.customer)))
    throw new ZonaError('NOT_FOUND', 'there is no person with this id', { field: 'params.id' })
  let node: PersonAccess['node'] = null
  if (input.node !== undefined) {
    const info = seeNode(engine, reviewer, input.node, ['customer', 'account', 'service'], 'query.node')
    if (info.customer !== input.customer)
      throw new ZonaError('NOT_FOUND', 'there is no node with this id', { field: 'query.node' })
    if (!self) requireAllowed(engine, reviewer, MANAGE, input.node)
    node = {
      id: input.node,
      permissions: engine.catalog.permissions.map((permission) => {
        const x = engine.explain(input.person, permission, input.node as string)
        return {
          permission,
          allowed: x.allowed,
          code: refusalCode(engine, x),
          reason: explanationWithin(engine, x, input.customer),
          grant: x.grant?.id ?? null,
        }
      }),
    }
  } else if (!self && !managesSomething(engine, reviewer, input.customer)) {
    requireAllowed(engine, reviewer, MANAGE, input.customer)
  }
  const tree = engine.tree
  const c = tree.indexOf(input.customer)
  const grants = engine
    .grantsOf(input.person)
    .filter(
      (g) =>
        tree.customerAt(tree.indexOf(g.scope)) === c && (self || engine.check(reviewer, MANAGE, g.scope)),
    )
    .map(fromView)
  return { person, customer: input.customer, grants: await grantItems(db, engine, reviewer, grants), node }
}

function managesSomething(engine: AccessEngine, reviewer: string, customer: string): boolean {
  const tree = engine.tree
  const c = tree.indexOf(customer)
  return engine
    .grantsOf(reviewer)
    .some((g) => tree.customerAt(tree.indexOf(g.scope)) === c && engine.check(reviewer, MANAGE, g.scope))
}

export interface NodeAccessItem {
  grant: GrantItem
  /** What the grant gives on the node. */
  permissions: string[]
  /** False when the grant expired or its holder is deactivated. */
  active: boolean
}

/** GET /nodes/:id/access – everyone whose grants cover the node, and what each gives there. Needs users.manage on it. */
export async function nodeAccess(
  zona: Zona,
  reviewer: string,
  input: { node: string; cursor?: string; limit: number },
): Promise<PageOf<NodeAccessItem>> {
  const engine = zona.access.engine
  seeNode(engine, reviewer, input.node, ['customer', 'account', 'service'], 'params.id')
  requireAllowed(engine, reviewer, MANAGE, input.node)
  const all = engine.accessOn(input.node)
  const page = pageOfArray(all, input.cursor, input.limit, (a) => a.grant.id)
  const items = await grantItems(
    zona.store.db,
    engine,
    reviewer,
    page.items.map((a) => fromView(a.grant)),
  )
  return {
    items: items.map((grant, i) => {
      const a = page.items[i] as (typeof all)[number]
      return { grant, permissions: a.permissions, active: a.active }
    }),
    next_cursor: page.next_cursor,
  }
}
