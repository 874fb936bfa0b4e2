/**
 * Measuring one in-process system: load time and memory, the comparison with Zona's answers,
 * check and list latency (warm-up, then repetitions), and the time from a revoke to the first
 * refused check. Runs in the system's own process (and, for SpiceDB, in a worker_thread).
 */
import { loadPreset } from '../../src/catalog/load.ts'
import {
  type Latency,
  latency,
  type Rep,
  round,
  rssMb,
  type Summary,
  summarize,
  timerOverheadNs,
} from './stats.ts'
import type { InProcessSystem } from './systems/types.ts'
import { customerOf, LEVELS, LIST_BUCKETS, sameSet, type Workload } from './workload.ts'

export interface InProcSettings {
  reps: number
  warmMs: number
  /** Time spent timing checks in each repetition. */
  checkRepMs: number
  /** Time spent timing list pages in each repetition (at least one pass over the lists). */
  listRepMs: number
  /** Lists of each size class timed per repetition (all when absent): SpiceDB takes up to seconds a list. */
  listsPerBucket?: number
  pageSize: number
  /** Checks of the sample compared with Zona's answers (all when absent; the quick run compares fewer). */
  compareChecks?: number
}

export interface Row extends Summary {
  system: string
  label: string
  tier: 'in-process' | 'http-loopback'
  workload: string
  rss_mb: number
  mismatches: number
  /** True when the system's answers differed from Zona's: the row's figures do not count. */
  void: boolean
  note?: string
}

export interface SystemResult {
  system: string
  label: string
  tier: 'in-process' | 'http-loopback'
  versions: Record<string, string>
  loadMs: number
  rssBeforeMb: number
  rssLoadedMb: number
  rssMb: number
  compared: {
    checks: number
    checkMismatches: number
    lists: number
    listMismatches: number
    examples: string[]
  }
  revoke: RevokeResult
  staleRevoke?: RevokeResult
  rows: Row[]
  notes: string[]
}

export interface RevokeResult {
  /** From the revoke call's start to the first refused check's answer. */
  ms: number
  /** Checks asked after the revoke until one was refused (1: the very next). */
  checks: number
  refused: boolean
}

type Log = (line: string) => void

/** Checks per bulk call in the comparison (SpiceDB): large batches hit its request deadline on the large customer. */
const BULK = 100

export async function runInProcess(
  system: InProcessSystem,
  w: Workload,
  s: InProcSettings,
  log: Log,
  extra: {
    bulk?: (qs: { person: string; permission: string; node: string }[]) => Promise<boolean[]>
    /**
     * Waits for this system's turn before each timed phase: the parent runs the repetitions of
     * all systems in turns, so each meets the same background on a shared machine.
     */
    turn?: (phase: string) => Promise<void>
  } = {},
): Promise<SystemResult> {
  const turn = extra.turn ?? (async () => {})
  const began = performance.now()
  const say: Log = (line) => log(`[${((performance.now() - began) / 1000).toFixed(1)} s] ${line}`)
  const catalog = loadPreset('o2-cz')
  const spec = customerOf(w)
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})
  gc()
  const rssBeforeMb = rssMb()
  const t0 = performance.now()
  await system.load(spec, catalog)
  const loadMs = round(performance.now() - t0)
  gc()
  const rssLoadedMb = rssMb()
  say(`${system.id}: loaded in ${loadMs} ms, RSS ${rssLoadedMb} MB`)

  // ---- the comparison with Zona's answers
  const q = w.checks
  const n = Math.min(q.person.length, s.compareChecks ?? q.person.length)
  const examples: string[] = []
  let checkMismatches = 0
  const answers: boolean[] = []
  // The comparison can take minutes (SpiceDB on the large customer): say how far it got.
  let told = performance.now()
  const progress = (done: number) => {
    if (performance.now() - told < 15_000) return
    told = performance.now()
    say(`${system.id}: ${done} of ${n} checks compared so far`)
  }
  if (extra.bulk) {
    for (let i = 0; i < n; i += BULK) {
      progress(i)
      const batch = []
      for (let j = i; j < Math.min(n, i + BULK); j++)
        batch.push({
          person: q.person[j] as string,
          permission: q.permission[j] as string,
          node: q.node[j] as string,
        })
      answers.push(...(await extra.bulk(batch)))
    }
  } else
    for (let i = 0; i < n; i++) {
      if (i % 256 === 0) progress(i)
      answers.push(await system.check(q.person[i] as string, q.permission[i] as string, q.node[i] as string))
    }
  for (let i = 0; i < n; i++)
    if (answers[i] !== q.allowed[i]) {
      checkMismatches++
      if (examples.length < 5)
        examples.push(
          `check ${q.person[i]} ${q.permission[i]} ${q.node[i]}: ${answers[i]}, Zona ${q.allowed[i]}`,
        )
    }
  say(`${system.id}: ${n} checks compared`)
  let listMismatches = 0
  for (const l of w.lists) {
    const got = await system.listAll(l.person, l.permission)
    if (!sameSet(got, l.expected)) {
      listMismatches++
      if (examples.length < 5)
        examples.push(`list ${l.person} ${l.permission}: ${got.length} services, Zona ${l.expected.length}`)
    }
  }
  say(
    `${system.id}: ${checkMismatches} of ${n} checks and ${listMismatches} of ${w.lists.length} lists differ from Zona`,
  )

  // ---- checks
  const overhead = timerOverheadNs()
  const probe = system.check(q.person[0] as string, q.permission[0] as string, q.node[0] as string)
  const sync = !(probe instanceof Promise)
  await probe
  // Warm-up: the JIT, caches, and (for SpiceDB) the Go runtime settle before anything is kept.
  await turn('check warm-up')
  await timeChecks(system, w, sync, s.warmMs, overhead)
  const checkReps: Rep[] = []
  const classReps = new Map<string, Rep[]>()
  let timedMismatches = 0
  for (let r = 0; r < s.reps; r++) {
    await turn(`checks ${r + 1}`)
    const ops = sync ? throughput(system, w, s.checkRepMs / 2) : Number.NaN
    const t = await timeChecks(system, w, sync, sync ? s.checkRepMs / 2 : s.checkRepMs, overhead)
    timedMismatches += t.mismatches
    const all = latency(t.all)
    checkReps.push({ ...us(all), ops: sync ? ops : t.count / (t.elapsedMs / 1000), n: all.n })
    for (const [cls, values] of t.byClass) {
      const l = latency(values)
      const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length)
      push(classReps, cls, { ...us(l), ops: 1e9 / mean, n: l.n })
    }
  }
  say(`${system.id}: checks timed`)

  // ---- lists: the first page of each list in the sample, by result size
  const listReps = new Map<string, Rep[]>()
  const lists = sampleLists(w, s.listsPerBucket)
  await turn('list warm-up')
  await timeLists(system, lists, s.pageSize, 0, overhead)
  for (let r = 0; r < s.reps; r++) {
    await turn(`lists ${r + 1}`)
    const t = await timeLists(system, lists, s.pageSize, s.listRepMs, overhead)
    for (const [cls, values] of t) {
      const l = latency(values)
      const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length)
      push(listReps, cls, { ...us(l), ops: 1e9 / mean, n: l.n })
    }
  }
  say(`${system.id}: lists timed`)
  gc()
  const rss = Math.max(rssLoadedMb, rssMb())

  // ---- revoke → first refused check
  await turn('revoke')
  const revoke = await revokeProbe(system, w, (p, m, x) => system.check(p, m, x))
  let staleRevoke: RevokeResult | undefined
  if (system.checkCached && system.restore) {
    await system.restore(w.revoke)
    const cached = system.checkCached.bind(system)
    staleRevoke = await revokeProbe(system, w, cached, true)
  }
  say(`${system.id}: revoke refused after ${revoke.checks} check(s), ${revoke.ms} ms`)

  const checkVoid = checkMismatches + timedMismatches > 0
  const listVoid = listMismatches > 0
  const base = { system: system.id, label: system.label, tier: 'in-process' as const, rss_mb: rss }
  const rows: Row[] = [
    {
      ...base,
      workload: 'check',
      ...summarize(checkReps),
      mismatches: checkMismatches + timedMismatches,
      void: checkVoid,
    },
  ]
  for (const level of LEVELS)
    for (const outcome of ['allowed', 'denied']) {
      const reps = classReps.get(`${level}/${outcome}`)
      if (reps)
        rows.push({
          ...base,
          workload: `check: ${level} grant, ${outcome}`,
          ...summarize(reps),
          mismatches: checkMismatches + timedMismatches,
          void: checkVoid,
        })
    }
  for (const b of [{ id: ALL_SIZES }, ...LIST_BUCKETS]) {
    const reps = listReps.get(b.id)
    if (reps)
      rows.push({
        ...base,
        workload: `list first page: ${b.id}`,
        ...summarize(reps),
        mismatches: listMismatches,
        void: listVoid,
      })
  }
  rows.push({
    ...base,
    workload: 'revoke → first refused check',
    ops_per_sec: Number.NaN,
    p50_us: round(revoke.ms * 1000),
    p95_us: Number.NaN,
    p99_us: Number.NaN,
    n: revoke.checks,
    reps: 1,
    spread: nanSpread(),
    mismatches: revoke.refused ? 0 : 1,
    void: !revoke.refused,
    note: `refused on check ${revoke.checks} after the revoke`,
  })
  return {
    system: system.id,
    label: system.label,
    tier: 'in-process',
    versions: system.versions,
    loadMs,
    rssBeforeMb,
    rssLoadedMb,
    rssMb: rss,
    compared: {
      checks: n,
      checkMismatches: checkMismatches + timedMismatches,
      lists: w.lists.length,
      listMismatches,
      examples,
    },
    revoke,
    ...(staleRevoke ? { staleRevoke } : {}),
    rows,
    notes: [
      `single calls timed with process.hrtime.bigint(); its ${Math.round(overhead)} ns pair cost is subtracted`,
    ],
  }
}

function us(l: Latency): { p50: number; p95: number; p99: number } {
  return { p50: l.p50 / 1000, p95: l.p95 / 1000, p99: l.p99 / 1000 }
}

export function nanSpread(): Summary['spread'] {
  const x: [number, number] = [Number.NaN, Number.NaN]
  return { ops_per_sec: x, p50_us: x, p95_us: x, p99_us: x }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const a = m.get(k)
  if (a) a.push(v)
  else m.set(k, [v])
}

/** Untimed calls, back to back over the sample, for `ms`: checks per second. */
function throughput(system: InProcessSystem, w: Workload, ms: number): number {
  const { person, permission, node } = w.checks
  const n = person.length
  const check = system.check.bind(system)
  let calls = 0
  let allowed = 0
  const start = performance.now()
  let elapsed = 0
  let i = 0
  while (elapsed < ms) {
    for (let c = 0; c < 256; c++, i = i + 1 === n ? 0 : i + 1)
      if (check(person[i] as string, permission[i] as string, node[i] as string)) allowed++
    calls += 256
    elapsed = performance.now() - start
  }
  if (allowed < 0) throw new Error('unreachable')
  return calls / (elapsed / 1000)
}

/** Each call timed on its own (ns, timer cost subtracted), by class, for `ms` or at least 50 calls. */
async function timeChecks(system: InProcessSystem, w: Workload, sync: boolean, ms: number, overhead: number) {
  const { person, permission, node, level, allowed } = w.checks
  const n = person.length
  const all: number[] = []
  const byClass = new Map<string, number[]>()
  let mismatches = 0
  let count = 0
  const start = performance.now()
  let i = 0
  const chunk = sync ? 64 : 4
  while (performance.now() - start < ms || count < 50) {
    for (let c = 0; c < chunk; c++, i = (i + 1) % n, count++) {
      const p = person[i] as string
      const m = permission[i] as string
      const x = node[i] as string
      let r: boolean
      let dt: number
      if (sync) {
        const t0 = process.hrtime.bigint()
        r = system.check(p, m, x) as boolean
        dt = Number(process.hrtime.bigint() - t0) - overhead
      } else {
        const t0 = process.hrtime.bigint()
        r = await system.check(p, m, x)
        dt = Number(process.hrtime.bigint() - t0) - overhead
      }
      if (r !== allowed[i]) mismatches++
      const v = Math.max(0, dt)
      all.push(v)
      push(byClass, `${LEVELS[level[i] as number]}/${allowed[i] ? 'allowed' : 'denied'}`, v)
    }
  }
  return { all, byClass, mismatches, count, elapsedMs: performance.now() - start }
}

export const ALL_SIZES = 'all sizes'

/** The lists timed: all, or the first `perBucket` of each size class. */
function sampleLists(w: Workload, perBucket?: number): Workload['lists'] {
  if (perBucket === undefined) return w.lists
  const taken = new Map<string, number>()
  return w.lists.filter((l) => {
    const k = taken.get(l.bucket) ?? 0
    taken.set(l.bucket, k + 1)
    return k < perBucket
  })
}

/** The first page of each list, passes repeated for `ms` (one pass at least), by class and all together. */
async function timeLists(
  system: InProcessSystem,
  lists: Workload['lists'],
  pageSize: number,
  ms: number,
  overhead: number,
) {
  const byClass = new Map<string, number[]>()
  const start = performance.now()
  do {
    for (const l of lists) {
      const t0 = process.hrtime.bigint()
      const r = system.listPage(l.person, l.permission, pageSize)
      const page = r instanceof Promise ? await r : r
      const dt = Number(process.hrtime.bigint() - t0) - overhead
      if (page.length !== Math.min(pageSize, l.expected.length))
        throw new Error(`${system.id}: first page of ${l.person} ${l.permission} has ${page.length} services`)
      push(byClass, l.bucket, Math.max(0, dt))
      push(byClass, ALL_SIZES, Math.max(0, dt))
    }
  } while (performance.now() - start < ms)
  return byClass
}

async function revokeProbe(
  system: InProcessSystem,
  w: Workload,
  check: InProcessSystem['check'],
  /** Wait (up to 30 s) until the check sees the grant: a cached check may not see it at once. */
  waitAllowed = false,
): Promise<RevokeResult> {
  const t = w.revoke
  const until = performance.now() + (waitAllowed ? 30_000 : 0)
  while (!(await check(t.person, t.permission, t.node))) {
    if (performance.now() > until)
      throw new Error(`${system.id}: the revoke target is not allowed before the revoke`)
    await new Promise((r) => setTimeout(r, 20))
  }
  const t0 = performance.now()
  await system.revoke(t)
  let checks = 0
  let refused = false
  while (performance.now() - t0 < 15_000) {
    checks++
    if (!(await check(t.person, t.permission, t.node))) {
      refused = true
      break
    }
  }
  return { ms: round(performance.now() - t0), checks, refused }
}
