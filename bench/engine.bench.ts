/**
 * Engine benchmark on the large customer: 1 customer, 5 000 accounts nested 4 deep, 100 000
 * services, 10 000 people with 1-3 o2-cz grants each.
 *
 *   npm run bench:engine            full run; writes bench/results/engine.{json,md}
 *   npm run bench:engine -- --quick smaller samples for a smoke run; writes nothing unless --write
 *
 * Needs --expose-gc (the npm script passes it) for the memory figures. Workloads are fixed by the
 * seed; a missed target is reported as MISS, not tuned away.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { arch, cpus, loadavg, platform, totalmem } from 'node:os'
import { hrtime } from 'node:process'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { loadPreset } from '../src/catalog/load.ts'
import { AccessEngine, type GrantInput } from '../src/domain/engine.ts'
import type { CustomerTree } from '../src/domain/tree.ts'
import {
  buildBaseline,
  buildTree,
  type CustomerSpec,
  compareAnswers,
  generateCustomer,
  loadGrants,
  makeGrantOps,
  makeQueries,
  type NaiveBaseline,
  nodeId,
  personId,
  type Queries,
  Rng,
} from './generate.ts'

// ---------------------------------------------------------------- settings

const argv = process.argv.slice(2)
const QUICK = argv.includes('--quick')
const WRITE = !QUICK || argv.includes('--write')
const SEED = Number(argv.find((a) => a.startsWith('--seed='))?.slice(7) ?? 1)

const LARGE = { accounts: 5_000, services: 100_000, people: 10_000 }
/** The 10k-node tree for the size-independence check of grant changes (1 + 500 + 9 499 nodes). */
const SMALL = { accounts: 500, services: 9_499, people: 1_000 }
const BATCH = 64
const S = QUICK
  ? { queries: 1 << 16, passes: 1, single: 1 << 16, listRuns: 200, listWarm: 50, streams: 2 }
  : { queries: 1 << 20, passes: 3, single: 1 << 20, listRuns: 2_000, listWarm: 500, streams: 5 }
const UPDATES = QUICK ? { pairs: 2_000, warm: 500 } : { pairs: 10_000, warm: 2_000 }
const WARM_BUILDS = QUICK ? 0 : 3

const TARGET = {
  buildMs: 1_000,
  checkMedianUs: 0.5,
  checkP99Us: 5,
  listFirstPageUs: 100,
  /** Grant changes count as size-independent when the 100k-node median is within 1.5× of the 10k-node one. */
  updateRatio: 1.5,
}

// ---------------------------------------------------------------- helpers

const gc = exposeGc()

function exposeGc(): () => void {
  const g = (globalThis as { gc?: () => void }).gc
  if (g) return g
  setFlagsFromString('--expose-gc')
  const f = runInNewContext('gc') as (() => void) | undefined
  if (!f) throw new Error('run with --expose-gc (npm run bench:engine does)')
  return f
}

/** V8 heap plus ArrayBuffer backing stores (the tree's typed arrays live outside the heap), after full GCs. */
function heapAfterGc(): number {
  gc()
  gc()
  return heapNow()
}

function heapNow(): number {
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

const now = (): bigint => hrtime.bigint()
const ms = (a: bigint, b: bigint): number => Number(b - a) / 1e6

function sorted(a: Float64Array): Float64Array {
  return Float64Array.from(a).sort()
}

/** Nearest-rank percentile of an ascending array. */
function pct(s: Float64Array, p: number): number {
  if (s.length === 0) return Number.NaN
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))
  return s[i] as number
}

function summary(samples: Float64Array): { median: number; p99: number; p999: number; max: number } {
  const s = sorted(samples)
  return { median: pct(s, 50), p99: pct(s, 99), p999: pct(s, 99.9), max: s[s.length - 1] as number }
}

const round = (x: number, digits = 3): number => Number(x.toFixed(digits))
const log = (msg: string): void => {
  process.stderr.write(`${msg}\n`)
}

// ---------------------------------------------------------------- check timing (separate loops: no shared call site)

function engineBatches(e: AccessEngine, q: Queries, out: Float64Array, at: number): number {
  const P = q.person
  const M = q.permission
  const N = q.node
  const batches = q.length / BATCH
  let sink = 0
  for (let b = 0; b < batches; b++) {
    const i0 = b * BATCH
    const i1 = i0 + BATCH
    const t0 = hrtime.bigint()
    for (let i = i0; i < i1; i++) if (e.check(P[i] as string, M[i] as string, N[i] as string)) sink++
    const t1 = hrtime.bigint()
    out[at + b] = Number(t1 - t0) / BATCH
  }
  return sink
}

function baselineBatches(e: NaiveBaseline, q: Queries, out: Float64Array, at: number): number {
  const P = q.person
  const M = q.permission
  const N = q.node
  const batches = q.length / BATCH
  let sink = 0
  for (let b = 0; b < batches; b++) {
    const i0 = b * BATCH
    const i1 = i0 + BATCH
    const t0 = hrtime.bigint()
    for (let i = i0; i < i1; i++) if (e.check(P[i] as string, M[i] as string, N[i] as string)) sink++
    const t1 = hrtime.bigint()
    out[at + b] = Number(t1 - t0) / BATCH
  }
  return sink
}

/** Only the node id → index lookup every check starts with (the tree's Map<string, number>): a floor for check. */
function lookupBatches(t: CustomerTree, q: Queries, out: Float64Array, at: number): number {
  const N = q.node
  const batches = q.length / BATCH
  let sink = 0
  for (let b = 0; b < batches; b++) {
    const i0 = b * BATCH
    const i1 = i0 + BATCH
    const t0 = hrtime.bigint()
    for (let i = i0; i < i1; i++) sink += t.indexOf(N[i] as string)
    const t1 = hrtime.bigint()
    out[at + b] = Number(t1 - t0) / BATCH
  }
  return sink
}

function engineSingle(e: AccessEngine, q: Queries, out: Float64Array): number {
  const P = q.person
  const M = q.permission
  const N = q.node
  let sink = 0
  for (let i = 0; i < q.length; i++) {
    const t0 = hrtime.bigint()
    if (e.check(P[i] as string, M[i] as string, N[i] as string)) sink++
    out[i] = Number(hrtime.bigint() - t0)
  }
  return sink
}

function baselineSingle(e: NaiveBaseline, q: Queries, out: Float64Array): number {
  const P = q.person
  const M = q.permission
  const N = q.node
  let sink = 0
  for (let i = 0; i < q.length; i++) {
    const t0 = hrtime.bigint()
    if (e.check(P[i] as string, M[i] as string, N[i] as string)) sink++
    out[i] = Number(hrtime.bigint() - t0)
  }
  return sink
}

function timerOverheadNs(): number {
  const out = new Float64Array(100_000)
  for (let i = 0; i < out.length; i++) {
    const t0 = hrtime.bigint()
    out[i] = Number(hrtime.bigint() - t0)
  }
  return pct(sorted(out), 50)
}

/** Per-call times (ns) of `fn`, after `warm` untimed calls. */
function timeCalls(runs: number, warm: number, fn: () => unknown): Float64Array {
  for (let i = 0; i < warm; i++) fn()
  const out = new Float64Array(runs)
  for (let i = 0; i < runs; i++) {
    const t0 = hrtime.bigint()
    fn()
    out[i] = Number(hrtime.bigint() - t0)
  }
  return out
}

// ---------------------------------------------------------------- the run

const results: Record<string, unknown> = {}
const targets: { name: string; value: number; unit: string; target: string; pass: boolean }[] = []
const rows: [string, string, string][] = []
const row = (section: string, metric: string, value: string): void => {
  rows.push([section, metric, value])
}
const target = (name: string, value: number, unit: string, limit: number, op: '<' | '≤'): void => {
  const pass = op === '<' ? value < limit : value <= limit
  targets.push({ name, value: round(value), unit, target: `${op} ${limit} ${unit}`, pass })
}

const started = now()
const loadAtStart = loadavg()
if ((loadAtStart[0] as number) > 0.5 * cpus().length)
  log(
    `warning: load average ${(loadAtStart[0] as number).toFixed(2)} on ${cpus().length} cores; figures will be noisy`,
  )
const catalog = loadPreset('o2-cz')
log(`engine benchmark${QUICK ? ' (--quick)' : ''}, seed ${SEED}`)

// Generation (not part of any figure).
let t0 = now()
const spec = generateCustomer({ ...LARGE, seed: SEED })
const genMs = ms(t0, now())
const grantsByLevel = [0, 0, 0]
for (const g of spec.grants) {
  const k = spec.kind[g.node] as number
  grantsByLevel[k] = (grantsByLevel[k] as number) + 1
}
log(`generated ${spec.nodes} nodes and ${spec.grants.length} grants in ${genMs.toFixed(0)} ms`)
results.workload = {
  seed: SEED,
  customers: 1,
  accounts: spec.accounts,
  accountLevels: spec.accountDepth,
  accountsPerLevel: spec.accountsAtDepth.slice(1).map((a) => a.length),
  services: spec.services,
  nodes: spec.nodes,
  people: spec.people,
  grants: spec.grants.length,
  grantsByLevel: { customer: grantsByLevel[0], account: grantsByLevel[1], service: grantsByLevel[2] },
  customerLevelPeople: spec.customerLevelPeople,
  catalog: catalog.id,
}

// 1. Build: tree construction, first ensureIndexed, grant loading; heap around each.
const h0 = heapAfterGc()
t0 = now()
const tree = buildTree(spec)
const t1 = now()
tree.ensureIndexed()
const t2 = now()
const h1 = heapAfterGc()
const engine = new AccessEngine(catalog, tree)
const t3 = now()
const grantCount = loadGrants(spec, engine)
const t4 = now()
const h2 = heapAfterGc()
const build = {
  treeMs: ms(t0, t1),
  indexMs: ms(t1, t2),
  treeAndIndexMs: ms(t0, t2),
  grantsMs: ms(t3, t4),
  totalMs: ms(t0, t2) + ms(t3, t4),
  warmTreeAndIndexMs: Number.NaN,
  warmGrantsMs: Number.NaN,
}
// Repeat builds once the code is warm (informational; the cold figure above is what a server start sees).
for (let i = 0; i < WARM_BUILDS; i++) {
  const a = now()
  const t = buildTree(spec)
  t.ensureIndexed()
  const b = now()
  loadGrants(spec, new AccessEngine(catalog, t))
  const c = now()
  build.warmTreeAndIndexMs = Math.min(build.warmTreeAndIndexMs || Number.POSITIVE_INFINITY, ms(a, b))
  build.warmGrantsMs = Math.min(build.warmGrantsMs || Number.POSITIVE_INFINITY, ms(b, c))
}
const memory = {
  treeBytes: h1 - h0,
  treeBytesPer100kNodes: ((h1 - h0) / spec.nodes) * 100_000,
  grantBytes: h2 - h1,
  grantBytesPer10kGrants: ((h2 - h1) / grantCount) * 10_000,
  baselineBytes: 0,
}
const hb = heapAfterGc()
const baseline = buildBaseline(spec, catalog)
memory.baselineBytes = heapAfterGc() - hb
results.build = Object.fromEntries(Object.entries(build).map(([k, v]) => [k, round(v)]))
results.memory = {
  treeMB: round(memory.treeBytes / 2 ** 20),
  treeMBPer100kNodes: round(memory.treeBytesPer100kNodes / 2 ** 20),
  grantsMB: round(memory.grantBytes / 2 ** 20),
  grantsMBPer10kGrants: round(memory.grantBytesPer10kGrants / 2 ** 20),
  naiveBaselineMB: round(memory.baselineBytes / 2 ** 20),
  note: 'heapUsed + arrayBuffers deltas after gc(); include the id strings the tree and the engine own',
}
log(`built: tree+index ${build.treeAndIndexMs.toFixed(1)} ms, grants ${build.grantsMs.toFixed(1)} ms`)
target('tree + index build (cold)', build.treeAndIndexMs, 'ms', TARGET.buildMs, '<')
target('tree + index + grants (cold)', build.totalMs, 'ms', TARGET.buildMs, '<')

// 2. check: answers compared with the naive baseline, then timed in batches and one by one.
const queries = makeQueries(spec, catalog, S.queries, SEED + 1)
const cmp = compareAnswers(engine, baseline, queries) // also the first warm-up pass for both
log(`compared ${queries.length} queries: ${cmp.mismatches} mismatches, ${cmp.allowed} allowed`)
if (cmp.mismatches > 0) {
  const i = cmp.firstMismatch
  log(`  first mismatch: check(${queries.person[i]}, ${queries.permission[i]}, ${queries.node[i]})`)
}
const levelCounts = [0, 0, 0]
for (let i = 0; i < queries.length; i++) {
  const k = queries.level[i] as number
  levelCounts[k] = (levelCounts[k] as number) + 1
}
const scratch = new Float64Array(queries.length / BATCH)
engineBatches(engine, queries, scratch, 0) // second warm-up pass
baselineBatches(baseline, queries, scratch, 0)
const timerNs = timerOverheadNs()
const perPass = queries.length / BATCH
const engBatch = new Float64Array(perPass * S.passes)
const naiveBatch = new Float64Array(perPass * S.passes)
let sink = 0
for (let pass = 0; pass < S.passes; pass++) {
  sink += engineBatches(engine, queries, engBatch, pass * perPass)
  sink += baselineBatches(baseline, queries, naiveBatch, pass * perPass)
}
// The id lookup alone, on the same queries (one pass): how much of check is finding the node.
const lookupBatch = new Float64Array(perPass)
lookupBatches(tree, queries, lookupBatch, 0)
sink += lookupBatches(tree, queries, lookupBatch, 0)
const lb = summary(lookupBatch)
const engSingle = new Float64Array(queries.length)
const naiveSingle = new Float64Array(queries.length)
sink += engineSingle(engine, queries, engSingle)
sink += baselineSingle(baseline, queries, naiveSingle)
const eb = summary(engBatch)
const nb = summary(naiveBatch)
const es = summary(engSingle)
const ns = summary(naiveSingle)
const byLevel = (samples: Float64Array) =>
  ['customer', 'account', 'service'].map((name, level) => {
    const xs = samples.filter((_, i) => queries.level[i] === level)
    const s = summary(xs)
    return { level: name, queries: xs.length, medianNs: round(s.median, 0), p99Ns: round(s.p99, 0) }
  })
results.check = {
  queries: queries.length,
  batch: BATCH,
  batchedChecks: queries.length * S.passes,
  allowedShare: round(cmp.allowed / queries.length),
  queriesByGrantLevel: { customer: levelCounts[0], account: levelCounts[1], service: levelCounts[2] },
  mismatchesWithBaseline: cmp.mismatches,
  timerOverheadNs: timerNs,
  engine: {
    batchMeanMedianUs: round(eb.median / 1e3, 4),
    batchMeanP99Us: round(eb.p99 / 1e3, 4),
    singleCallMedianUs: round(es.median / 1e3, 4),
    singleCallP99Us: round(es.p99 / 1e3, 4),
    singleCallP999Us: round(es.p999 / 1e3, 4),
    singleCallMaxUs: round(es.max / 1e3, 1),
    singleCallByGrantLevel: byLevel(engSingle),
  },
  nodeLookupOnly: {
    batchMeanMedianUs: round(lb.median / 1e3, 4),
    batchMeanP99Us: round(lb.p99 / 1e3, 4),
    note: 'tree.indexOf(node) alone on the same queries',
  },
  naiveBaseline: {
    batchMeanMedianUs: round(nb.median / 1e3, 4),
    batchMeanP99Us: round(nb.p99 / 1e3, 4),
    singleCallMedianUs: round(ns.median / 1e3, 4),
    singleCallP99Us: round(ns.p99 / 1e3, 4),
    singleCallP999Us: round(ns.p999 / 1e3, 4),
    singleCallMaxUs: round(ns.max / 1e3, 1),
  },
  note: 'single-call times include one hrtime.bigint pair (timerOverheadNs); batch means include 1/64 of it',
}
log(`check: engine median ${(eb.median / 1e3).toFixed(3)} µs, naive ${(nb.median / 1e3).toFixed(3)} µs`)
target('check median (batch means)', eb.median / 1e3, 'µs', TARGET.checkMedianUs, '≤')
target('check p99 (batch means)', eb.p99 / 1e3, 'µs', TARGET.checkP99Us, '≤')
target('check p99 (single call)', es.p99 / 1e3, 'µs', TARGET.checkP99Us, '≤')
target('engine = naive baseline (mismatches)', cmp.mismatches, '', 0, '≤')

// 2b. Informational: a person with 12 grants takes the ancestor-walk path of check (more than 8 grants).
{
  const rng = new Rng(SEED + 7)
  const heavy = `${spec.customer}-HEAVY`
  const scopes: number[] = []
  const mine = new Map<string, number>()
  baseline.grants.set(heavy, mine)
  while (scopes.length < 12) {
    const account = scopes.length < 6
    const node = account ? 1 + rng.int(spec.accounts) : 1 + spec.accounts + rng.int(spec.services)
    if (scopes.includes(node)) continue
    const role = account ? 'account-viewer' : 'service-user'
    const input: GrantInput = { id: `HEAVY-${scopes.length}`, person: heavy, role, scope: nodeId(spec, node) }
    engine.addGrant(input)
    const r = catalog.role(role)
    mine.set(input.scope, r ? catalog.maskOf(r, []) : 0)
    scopes.push(node)
  }
  const n = QUICK ? 1 << 14 : 1 << 17
  const hq: Queries = {
    length: n,
    person: new Array<string>(n).fill(heavy),
    permission: new Array<string>(n),
    node: new Array<string>(n),
    level: new Uint8Array(n),
  }
  const ids = Array.from({ length: spec.nodes }, (_, k) => nodeId(spec, k))
  for (let i = 0; i < n; i++) {
    const g = rng.pick(scopes)
    const from = spec.pre[g] as number
    const node = rng.chance(0.5)
      ? (spec.order[from + rng.int((spec.end[g] as number) - from)] as number)
      : rng.int(spec.nodes)
    hq.node[i] = ids[node] as string
    hq.permission[i] = rng.pick(['node.view', 'service.block', 'service.order'])
  }
  const hc = compareAnswers(engine, baseline, hq)
  const he = new Float64Array(n / BATCH)
  const hn = new Float64Array(n / BATCH)
  engineBatches(engine, hq, he, 0)
  baselineBatches(baseline, hq, hn, 0)
  sink += engineBatches(engine, hq, he, 0)
  sink += baselineBatches(baseline, hq, hn, 0)
  const hes = summary(he)
  const hns = summary(hn)
  results.checkManyGrants = {
    grants: scopes.length,
    queries: n,
    mismatchesWithBaseline: hc.mismatches,
    allowedShare: round(hc.allowed / n),
    engineBatchMeanMedianUs: round(hes.median / 1e3, 4),
    engineBatchMeanP99Us: round(hes.p99 / 1e3, 4),
    naiveBatchMeanMedianUs: round(hns.median / 1e3, 4),
  }
  for (let i = 0; i < scopes.length; i++) engine.removeGrant(`HEAVY-${i}`)
  baseline.grants.delete(heavy)
  target('engine = naive baseline, 12-grant person (mismatches)', hc.mismatches, '', 0, '≤')
}

// 3. list: first page of 100 services for a customer-wide, an account-level and a service-level grant.
function firstPerson(pred: (person: number) => boolean): number {
  for (let p = 0; p < spec.people; p++) if (pred(p)) return p
  throw new Error('no person fits')
}
const grantsOfPerson = (p: number) =>
  (spec.grantsOf[p] as number[]).map((gi) => spec.grants[gi] as CustomerSpec['grants'][0])
const viewing = new Set(['account-admin', 'account-admin-no-billing', 'account-viewer'])
const serviceViewing = new Set(['service-admin', 'service-user', 'service-viewer'])
let accountHolder = -1
for (let depth = 1; depth <= spec.accountDepth && accountHolder < 0; depth++) {
  for (let p = spec.customerLevelPeople; p < spec.people && accountHolder < 0; p++) {
    const gs = grantsOfPerson(p)
    if (gs.some((g) => viewing.has(g.role) && spec.depth[g.node] === depth)) accountHolder = p
  }
}
const serviceHolder = firstPerson(
  (p) => p >= spec.customerLevelPeople && grantsOfPerson(p).every((g) => serviceViewing.has(g.role)),
)
const listCases: { name: string; person: string; permission: string; scope: string }[] = [
  {
    name: 'customer-wide (primary-admin)',
    person: personId(spec, 0),
    permission: 'service.order',
    scope: '',
  },
  {
    name: 'account-level (depth-1 account)',
    person: personId(spec, accountHolder),
    permission: 'node.view',
    scope: grantsOfPerson(accountHolder)
      .filter((g) => viewing.has(g.role))
      .map((g) => nodeId(spec, g.node))
      .join(' '),
  },
  {
    name: 'service-level',
    person: personId(spec, serviceHolder),
    permission: 'node.view',
    scope: grantsOfPerson(serviceHolder)
      .map((g) => nodeId(spec, g.node))
      .join(' '),
  },
]
const listResults = listCases.map((c) => {
  const page = engine.list(c.person, c.permission, 'service', { limit: 100 })
  let total = 0
  for (const _ of engine.listAll(c.person, c.permission, 'service')) total++
  const s = summary(
    timeCalls(S.listRuns, S.listWarm, () => engine.list(c.person, c.permission, 'service', { limit: 100 })),
  )
  target(`list first page, ${c.name}, median`, s.median / 1e3, 'µs', TARGET.listFirstPageUs, '<')
  target(`list first page, ${c.name}, p99`, s.p99 / 1e3, 'µs', TARGET.listFirstPageUs, '<')
  return {
    case: c.name,
    person: c.person,
    permission: c.permission,
    grantScopes: c.scope,
    pageSize: page.nodes.length,
    totalServices: total,
    medianUs: round(s.median / 1e3, 2),
    p99Us: round(s.p99 / 1e3, 2),
    runs: S.listRuns,
  }
})

// 3b. Stream the whole customer-wide list without materialising it.
const wide = listCases[0] as (typeof listCases)[0]
const streamMs: number[] = []
let streamed = 0
for (let r = 0; r < S.streams; r++) {
  const a = now()
  let c = 0
  for (const _ of engine.listAll(wide.person, wide.permission, 'service')) c++
  streamMs.push(ms(a, now()))
  streamed = c
}
streamMs.sort((a, b) => a - b)
const before = heapAfterGc()
let peak = 0
let midLive = 0
{
  let c = 0
  for (const _ of engine.listAll(wide.person, wide.permission, 'service')) {
    c++
    if (c % 5_000 === 0) peak = Math.max(peak, heapNow() - before)
    if (c === streamed >> 1) midLive = heapAfterGc() - before
  }
}
const hm = heapAfterGc()
const materialised = [...engine.listAll(wide.person, wide.permission, 'service')]
const materialisedBytes = heapAfterGc() - hm
if (materialised.length !== streamed) throw new Error('listAll gave different lengths')
results.list = {
  firstPage: listResults,
  streamAll: {
    services: streamed,
    medianMs: round(streamMs[streamMs.length >> 1] as number),
    nsPerService: round(((streamMs[streamMs.length >> 1] as number) * 1e6) / streamed, 1),
    peakHeapDeltaKB: round(peak / 1024, 1),
    liveHeapDeltaMidwayKB: round(midLive / 1024, 1),
    materialisedArrayKB: round(materialisedBytes / 1024, 1),
    note: 'peak = heapUsed sampled every 5 000 items (includes garbage not yet collected); midway = after gc() half way through',
  },
}
log(
  `lists done; stream of ${streamed} services in ${(streamMs[streamMs.length >> 1] as number).toFixed(1)} ms`,
)

// 4. Grant changes: addGrant + removeGrant pairs on the 100k-node tree and on a 10k-node tree.
const smallSpec = generateCustomer({ ...SMALL, customer: 'C2', seed: SEED + 100 })
const smallTree = buildTree(smallSpec)
smallTree.ensureIndexed()
const smallEngine = new AccessEngine(catalog, smallTree)
loadGrants(smallSpec, smallEngine)
const largeOps = makeGrantOps(spec, engine, UPDATES.pairs, { seed: SEED + 3 })
const smallOps = makeGrantOps(smallSpec, smallEngine, UPDATES.pairs, { seed: SEED + 3 })
// The same large engine, with picks confined to as many accounts, services and people as the small
// tree has: separates the cost of the tree's size from the cost of touching a larger working set.
const confinedOps = makeGrantOps(spec, engine, UPDATES.pairs, { seed: SEED + 4, within: SMALL }).map(
  (op) => ({
    ...op,
    id: `${op.id}-confined`,
  }),
)
function pairs(e: AccessEngine, ops: GrantInput[], from: number, to: number, out: Float64Array | null): void {
  for (let i = from; i < to; i++) {
    const op = ops[i] as GrantInput
    const a = hrtime.bigint()
    e.addGrant(op)
    e.removeGrant(op.id)
    if (out) out[i] = Number(hrtime.bigint() - a)
  }
}
pairs(engine, largeOps, 0, UPDATES.warm, null)
pairs(smallEngine, smallOps, 0, UPDATES.warm, null)
pairs(engine, confinedOps, 0, UPDATES.warm, null)
const largeT = new Float64Array(UPDATES.pairs)
const smallT = new Float64Array(UPDATES.pairs)
const confinedT = new Float64Array(UPDATES.pairs)
const chunk = 1_000
for (let i = 0; i < UPDATES.pairs; i += chunk) {
  // Interleaved in chunks so drift (GC, frequency, other load) hits every series alike.
  const j = Math.min(i + chunk, UPDATES.pairs)
  pairs(smallEngine, smallOps, i, j, smallT)
  pairs(engine, largeOps, i, j, largeT)
  pairs(engine, confinedOps, i, j, confinedT)
}
const ls = summary(largeT)
const ss = summary(smallT)
const cs = summary(confinedT)
if (engine.grantCount !== grantCount) throw new Error('grant count changed after add/remove pairs')
const series = (nodes: number, grants: number, x: ReturnType<typeof summary>) => ({
  nodes,
  grants,
  medianUs: round(x.median / 1e3, 2),
  p99Us: round(x.p99 / 1e3, 2),
})
results.updates = {
  pairs: UPDATES.pairs,
  smallTree: series(smallSpec.nodes, smallSpec.grants.length, ss),
  largeTree: series(spec.nodes, grantCount, ls),
  largeTreeConfined: { ...series(spec.nodes, grantCount, cs), within: SMALL },
  ratioLargeToSmall: round(ls.median / ss.median, 2),
  ratioConfinedToSmall: round(cs.median / ss.median, 2),
  note: 'confined = picks limited to the first 500 accounts, 9 499 services and 1 000 people of the large tree',
}
target('add+remove median, 100k vs 10k nodes (ratio)', ls.median / ss.median, '×', TARGET.updateRatio, '≤')

if (sink === 42) log('') // keep the answers alive

// ---------------------------------------------------------------- report

const machine = {
  cpu: cpus()[0]?.model.trim() ?? 'unknown',
  cores: cpus().length,
  memoryGB: round(totalmem() / 2 ** 30, 1),
  node: process.version,
  v8: process.versions.v8,
  platform: `${platform()} ${arch()}`,
  date: new Date().toISOString(),
  loadAverageAtStart: loadAtStart.map((x) => round(x, 2)),
  loadAverageAtEnd: loadavg().map((x) => round(x, 2)),
}
const us = (x: number, d = 3) => `${x.toFixed(d)} µs`
const c = results.check as {
  engine: Record<string, number>
  naiveBaseline: Record<string, number>
  allowedShare: number
}
const m = results.memory as Record<string, number>
const st = (results.list as { streamAll: Record<string, number> }).streamAll
const up = results.updates as {
  smallTree: Record<string, number>
  largeTree: Record<string, number>
  largeTreeConfined: Record<string, number>
  ratioLargeToSmall: number
  ratioConfinedToSmall: number
}
const heavyR = results.checkManyGrants as Record<string, number>

row('build', 'tree construction (105k nodes)', `${build.treeMs.toFixed(1)} ms`)
row('build', 'first ensureIndexed', `${build.indexMs.toFixed(1)} ms`)
row('build', 'tree + index', `${build.treeAndIndexMs.toFixed(1)} ms`)
row('build', `grant loading (${grantCount} grants)`, `${build.grantsMs.toFixed(1)} ms`)
if (WARM_BUILDS > 0)
  row(
    'build',
    `warm rebuild, best of ${WARM_BUILDS}`,
    `tree+index ${build.warmTreeAndIndexMs.toFixed(1)} ms, grants ${build.warmGrantsMs.toFixed(1)} ms`,
  )
row(
  'check',
  'queries, allowed share',
  `${queries.length} × ${S.passes} passes, ${(c.allowedShare * 100).toFixed(1)} % allowed`,
)
row('check', 'mismatches engine vs naive', `${cmp.mismatches}`)
row('check', 'engine median / p99 (batch means)', `${us(eb.median / 1e3)} / ${us(eb.p99 / 1e3)}`)
row('check', 'naive median / p99 (batch means)', `${us(nb.median / 1e3)} / ${us(nb.p99 / 1e3)}`)
row('check', 'of which: node id lookup alone (tree.indexOf), median', us(lb.median / 1e3))
row('check', 'naive / engine (median)', `${(nb.median / eb.median).toFixed(1)} ×`)
row(
  'check',
  'engine single call median / p99 / p99.9',
  `${us(es.median / 1e3)} / ${us(es.p99 / 1e3)} / ${us(es.p999 / 1e3)}`,
)
row(
  'check',
  'naive single call median / p99 / p99.9',
  `${us(ns.median / 1e3)} / ${us(ns.p99 / 1e3)} / ${us(ns.p999 / 1e3)}`,
)
row('check', 'hrtime.bigint pair overhead (in single calls)', `${timerNs.toFixed(0)} ns`)
row(
  'check',
  '12-grant person (ancestor walk): engine / naive median',
  `${us(heavyR.engineBatchMeanMedianUs as number)} / ${us(heavyR.naiveBatchMeanMedianUs as number)}`,
)
for (const l of listResults)
  row(
    'list',
    `first page, ${l.case} (${l.pageSize} of ${l.totalServices})`,
    `${us(l.medianUs, 1)} median, ${us(l.p99Us, 1)} p99`,
  )
row(
  'list',
  `listAll stream, customer-wide (${st.services} services)`,
  `${st.medianMs?.toFixed(1)} ms (${st.nsPerService} ns/service)`,
)
row(
  'list',
  'heap during stream: peak sampled / live midway',
  `${st.peakHeapDeltaKB} KB / ${st.liveHeapDeltaMidwayKB} KB`,
)
row('list', 'for scale: the same list materialised as an array', `${st.materialisedArrayKB} KB`)
row('memory', `tree (${spec.nodes} nodes)`, `${m.treeMB} MB, ${m.treeMBPer100kNodes} MB per 100 000 nodes`)
row('memory', `grants (${grantCount})`, `${m.grantsMB} MB, ${m.grantsMBPer10kGrants} MB per 10 000 grants`)
row('memory', 'naive baseline (parent map + grant maps)', `${m.naiveBaselineMB} MB`)
row(
  'updates',
  `add+remove, ${up.smallTree.nodes} nodes: median / p99`,
  `${us(up.smallTree.medianUs as number, 2)} / ${us(up.smallTree.p99Us as number, 2)}`,
)
row(
  'updates',
  `add+remove, ${up.largeTree.nodes} nodes: median / p99`,
  `${us(up.largeTree.medianUs as number, 2)} / ${us(up.largeTree.p99Us as number, 2)}`,
)
row(
  'updates',
  `add+remove, ${up.largeTree.nodes} nodes, confined picks: median / p99`,
  `${us(up.largeTreeConfined.medianUs as number, 2)} / ${us(up.largeTreeConfined.p99Us as number, 2)}`,
)
row(
  'updates',
  'large / small median; confined / small',
  `${up.ratioLargeToSmall} ×; ${up.ratioConfinedToSmall} ×`,
)

const totalS = ms(started, now()) / 1e3
const w1 = Math.max(...rows.map((r) => r[0].length))
const w2 = Math.max(...rows.map((r) => r[1].length))
const t1w = Math.max(...targets.map((t) => t.name.length))
const lines = [
  `Zona engine benchmark${QUICK ? ' (--quick)' : ''} – ${machine.cpu} (${machine.cores} cores), Node ${machine.node}, ${machine.date}`,
  '',
  ...rows.map((r) => `${r[0].padEnd(w1)}  ${r[1].padEnd(w2)}  ${r[2]}`),
  '',
  'Targets',
  ...targets.map(
    (t) =>
      `${t.pass ? 'PASS' : 'MISS'}  ${t.name.padEnd(t1w)}  ${String(t.value).padStart(9)} ${t.unit.padEnd(2)}  (target ${t.target})`,
  ),
  '',
  `${targets.filter((t) => t.pass).length}/${targets.length} targets met; run took ${totalS.toFixed(1)} s; ` +
    `load average ${loadAtStart[0]?.toFixed(2)} at the start, ${loadavg()[0]?.toFixed(2)} at the end (${machine.cores} cores)`,
]
process.stdout.write(`${lines.join('\n')}\n`)

if (WRITE) {
  const dir = new URL('./results/', import.meta.url)
  mkdirSync(dir, { recursive: true })
  const json = { machine, mode: QUICK ? 'quick' : 'full', runSeconds: round(totalS, 1), ...results, targets }
  writeFileSync(new URL('engine.json', dir), `${JSON.stringify(json, null, 2)}\n`)
  const md = [
    '# Engine benchmark',
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGB} GB; Node ${machine.node} (V8 ${machine.v8}), ${machine.platform}.`,
    `Date: ${machine.date}. Mode: ${QUICK ? 'quick' : 'full'}. Run time: ${totalS.toFixed(1)} s.`,
    '',
    `Workload (seed ${SEED}): 1 customer, ${spec.accounts} accounts on ${spec.accountDepth} levels (${spec.accountsAtDepth
      .slice(1)
      .map((a) => a.length)
      .join(' / ')}), ${spec.services} services, ${spec.people} people holding ${grantCount} o2-cz grants ` +
      `(customer ${grantsByLevel[0]}, account ${grantsByLevel[1]}, service ${grantsByLevel[2]}). ` +
      'Reproduce with `npm run bench:engine`.',
    '',
    ...((loadAtStart[0] as number) > 0.5 * machine.cores
      ? [
          `**Warning:** the machine was busy (load average ${machine.loadAverageAtStart.join(' / ')} at the start, ` +
            `${machine.loadAverageAtEnd.join(' / ')} at the end, on ${machine.cores} cores): latency and build figures ` +
            'are inflated by other processes. Re-run on a quiet machine before judging the targets.',
          '',
        ]
      : []),
    '| Section | Measure | Result |',
    '| --- | --- | --- |',
    ...rows.map((r) => `| ${r[0]} | ${r[1]} | ${r[2]} |`),
    '',
    '## Targets',
    '',
    '| | Target | Measured | Limit |',
    '| --- | --- | --- | --- |',
    ...targets.map((t) => `| ${t.pass ? 'PASS' : 'MISS'} | ${t.name} | ${t.value} ${t.unit} | ${t.target} |`),
    '',
    'Notes: check latency is timed in batches of 64 precomputed random queries (hrtime.bigint around each',
    'batch, divided by 64); median and p99 are over those batch means. Single-call figures time each call',
    'on its own and include one hrtime.bigint pair. Memory figures are heapUsed + arrayBuffers deltas after gc().',
    '',
  ]
  writeFileSync(new URL('engine.md', dir), md.join('\n'))
  log('wrote bench/results/engine.json and bench/results/engine.md')
}
