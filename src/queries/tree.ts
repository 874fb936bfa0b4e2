/**
 * Browsing a customer's tree in the portal (W7): the top-most nodes a person sees, the children of
 * one of them, a name search, and a service's page with what the person may do there. The engine
 * says what is visible; the database adds names, tariffs and statuses for one page at a time.
 */
import type { Zona } from '../commands/context.ts'
import type { AccessEngine } from '../domain/engine.ts'
import type { NodeKind } from '../domain/tree.ts'
import type { Executor } from '../store/common.ts'
import type { JsonObject, ServiceStatus } from '../store/schema.ts'
import { findNode } from '../store/tree.ts'
import { badCursor, decodeCursor, encodeCursor, type PageOf } from './paging.ts'
import { noSuchNode, refusalCode, rootsOf, seeCustomer, seeNode } from './visibility.ts'

export interface TreeItem {
  id: string
  kind: NodeKind
  name: string
  /** Service type, status and tariff need node.view; a smart-watch or invoices-only grant sees the name only. */
  service_type: string | null
  status: ServiceStatus | null
  tariff: string | null
  has_children: boolean
  /** What the person may do on this node, in catalog order. */
  permissions: string[]
}

/** Nodes scanned per database round trip while searching. */
const SEARCH_CHUNK = 1000

async function itemsOf(db: Executor, engine: AccessEngine, person: string, ids: readonly string[]) {
  if (ids.length === 0) return []
  const rows = await db
    .selectFrom('nodes')
    .select(['id', 'kind', 'name', 'serviceType', 'status', 'tariff'])
    .where('id', 'in', ids)
    .execute()
  const byId = new Map(rows.map((r) => [r.id, r]))
  const items: TreeItem[] = []
  for (const id of ids) {
    const row = byId.get(id)
    if (!row) continue // in the engine but not yet committed where we read: skip, it comes next time
    const permissions = engine.permissionsOn(person, id)
    const view = permissions.includes('node.view')
    const n = engine.tree.indexOf(id)
    items.push({
      id,
      kind: row.kind,
      name: row.name,
      service_type: view ? row.serviceType : null,
      status: view ? row.status : null,
      tariff: view ? row.tariff : null,
      has_children: n >= 0 && engine.tree.children(n).length > 0,
      permissions,
    })
  }
  return items
}

/** GET /customers/:customer/roots – where the person's sight begins (their grants' scopes). */
export async function listRoots(
  zona: Zona,
  person: string,
  input: { customer: string; cursor?: string; limit: number },
): Promise<PageOf<TreeItem>> {
  const engine = zona.access.engine
  seeCustomer(engine, person, input.customer, 'params.customer')
  const roots = rootsOf(engine, person, input.customer)
  return pageOfIds(zona, engine, person, roots, input)
}

/**
 * GET /customers/:customer/tree?parent= – the children of a node the person sees; without a
 * parent, the roots. Children of a visible node are inside the same grant, so all are visible;
 * the engine is asked anyway, so a role limited to some service types stays limited here.
 */
export async function listChildren(
  zona: Zona,
  person: string,
  input: { customer: string; parent?: string; cursor?: string; limit: number },
): Promise<PageOf<TreeItem>> {
  const engine = zona.access.engine
  seeCustomer(engine, person, input.customer, 'params.customer')
  if (input.parent === undefined) return listRoots(zona, person, input)
  seeParent(engine, person, input.customer, input.parent)
  const tree = engine.tree
  const children = tree
    .children(tree.indexOf(input.parent))
    .map((c) => tree.idAt(c))
    .filter((id) => engine.permissionsOn(person, id).length > 0)
  return pageOfIds(zona, engine, person, children, input)
}

const ANY_NODE: readonly NodeKind[] = ['customer', 'account', 'service']

/** A parent node the person sees, in the customer of the URL; any other gives the same 404 as a missing one. */
function seeParent(engine: AccessEngine, person: string, customer: string, parent: string): void {
  const info = seeNode(engine, person, parent, ANY_NODE, 'query.parent')
  if (info.customer !== customer) throw noSuchNode('node', 'query.parent')
}

async function pageOfIds(
  zona: Zona,
  engine: AccessEngine,
  person: string,
  ids: readonly string[],
  input: { cursor?: string; limit: number },
): Promise<PageOf<TreeItem>> {
  const after = decodeCursor(input.cursor, ['string'])
  let start = 0
  if (after) {
    start = ids.indexOf(after[0]) + 1
    if (start === 0) throw badCursor()
  }
  const page = ids.slice(start, start + input.limit)
  const items = await itemsOf(zona.store.db, engine, person, page)
  const last = page[page.length - 1]
  return {
    items,
    next_cursor: start + input.limit < ids.length && last ? encodeCursor([last]) : null,
  }
}

/**
 * GET /customers/:customer/tree?q= – nodes whose name or id contains `q` (any case), within what
 * the person sees (under `parent` when given), in tree order. The engine yields the visible nodes
 * a chunk at a time and the database keeps those that match, so a person who sees a small subtree
 * of a large customer costs a few queries, never a scan of the customer.
 */
export async function searchTree(
  zona: Zona,
  person: string,
  input: { customer: string; q: string; parent?: string; cursor?: string; limit: number },
): Promise<PageOf<TreeItem>> {
  const engine = zona.access.engine
  seeCustomer(engine, person, input.customer, 'params.customer')
  let roots = rootsOf(engine, person, input.customer)
  if (input.parent !== undefined) {
    seeParent(engine, person, input.customer, input.parent)
    roots = [input.parent]
  }
  const tree = engine.tree
  const after = decodeCursor(input.cursor, ['string'])
  if (after && !tree.has(after[0])) throw badCursor()
  const pattern = `%${input.q.toLowerCase().replaceAll(/[\\%_]/g, '\\$&')}%`
  const found: string[] = []
  let last = after?.[0] ?? null
  let exhausted = false
  while (found.length <= input.limit && !exhausted) {
    // Positions are recomputed from the last id each round: the tree may grow between queries.
    tree.ensureIndexed()
    const from = last === null ? 0 : tree.pre(tree.indexOf(last)) + 1
    const chunk: string[] = []
    for (const r of roots) {
      const n = tree.indexOf(r)
      for (let p = Math.max(tree.pre(n), from); p < tree.end(n) && chunk.length < SEARCH_CHUNK; p++)
        chunk.push(tree.idAt(tree.nodeAtPre(p)))
      if (chunk.length >= SEARCH_CHUNK) break
    }
    if (chunk.length === 0) break
    exhausted = chunk.length < SEARCH_CHUNK
    last = chunk[chunk.length - 1] as string
    const rows = await zona.store.db
      .selectFrom('nodes')
      .select('id')
      .where('id', 'in', chunk)
      .where((eb) =>
        eb.or([eb(eb.fn('lower', ['name']), 'like', pattern), eb(eb.fn('lower', ['id']), 'like', pattern)]),
      )
      .execute()
    const hits = new Set(rows.map((r) => r.id))
    for (const id of chunk) if (hits.has(id) && engine.permissionsOn(person, id).length > 0) found.push(id)
  }
  const page = found.slice(0, input.limit)
  const items = await itemsOf(zona.store.db, engine, person, page)
  const end = page[page.length - 1]
  return { items, next_cursor: found.length > input.limit && end ? encodeCursor([end]) : null }
}

/** The things a service page offers, each with the permission it needs (DOMAIN.md W7). */
export const SERVICE_ACTIONS = [
  { action: 'order', permission: 'service.order' },
  { action: 'cancel', permission: 'service.cancel' },
  { action: 'tariff-change', permission: 'service.tariff.change' },
  { action: 'addons', permission: 'service.addons.manage' },
  { action: 'settings', permission: 'service.settings.change' },
  { action: 'block', permission: 'service.block' },
  { action: 'premium-blacklist', permission: 'service.premium.manage' },
  { action: 'offers', permission: 'service.offers.activate' },
  { action: 'smart-watch', permission: 'service.watch.activate' },
  { action: 'invoices', permission: 'billing.invoices.view' },
  { action: 'statements', permission: 'billing.statements.view' },
  { action: 'usage', permission: 'usage.stats.view' },
] as const

export interface ServiceAction {
  action: string
  permission: string
  allowed: boolean
  /** The engine's explanation: which grant allows it, or why none does. */
  reason: string
  code: string
}

export interface ServicePage {
  id: string
  customer: string
  account: string | null
  name: string
  /** Null without node.view (a smart-watch grant does not see the line's settings). */
  service_type: string | null
  status: ServiceStatus | null
  tariff: string | null
  add_ons: string[] | null
  contract_number: string | null
  attributes: JsonObject | null
  permissions: string[]
  actions: ServiceAction[]
}

/** GET /services/:id – the service and, for each action, whether the person may and why, so the UI can hide or disable it. */
export async function servicePage(zona: Zona, person: string, id: string): Promise<ServicePage> {
  const engine = zona.access.engine
  const info = seeNode(engine, person, id, ['service'], 'params.id')
  const row = await findNode(zona.store.db, id)
  if (!row) throw noSuchNode('service', 'params.id')
  const permissions = engine.permissionsOn(person, id)
  const view = permissions.includes('node.view')
  return {
    id,
    customer: info.customer,
    account: info.parent,
    name: row.name,
    service_type: view ? row.serviceType : null,
    status: view ? row.status : null,
    tariff: view ? row.tariff : null,
    add_ons: view ? row.addOns : null,
    contract_number: view ? row.contractNumber : null,
    attributes: view ? row.attributes : null,
    permissions,
    actions: SERVICE_ACTIONS.map(({ action, permission }) => {
      const x = engine.explain(person, permission, id)
      return { action, permission, allowed: x.allowed, reason: x.reason, code: refusalCode(engine, x) }
    }),
  }
}
