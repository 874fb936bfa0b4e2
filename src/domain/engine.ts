/**
 * The access engine: answers "may this person do this on this node?", "which nodes may they
 * do it on?" and "may this actor grant, change or revoke that grant?" (DOMAIN.md sections 3-6).
 *
 * It holds the tree and the grants in memory and does no I/O; the server loads it from the
 * database and applies every committed write to it. A grant or revoke touches only the
 * person's grant list and the scope node's list: O(grants of that person), no rebuild.
 *
 * @example
 *   const engine = new AccessEngine(catalog, tree)
 *   engine.addGrant({ id: 'g1', person: 'alice', role: 'primary-admin', scope: 'acme' })
 *   engine.check('alice', 'service.order', 'svc-1') // true
 */
import type { Catalog, Role } from './catalog.ts'
import type {
  ConsideredGrant,
  Decision,
  DecisionCode,
  Explanation,
  ExplanationCode,
  GrantView,
} from './decision.ts'
import type { CustomerTree, NodeKind } from './tree.ts'

export interface GrantInput {
  id: string
  person: string
  role: string
  scope: string
  options?: readonly string[]
  expiresAt?: number | null
  grantedBy?: string | null
  grantedAt?: number | null
}

export type GrantDraft = Omit<GrantInput, 'id' | 'grantedBy' | 'grantedAt'>

export interface GrantChange {
  role?: string
  scope?: string
  options?: readonly string[]
  expiresAt?: number | null
}

export interface Page {
  nodes: string[]
  /** Pass as `after` for the next page; null on the last page. */
  next: string | null
}

export class EngineError extends Error {
  constructor(
    readonly code: DecisionCode | 'DUPLICATE_GRANT' | 'BAD_CURSOR',
    message: string,
  ) {
    super(message)
  }
}

interface GrantRecord {
  id: string
  person: string
  role: Role
  options: string[]
  mask: number
  /** Bits of `mask` that hold on services only of `types` (see Role.serviceTypeLimit). */
  typedMask: number
  types: ReadonlySet<string> | null
  scope: number
  /** Infinity when the grant does not expire: one comparison on the hot path. */
  expiresAt: number
  grantedBy: string | null
  grantedAt: number | null
}

interface PersonGrants {
  active: boolean
  grants: GrantRecord[]
  byScope: Map<number, GrantRecord[]>
}

/** Up to this many grants a check scans them; beyond, it walks the node's ancestors. */
const SCAN_LIMIT = 8

const NO_GRANTS: PersonGrants = { active: true, grants: [], byScope: new Map() }

export interface EngineOptions {
  /** Milliseconds since the epoch; read only when a grant has an expiry. */
  clock?: () => number
}

export class AccessEngine {
  private readonly people = new Map<string, PersonGrants>()
  private readonly byId = new Map<string, GrantRecord>()
  private readonly atNode = new Map<number, GrantRecord[]>()
  private readonly clock: () => number

  constructor(
    readonly catalog: Catalog,
    readonly tree: CustomerTree,
    options: EngineOptions = {},
  ) {
    this.clock = options.clock ?? Date.now
  }

  // ---------------------------------------------------------------- state

  /**
   * Add a grant as it is (from the database or a test file's starting state). It enforces
   * what must hold whoever asks (role, scope kind, options, limits); who may grant is
   * `canGrant`'s question.
   */
  addGrant(input: GrantInput): GrantView {
    if (this.byId.has(input.id)) throw new EngineError('DUPLICATE_GRANT', `grant ${input.id} already exists`)
    const shape = this.validate(input)
    if (!shape.ok) throw new EngineError(shape.code, shape.reason)
    const { role, scope, options } = shape
    const same = this.find(input.person, role.id, scope)
    if (same)
      throw new EngineError('DUPLICATE_GRANT', `${input.person} already holds ${role.id} on ${input.scope}`)
    const limit = this.limitProblem(role, scope, input.person)
    if (limit) throw new EngineError('LIMIT_REACHED', limit)
    const mask = this.catalog.maskOf(role, options)
    const g: GrantRecord = {
      id: input.id,
      person: input.person,
      role,
      options: [...options].sort(),
      mask,
      typedMask: mask & (role.serviceTypeLimit?.mask ?? 0),
      types: role.serviceTypeLimit?.types ?? null,
      scope,
      expiresAt: input.expiresAt ?? Number.POSITIVE_INFINITY,
      grantedBy: input.grantedBy ?? null,
      grantedAt: input.grantedAt ?? null,
    }
    this.byId.set(g.id, g)
    const p = this.personEntry(g.person)
    p.grants.push(g)
    push(p.byScope, scope, g)
    push(this.atNode, scope, g)
    return view(g, this.tree)
  }

  removeGrant(id: string): GrantView | undefined {
    const g = this.byId.get(id)
    if (!g) return undefined
    this.byId.delete(id)
    const p = this.people.get(g.person) as PersonGrants
    remove(p.grants, g)
    pull(p.byScope, g.scope, g)
    pull(this.atNode, g.scope, g)
    return view(g, this.tree)
  }

  /** Deactivated people are refused everything until reactivated; their grants stay for review. */
  setPersonActive(person: string, active: boolean): void {
    this.personEntry(person).active = active
  }

  isPersonActive(person: string): boolean {
    return this.people.get(person)?.active ?? true
  }

  grant(id: string): GrantView | undefined {
    const g = this.byId.get(id)
    return g && view(g, this.tree)
  }

  /** The grant a person holds with a role on a node, if any. */
  findGrant(person: string, role: string, scope: string): GrantView | undefined {
    const n = this.tree.indexOf(scope)
    const g = n < 0 ? undefined : this.find(person, role, n)
    return g && view(g, this.tree)
  }

  grantsOf(person: string): GrantView[] {
    return (this.people.get(person)?.grants ?? []).map((g) => view(g, this.tree))
  }

  /** Grants whose scope is exactly this node. */
  grantsAt(node: string): GrantView[] {
    return (this.atNode.get(this.tree.indexOf(node)) ?? []).map((g) => view(g, this.tree))
  }

  get grantCount(): number {
    return this.byId.size
  }

  // ---------------------------------------------------------------- questions

  /** May the person do this on this node? Unknown people, permissions and nodes are refused. */
  check(person: string, permission: string, node: string): boolean {
    const p = this.people.get(person)
    if (p === undefined || !p.active) return false
    const bit = this.catalog.bit(permission)
    if (bit === 0) return false
    const n = this.tree.indexOf(node)
    if (n < 0) return false
    return this.holds(p, bit, n)
  }

  /** Every permission the person has on the node, in catalog order. */
  permissionsOn(person: string, node: string): string[] {
    const p = this.people.get(person)
    const n = this.tree.indexOf(node)
    if (!p?.active || n < 0) return []
    return this.catalog.permissionsOf(this.maskOn(p, n))
  }

  /** Why `check` answers as it does: the grant that allows, or what each grant lacks. */
  explain(person: string, permission: string, node: string): Explanation {
    const base = { person, permission, node, grant: null, considered: [] as ConsideredGrant[] }
    const bit = this.catalog.bit(permission)
    if (bit === 0)
      return {
        ...base,
        allowed: false,
        code: 'NOT_IN_CATALOG',
        reason: `${permission} is not a permission of the ${this.catalog.id} catalog`,
      }
    const n = this.tree.indexOf(node)
    if (n < 0) return { ...base, allowed: false, code: 'NO_SUCH_NODE', reason: `there is no node ${node}` }
    const p = this.people.get(person) ?? NO_GRANTS
    if (!p.active) return { ...base, allowed: false, code: 'DEACTIVATED', reason: `${person} is deactivated` }
    if (p.grants.length === 0)
      return { ...base, allowed: false, code: 'NO_GRANTS', reason: `${person} holds no grants` }
    const now = this.clock()
    const considered: ConsideredGrant[] = p.grants.map((g) => {
      const c: ConsideredGrant = {
        grant: view(g, this.tree),
        covers: this.tree.isWithin(n, g.scope),
        gives: this.gives(g, bit, n),
        expired: g.expiresAt <= now,
      }
      if (!c.gives) {
        for (const [option, mask] of g.role.options) if ((mask & bit) !== 0) c.missingOption = option
        if ((g.mask & bit) !== 0 && g.types) c.wrongServiceType = this.tree.serviceTypeAt(n)
      }
      return c
    })
    const winner = considered.find((c) => c.covers && c.gives && !c.expired)
    if (winner) {
      const g = winner.grant
      const where = g.scope === node ? `on ${node} itself` : `on ${g.scope}, which contains ${node}`
      return {
        ...base,
        considered,
        allowed: true,
        code: 'ALLOWED',
        grant: g,
        reason: `allowed by ${g.role}${opts(g)} ${where}`,
      }
    }
    const reasons: string[] = []
    for (const c of considered) {
      const g = c.grant
      const label = `${g.role}${opts(g)} on ${g.scope}`
      if (c.covers && c.gives && c.expired) reasons.push(`${label} expired`)
      else if (c.covers && !c.gives)
        reasons.push(
          c.wrongServiceType !== undefined
            ? `${label} gives ${permission} only on ${[...(this.catalog.role(g.role)?.serviceTypeLimit?.types ?? [])].join(', ')} services; ${node} is a ${c.wrongServiceType} service`
            : c.missingOption
              ? `${label} gives ${permission} only with the option ${c.missingOption}`
              : `${label} does not give ${permission}`,
        )
    }
    if (reasons.length === 0)
      reasons.push(
        `no grant of ${person} covers ${node} (grants on: ${[...new Set(considered.map((c) => c.grant.scope))].join(', ')})`,
      )
    return { ...base, considered, allowed: false, code: refusalCode(considered), reason: reasons.join('; ') }
  }

  /**
   * The nodes of a kind on which the person has the permission, in tree order, one page at a time.
   * `after` is the last node of the previous page.
   */
  list(
    person: string,
    permission: string,
    kind: NodeKind,
    page: { after?: string | null; limit?: number } = {},
  ): Page {
    const limit = Math.max(1, Math.min(page.limit ?? 100, 10_000))
    const nodes: string[] = []
    const it = this.iterate(person, permission, kind, page.after ?? null)
    for (let r = it.next(); !r.done; r = it.next()) {
      if (nodes.length === limit) return { nodes, next: nodes[nodes.length - 1] as string }
      nodes.push(r.value)
    }
    return { nodes, next: null }
  }

  /** Every such node, lazily: a customer-wide answer is streamed, never built as a second copy of the tree. */
  listAll(person: string, permission: string, kind: NodeKind): Generator<string> {
    return this.iterate(person, permission, kind, null)
  }

  /** Everyone who holds a grant covering the node, with what it gives there (access review). */
  accessOn(node: string): { grant: GrantView; permissions: string[]; active: boolean }[] {
    const n = this.tree.indexOf(node)
    if (n < 0) return []
    const now = this.clock()
    const out: { grant: GrantView; permissions: string[]; active: boolean }[] = []
    for (const x of this.tree.ancestorsOrSelf(n)) {
      for (const g of this.atNode.get(x) ?? []) {
        const person = this.people.get(g.person)
        out.push({
          grant: view(g, this.tree),
          permissions: this.catalog.permissionsOf(this.maskAt(g, n)),
          active: g.expiresAt > now && (person?.active ?? true),
        })
      }
    }
    return out
  }

  // ---------------------------------------------------------------- delegation (DOMAIN.md section 6)

  /** May `actor` give `draft`? Allowed decisions list the grants that applying it replaces. */
  canGrant(actor: string, draft: GrantDraft): Decision {
    const shape = this.validate(draft)
    if (!shape.ok) return deny(shape.code, shape.reason)
    const { role, scope, options } = shape
    if (role.appointedByOperator)
      return deny('OPERATOR_ONLY', `${role.id} is appointed and replaced only by the operator's staff`)
    if (draft.expiresAt != null && draft.expiresAt <= this.clock())
      return deny('ALREADY_EXPIRED', 'the expiry is already in the past')
    const a = this.people.get(actor)
    if (a && !a.active) return deny('ACTOR_DEACTIVATED', `${actor} is deactivated`)
    const want = this.catalog.maskOf(role, options)
    const successor = role.mayNameSuccessor && this.find(actor, role.id, scope, true) !== undefined
    if (!successor) {
      const refusal = this.delegationRefusal(actor, role, scope)
      if (refusal) return refusal
    }
    const ceiling = this.ceilingRefusal(actor, want, scope, role, draft.expiresAt ?? null)
    if (ceiling) return ceiling
    const replaces: GrantRecord[] = []
    const same = this.find(draft.person, role.id, scope)
    if (same) replaces.push(same)
    else if (role.limitPerScope === 1)
      replaces.push(...(this.atNode.get(scope) ?? []).filter((g) => g.role === role))
    else {
      const problem = this.limitProblem(role, scope, draft.person)
      if (problem) return deny('LIMIT_REACHED', problem)
    }
    const how = successor ? `names a successor as ${role.id}` : `may grant ${role.id}`
    return {
      allowed: true,
      code: 'ALLOWED',
      reason: `${actor} ${how} on ${draft.scope} and holds everything it gives there`,
      replaces: replaces.map((g) => view(g, this.tree)),
    }
  }

  /** May `actor` revoke the grant? The rule for granting applies to the grant as it is. */
  canRevoke(actor: string, grantId: string): Decision {
    const g = this.byId.get(grantId)
    if (!g) return deny('NO_SUCH_GRANT', `there is no grant ${grantId}`)
    if (g.role.appointedByOperator)
      return deny('OPERATOR_ONLY', `${g.role.id} is appointed and replaced only by the operator's staff`)
    if (g.role.limitPerScope === 1)
      return deny(
        'NEEDS_SUCCESSOR',
        `${this.tree.idAt(g.scope)} always has exactly one ${g.role.id}: name a successor instead of revoking`,
      )
    const a = this.people.get(actor)
    if (a && !a.active) return deny('ACTOR_DEACTIVATED', `${actor} is deactivated`)
    const refusal =
      this.delegationRefusal(actor, g.role, g.scope) ?? this.ceilingRefusal(actor, g.mask, g.scope, g.role)
    if (refusal) return refusal
    return {
      allowed: true,
      code: 'ALLOWED',
      reason: `${actor} may revoke ${g.role.id} on ${this.tree.idAt(g.scope)}`,
      replaces: [view(g, this.tree)],
    }
  }

  /**
   * May `actor` change the grant (widen, reduce, move, set or clear the expiry)? Both the grant
   * as it is and the grant as it would be must be within the actor's reach.
   */
  canChange(actor: string, grantId: string, change: GrantChange): Decision {
    const g = this.byId.get(grantId)
    if (!g) return deny('NO_SUCH_GRANT', `there is no grant ${grantId}`)
    const draft: GrantDraft = {
      person: g.person,
      role: change.role ?? g.role.id,
      scope: change.scope ?? this.tree.idAt(g.scope),
      options: change.options ?? g.options,
      expiresAt: change.expiresAt === undefined ? finite(g.expiresAt) : change.expiresAt,
    }
    const inPlace = draft.role === g.role.id && draft.scope === this.tree.idAt(g.scope)
    if (g.role.appointedByOperator)
      return deny('OPERATOR_ONLY', `${g.role.id} is appointed and replaced only by the operator's staff`)
    if (!inPlace) {
      const out = this.canRevoke(actor, grantId)
      if (!out.allowed) return out
    } else {
      const refusal =
        this.delegationRefusal(actor, g.role, g.scope) ?? this.ceilingRefusal(actor, g.mask, g.scope, g.role)
      if (refusal) return refusal
    }
    const into = this.canGrant(actor, draft)
    if (!into.allowed) return into
    const replaces = new Map(into.replaces.map((r) => [r.id, r]))
    replaces.set(g.id, view(g, this.tree))
    return {
      ...into,
      reason: `${actor} may change ${g.role.id} on ${this.tree.idAt(g.scope)}`,
      replaces: [...replaces.values()],
    }
  }

  // ---------------------------------------------------------------- internals

  private holds(p: PersonGrants, bit: number, n: number): boolean {
    const tree = this.tree
    const gs = p.grants
    if (gs.length <= SCAN_LIMIT) {
      tree.ensureIndexed()
      const x = tree.pre(n)
      for (let i = 0; i < gs.length; i++) {
        const g = gs[i] as GrantRecord
        if ((g.mask & bit) !== 0 && tree.pre(g.scope) <= x && x < tree.end(g.scope) && this.live(g)) {
          if ((g.typedMask & bit) === 0 || this.typeAllows(g, n)) return true
        }
      }
      return false
    }
    for (let x = n; x >= 0; x = tree.parentAt(x)) {
      const here = p.byScope.get(x)
      if (here !== undefined) for (const g of here) if (this.gives(g, bit, n) && this.live(g)) return true
    }
    return false
  }

  /** The grant's role and options give the permission on node n (service type included). */
  private gives(g: GrantRecord, bit: number, n: number): boolean {
    return (g.mask & bit) !== 0 && ((g.typedMask & bit) === 0 || this.typeAllows(g, n))
  }

  private typeAllows(g: GrantRecord, n: number): boolean {
    const type = this.tree.serviceTypeAt(n)
    return type === undefined || (g.types as ReadonlySet<string>).has(type)
  }

  /** The grant's mask as it applies on node n. */
  private maskAt(g: GrantRecord, n: number): number {
    return g.typedMask === 0 || this.typeAllows(g, n) ? g.mask : g.mask & ~g.typedMask
  }

  private live(g: GrantRecord): boolean {
    return g.expiresAt === Number.POSITIVE_INFINITY || g.expiresAt > this.clock()
  }

  private maskOn(p: PersonGrants, n: number): number {
    let m = 0
    for (let x = n; x >= 0; x = this.tree.parentAt(x)) {
      for (const g of p.byScope.get(x) ?? []) if (this.live(g)) m |= this.maskAt(g, n)
    }
    return m
  }

  /**
   * Until when the actor holds every permission of `mask` on node n: for each permission the latest
   * expiry among the live grants that give it there, and the earliest of those.
   */
  private heldUntil(actor: string, mask: number, n: number): number {
    const p = this.people.get(actor)
    if (!p) return Number.NEGATIVE_INFINITY
    let until = Number.POSITIVE_INFINITY
    for (let rest = mask; rest !== 0; rest &= rest - 1) {
      const bit = rest & -rest
      let latest = Number.NEGATIVE_INFINITY
      for (let x = n; x >= 0; x = this.tree.parentAt(x))
        for (const g of p.byScope.get(x) ?? [])
          if (this.live(g) && this.gives(g, bit, n)) latest = Math.max(latest, g.expiresAt)
      until = Math.min(until, latest)
    }
    return until
  }

  private actorMaskOn(actor: string, n: number): number {
    const p = this.people.get(actor)
    return p?.active ? this.maskOn(p, n) : 0
  }

  /** Rule 6.1 (a) and (b): the managing permission on the node, and a role there or above that lists `role`. */
  private delegationRefusal(actor: string, role: Role, scope: number): Decision | undefined {
    const node = this.tree.idAt(scope)
    const have = this.actorMaskOn(actor, scope)
    if ((have & role.grantedWithBit) === 0) {
      const needed = this.catalog.permissionsOf(role.grantedWithBit)[0]
      return deny('NOT_PERMITTED_TO_MANAGE', `${actor} does not hold ${needed} on ${node}`)
    }
    const p = this.people.get(actor) as PersonGrants
    const lists: string[] = []
    for (let x = scope; x >= 0; x = this.tree.parentAt(x)) {
      for (const g of p.byScope.get(x) ?? []) {
        if (!this.live(g)) continue
        if (g.role.mayGrant.has(role.id)) return undefined
        lists.push(g.role.id)
      }
    }
    return deny(
      'NOT_IN_MAY_GRANT',
      `none of ${actor}'s roles on ${node} or above (${lists.join(', ')}) may grant ${role.id}`,
    )
  }

  /**
   * Rule 6.1 (c): nobody hands out more than they hold on that node – nor for longer: when the
   * actor's own grants that give these permissions expire, what they give must expire by then.
   */
  private ceilingRefusal(
    actor: string,
    want: number,
    scope: number,
    role: Role,
    /** The new grant's expiry (null: none); undefined when taking something away (revoke), where time does not matter. */
    expiresAt?: number | null,
  ): Decision | undefined {
    const missing = want & ~this.actorMaskOn(actor, scope)
    if (missing === 0) {
      if (expiresAt === undefined) return undefined
      const until = this.heldUntil(actor, want, scope)
      if (until === Number.POSITIVE_INFINITY || (expiresAt !== null && expiresAt <= until)) return undefined
      return deny(
        'BEYOND_OWN_EXPIRY',
        `${actor} holds what ${role.id} gives on ${this.tree.idAt(scope)} only until ${new Date(until).toISOString()}; the grant must expire by then`,
      )
    }
    return deny(
      'ABOVE_CEILING',
      `${role.id} would give ${this.catalog.permissionsOf(missing).join(', ')} on ${this.tree.idAt(scope)}, which ${actor} does not hold there`,
    )
  }

  private limitProblem(role: Role, scope: number, person: string): string | undefined {
    if (role.limitPerScope !== undefined) {
      const holders = (this.atNode.get(scope) ?? []).filter((g) => g.role === role && g.person !== person)
      if (holders.length >= role.limitPerScope)
        return `${this.tree.idAt(scope)} already has ${holders.length} ${role.id} (at most ${role.limitPerScope})`
    }
    if (role.limitPerCustomer !== undefined) {
      const customer = this.tree.customerAt(scope)
      let count = 0
      for (const g of this.atNode.get(customer) ?? []) if (g.role === role && g.person !== person) count++
      if (count >= role.limitPerCustomer)
        return `${this.tree.idAt(customer)} already has ${count} ${role.id} (at most ${role.limitPerCustomer})`
    }
    return undefined
  }

  private find(person: string, role: string, scope: number, liveOnly = false): GrantRecord | undefined {
    for (const g of this.people.get(person)?.byScope.get(scope) ?? [])
      if (g.role.id === role && (!liveOnly || this.live(g))) return g
    return undefined
  }

  private validate(
    draft: GrantDraft,
  ):
    | { ok: true; role: Role; scope: number; options: readonly string[] }
    | { ok: false; code: DecisionCode; reason: string } {
    const role = this.catalog.role(draft.role)
    if (!role)
      return {
        ok: false,
        code: 'NO_SUCH_ROLE',
        reason: `${draft.role} is not a role of the ${this.catalog.id} catalog`,
      }
    const scope = this.tree.indexOf(draft.scope)
    if (scope < 0) return { ok: false, code: 'NO_SUCH_NODE', reason: `there is no node ${draft.scope}` }
    const kind = this.tree.kindAt(scope)
    if (kind !== role.scope)
      return {
        ok: false,
        code: 'WRONG_SCOPE_KIND',
        reason: `${role.id} is granted on a ${role.scope}; ${draft.scope} is a ${kind}`,
      }
    const options = draft.options ?? []
    for (const o of options)
      if (!role.options.has(o)) {
        const known = [...role.options.keys()]
        const hint = known.length ? `its options are ${known.join(', ')}` : 'it has no options'
        return { ok: false, code: 'NO_SUCH_OPTION', reason: `${role.id} has no option ${o}; ${hint}` }
      }
    return { ok: true, role, scope, options }
  }

  private personEntry(person: string): PersonGrants {
    let p = this.people.get(person)
    if (!p) {
      p = { active: true, grants: [], byScope: new Map() }
      this.people.set(person, p)
    }
    return p
  }

  private *iterate(
    person: string,
    permission: string,
    kind: NodeKind,
    after: string | null,
  ): Generator<string> {
    const tree = this.tree
    const p = this.people.get(person)
    const bit = this.catalog.bit(permission)
    let from = 0
    if (after !== null) {
      const a = tree.indexOf(after)
      if (a < 0) throw new EngineError('BAD_CURSOR', `the cursor names node ${after}, which does not exist`)
      tree.ensureIndexed()
      from = tree.pre(a) + 1
    }
    if (!p?.active || bit === 0) return
    tree.ensureIndexed()
    const version = tree.version
    // Subtrees of the grants that give the permission everywhere, merged into disjoint ranges of
    // pre-order numbers; grants limited to service types are checked node by node (they are rare).
    const untypedRanges: [number, number][] = []
    const typedRanges: [number, number][] = []
    const typed: GrantRecord[] = []
    for (const g of p.grants) {
      if ((g.mask & bit) === 0 || !this.live(g)) continue
      const range: [number, number] = [tree.pre(g.scope), tree.end(g.scope)]
      if ((g.typedMask & bit) !== 0) {
        typed.push(g)
        typedRanges.push(range)
      } else untypedRanges.push(range)
    }
    const everywhere = merge(untypedRanges)
    const all = merge([...untypedRanges, ...typedRanges])
    const pres = tree.presOfKind(kind)
    let e = 0
    for (const [start, end] of all) {
      if (end <= from) continue
      for (let i = lowerBound(pres, Math.max(start, from)); i < pres.length; i++) {
        const pre = pres[i] as number
        if (pre >= end) break
        if (tree.version !== version)
          throw new EngineError('BAD_CURSOR', 'the tree changed while listing; start again')
        const n = tree.nodeAtPre(pre)
        if (typed.length > 0) {
          while (e < everywhere.length && (everywhere[e] as [number, number])[1] <= pre) e++
          const inEverywhere = e < everywhere.length && (everywhere[e] as [number, number])[0] <= pre
          if (!inEverywhere && !typed.some((g) => tree.isWithin(n, g.scope) && this.typeAllows(g, n)))
            continue
        }
        yield tree.idAt(n)
      }
    }
  }
}

/** The most telling reason among the grants considered: nearest to being allowed first. */
function refusalCode(considered: ConsideredGrant[]): ExplanationCode {
  const covering = considered.filter((c) => c.covers)
  if (covering.length === 0) return 'NOT_IN_SCOPE'
  if (covering.some((c) => c.gives && c.expired)) return 'GRANT_EXPIRED'
  if (covering.some((c) => c.wrongServiceType !== undefined)) return 'WRONG_SERVICE_TYPE'
  if (covering.some((c) => c.missingOption)) return 'OPTION_OFF'
  return 'NOT_IN_ROLE'
}

function merge(ranges: [number, number][]): [number, number][] {
  const sorted = [...ranges].sort((x, y) => x[0] - y[0])
  const merged: [number, number][] = []
  for (const r of sorted) {
    const last = merged[merged.length - 1]
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1])
    else merged.push([r[0], r[1]])
  }
  return merged
}

function deny(code: DecisionCode, reason: string): Decision {
  return { allowed: false, code, reason, replaces: [] }
}

function view(g: GrantRecord, tree: CustomerTree): GrantView {
  return {
    id: g.id,
    person: g.person,
    role: g.role.id,
    scope: tree.idAt(g.scope),
    options: [...g.options],
    expiresAt: finite(g.expiresAt),
    grantedBy: g.grantedBy,
    grantedAt: g.grantedAt,
  }
}

function finite(t: number): number | null {
  return t === Number.POSITIVE_INFINITY ? null : t
}

function opts(g: GrantView): string {
  return g.options.length ? ` (with ${g.options.join(', ')})` : ''
}

function lowerBound(a: Int32Array, x: number): number {
  let lo = 0
  let hi = a.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((a[mid] as number) < x) lo = mid + 1
    else hi = mid
  }
  return lo
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const a = m.get(k)
  if (a) a.push(v)
  else m.set(k, [v])
}

function pull<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const a = m.get(k)
  if (!a) return
  remove(a, v)
  if (a.length === 0) m.delete(k)
}

function remove<V>(a: V[], v: V): void {
  const i = a.indexOf(v)
  if (i >= 0) a.splice(i, 1)
}
