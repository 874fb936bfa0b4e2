/**
 * What a signed-in person may see and do, asked of the engine for every read and write of the
 * portal. A node the person holds no permission on does not exist for them: the same 404 as a
 * missing id, with a body that does not depend on the id (no existence leak, I1). A node they
 * see but may not act on gives 403 with the engine's explanation.
 */
import type { Explanation } from '../domain/decision.ts'
import type { AccessEngine } from '../domain/engine.ts'
import type { NodeInfo, NodeKind } from '../domain/tree.ts'
import { ZonaError } from '../errors.ts'

/** The 404 of a node that is missing or out of the person's sight; never names the id. */
export function noSuchNode(label: string, field: string): ZonaError {
  return new ZonaError('NOT_FOUND', `there is no ${label} with this id`, { field })
}

/**
 * The node, when the person holds any permission on it (node.view, or e.g. only invoices for an
 * accountant, only the smart-watch add-on) and it is of one of the kinds; 404 otherwise.
 */
export function seeNode(
  engine: AccessEngine,
  person: string,
  id: string,
  kinds: readonly NodeKind[],
  field: string,
): NodeInfo {
  const info = engine.tree.info(id)
  if (!info || !kinds.includes(info.kind) || engine.permissionsOn(person, id).length === 0)
    throw noSuchNode(kinds.length === 3 ? 'node' : kinds.join(' or '), field)
  return info
}

/** The customer, when the person sees at least one node of it; 404 otherwise (same body as a missing one). */
export function seeCustomer(engine: AccessEngine, person: string, customer: string, field: string): void {
  const info = engine.tree.info(customer)
  if (info?.kind !== 'customer' || rootsOf(engine, person, customer).length === 0)
    throw noSuchNode('customer', field)
}

/**
 * Whether a person belongs to other customers only: they hold grants, none of them at this
 * customer. Such an id is answered like a missing one (no existence leak across customers); a
 * person holding nothing anywhere yet belongs to no customer and may be given a first grant.
 */
export function personOfOtherCustomers(engine: AccessEngine, person: string, customer: string): boolean {
  const tree = engine.tree
  const c = tree.indexOf(customer)
  const grants = engine.grantsOf(person)
  return grants.length > 0 && !grants.some((g) => tree.customerAt(tree.indexOf(g.scope)) === c)
}

/**
 * The top-most nodes of a customer the person sees: the scopes of their grants that give anything,
 * minus those inside another such scope, in tree order. Nothing outside these subtrees is visible (I1).
 */
export function rootsOf(engine: AccessEngine, person: string, customer: string): string[] {
  const tree = engine.tree
  const c = tree.indexOf(customer)
  if (c < 0) return []
  const scopes = new Set<number>()
  for (const g of engine.grantsOf(person)) {
    const n = tree.indexOf(g.scope)
    if (n >= 0 && tree.customerAt(n) === c && engine.permissionsOn(person, g.scope).length > 0) scopes.add(n)
  }
  const inside = (n: number) => [...scopes].some((s) => s !== n && tree.isWithin(n, s))
  tree.ensureIndexed()
  return [...scopes]
    .filter((n) => !inside(n))
    .sort((a, b) => tree.pre(a) - tree.pre(b))
    .map((n) => tree.idAt(n))
}

/** A machine-readable code for a refused check: the engine's own. */
export function refusalCode(_engine: AccessEngine, x: Explanation): string {
  return x.code
}

/** The engine's verdict, or a 403 carrying its explanation and code. */
export function requireAllowed(
  engine: AccessEngine,
  person: string,
  permission: string,
  node: string,
): Explanation {
  const x = engine.explain(person, permission, node)
  if (!x.allowed)
    throw new ZonaError('FORBIDDEN', `your grants do not give ${permission} on ${node}`, {
      explanation: x.reason,
      reason: refusalCode(engine, x),
    })
  return x
}

/**
 * The engine's explanation as a reviewer of one customer may read it: when no grant covers the
 * node, the engine lists the scopes of all the person's grants, which may lie in other customers;
 * those are left out.
 */
export function explanationWithin(engine: AccessEngine, x: Explanation, customer: string): string {
  const tree = engine.tree
  const c = tree.indexOf(customer)
  const inside = (scope: string) => tree.customerAt(tree.indexOf(scope)) === c
  if (x.allowed || x.considered.some((g) => g.covers) || x.considered.every((g) => inside(g.grant.scope)))
    return x.reason
  const here = [...new Set(x.considered.map((g) => g.grant.scope).filter(inside))]
  return `no grant of ${x.person} covers ${x.node}${here.length ? ` (grants on: ${here.join(', ')})` : ''}`
}
