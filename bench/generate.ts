/**
 * Deterministic workload generation for the benchmarks: one large business customer (accounts
 * nested a few levels deep, services under them, people holding 1-3 grants of a catalog's roles),
 * random `check` queries over it, and a naive reference implementation to compare against.
 *
 * Everything is driven by a seeded PRNG (never Math.random), so two runs with the same seed see
 * the same customer and the same queries. The spec is kept compact (typed arrays, numbers); id
 * strings are made only when a tree or an engine is built, so memory measured around building
 * includes the strings the tree and the engine really own.
 */
import type { Catalog } from '../src/domain/catalog.ts'
import type { AccessEngine, GrantInput } from '../src/domain/engine.ts'
import { CustomerTree } from '../src/domain/tree.ts'

// ---------------------------------------------------------------- PRNG

/** sfc32 seeded through splitmix32: fast, small, and good enough for workload generation. */
export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seed: number) {
    let s = seed >>> 0
    const split = (): number => {
      s = (s + 0x9e3779b9) | 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = split()
    this.b = split()
    this.c = split()
    this.d = split()
    for (let i = 0; i < 16; i++) this.u32()
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  /** A uniform float in [0, 1). */
  next(): number {
    return this.u32() / 4294967296
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  pick<T>(a: readonly T[]): T {
    if (a.length === 0) throw new Error('pick from an empty array')
    return a[this.int(a.length)] as T
  }
}

// ---------------------------------------------------------------- the customer

export const KIND_CUSTOMER = 0
export const KIND_ACCOUNT = 1
export const KIND_SERVICE = 2

export const SERVICE_TYPES = ['mobile', 'fixed', 'internet', 'm2m'] as const

export interface GrantSpec {
  person: number
  role: string
  /** Node index in the spec (0 = the customer). */
  node: number
  options: string[]
}

export interface CustomerOptions {
  /** Customer id, also the prefix of every account, service, person and grant id. */
  customer?: string
  accounts: number
  services: number
  people: number
  /** Account nesting levels below the customer (accounts at depth 1..accountDepth). */
  accountDepth?: number
  seed?: number
  /** Roles handed out at each level; the o2-cz mix unless given. */
  roles?: RoleMix
}

/** Which roles are handed out at each level, and with which options. */
export interface RoleMix {
  /** Operator-appointed, one per customer: given to person 0 only. */
  primary: string
  customer: readonly RoleChoice[]
  account: readonly RoleChoice[]
  service: readonly RoleChoice[]
  /** Share of the non-customer grants that are account-level (the rest are service-level). */
  accountShare: number
}

export interface RoleChoice {
  role: string
  /** Option id and the probability that a grant of this role has it. */
  option?: [string, number]
}

/** The o2-cz roles (presets/o2-cz.yaml). */
export const O2_CZ_MIX: RoleMix = {
  primary: 'primary-admin',
  customer: [
    { role: 'customer-admin' },
    { role: 'customer-viewer' },
    { role: 'customer-accountant', option: ['statements', 0.5] },
  ],
  account: [
    { role: 'account-admin', option: ['statements', 0.3] },
    { role: 'account-admin-no-billing' },
    { role: 'account-accountant', option: ['statements', 0.5] },
    { role: 'account-viewer' },
  ],
  service: [
    { role: 'service-admin' },
    { role: 'service-user' },
    { role: 'service-viewer' },
    { role: 'smartwatch' },
  ],
  accountShare: 0.4,
}

export interface CustomerSpec {
  customer: string
  accounts: number
  services: number
  people: number
  accountDepth: number
  /** Node 0 is the customer, 1..accounts the accounts, then the services. Parents precede children. */
  nodes: number
  parent: Int32Array
  kind: Uint8Array
  depth: Uint8Array
  serviceType: Uint8Array
  /** Account node indexes by depth (index 0 unused). */
  accountsAtDepth: Int32Array[]
  /** Pre-order of the nodes, and each node's position and exclusive subtree end in it. */
  order: Int32Array
  pre: Int32Array
  end: Int32Array
  grants: GrantSpec[]
  /** Grant indexes of each person. */
  grantsOf: number[][]
  /** People holding a customer-level grant (the primary admin included). */
  customerLevelPeople: number
}

export function nodeId(spec: CustomerSpec, k: number): string {
  if (k === 0) return spec.customer
  if (k <= spec.accounts) return `${spec.customer}-A${k}`
  return `${spec.customer}-S${k - spec.accounts}`
}

export function personId(spec: CustomerSpec, i: number): string {
  return `${spec.customer}-P${i}`
}

export function grantId(spec: CustomerSpec, i: number): string {
  return `${spec.customer}-G${i}`
}

/**
 * Account counts per depth grow threefold with each level (1 : 3 : 9 : 27 for four levels), each
 * account hangs under a random account one level up, and services hang under random accounts
 * (so most sit under the deepest ones, some directly under upper levels).
 */
export function generateCustomer(options: CustomerOptions): CustomerSpec {
  const customer = options.customer ?? 'C1'
  const levels = options.accountDepth ?? 4
  const { accounts, services, people } = options
  if (accounts < levels) throw new Error(`need at least ${levels} accounts for ${levels} levels`)
  if (people < 1) throw new Error('need at least one person')
  const mix = options.roles ?? O2_CZ_MIX
  const rng = new Rng(options.seed ?? 1)
  const nodes = 1 + accounts + services
  const parent = new Int32Array(nodes)
  const kind = new Uint8Array(nodes)
  const depth = new Uint8Array(nodes)
  const serviceType = new Uint8Array(nodes)
  parent[0] = -1
  kind[0] = KIND_CUSTOMER

  // Accounts per level: proportional to 3^(d-1), at least one each, summing to `accounts`.
  const weights = Array.from({ length: levels }, (_, d) => 3 ** d)
  const total = weights.reduce((s, w) => s + w, 0)
  const perLevel = weights.map((w) => Math.max(1, Math.floor((accounts * w) / total)))
  perLevel[levels - 1] = (perLevel[levels - 1] as number) + accounts - perLevel.reduce((s, c) => s + c, 0)
  const accountsAtDepth: Int32Array[] = [new Int32Array([0])]
  let k = 1
  for (let d = 1; d <= levels; d++) {
    const count = perLevel[d - 1] as number
    const here = new Int32Array(count)
    const above = accountsAtDepth[d - 1] as Int32Array
    for (let i = 0; i < count; i++, k++) {
      parent[k] = above[rng.int(above.length)] as number
      kind[k] = KIND_ACCOUNT
      depth[k] = d
      here[i] = k
    }
    accountsAtDepth.push(here)
  }
  for (let i = 0; i < services; i++, k++) {
    const p = 1 + rng.int(accounts)
    parent[k] = p
    kind[k] = KIND_SERVICE
    depth[k] = (depth[p] as number) + 1
    serviceType[k] = rng.int(SERVICE_TYPES.length)
  }

  // Pre-order (children in index order), computed here independently of the engine's tree.
  const childCount = new Int32Array(nodes)
  for (let x = 1; x < nodes; x++) {
    const p = parent[x] as number
    childCount[p] = (childCount[p] as number) + 1
  }
  const childStart = new Int32Array(nodes + 1)
  for (let x = 0; x < nodes; x++) childStart[x + 1] = (childStart[x] as number) + (childCount[x] as number)
  const children = new Int32Array(Math.max(0, nodes - 1))
  const fill = childStart.slice(0, nodes)
  for (let x = 1; x < nodes; x++) {
    const p = parent[x] as number
    children[fill[p] as number] = x
    fill[p] = (fill[p] as number) + 1
  }
  const order = new Int32Array(nodes)
  const pre = new Int32Array(nodes)
  const end = new Int32Array(nodes)
  const stack = new Int32Array(nodes + 1)
  let top = 0
  let counter = 0
  stack[top++] = 0
  while (top > 0) {
    const x = stack[top - 1] as number
    if (x >= 0) {
      stack[top - 1] = ~x
      pre[x] = counter
      order[counter++] = x
      for (let c = (childStart[x + 1] as number) - 1; c >= (childStart[x] as number); c--)
        stack[top++] = children[c] as number
    } else {
      end[~x] = counter
      top--
    }
  }

  // Grants: person 0 is the primary admin; a few people hold a customer-level role; everyone has 1-3.
  const grants: GrantSpec[] = []
  const grantsOf: number[][] = []
  const taken = new Set<string>()
  const customerLevelPeople = Math.min(people, Math.max(3, Math.ceil(people / 500)))
  const add = (person: number, choice: RoleChoice, node: number): boolean => {
    const key = `${person}|${choice.role}|${node}`
    if (taken.has(key)) return false
    taken.add(key)
    const opts = choice.option && rng.chance(choice.option[1]) ? [choice.option[0]] : []
    ;(grantsOf[person] as number[]).push(grants.length)
    grants.push({ person, role: choice.role, node, options: opts })
    return true
  }
  for (let person = 0; person < people; person++) {
    grantsOf.push([])
    const count = 1 + rng.int(3)
    let have = 0
    if (person === 0) have += add(person, { role: mix.primary }, 0) ? 1 : 0
    else if (person < customerLevelPeople) have += add(person, rng.pick(mix.customer), 0) ? 1 : 0
    while (have < count) {
      let ok: boolean
      if (services === 0 || rng.chance(mix.accountShare)) {
        // A level first, then an account on it: grants sit at every depth, not mostly the deepest.
        const level = accountsAtDepth[1 + rng.int(levels)] as Int32Array
        ok = add(person, rng.pick(mix.account), level[rng.int(level.length)] as number)
      } else {
        ok = add(person, rng.pick(mix.service), 1 + accounts + rng.int(services))
      }
      if (ok) have++
    }
  }

  return {
    customer,
    accounts,
    services,
    people,
    accountDepth: levels,
    nodes,
    parent,
    kind,
    depth,
    serviceType,
    accountsAtDepth,
    order,
    pre,
    end,
    grants,
    grantsOf,
    customerLevelPeople,
  }
}

/** Add the customer's nodes to a tree (a new one unless given) in spec order: in a new tree, node indexes equal spec indexes. */
export function buildTree(spec: CustomerSpec, tree = new CustomerTree()): CustomerTree {
  tree.addCustomer(spec.customer)
  for (let k = 1; k <= spec.accounts; k++)
    tree.addAccount(nodeId(spec, k), nodeId(spec, spec.parent[k] as number))
  for (let k = spec.accounts + 1; k < spec.nodes; k++)
    tree.addService(
      nodeId(spec, k),
      nodeId(spec, spec.parent[k] as number),
      SERVICE_TYPES[spec.serviceType[k] as number],
    )
  return tree
}

/** Add every grant of the spec to the engine, as the server does when it loads from the database. */
export function loadGrants(spec: CustomerSpec, engine: AccessEngine): number {
  const gs = spec.grants
  for (let i = 0; i < gs.length; i++) {
    const g = gs[i] as GrantSpec
    engine.addGrant({
      id: grantId(spec, i),
      person: personId(spec, g.person),
      role: g.role,
      scope: nodeId(spec, g.node),
      options: g.options,
    })
  }
  return gs.length
}

// ---------------------------------------------------------------- queries

export interface Queries {
  length: number
  person: string[]
  permission: string[]
  node: string[]
  /** Level of the grant the query was aimed at: 0 customer, 1 account, 2 service. */
  level: Uint8Array
}

function bitsOf(mask: number): number[] {
  const out: number[] = []
  for (let b = 0; b < 32; b++) if ((mask & (1 << b)) !== 0) out.push(b)
  return out
}

/**
 * Random `check` queries: a random person, one of their grants, then half the time a node in
 * that grant's subtree (with a permission the grant gives 70% of the time), half the time any node
 * of the customer with any permission. That gives a mix of allowed and denied answers for people
 * holding grants at every level. Id strings are shared between queries (one per node and person).
 */
export function makeQueries(spec: CustomerSpec, catalog: Catalog, n: number, seed = 2): Queries {
  const rng = new Rng(seed)
  const nodeIds = Array.from({ length: spec.nodes }, (_, k) => nodeId(spec, k))
  const personIds = Array.from({ length: spec.people }, (_, i) => personId(spec, i))
  const perms = catalog.permissions
  const grantBits = spec.grants.map((g) => {
    const role = catalog.role(g.role)
    if (!role) throw new Error(`role ${g.role} is not in the ${catalog.id} catalog`)
    return bitsOf(catalog.maskOf(role, g.options))
  })
  const q: Queries = {
    length: n,
    person: new Array<string>(n),
    permission: new Array<string>(n),
    node: new Array<string>(n),
    level: new Uint8Array(n),
  }
  for (let i = 0; i < n; i++) {
    const person = rng.int(spec.people)
    const gi = rng.pick(spec.grantsOf[person] as number[])
    const g = spec.grants[gi] as GrantSpec
    let node: number
    let perm: string
    if (rng.chance(0.5)) {
      const from = spec.pre[g.node] as number
      node = spec.order[from + rng.int((spec.end[g.node] as number) - from)] as number
      const bits = grantBits[gi] as number[]
      perm = rng.chance(0.7) && bits.length > 0 ? (perms[rng.pick(bits)] as string) : rng.pick(perms)
    } else {
      node = rng.int(spec.nodes)
      perm = rng.pick(perms)
    }
    q.person[i] = personIds[person] as string
    q.permission[i] = perm
    q.node[i] = nodeIds[node] as string
    q.level[i] = spec.kind[g.node] as number
  }
  return q
}

// ---------------------------------------------------------------- the naive baseline

/**
 * What one would write first: per person a map of node → mask (the OR of their grants there),
 * and a walk from the node up through a parent map, testing the mask at each step.
 * No expiry and no deactivation: the generated workload has neither.
 */
export class NaiveBaseline {
  readonly parent = new Map<string, string>()
  readonly grants = new Map<string, Map<string, number>>()
  readonly bits = new Map<string, number>()

  check(person: string, permission: string, node: string): boolean {
    const mine = this.grants.get(person)
    if (mine === undefined) return false
    const bit = this.bits.get(permission)
    if (bit === undefined) return false
    for (let x: string | undefined = node; x !== undefined; x = this.parent.get(x)) {
      const m = mine.get(x)
      if (m !== undefined && (m & bit) !== 0) return true
    }
    return false
  }
}

/** The baseline built from the spec directly (not from the engine's tree), so the comparison checks the engine. */
export function buildBaseline(spec: CustomerSpec, catalog: Catalog): NaiveBaseline {
  const b = new NaiveBaseline()
  catalog.permissions.forEach((p, i) => {
    b.bits.set(p, 1 << i)
  })
  for (let k = 1; k < spec.nodes; k++) b.parent.set(nodeId(spec, k), nodeId(spec, spec.parent[k] as number))
  for (const g of spec.grants) {
    const role = catalog.role(g.role)
    if (!role) throw new Error(`role ${g.role} is not in the ${catalog.id} catalog`)
    const person = personId(spec, g.person)
    let mine = b.grants.get(person)
    if (!mine) {
      mine = new Map()
      b.grants.set(person, mine)
    }
    const node = nodeId(spec, g.node)
    mine.set(node, (mine.get(node) ?? 0) | catalog.maskOf(role, g.options))
  }
  return b
}

/** Run both over the queries; count disagreements and allowed answers (of the engine). */
export function compareAnswers(
  engine: AccessEngine,
  baseline: NaiveBaseline,
  q: Queries,
): { mismatches: number; allowed: number; firstMismatch: number } {
  let mismatches = 0
  let allowed = 0
  let firstMismatch = -1
  for (let i = 0; i < q.length; i++) {
    const p = q.person[i] as string
    const m = q.permission[i] as string
    const n = q.node[i] as string
    const a = engine.check(p, m, n)
    if (a) allowed++
    if (a !== baseline.check(p, m, n)) {
      mismatches++
      if (firstMismatch < 0) firstMismatch = i
    }
  }
  return { mismatches, allowed, firstMismatch }
}

// ---------------------------------------------------------------- grant changes

/**
 * Random grants to add (and then remove) on an engine already holding the spec's grants: a random
 * existing person, an account or service role from the mix on a random node of that kind. Drafts
 * the person already holds are skipped, so every one can be added. `within` confines the picks to
 * the first accounts, services and people of the spec (a smaller working set on the same tree).
 */
export function makeGrantOps(
  spec: CustomerSpec,
  engine: AccessEngine,
  n: number,
  options: {
    seed?: number
    mix?: RoleMix
    within?: { accounts: number; services: number; people: number }
  } = {},
): GrantInput[] {
  const rng = new Rng(options.seed ?? 3)
  const mix = options.mix ?? O2_CZ_MIX
  const accounts = Math.min(spec.accounts, options.within?.accounts ?? spec.accounts)
  const services = Math.min(spec.services, options.within?.services ?? spec.services)
  const people = Math.min(spec.people, options.within?.people ?? spec.people)
  const ops: GrantInput[] = []
  while (ops.length < n) {
    const person = personId(spec, rng.int(people))
    const account = services === 0 || rng.chance(mix.accountShare)
    const choice = rng.pick(account ? mix.account : mix.service)
    const node = account ? 1 + rng.int(accounts) : 1 + spec.accounts + rng.int(services)
    const scope = nodeId(spec, node)
    if (engine.findGrant(person, choice.role, scope)) continue
    const opts = choice.option && rng.chance(choice.option[1]) ? [choice.option[0]] : []
    ops.push({ id: `${spec.customer}-OP${ops.length}`, person, role: choice.role, scope, options: opts })
  }
  return ops
}
