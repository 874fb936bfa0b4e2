/**
 * A deliberately naive reference for the access engine (DOMAIN.md sections 3-6).
 *
 * Plain objects, a parent map, and for every question a walk from the node up to the root over
 * a flat array of grants. Role permissions are re-derived from `catalog.definition` (the YAML
 * data), never from the engine's compiled masks. The delegation rules are written as close to
 * the words of section 6 as possible, so a disagreement points at the engine (or at the words).
 *
 * Choices where the domain text is silent, made the way the engine's doc comments describe:
 * - the permission for rule 1a is the role's `granted_with`, or `users.manage` when it has none;
 * - granting a role the person already holds on the same node replaces that grant (a re-grant
 *   updates options and expiry);
 * - a grant whose expiry is already past cannot be given (it would count for nothing);
 * - a change must be within the actor's reach both as the grant is and as it would be; moving a
 *   grant (other role or node) is a revoke plus a grant;
 * - deactivating and reactivating people is the operator's act here, not a delegated one.
 */
import type { CatalogDefinition, RoleDefinition } from '../../src/domain/catalog.ts'

export type Kind = 'customer' | 'account' | 'service'

export interface RefNode {
  id: string
  kind: Kind
  parent: string | null
  /** Services only; undefined means not recorded. */
  serviceType?: string
}

export interface RefGrant {
  id: string
  person: string
  role: string
  scope: string
  options: string[]
  expiresAt: number | null
  grantedBy: string | null
  grantedAt: number | null
}

export interface RefDraft {
  person: string
  role: string
  scope: string
  options?: readonly string[]
  expiresAt?: number | null
}

export interface RefChange {
  role?: string
  scope?: string
  options?: readonly string[]
  expiresAt?: number | null
}

export interface RefDecision {
  allowed: boolean
  /** Which rule decided, for messages. */
  why: string
  /** Ids of the grants that applying the decision removes. */
  replaces: string[]
}

/** Planted mistakes, used only to show that the comparison with the engine catches them. */
export interface RefVariant {
  ignoreCeiling?: boolean
  ignoreExpiry?: boolean
  ignoreDeactivation?: boolean
}

const no = (why: string): RefDecision => ({ allowed: false, why, replaces: [] })

export class Reference {
  readonly nodes: Record<string, RefNode> = {}
  readonly children: Record<string, string[]> = {}
  readonly roots: string[] = []
  grants: RefGrant[] = []
  inactive: Record<string, boolean> = {}
  now: number

  constructor(
    readonly def: CatalogDefinition,
    nodes: readonly RefNode[],
    now: number,
    readonly variant: RefVariant = {},
  ) {
    for (const n of nodes) this.addNode(n)
    this.now = now
  }

  addNode(n: RefNode): void {
    this.nodes[n.id] = { ...n }
    this.children[n.id] = []
    if (n.parent === null) this.roots.push(n.id)
    else this.children[n.parent]?.push(n.id)
  }

  // ------------------------------------------------------------ the catalog, from its definition

  roleDef(id: string): RoleDefinition | undefined {
    return this.def.roles.find((r) => r.id === id)
  }

  /** role.permissions ('all' minus except, or the list) plus the permissions of the chosen options. */
  rolePermissions(roleId: string, options: readonly string[]): Set<string> {
    const r = this.roleDef(roleId)
    if (!r) return new Set()
    const out = new Set<string>()
    if (r.permissions === 'all') {
      for (const p of this.def.permissions) if (!(r.except ?? []).includes(p)) out.add(p)
    } else for (const p of r.permissions) out.add(p)
    for (const o of options) for (const p of r.options?.[o]?.permissions ?? []) out.add(p)
    return out
  }

  /**
   * What a grant gives on a node: its role's permissions, less those the catalog limits to service
   * types (limit_to_service_types) when the node is a service of another recorded type.
   */
  grantPermissionsOn(g: RefGrant, node: string): Set<string> {
    const out = this.rolePermissions(g.role, g.options)
    const limit = this.roleDef(g.role)?.limit_to_service_types
    const n = this.nodes[node]
    if (limit && n?.kind === 'service' && n.serviceType !== undefined && !limit.types.includes(n.serviceType))
      for (const p of limit.permissions) out.delete(p)
    return out
  }

  // ------------------------------------------------------------ the tree

  /** The node and its ancestors, nearest first. */
  upToRoot(node: string): string[] {
    const out: string[] = []
    for (let x: string | null = node; x !== null; x = this.nodes[x]?.parent ?? null) out.push(x)
    return out
  }

  customerOf(node: string): string {
    return this.upToRoot(node).at(-1) as string
  }

  /** Every node in tree order: roots in insertion order, then depth first, children in insertion order. */
  treeOrder(): string[] {
    const out: string[] = []
    const visit = (id: string) => {
      out.push(id)
      for (const c of this.children[id] ?? []) visit(c)
    }
    for (const r of this.roots) visit(r)
    return out
  }

  subtree(node: string): string[] {
    const out: string[] = []
    const visit = (id: string) => {
      out.push(id)
      for (const c of this.children[id] ?? []) visit(c)
    }
    visit(node)
    return out
  }

  // ------------------------------------------------------------ people and grants

  isActive(person: string): boolean {
    return this.variant.ignoreDeactivation ? true : this.inactive[person] !== true
  }

  isLive(g: RefGrant): boolean {
    if (this.variant.ignoreExpiry) return true
    return g.expiresAt === null || g.expiresAt > this.now
  }

  /** Live grants of the person whose scope is exactly this node. */
  liveGrantsAt(person: string, node: string): RefGrant[] {
    return this.grants.filter((g) => g.person === person && g.scope === node && this.isLive(g))
  }

  // ------------------------------------------------------------ questions

  check(person: string, permission: string, node: string): boolean {
    if (!this.def.permissions.includes(permission)) return false
    if (this.nodes[node] === undefined) return false
    if (!this.isActive(person)) return false
    for (const x of this.upToRoot(node)) {
      for (const g of this.liveGrantsAt(person, x)) {
        if (this.grantPermissionsOn(g, node).has(permission)) return true
      }
    }
    return false
  }

  permissionsOn(person: string, node: string): Set<string> {
    const out = new Set<string>()
    for (const p of this.def.permissions) if (this.check(person, p, node)) out.add(p)
    return out
  }

  /** Nodes of a kind where `check` says yes, in tree order. */
  list(person: string, permission: string, kind: Kind): string[] {
    return this.treeOrder().filter((n) => this.nodes[n]?.kind === kind && this.check(person, permission, n))
  }

  // ------------------------------------------------------------ delegation (section 6)

  /** 1a: the permission that manages the role (granted_with, else users.manage), on N. */
  private rule1a(actor: string, role: RoleDefinition, node: string): boolean {
    return this.check(actor, role.granted_with ?? 'users.manage', node)
  }

  /** 1b: the role is in may_grant of a role the actor holds on N or an ancestor of N. */
  private rule1b(actor: string, role: RoleDefinition, node: string): boolean {
    if (!this.isActive(actor)) return false
    for (const x of this.upToRoot(node)) {
      for (const g of this.liveGrantsAt(actor, x)) {
        if ((this.roleDef(g.role)?.may_grant ?? []).includes(role.id)) return true
      }
    }
    return false
  }

  /**
   * 1c, the ceiling: every permission the role gives (with its options) the actor has on N – and,
   * when granting (`expiresAt` given), for at least as long: each permission is held until the
   * latest expiry of the actor's live grants giving it on N, and the new grant may not outlast that.
   */
  private rule1c(
    actor: string,
    role: RoleDefinition,
    options: readonly string[],
    node: string,
    expiresAt?: number | null,
  ): boolean {
    if (this.variant.ignoreCeiling) return true
    const wanted = this.rolePermissions(role.id, options)
    for (const p of wanted) if (!this.check(actor, p, node)) return false
    if (expiresAt === undefined) return true
    let until = Number.POSITIVE_INFINITY
    for (const p of wanted) {
      let latest = Number.NEGATIVE_INFINITY
      for (const x of this.upToRoot(node))
        for (const g of this.liveGrantsAt(actor, x))
          if (this.grantPermissionsOn(g, node).has(p))
            latest = Math.max(latest, g.expiresAt ?? Number.POSITIVE_INFINITY)
      until = Math.min(until, latest)
    }
    return until === Number.POSITIVE_INFINITY || (expiresAt !== null && expiresAt <= until)
  }

  private shapeProblem(draft: RefDraft): string | undefined {
    const role = this.roleDef(draft.role)
    if (!role) return 'no such role'
    const node = this.nodes[draft.scope]
    if (!node) return 'no such node'
    if (node.kind !== role.scope) return 'wrong scope kind'
    for (const o of draft.options ?? []) if (role.options?.[o] === undefined) return 'no such option'
    return undefined
  }

  canGrant(actor: string, draft: RefDraft): RefDecision {
    const shape = this.shapeProblem(draft)
    if (shape) return no(shape)
    const role = this.roleDef(draft.role) as RoleDefinition
    const options = draft.options ?? []
    if (role.appointed_by === 'operator') return no('limited role: operator only')
    if (draft.expiresAt != null && draft.expiresAt <= this.now) return no('already expired')
    if (!this.isActive(actor)) return no('actor deactivated')
    const namesSuccessor =
      role.may_name_successor === true &&
      this.liveGrantsAt(actor, draft.scope).some((g) => g.role === role.id)
    if (!namesSuccessor) {
      if (!this.rule1a(actor, role, draft.scope)) return no('1a')
      if (!this.rule1b(actor, role, draft.scope)) return no('1b')
    }
    if (!this.rule1c(actor, role, options, draft.scope, draft.expiresAt ?? null)) return no('1c ceiling')
    // Limits. A re-grant replaces the person's own grant; a limit_per_scope 1 role replaces the holder.
    const replaces = new Set<string>()
    for (const g of this.grants)
      if (g.person === draft.person && g.role === role.id && g.scope === draft.scope) replaces.add(g.id)
    if (role.limit_per_scope === 1) {
      for (const g of this.grants) if (g.role === role.id && g.scope === draft.scope) replaces.add(g.id)
    } else if (replaces.size === 0) {
      const others = (where: string) =>
        new Set(this.grants.filter((g) => g.role === role.id && g.scope === where).map((g) => g.person)).size
      if (role.limit_per_scope !== undefined && others(draft.scope) >= role.limit_per_scope)
        return no('limit per scope')
      if (
        role.limit_per_customer !== undefined &&
        others(this.customerOf(draft.scope)) >= role.limit_per_customer
      )
        return no('limit per customer')
    }
    return { allowed: true, why: namesSuccessor ? 'successor' : 'granted', replaces: [...replaces].sort() }
  }

  canRevoke(actor: string, grantId: string): RefDecision {
    const g = this.grants.find((x) => x.id === grantId)
    if (!g) return no('no such grant')
    const role = this.roleDef(g.role) as RoleDefinition
    if (role.appointed_by === 'operator') return no('limited role: operator only')
    if (role.limit_per_scope === 1) return no('needs a successor')
    if (!this.isActive(actor)) return no('actor deactivated')
    if (!this.rule1a(actor, role, g.scope)) return no('1a')
    if (!this.rule1b(actor, role, g.scope)) return no('1b')
    if (!this.rule1c(actor, role, g.options, g.scope)) return no('1c ceiling')
    return { allowed: true, why: 'revoked', replaces: [g.id] }
  }

  canChange(actor: string, grantId: string, change: RefChange): RefDecision {
    const g = this.grants.find((x) => x.id === grantId)
    if (!g) return no('no such grant')
    const role = this.roleDef(g.role) as RoleDefinition
    if (role.appointed_by === 'operator') return no('limited role: operator only')
    const draft: RefDraft = {
      person: g.person,
      role: change.role ?? g.role,
      scope: change.scope ?? g.scope,
      options: change.options ?? g.options,
      expiresAt: change.expiresAt === undefined ? g.expiresAt : change.expiresAt,
    }
    if (draft.role !== g.role || draft.scope !== g.scope) {
      const out = this.canRevoke(actor, grantId)
      if (!out.allowed) return out
    } else {
      if (!this.isActive(actor)) return no('actor deactivated')
      if (!this.rule1a(actor, role, g.scope)) return no('1a (as it is)')
      if (!this.rule1b(actor, role, g.scope)) return no('1b (as it is)')
      if (!this.rule1c(actor, role, g.options, g.scope)) return no('1c ceiling (as it is)')
    }
    const into = this.canGrant(actor, draft)
    if (!into.allowed) return { ...into, why: `${into.why} (as it would be)` }
    return { allowed: true, why: 'changed', replaces: [...new Set([...into.replaces, g.id])].sort() }
  }

  // ------------------------------------------------------------ state changes

  apply(replaces: readonly string[], add?: RefGrant): void {
    this.grants = this.grants.filter((g) => !replaces.includes(g.id))
    if (add) this.grants.push({ ...add, options: [...add.options].sort() })
  }
}
