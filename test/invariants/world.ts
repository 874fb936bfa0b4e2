/**
 * One generated scenario, built twice: once as the engine (CustomerTree + AccessEngine) and once
 * as the naive reference. Steps are resolved against the current state, decided by both, and
 * applied.
 *
 * Two ways to apply:
 * - `follow: 'both'` (agreement suites): each side applies its own decision and its own list of
 *   replaced grants, so any difference in decisions or in what a decision replaces shows up
 *   later as a difference in answers;
 * - `follow: 'engine'` (invariant suites): the engine decides and the reference copies the
 *   engine's grants afterwards; the reference is then only an independent oracle for reading
 *   (permissions on a node, subtrees), and the invariants judge the engine's own decisions.
 */

import { loadPreset } from '../../src/catalog/load.ts'
import type { Catalog } from '../../src/domain/catalog.ts'
import type { Decision, GrantView } from '../../src/domain/decision.ts'
import { AccessEngine, type GrantChange, type GrantDraft } from '../../src/domain/engine.ts'
import { CustomerTree } from '../../src/domain/tree.ts'
import { type OpSpec, type Scenario, T0, type TreeSpec } from './arbitraries.ts'
import {
  type Kind,
  type RefChange,
  type RefDecision,
  type RefDraft,
  Reference,
  type RefGrant,
  type RefNode,
  type RefVariant,
} from './reference.ts'

const SERVICE_TYPES: (string | undefined)[] = ['mobile', 'voip', undefined, 'housing']

export const KINDS: readonly Kind[] = ['customer', 'account', 'service']
export const UNKNOWN_PERMISSION = 'made.up'
export const UNKNOWN_NODE = 'nowhere'
export const SECOND = 1_000

export function buildNodes(spec: TreeSpec): RefNode[] {
  const nodes: RefNode[] = []
  const depth = new Map<string, number>()
  const open: string[] = [] // nodes that can take a child, oldest first
  for (let c = 0; c < spec.customers; c++) {
    const id = `c${c}`
    nodes.push({ id, kind: 'customer', parent: null })
    depth.set(id, 0)
    open.push(id)
  }
  spec.nodes.forEach((n, i) => {
    const parent = open[open.length - 1 - (n.pick % open.length)] as string
    const d = (depth.get(parent) as number) + 1
    const id = n.service ? `s${i}` : `a${i}`
    const node: RefNode = { id, kind: n.service ? 'service' : 'account', parent }
    // Service types cycle so type-limited roles (TIM's Admin Light) meet every case, unrecorded included.
    const type = SERVICE_TYPES[i % SERVICE_TYPES.length]
    if (n.service && type) node.serviceType = type
    nodes.push(node)
    depth.set(id, d)
    if (!n.service && d < 6) open.push(id)
  })
  return nodes
}

export function buildTree(nodes: readonly RefNode[]): CustomerTree {
  const tree = new CustomerTree()
  for (const n of nodes) {
    if (n.kind === 'customer') tree.addCustomer(n.id)
    else if (n.kind === 'account') tree.addAccount(n.id, n.parent as string)
    else tree.addService(n.id, n.parent as string, n.serviceType)
  }
  return tree
}

export type Action =
  | { t: 'grant'; actor: string; draft: GrantDraft }
  | { t: 'revoke'; actor: string; grant: string }
  | { t: 'change'; actor: string; grant: string; change: GrantChange }
  | { t: 'active'; person: string; active: boolean }
  | { t: 'tick'; ms: number }
  | { t: 'node'; node: RefNode }

export interface StepRecord {
  action: Action
  engine: Decision | null
  ref: RefDecision | null
  /** The grant the step created (grant, change), when it was applied. */
  created: RefGrant | null
  applied: boolean
}

export interface WorldOptions {
  follow: 'both' | 'engine'
  variant?: RefVariant
  /** Another engine (a planted mutant, to show a property can fail); the real one by default. */
  makeEngine?: EngineFactory
}

export type EngineFactory = (catalog: Catalog, tree: CustomerTree, clock: () => number) => AccessEngine

export function toRef(g: GrantView): RefGrant {
  return {
    id: g.id,
    person: g.person,
    role: g.role,
    scope: g.scope,
    options: [...g.options].sort(),
    expiresAt: g.expiresAt,
    grantedBy: g.grantedBy,
    grantedAt: g.grantedAt,
  }
}

export class World {
  readonly catalog: Catalog
  readonly nodes: RefNode[]
  readonly nodesOfKind: Record<Kind, string[]>
  readonly tree: CustomerTree
  readonly engine: AccessEngine
  readonly ref: Reference
  /** Pool of people: p0 … p(n-1), and a stranger who starts with no grants (and is unknown to the engine until granted). */
  readonly people: string[]
  readonly permissions: string[]
  now = T0
  private seq = 0

  constructor(
    readonly scenario: Scenario,
    readonly options: WorldOptions,
  ) {
    this.catalog = loadPreset(scenario.preset)
    this.nodes = buildNodes(scenario.tree)
    this.nodesOfKind = { customer: [], account: [], service: [] }
    for (const n of this.nodes) this.nodesOfKind[n.kind].push(n.id)
    this.tree = buildTree(this.nodes)
    const clock = () => this.now
    this.engine =
      options.makeEngine?.(this.catalog, this.tree, clock) ??
      new AccessEngine(this.catalog, this.tree, { clock })
    this.ref = new Reference(this.catalog.definition, this.nodes, this.now, options.variant)
    this.people = [...Array.from({ length: scenario.people }, (_, i) => `p${i}`), 'stranger']
    this.permissions = [...this.catalog.definition.permissions]
    for (const g of this.startGrants()) {
      this.engine.addGrant(g)
      this.ref.apply([], g)
    }
  }

  // ------------------------------------------------------------ resolving numbers against the state

  person(i: number): string {
    return this.people[i % this.people.length] as string
  }

  /** A person of the pool, never the stranger. */
  member(i: number): string {
    return this.people[i % (this.people.length - 1)] as string
  }

  permission(i: number): string {
    return i % (this.permissions.length + 1) === this.permissions.length
      ? UNKNOWN_PERMISSION
      : (this.permissions[i % (this.permissions.length + 1)] as string)
  }

  node(i: number): string {
    return i % (this.nodes.length + 1) === this.nodes.length
      ? UNKNOWN_NODE
      : (this.nodes[i % (this.nodes.length + 1)] as RefNode).id
  }

  kind(i: number): Kind {
    return KINDS[i % KINDS.length] as Kind
  }

  roleId(i: number): string {
    const roles = this.catalog.definition.roles
    return (roles[i % roles.length] as { id: string }).id
  }

  nodeOfKind(kind: Kind, i: number): string | undefined {
    const list = this.nodesOfKind[kind]
    return list.length === 0 ? undefined : list[i % list.length]
  }

  optionsOf(role: string, mask: number): string[] {
    const keys = Object.keys(this.ref.roleDef(role)?.options ?? {})
    return keys.filter((_, b) => (mask & (1 << b)) !== 0)
  }

  /**
   * An actor: anyone of the pool (stranger included), with people who hold a role that may grant
   * something counted twice, so that fewer steps are refused for the dullest reason.
   */
  actor(i: number): string {
    const managers = this.people.filter((p) =>
      this.ref.grants.some(
        (g) =>
          g.person === p &&
          this.ref.isLive(g) &&
          ((this.ref.roleDef(g.role)?.may_grant?.length ?? 0) > 0 ||
            this.ref.roleDef(g.role)?.may_name_successor),
      ),
    )
    const all = [...managers, ...this.people]
    return all[i % all.length] as string
  }

  /** A role to hand out: those the actor's live roles may grant (or name a successor to) count twice. */
  roleFor(actor: string, i: number): string {
    const mayGrant = new Set<string>()
    for (const g of this.ref.grants)
      if (g.person === actor && this.ref.isLive(g)) {
        for (const r of this.ref.roleDef(g.role)?.may_grant ?? []) mayGrant.add(r)
        if (this.ref.roleDef(g.role)?.may_name_successor) mayGrant.add(g.role)
      }
    const all = [...[...mayGrant].sort(), ...this.catalog.definition.roles.map((r) => r.id)]
    return all[i % all.length] as string
  }

  /** A node of a kind: those in the subtrees of the actor's live grants count four times. */
  reachOfKind(actor: string, kind: Kind, i: number): string | undefined {
    const scopes = new Set(
      this.ref.grants.filter((g) => g.person === actor && this.ref.isLive(g)).map((g) => g.scope),
    )
    const near = this.nodesOfKind[kind].filter((n) => this.ref.upToRoot(n).some((x) => scopes.has(x)))
    const all = [...near, ...near, ...near, ...this.nodesOfKind[kind]]
    return all.length === 0 ? undefined : all[i % all.length]
  }

  /** A grant to revoke or change: the operator's grants (refused anyway) count once, the others twice. */
  grantToTouch(i: number): string {
    const ids = this.grantIds()
    const delegated = ids.filter((id) => {
      const g = this.ref.grants.find((x) => x.id === id) as RefGrant
      return this.ref.roleDef(g.role)?.appointed_by !== 'operator'
    })
    const all = [...delegated, ...ids]
    return all[i % (all.length || 1)] ?? 'none'
  }

  /** The current grants, sorted by id: what a step's grant number is resolved against. */
  grantIds(): string[] {
    return this.ref.grants.map((g) => g.id).sort()
  }

  engineGrants(): RefGrant[] {
    return this.people
      .flatMap((p) => this.engine.grantsOf(p))
      .map(toRef)
      .sort((a, b) => (a.id < b.id ? -1 : 1))
  }

  refGrants(): RefGrant[] {
    return [...this.ref.grants].sort((a, b) => (a.id < b.id ? -1 : 1))
  }

  /** The starting grants, skipping those that would break a limit or repeat a grant. */
  private startGrants(): RefGrant[] {
    const out: RefGrant[] = []
    const def = this.catalog.definition
    const limited = def.roles.find((r) => r.limit_per_customer !== undefined)
    const customers = this.nodesOfKind.customer
    const tryAdd = (
      person: string,
      role: string,
      scope: string,
      options: string[],
      expiresAt: number | null,
    ) => {
      const r = this.ref.roleDef(role)
      if (!r) return
      const same = (g: RefGrant) => g.role === role && g.scope === scope
      if (out.some((g) => same(g) && g.person === person)) return
      const holders = new Set(out.filter(same).map((g) => g.person)).size
      if (r.limit_per_customer !== undefined && holders >= r.limit_per_customer) return
      if (r.limit_per_scope !== undefined && holders >= r.limit_per_scope) return
      out.push({
        id: `i${out.length}`,
        person,
        role,
        scope,
        options,
        expiresAt,
        grantedBy: 'operator',
        grantedAt: T0,
      })
    }
    if (limited)
      this.scenario.limitedHolders.forEach((h, c) => {
        const customer = customers[c]
        if (h !== null && customer !== undefined) tryAdd(this.member(h), limited.id, customer, [], null)
      })
    // Roles that may grant something count twice, so that sequences have more actors with something to delegate.
    const delegating = def.roles.filter(
      (r) => r.appointed_by !== 'operator' && (r.may_grant?.length ?? 0) > 0,
    )
    const roles = [...delegating, ...def.roles].map((r) => r.id)
    for (const g of this.scenario.grants) {
      const role = roles[g.role % roles.length] as string
      const r = this.ref.roleDef(role)
      const scope = r && this.nodeOfKind(r.scope, g.node)
      if (!scope) continue
      const expiresAt = g.expires === null ? null : T0 + g.expires * SECOND
      tryAdd(this.member(g.person), role, scope, this.optionsOf(role, g.options), expiresAt)
    }
    return out
  }

  resolve(op: OpSpec): Action {
    switch (op.t) {
      case 'grant': {
        const actor = this.actor(op.actor)
        const role = this.roleFor(actor, op.role)
        const kind = this.ref.roleDef(role)?.scope ?? 'customer'
        const scope = op.anyNode
          ? this.node(op.node)
          : (this.reachOfKind(actor, kind, op.node) ?? this.node(op.node))
        const options = op.badOption ? ['no-such-option'] : this.optionsOf(role, op.options)
        const expiresAt = op.expires === null ? null : this.now + op.expires * SECOND
        return {
          t: 'grant',
          actor,
          draft: { person: this.person(op.person), role, scope, options, expiresAt },
        }
      }
      case 'revoke':
        return { t: 'revoke', actor: this.actor(op.actor), grant: this.grantToTouch(op.grant) }
      case 'change': {
        const actor = this.actor(op.actor)
        const grant = this.grantToTouch(op.grant)
        const g = this.ref.grants.find((x) => x.id === grant)
        const change: GrantChange = {}
        if (op.role !== null) change.role = this.roleFor(actor, op.role)
        const role = change.role ?? g?.role
        if (op.node !== null) {
          const kind = (role === undefined ? undefined : this.ref.roleDef(role)?.scope) ?? 'customer'
          change.scope = this.reachOfKind(actor, kind, op.node) ?? this.node(op.node)
        }
        if (op.options !== null && role) change.options = this.optionsOf(role, op.options)
        if (op.expires !== undefined)
          change.expiresAt = op.expires === null ? null : this.now + op.expires * SECOND
        return { t: 'change', actor, grant, change }
      }
      case 'active':
        return { t: 'active', person: this.member(op.person), active: op.active }
      case 'tick':
        return { t: 'tick', ms: op.seconds * SECOND }
      case 'node': {
        const open = this.nodes.filter((n) => n.kind !== 'service' && this.ref.upToRoot(n.id).length < 7)
        const parent = open[open.length - 1 - (op.pick % open.length)] as RefNode
        const id = `${op.service ? 's' : 'a'}${this.nodes.length}x`
        const node: RefNode = { id, kind: op.service ? 'service' : 'account', parent: parent.id }
        const type = SERVICE_TYPES[this.nodes.length % SERVICE_TYPES.length]
        if (op.service && type) node.serviceType = type
        return { t: 'node', node }
      }
    }
  }

  /** Decide with both sides without applying. */
  decide(action: Action): { engine: Decision | null; ref: RefDecision | null } {
    switch (action.t) {
      case 'grant':
        return {
          engine: this.engine.canGrant(action.actor, action.draft),
          ref: this.ref.canGrant(action.actor, action.draft as RefDraft),
        }
      case 'revoke':
        return {
          engine: this.engine.canRevoke(action.actor, action.grant),
          ref: this.ref.canRevoke(action.actor, action.grant),
        }
      case 'change':
        return {
          engine: this.engine.canChange(action.actor, action.grant, action.change),
          ref: this.ref.canChange(action.actor, action.grant, action.change as RefChange),
        }
      default:
        return { engine: null, ref: null }
    }
  }

  /** The grant a granting or changing step creates. */
  private newGrant(action: Action): RefGrant | null {
    if (action.t === 'grant') {
      const d = action.draft
      return {
        id: `g${++this.seq}`,
        person: d.person,
        role: d.role,
        scope: d.scope,
        options: [...(d.options ?? [])].sort(),
        expiresAt: d.expiresAt ?? null,
        grantedBy: action.actor,
        grantedAt: this.now,
      }
    }
    if (action.t === 'change') {
      const g = this.ref.grants.find((x) => x.id === action.grant) as RefGrant
      const c = action.change
      return {
        id: g.id,
        person: g.person,
        role: c.role ?? g.role,
        scope: c.scope ?? g.scope,
        options: [...(c.options ?? g.options)].sort(),
        expiresAt: c.expiresAt === undefined ? g.expiresAt : c.expiresAt,
        grantedBy: action.actor,
        grantedAt: this.now,
      }
    }
    return null
  }

  step(op: OpSpec, before?: (r: StepRecord) => void): StepRecord {
    const action = this.resolve(op)
    const { engine, ref } = this.decide(action)
    const record: StepRecord = { action, engine, ref, created: null, applied: false }
    before?.(record)
    if (action.t === 'tick') {
      this.now += action.ms
      this.ref.now = this.now
      record.applied = true
      return record
    }
    if (action.t === 'node') {
      const n = action.node
      if (n.kind === 'account') this.tree.addAccount(n.id, n.parent as string)
      else this.tree.addService(n.id, n.parent as string, n.serviceType)
      this.nodes.push(n)
      this.nodesOfKind[n.kind].push(n.id)
      this.ref.addNode(n)
      record.applied = true
      return record
    }
    if (action.t === 'active') {
      this.engine.setPersonActive(action.person, action.active)
      if (action.active) delete this.ref.inactive[action.person]
      else this.ref.inactive[action.person] = true
      record.applied = true
      return record
    }
    const engineSays = engine?.allowed === true
    const refSays = ref?.allowed === true
    const go = this.options.follow === 'engine' ? engineSays : engineSays && refSays
    if (!go) return record
    const created = this.newGrant(action)
    for (const r of (engine as Decision).replaces) this.engine.removeGrant(r.id)
    if (created)
      this.engine.addGrant({
        ...created,
        options: created.options,
      })
    if (this.options.follow === 'engine') this.ref.grants = this.engineGrants()
    else this.ref.apply((ref as RefDecision).replaces, created ?? undefined)
    record.created = created
    record.applied = true
    return record
  }
}

/** Short text of an action for failure messages. */
export function show(a: Action): string {
  switch (a.t) {
    case 'grant':
      return `${a.actor} grants ${JSON.stringify(a.draft)}`
    case 'revoke':
      return `${a.actor} revokes ${a.grant}`
    case 'change':
      return `${a.actor} changes ${a.grant} ${JSON.stringify(a.change)}`
    case 'active':
      return `${a.person} ${a.active ? 'reactivated' : 'deactivated'}`
    case 'tick':
      return `${a.ms / SECOND}s pass`
    case 'node':
      return `the operator adds ${a.node.kind} ${a.node.id} under ${a.node.parent}`
  }
}
