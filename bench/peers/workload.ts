/**
 * The one workload every system answers: the seeded large customer of bench/generate.ts, a
 * stratified sample of checks (by the level of the grant a query aims at, then allowed or denied)
 * and of lists (by result size, a customer-wide one included), Zona's answers to all of them, and
 * a grant to revoke. The parent process builds it once and writes it to a file; each system's
 * process regenerates the customer from the same seed and reads the queries and answers.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import type { Catalog } from '../../src/domain/catalog.ts'
import { AccessEngine } from '../../src/domain/engine.ts'
import {
  buildBaseline,
  buildTree,
  type CustomerSpec,
  generateCustomer,
  grantId,
  KIND_SERVICE,
  loadGrants,
  nodeId,
  personId,
  Rng,
} from '../generate.ts'

export interface Scale {
  accounts: number
  services: number
  people: number
}

/** The large customer of the engine benchmark. */
export const LARGE: Scale = { accounts: 5_000, services: 100_000, people: 10_000 }
/** A tenth of it, for the 2-minute smoke run. */
export const SMALL: Scale = { accounts: 500, services: 9_499, people: 1_000 }

export const LEVELS = ['customer', 'account', 'service'] as const

/** Result-size classes of the list sample, largest first, and how many lists of each. */
export const LIST_BUCKETS = [
  { id: 'customer-wide', quota: 3, test: (n: number, all: number) => n === all },
  { id: 'large (≥500)', quota: 15, test: (n: number, all: number) => n >= 500 && n < all },
  { id: 'medium (50-499)', quota: 20, test: (n: number) => n >= 50 && n < 500 },
  { id: 'small (2-49)', quota: 22, test: (n: number) => n >= 2 && n < 50 },
  { id: 'single (1)', quota: 20, test: (n: number) => n === 1 },
  { id: 'empty (0)', quota: 20, test: (n: number) => n === 0 },
] as const

export interface CheckSample {
  person: string[]
  permission: string[]
  node: string[]
  /** 0 customer, 1 account, 2 service: the level of the grant the query was aimed at. */
  level: number[]
  /** Zona's answer. */
  allowed: boolean[]
}

export interface ListQuery {
  person: string
  permission: string
  bucket: string
  /** Every service Zona lists, in tree order. */
  expected: string[]
}

export interface RevokeTarget {
  grantIndex: number
  grantId: string
  person: string
  role: string
  node: string
  options: string[]
  /** Allowed before the revoke, refused after it (no other grant of the person covers the node). */
  permission: string
}

export interface Workload {
  seed: number
  scale: Scale
  checks: CheckSample
  lists: ListQuery[]
  revoke: RevokeTarget
  /** Zona against the naive reference of bench/generate.ts, before anyone else is compared with Zona. */
  reference: { checkMismatches: number; listMismatches: number }
  timings: { generateMs: number; answersMs: number }
}

export function customerOf(w: Pick<Workload, 'scale' | 'seed'>): CustomerSpec {
  return generateCustomer({ ...w.scale, seed: w.seed })
}

export function makeWorkload(catalog: Catalog, scale: Scale, seed: number, checkCount: number): Workload {
  let t0 = performance.now()
  const spec = generateCustomer({ ...scale, seed })
  const generateMs = performance.now() - t0
  t0 = performance.now()
  const engine = new AccessEngine(catalog, buildTree(spec))
  loadGrants(spec, engine)
  const checks = makeChecks(spec, catalog, engine, checkCount, seed + 1)
  const lists = makeLists(spec, catalog, engine, seed + 2)
  const revoke = findRevokeTarget(spec, catalog, engine, seed + 3)
  const answersMs = performance.now() - t0
  return {
    seed,
    scale,
    checks,
    lists,
    revoke,
    reference: referenceMismatches(spec, catalog, checks, lists),
    timings: { generateMs: Math.round(generateMs), answersMs: Math.round(answersMs) },
  }
}

/**
 * Checks aimed at grants of each level in turn (a third each), as bench/generate.ts makeQueries
 * aims them: half at a node inside the grant's subtree with (mostly) a permission it gives, half
 * at any node with any permission. Uniform sampling would hardly ever hit the 20 customer-level grants.
 */
function makeChecks(spec: CustomerSpec, catalog: Catalog, engine: AccessEngine, n: number, seed: number) {
  const rng = new Rng(seed)
  const byLevel: number[][] = [[], [], []]
  spec.grants.forEach((g, i) => {
    ;(byLevel[spec.kind[g.node] as number] as number[]).push(i)
  })
  const perms = catalog.permissions
  const out: CheckSample = { person: [], permission: [], node: [], level: [], allowed: [] }
  for (let i = 0; i < n; i++) {
    const level = i % 3
    const gi = rng.pick(byLevel[level] as number[])
    const g = spec.grants[gi] as (typeof spec.grants)[number]
    const role = catalog.role(g.role)
    if (!role) throw new Error(`role ${g.role} is not in the catalog`)
    const given = catalog.permissionsOf(catalog.maskOf(role, g.options))
    let node: number
    let perm: string
    if (rng.chance(0.5)) {
      const from = spec.pre[g.node] as number
      node = spec.order[from + rng.int((spec.end[g.node] as number) - from)] as number
      perm = rng.chance(0.7) && given.length > 0 ? rng.pick(given) : rng.pick(perms)
    } else {
      node = rng.int(spec.nodes)
      perm = rng.pick(perms)
    }
    const person = personId(spec, g.person)
    const id = nodeId(spec, node)
    out.person.push(person)
    out.permission.push(perm)
    out.node.push(id)
    out.level.push(level)
    out.allowed.push(engine.check(person, perm, id))
  }
  return out
}

/** Lists of services, drawn until every size class has its quota (or the draws run out). */
function makeLists(spec: CustomerSpec, catalog: Catalog, engine: AccessEngine, seed: number): ListQuery[] {
  const rng = new Rng(seed)
  const perms = catalog.permissions
  const left = new Map<string, number>(LIST_BUCKETS.map((b) => [b.id, b.quota]))
  const out: ListQuery[] = []
  const seen = new Set<string>()
  for (let attempt = 0; attempt < 200_000 && out.length < 100; attempt++) {
    // Customer-level people are few: aim at them while the customer-wide class is short.
    const wide = (left.get('customer-wide') ?? 0) > 0 && attempt % 4 === 0
    const p = wide ? rng.int(spec.customerLevelPeople) : rng.int(spec.people)
    const grants = spec.grantsOf[p] as number[]
    const g = spec.grants[rng.pick(grants)] as (typeof spec.grants)[number]
    const role = catalog.role(g.role)
    if (!role) throw new Error(`role ${g.role} is not in the catalog`)
    const given = catalog.permissionsOf(catalog.maskOf(role, g.options))
    const perm = rng.chance(0.8) && given.length > 0 ? rng.pick(given) : rng.pick(perms)
    const person = personId(spec, p)
    const key = `${person}|${perm}`
    if (seen.has(key)) continue
    seen.add(key)
    const expected = [...engine.listAll(person, perm, 'service')]
    const bucket = LIST_BUCKETS.find((b) => b.test(expected.length, spec.services))
    if (!bucket || (left.get(bucket.id) ?? 0) === 0) continue
    left.set(bucket.id, (left.get(bucket.id) as number) - 1)
    out.push({ person, permission: perm, bucket: bucket.id, expected })
  }
  // Some classes can run short on a small customer: top up with whatever comes, to keep 100 lists.
  for (let attempt = 0; attempt < 100_000 && out.length < 100; attempt++) {
    const p = rng.int(spec.people)
    const person = personId(spec, p)
    const perm = rng.pick(perms)
    const key = `${person}|${perm}`
    if (seen.has(key)) continue
    seen.add(key)
    const expected = [...engine.listAll(person, perm, 'service')]
    const bucket = LIST_BUCKETS.find((b) => b.test(expected.length, spec.services))
    if (bucket) out.push({ person, permission: perm, bucket: bucket.id, expected })
  }
  return out
}

/**
 * A grant whose revoke turns an allowed check into a refused one: an account or service grant of
 * someone other than the primary admin, with no other grant of theirs covering its node.
 */
function findRevokeTarget(
  spec: CustomerSpec,
  catalog: Catalog,
  engine: AccessEngine,
  seed: number,
): RevokeTarget {
  const rng = new Rng(seed)
  for (let attempt = 0; attempt < 100_000; attempt++) {
    const gi = rng.int(spec.grants.length)
    const g = spec.grants[gi] as (typeof spec.grants)[number]
    if (g.person === 0 || spec.kind[g.node] === 0) continue
    const covered = (spec.grantsOf[g.person] as number[]).some((other) => {
      if (other === gi) return false
      const o = spec.grants[other] as (typeof spec.grants)[number]
      return (
        (spec.pre[o.node] as number) <= (spec.pre[g.node] as number) &&
        (spec.pre[g.node] as number) < (spec.end[o.node] as number)
      )
    })
    if (covered) continue
    const role = catalog.role(g.role)
    if (!role) continue
    const permission = catalog.permissionsOf(catalog.maskOf(role, g.options))[0]
    if (!permission) continue
    const person = personId(spec, g.person)
    const node = nodeId(spec, g.node)
    if (!engine.check(person, permission, node)) continue
    return {
      grantIndex: gi,
      grantId: grantId(spec, gi),
      person,
      role: g.role,
      node,
      options: g.options,
      permission,
    }
  }
  throw new Error('no grant to revoke found')
}

/** Zona's answers against the naive reference (parent-map walk; a scan of every service for lists). */
function referenceMismatches(spec: CustomerSpec, catalog: Catalog, checks: CheckSample, lists: ListQuery[]) {
  const naive = buildBaseline(spec, catalog)
  let checkMismatches = 0
  for (let i = 0; i < checks.person.length; i++)
    if (
      naive.check(checks.person[i] as string, checks.permission[i] as string, checks.node[i] as string) !==
      checks.allowed[i]
    )
      checkMismatches++
  let listMismatches = 0
  const services: string[] = []
  for (let p = 0; p < spec.nodes; p++) {
    const k = spec.order[p] as number
    if (spec.kind[k] === KIND_SERVICE) services.push(nodeId(spec, k))
  }
  for (const l of lists) {
    const mine = services.filter((s) => naive.check(l.person, l.permission, s))
    if (!sameList(mine, l.expected)) listMismatches++
  }
  return { checkMismatches, listMismatches }
}

/** Same members, whatever the order (SpiceDB returns its own order; everyone else tree order). */
export function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  const x = [...a].sort()
  const y = [...b].sort()
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false
  return true
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

export function saveWorkload(file: string, w: Workload): void {
  writeFileSync(file, JSON.stringify(w))
}

export function readWorkload(file: string): Workload {
  return JSON.parse(readFileSync(file, 'utf8')) as Workload
}
