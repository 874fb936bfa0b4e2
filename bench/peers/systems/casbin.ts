/**
 * casbin, RBAC with domains: a grant is `g, person, role, node` (the node is the domain), a role's
 * permissions are `p, role, permission` lines. casbin has no tree, so the application walks the
 * node's ancestors and asks casbin at each one (the check is true at the first domain that allows).
 *
 * Options: a role with options switched on is its own casbin role (`account-admin+statements`),
 * whose `p` lines are the role's permissions plus those the options switch on (catalog.maskOf).
 * Lists: the application reads the person's `g` lines from casbin, keeps the grant nodes where
 * casbin allows the permission, and lists the services under them from its own tree index.
 */
import { type Enforcer, newEnforcer, newModelFromString } from 'casbin'
import type { Catalog } from '../../../src/domain/catalog.ts'
import { type CustomerSpec, nodeId, personId } from '../../generate.ts'
import type { RevokeTarget } from '../workload.ts'
import { AppTree } from './app-tree.ts'
import type { InProcessSystem } from './types.ts'

// casbin's RBAC-with-domains model, with role permissions that hold in every domain.
export const CASBIN_MODEL = `
[request_definition]
r = sub, dom, act

[policy_definition]
p = sub, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.act == p.act && g(r.sub, p.sub, r.dom)
`

/** The casbin role standing for a role with these options switched on. */
export function roleKey(role: string, options: readonly string[]): string {
  return options.length === 0 ? role : `${role}+${[...options].sort().join('+')}`
}

/** Every subset of a role's options (o2-cz roles have at most one). */
function subsets<T>(xs: readonly T[]): T[][] {
  return xs.reduce<T[][]>((acc, x) => acc.concat(acc.map((s) => [...s, x])), [[]])
}

export function casbinPolicies(catalog: Catalog): string[][] {
  const lines: string[][] = []
  for (const role of catalog.roles)
    for (const options of subsets([...role.options.keys()]))
      for (const p of catalog.permissionsOf(catalog.maskOf(role, options)))
        lines.push([roleKey(role.id, options), p])
  return lines
}

export class CasbinSystem implements InProcessSystem {
  readonly id = 'casbin'
  readonly label = 'casbin (RBAC with domains)'
  readonly versions: Record<string, string>
  private enforcer!: Enforcer
  private tree!: AppTree

  constructor(version: string) {
    this.versions = { casbin: version }
  }

  async load(spec: CustomerSpec, catalog: Catalog): Promise<void> {
    this.tree = new AppTree(spec)
    this.enforcer = await newEnforcer(newModelFromString(CASBIN_MODEL))
    await this.enforcer.addPolicies(casbinPolicies(catalog))
    const g = spec.grants.map((x) => [
      personId(spec, x.person),
      roleKey(x.role, x.options),
      nodeId(spec, x.node),
    ])
    await this.enforcer.addGroupingPolicies(g)
  }

  check(person: string, permission: string, node: string): boolean {
    for (let n: string | undefined = node; n !== undefined; n = this.tree.parentOf(n))
      if (this.enforcer.enforceSync(person, n, permission)) return true
    return false
  }

  private async grantNodes(person: string, permission: string): Promise<string[]> {
    const mine = await this.enforcer.getFilteredGroupingPolicy(0, person)
    const nodes: string[] = []
    for (const [, , node] of mine)
      if (node !== undefined && this.enforcer.enforceSync(person, node, permission)) nodes.push(node)
    return nodes
  }

  async listPage(person: string, permission: string, limit: number): Promise<string[]> {
    return this.tree.servicesUnder(await this.grantNodes(person, permission), limit)
  }

  async listAll(person: string, permission: string): Promise<string[]> {
    return this.tree.servicesUnder(await this.grantNodes(person, permission))
  }

  async revoke(t: RevokeTarget): Promise<void> {
    await this.enforcer.removeGroupingPolicy(t.person, roleKey(t.role, t.options), t.node)
  }

  async restore(t: RevokeTarget): Promise<void> {
    await this.enforcer.addGroupingPolicy(t.person, roleKey(t.role, t.options), t.node)
  }
}
