/**
 * HTTP benchmark: a real Zona server in a child process (bench/http-server.ts) loaded with the large
 * customer (5 000 accounts 4 deep, 100 000 services, 10 000 people with 1-3 o2-cz grants), driven by
 * autocannon from this process, so the load generator never shares the server's event loop.
 *
 *   npm run bench:http                 PGlite (a fresh data dir in the temp folder)
 *   npm run bench:http -- --pg         PostgreSQL: a fresh database on ZONA_BENCH_PG_URL
 *                                      (default postgres://postgres@127.0.0.1:5432/postgres), dropped after
 *   npm run bench:http -- --quick      small customer, 2 s runs; writes nothing unless --write
 *   npm run bench:http -- --memory     PGlite in memory rather than in a data dir
 *
 * Options: --duration=S --warmup=S --reps=N --connections=N --rate-connections=N (the fixed-rate
 * run's) --seed=N; --only=name,name (some workloads; writes nothing unless --write); --no-profile (skip
 * the profiled run); --profiles=DIR (keep the server's CPU profiles there); --render (only rewrite
 * http.md from http.json). Writes bench/results/http.json (one section per database, the others
 * kept) and http.md.
 *
 * Every workload: a warm-up, then REPS runs of a fixed duration at a fixed number of connections,
 * request bodies cycling through thousands of precomputed queries. Latency is taken from every
 * 2xx response (autocannon's own histogram keeps whole milliseconds only) as µs; each figure is
 * the median over the runs with the smallest and largest run beside it. Answers of /check,
 * /check/batch and /list are sampled while measuring and compared with an engine built here from
 * the same generated data.
 */
import { execSync, fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import type { EventEmitter } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { arch, cpus, loadavg, platform, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { loadPreset } from '../src/catalog/load.ts'
import { AccessEngine } from '../src/domain/engine.ts'
import { buildTree, generateCustomer, loadGrants, makeQueries, nodeId, Rng } from './generate.ts'
import { fmt, markdown, type Run, type Section, type Spread, type WorkloadResult } from './http-report.ts'
import type { ProfileSummary, Ready, ServerArgs } from './http-server.ts'

// ---------------------------------------------------------------- settings

const argv = process.argv.slice(2)
const flag = (name: string) => argv.includes(`--${name}`)
const option = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const QUICK = flag('quick')
const WRITE = (!QUICK && !argv.some((a) => a.startsWith('--only='))) || flag('write')
const PG_URL =
  option('pg') ??
  (flag('pg') ? (process.env.ZONA_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres') : undefined)
const BACKEND: 'pglite' | 'postgres' = PG_URL ? 'postgres' : 'pglite'
/** PGlite in memory instead of a data dir on disk (the product's default is a data dir). */
const IN_MEMORY = flag('memory')
/** The part of http.json and http.md this run replaces. */
const SECTION = IN_MEMORY && BACKEND === 'pglite' ? 'pglite-memory' : BACKEND
const SEED = Number(option('seed') ?? 1)
const SIZE = QUICK
  ? { accounts: 200, services: 4_000, people: 500 }
  : { accounts: 5_000, services: 100_000, people: 10_000 }
const DURATION = Number(option('duration') ?? (QUICK ? 2 : 10))
const WARMUP = Number(option('warmup') ?? (QUICK ? 1 : 3))
const REPS = Number(option('reps') ?? (QUICK ? 3 : 5))
const CONNECTIONS = Number(option('connections') ?? 32)
const ONLY = option('only')?.split(',')
/** Keep the server's CPU profile of each workload in this folder (as <database>-<workload>.cpuprofile). */
const PROFILES = option('profiles')
/** After the measured runs, one more run of each workload with the server's CPU profiler on (not counted). */
const PROFILE_RUN = !flag('no-profile')
/** Precomputed check queries the bodies cycle through. */
const QUERIES = 8192
const BATCH_SIZE = 100
/** Verified responses per run (of those workloads that verify); 5 runs × 200 = 1 000. */
const VERIFY_PER_RUN = Math.ceil(1000 / REPS)
/** Every SAMPLE_EVERY-th response is a candidate for verification, so samples spread over a run. */
const SAMPLE_EVERY = 7
/** The fixed-rate run of /check asks for this share of the saturated /check throughput. */
const FIXED_RATE_SHARE = 0.5
/**
 * Connections the fixed-rate run starts with. autocannon paces per connection and per second: each
 * connection sends its share of a second's requests back to back, then waits for the next second.
 * With few connections the server sees at most that many requests at once; with 32 it would see a
 * burst of 32 at the start of every second and the run would measure the queue of that burst. When
 * the warm-up shows that so few connections cannot reach the rate (each waits for its answer), the
 * run doubles them until they can.
 */
const RATE_CONNECTIONS = Number(option('rate-connections') ?? 4)

const log = (s: string) => process.stderr.write(`${s}\n`)
const RESULTS = new URL('./results/', import.meta.url)

if (flag('render')) {
  const all = JSON.parse(readFileSync(new URL('http.json', RESULTS), 'utf8')) as Record<string, Section>
  writeFileSync(new URL('http.md', RESULTS), markdown(all))
  log('wrote bench/results/http.md from http.json')
  process.exit(0)
}

// ---------------------------------------------------------------- autocannon (no bundled types)

interface CannonRequest {
  method?: string
  path?: string
  body?: string
  headers?: Record<string, string>
  setupRequest?: (request: CannonRequest, context: Record<string, unknown>) => CannonRequest
  onResponse?: (status: number, body: string, context: Record<string, unknown>) => void
}

interface CannonOptions {
  url: string
  connections: number
  duration: number
  overallRate?: number
  timeout?: number
  requests: CannonRequest[]
}

interface CannonResult {
  duration: number
  errors: number
  timeouts: number
  non2xx: number
  '2xx': number
  requests: { total: number }
  latency: { p50: number; p99: number }
}

type Autocannon = (
  options: CannonOptions,
  done: (error: Error | null, result: CannonResult) => void,
) => EventEmitter & { stop(): void }

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

// ---------------------------------------------------------------- the data, as the server has it

const catalog = loadPreset('o2-cz')
log(`HTTP benchmark on ${BACKEND}${QUICK ? ' (--quick)' : ''}: generating the customer (seed ${SEED})`)
const spec = generateCustomer({ ...SIZE, seed: SEED })
const engine = new AccessEngine(catalog, buildTree(spec))
loadGrants(spec, engine)
const queries = makeQueries(spec, catalog, QUERIES, SEED + 1)
const checkBodies = Array.from({ length: QUERIES }, (_, i) =>
  JSON.stringify({ person: queries.person[i], permission: queries.permission[i], node: queries.node[i] }),
)
const expected = Array.from({ length: QUERIES }, (_, i) => {
  const x = engine.explain(
    queries.person[i] as string,
    queries.permission[i] as string,
    queries.node[i] as string,
  )
  return { allowed: x.allowed, code: x.code }
})
const allowedShare = expected.filter((e) => e.allowed).length / QUERIES
/** Batch j holds queries j*100 … j*100+99 (wrapping). */
const BATCHES = 512
const batchOf = (j: number) => Array.from({ length: BATCH_SIZE }, (_, k) => (j * BATCH_SIZE + k) % QUERIES)
const batchBodies = Array.from({ length: BATCHES }, (_, j) =>
  JSON.stringify({
    checks: batchOf(j).map((i) => ({
      person: queries.person[i],
      permission: queries.permission[i],
      node: queries.node[i],
    })),
  }),
)
/** List: the person and permission of a check query, asking for services (4 in 5) or accounts. */
const LISTS = 2048
const listType = (i: number) => (i % 5 === 4 ? 'account' : 'service')
const listBodies = Array.from({ length: LISTS }, (_, i) =>
  JSON.stringify({ person: queries.person[i], permission: queries.permission[i], type: listType(i) }),
)
const listTotals = new Map<number, number>()
function listTotal(i: number): number {
  let n = listTotals.get(i)
  if (n === undefined) {
    n = 0
    for (const _ of engine.listAll(queries.person[i] as string, queries.permission[i] as string, listType(i)))
      n++
    listTotals.set(i, n)
  }
  return n
}
const rng = new Rng(SEED + 7)
const PAGES = 4096
const servicePaths = Array.from(
  { length: PAGES },
  () => `/api/v1/services/${nodeId(spec, spec.accounts + 1 + rng.int(spec.services))}`,
)
/** Children of the customer or of any account (about 20 services and a few accounts each). */
const treePaths = Array.from(
  { length: PAGES },
  () =>
    `/api/v1/customers/${spec.customer}/tree?parent=${encodeURIComponent(nodeId(spec, rng.int(spec.accounts + 1)))}`,
)

// ---------------------------------------------------------------- the server

interface Child {
  ready: Ready
  rss(): Promise<number>
  /** The server process's CPU time so far (µs, all threads). */
  cpu(): Promise<number>
  /** Start (on) or stop the server's CPU profiler; on stop, the summary (and the profile in `file`). */
  profile(on: boolean, file?: string): Promise<ProfileSummary>
  stop(): Promise<void>
}

async function startServer(args: ServerArgs): Promise<Child> {
  const child = fork(new URL('./http-server.ts', import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ZONA_BENCH_SERVER: JSON.stringify(args) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const waiting = new Map<string, (m: Record<string, unknown>) => void>()
  let failed: ((e: Error) => void) | undefined
  child.on('message', (m: Record<string, unknown>) => {
    if (m.type === 'error') failed?.(new Error(`server: ${m.message}`))
    const w = waiting.get(m.type as string)
    waiting.delete(m.type as string)
    w?.(m)
  })
  child.on('exit', (code) => {
    if (code) failed?.(new Error(`the server process exited with ${code}`))
  })
  const next = (type: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      failed = reject
      waiting.set(type, resolve)
    })
  const ready = (await next('ready')) as unknown as Ready
  return {
    ready,
    async rss() {
      const reply = next('rss')
      child.send({ type: 'rss' })
      return (await reply).rss as number
    },
    async cpu() {
      const reply = next('cpu')
      child.send({ type: 'cpu' })
      const m = await reply
      return (m.user as number) + (m.system as number)
    },
    async profile(on: boolean, file?: string): Promise<ProfileSummary> {
      const reply = next('profile')
      child.send({ type: 'profile', on, ...(file ? { file } : {}) })
      const { type: _, ...summary } = await reply
      return summary as unknown as ProfileSummary
    },
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.send({ type: 'stop' })
      const timer = setTimeout(() => child.kill(), 30_000)
      await exited
      clearTimeout(timer)
    },
  }
}

async function admin(url: string, statement: string): Promise<string> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const r = await client.query(statement)
    return String(r.rows[0]?.server_version ?? '')
  } finally {
    await client.end()
  }
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

async function signIn(url: string, login: string, password: string): Promise<string> {
  const cookieOf = (r: Response, name: string) => {
    const c = r.headers.getSetCookie().find((h) => h.startsWith(`${name}=`))
    if (!c) throw new Error(`no ${name} cookie from ${r.url} (${r.status})`)
    return c.split(';')[0] as string
  }
  const csrf = await fetch(`${url}/api/v1/auth/csrf`)
  const csrfCookie = cookieOf(csrf, 'zona_csrf')
  const { token } = (await csrf.json()) as { token: string }
  const r = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: csrfCookie, 'x-csrf-token': token },
    body: JSON.stringify({ login, password }),
  })
  if (r.status !== 200) throw new Error(`sign-in failed: ${r.status} ${await r.text()}`)
  return cookieOf(r, 'zona_session')
}

// ---------------------------------------------------------------- workloads

interface Workload {
  name: string
  title: string
  /** The path as the report shows it, when requests vary it. */
  route?: string
  /** Connections; CONNECTIONS unless set. */
  connections?: number
  url: string
  method: 'GET' | 'POST'
  headers: Record<string, string>
  /** The path and body of request i (i counts on over runs, so every run sees other bodies). */
  request: (i: number) => { path: string; body?: string }
  /** A problem with the response to request i, or undefined when it is right. */
  verify?: (i: number, body: string) => { checked: number; mismatches: number; first?: string }
  overallRate?: number
}

/** A growable array of response times (µs) for one run. */
class Samples {
  private a = new Float64Array(1 << 16)
  length = 0
  push(x: number) {
    if (this.length === this.a.length) {
      const b = new Float64Array(this.a.length * 2)
      b.set(this.a)
      this.a = b
    }
    this.a[this.length++] = x
  }
  sorted(): Float64Array {
    return this.a.slice(0, this.length).sort()
  }
}

const pct = (s: Float64Array, p: number) =>
  s.length === 0 ? Number.NaN : (s[Math.min(s.length - 1, Math.floor(s.length * p))] as number)
const round = (x: number, d = 0) => Math.round(x * 10 ** d) / 10 ** d
const mb = (bytes: number) => round(bytes / 2 ** 20, 1)

function spread(xs: number[]): Spread {
  const s = [...xs].sort((a, b) => a - b)
  return {
    median: s[Math.floor((s.length - 1) / 2)] as number,
    min: s[0] as number,
    max: s[s.length - 1] as number,
  }
}

let counter = 0

/**
 * PostgreSQL runs on this machine: the CPU time (µs) of each backend serving the benchmark's
 * database, read from /proc (clock ticks, 10 ms each, so only totals over a run mean anything).
 * Undefined on PGlite, or when /proc does not show them.
 */
let monitor: pg.Client | undefined
const TICK_US = 1e6 / Number(execSync('getconf CLK_TCK').toString().trim() || 100)

async function databaseCpu(): Promise<Map<number, number> | undefined> {
  if (!monitor || !database) return undefined
  const { rows } = await monitor.query<{ pid: number }>(
    'select pid from pg_stat_activity where datname = $1',
    [database],
  )
  const out = new Map<number, number>()
  for (const { pid } of rows) {
    try {
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      out.set(pid, (Number(fields[11]) + Number(fields[12])) * TICK_US)
    } catch {
      // The backend ended meanwhile, or /proc is not this machine's: counted as nothing.
    }
  }
  return out.size > 0 ? out : undefined
}

/** CPU used between two readings; a backend that started in between counts from zero. */
function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0
  for (const [pid, us] of after) sum += us - (before.get(pid) ?? 0)
  return sum
}

interface Verification {
  /** Responses still to verify in this run. */
  left: number
  responses: number
  checks: number
  mismatches: number
  first?: string
}

async function cannon(
  server: Child,
  w: Workload,
  seconds: number,
  verify: Verification | undefined,
): Promise<Run> {
  const samples = new Samples()
  const serverCpu0 = await server.cpu()
  const databaseCpu0 = await databaseCpu()
  const cpu0 = process.cpuUsage()
  let seen = 0
  const instance = autocannon(
    {
      url: w.url,
      connections: w.connections ?? CONNECTIONS,
      duration: seconds,
      timeout: 30,
      ...(w.overallRate ? { overallRate: w.overallRate } : {}),
      requests: [
        {
          method: w.method,
          headers: w.headers,
          setupRequest: (request, context) => {
            const i = counter++
            context.i = i
            const r = w.request(i)
            return { ...request, path: r.path, ...(r.body !== undefined ? { body: r.body } : {}) }
          },
          ...(verify && w.verify
            ? {
                onResponse: (status: number, body: string, context: Record<string, unknown>) => {
                  if (status !== 200 || verify.left <= 0 || ++seen % SAMPLE_EVERY !== 0) return
                  verify.left--
                  verify.responses++
                  const v = (w.verify as NonNullable<Workload['verify']>)(context.i as number, body)
                  verify.checks += v.checked
                  verify.mismatches += v.mismatches
                  if (v.first && !verify.first) verify.first = v.first
                },
              }
            : {}),
        },
      ],
    },
    () => {},
  )
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) samples.push(ms * 1000)
  })
  const result = await new Promise<CannonResult>((resolve) => instance.on('done', resolve))
  const cpu = process.cpuUsage(cpu0)
  const serverCpu = (await server.cpu()) - serverCpu0
  const databaseCpu1 = await databaseCpu()
  const s = samples.sorted()
  const responses = Math.max(1, s.length + result.non2xx)
  let sum = 0
  for (const x of s) sum += x
  return {
    seconds: result.duration,
    requests: result.requests.total,
    throughput: round(s.length / result.duration),
    p50Us: round(pct(s, 0.5)),
    p95Us: round(pct(s, 0.95)),
    p99Us: round(pct(s, 0.99)),
    maxUs: round(s.length ? (s[s.length - 1] as number) : Number.NaN),
    meanUs: round(sum / Math.max(1, s.length)),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    serverCpuUs: round(serverCpu / responses, 1),
    ...(databaseCpu0 && databaseCpu1
      ? { databaseCpuUs: round(cpuBetween(databaseCpu0, databaseCpu1) / responses, 1) }
      : {}),
    generatorCpuUs: round((cpu.user + cpu.system) / responses, 1),
  }
}

async function runWorkload(server: Child, w: Workload): Promise<WorkloadResult> {
  log(`\n${w.name}: ${w.title}`)
  const rssStart = await server.rss()
  let warm = await cannon(server, w, WARMUP, undefined)
  while (
    w.overallRate &&
    w.connections &&
    warm.throughput < 0.95 * w.overallRate &&
    w.connections < CONNECTIONS
  ) {
    w.connections = Math.min(CONNECTIONS, w.connections * 2)
    log(`  ${warm.throughput} req/s in the warm-up: ${w.connections} connections`)
    warm = await cannon(server, w, WARMUP, undefined)
  }
  const verify: Verification | undefined = w.verify
    ? { left: 0, responses: 0, checks: 0, mismatches: 0 }
    : undefined
  const runs: Run[] = []
  for (let r = 0; r < REPS; r++) {
    if (verify) verify.left = VERIFY_PER_RUN
    const run = await cannon(server, w, DURATION, verify)
    runs.push(run)
    log(
      `  run ${r + 1}/${REPS}: ${run.throughput} req/s, p50 ${run.p50Us} µs, p95 ${run.p95Us} µs, p99 ${run.p99Us} µs, ` +
        `server CPU ${run.serverCpuUs} µs/req` +
        (run.databaseCpuUs !== undefined ? `, PostgreSQL CPU ${run.databaseCpuUs} µs/req` : '') +
        (run.non2xx || run.errors ? `, non-2xx ${run.non2xx}, errors ${run.errors}` : ''),
    )
  }
  const rssEnd = await server.rss()
  let profile: ProfileSummary | undefined
  if (PROFILE_RUN) {
    await server.profile(true)
    await cannon(server, w, DURATION, undefined)
    const file = PROFILES ? join(PROFILES, `${SECTION}-${w.name.replace(/\W+/g, '-')}.cpuprofile`) : undefined
    if (PROFILES) mkdirSync(PROFILES, { recursive: true })
    profile = await server.profile(false, file)
    log(
      `  profile: ${profile.busy
        .slice(0, 5)
        .map((b) => `${b.part} ${b.share} %`)
        .join(', ')}`,
    )
  }
  const out: WorkloadResult = {
    name: w.name,
    title: w.title,
    method: `${w.method} ${w.route ?? w.request(0).path}`,
    connections: w.connections ?? CONNECTIONS,
    ...(w.overallRate ? { overallRate: w.overallRate } : {}),
    runs,
    throughput: spread(runs.map((r) => r.throughput)),
    p50Us: spread(runs.map((r) => r.p50Us)),
    p95Us: spread(runs.map((r) => r.p95Us)),
    p99Us: spread(runs.map((r) => r.p99Us)),
    serverCpuUs: spread(runs.map((r) => r.serverCpuUs)),
    generatorCpuUs: spread(runs.map((r) => r.generatorCpuUs)),
    ...(runs.every((r) => r.databaseCpuUs !== undefined)
      ? { databaseCpuUs: spread(runs.map((r) => r.databaseCpuUs as number)) }
      : {}),
    ...(profile ? { profile } : {}),
    non2xx: runs.reduce((s, r) => s + r.non2xx, 0),
    errors: runs.reduce((s, r) => s + r.errors, 0),
    rssStartMB: mb(rssStart),
    rssEndMB: mb(rssEnd),
    ...(verify ? { verification: verify } : {}),
  }
  if (verify) {
    const { left: _, ...v } = verify
    out.verification = v
    log(
      `  verified ${v.responses} responses (${v.checks} answers): ${v.mismatches} mismatches${v.first ? ` – first: ${v.first}` : ''}`,
    )
  }
  return out
}

function checkAnswer(i: number, a: { allowed?: unknown; code?: unknown }): string | undefined {
  const e = expected[i % QUERIES] as { allowed: boolean; code: string }
  if (a.allowed === e.allowed && a.code === e.code) return undefined
  return `query ${i % QUERIES} (${checkBodies[i % QUERIES]}): got ${JSON.stringify(a)}, expected ${JSON.stringify(e)}`
}

function workloads(ready: Ready, session: string): Workload[] {
  const api = {
    'content-type': 'application/json',
    authorization: `Bearer ${ready.apiKey}`,
  }
  const check: Workload = {
    name: 'check',
    title: 'POST /api/v1/check, one decision',
    url: ready.url,
    method: 'POST',
    headers: api,
    request: (i) => ({ path: '/api/v1/check', body: checkBodies[i % QUERIES] as string }),
    verify: (i, body) => {
      const problem = checkAnswer(i, JSON.parse(body))
      return { checked: 1, mismatches: problem ? 1 : 0, ...(problem ? { first: problem } : {}) }
    },
  }
  return [
    {
      name: 'bare',
      title: 'a bare Fastify instance in the server process, one constant route (the ceiling)',
      url: ready.bareUrl,
      method: 'GET',
      headers: {},
      request: () => ({ path: '/' }),
    },
    {
      name: 'constant',
      title: 'GET /bench/constant on the Zona app: its global hooks (helmet, principal, metrics), no key',
      url: ready.url,
      method: 'GET',
      headers: {},
      request: () => ({ path: '/bench/constant' }),
    },
    {
      name: 'constant+key',
      title: 'the same with the decision API key: + the API-key lookup',
      url: ready.url,
      method: 'GET',
      headers: { authorization: api.authorization },
      request: () => ({ path: '/bench/constant' }),
    },
    {
      name: 'constant+key+version',
      title: 'GET /bench/versioned with the key: + the access-version read every decision makes',
      url: ready.url,
      method: 'GET',
      headers: { authorization: api.authorization },
      request: () => ({ path: '/bench/versioned' }),
    },
    check,
    {
      ...check,
      name: 'check@rate',
      title: 'POST /api/v1/check at a fixed rate below saturation (set after the check run)',
    },
    {
      name: 'batch',
      title: `POST /api/v1/check/batch, ${BATCH_SIZE} decisions a request`,
      url: ready.url,
      method: 'POST',
      headers: api,
      request: (i) => ({ path: '/api/v1/check/batch', body: batchBodies[i % BATCHES] as string }),
      verify: (i, body) => {
        const results = (JSON.parse(body) as { results: { allowed: boolean; code: string }[] }).results
        const ids = batchOf(i % BATCHES)
        let mismatches = results.length === ids.length ? 0 : 1
        let first: string | undefined
        ids.forEach((q, k) => {
          const problem = checkAnswer(q, results[k] ?? {})
          if (problem) {
            mismatches++
            first ??= problem
          }
        })
        return { checked: ids.length, mismatches, ...(first ? { first } : {}) }
      },
    },
    {
      name: 'list',
      title: 'POST /api/v1/list, first page (up to 100 nodes)',
      url: ready.url,
      method: 'POST',
      headers: api,
      request: (i) => ({ path: '/api/v1/list', body: listBodies[i % LISTS] as string }),
      verify: (i, body) => {
        const q = i % LISTS
        const page = JSON.parse(body) as { nodes: string[]; next_cursor: string | null }
        const total = listTotal(q)
        const person = queries.person[q] as string
        const permission = queries.permission[q] as string
        // Sibling order may differ between the server's tree and ours; membership and counts may not.
        const wrong = page.nodes.filter(
          (n) => !engine.check(person, permission, n) || engine.tree.info(n)?.kind !== listType(q),
        )
        const ok =
          wrong.length === 0 &&
          page.nodes.length === Math.min(100, total) &&
          (page.next_cursor === null) === total <= 100
        return {
          checked: 1,
          mismatches: ok ? 0 : 1,
          ...(ok
            ? {}
            : {
                first: `list ${listBodies[q]}: ${page.nodes.length} nodes (${wrong.length} not allowed), ${total} expected in all`,
              }),
        }
      },
    },
    {
      name: 'service page',
      title: 'GET /api/v1/services/:id as the signed-in primary admin, any of the services',
      url: ready.url,
      method: 'GET',
      headers: { cookie: session },
      route: '/api/v1/services/:id',
      request: (i) => ({ path: servicePaths[i % PAGES] as string }),
    },
    {
      name: 'tree page',
      title: 'GET /api/v1/customers/:c/tree?parent=… as the primary admin, children of any account',
      url: ready.url,
      method: 'GET',
      headers: { cookie: session },
      route: '/api/v1/customers/:customer/tree?parent=:id',
      request: (i) => ({ path: treePaths[i % PAGES] as string }),
    },
  ]
}

/** One request of each workload before measuring: a wrong status stops the run with the body. */
async function preflight(w: Workload): Promise<void> {
  const r = w.request(0)
  const res = await fetch(`${w.url}${r.path}`, {
    method: w.method,
    headers: w.headers,
    ...(r.body !== undefined ? { body: r.body } : {}),
  })
  const text = await res.text()
  if (res.status !== 200) throw new Error(`${w.name}: ${w.method} ${r.path} answered ${res.status}: ${text}`)
  if (w.verify) {
    const v = w.verify(0, text)
    if (v.mismatches) throw new Error(`${w.name}: wrong answer before measuring: ${v.first}`)
  }
}

// ---------------------------------------------------------------- run

const loadAtStart = loadavg()
const started = performance.now()
let dataDir: string | undefined
let serverVersion = ''
let database: string | undefined
let server: Child | undefined
const results: WorkloadResult[] = []
let ready: Ready
try {
  if (PG_URL) {
    database = `zona_bench_${randomBytes(5).toString('hex')}`
    serverVersion = await admin(PG_URL, 'show server_version')
    await admin(PG_URL, `create database ${database}`)
    monitor = new pg.Client({ connectionString: PG_URL })
    await monitor.connect()
  } else dataDir = IN_MEMORY ? 'memory://' : mkdtempSync(join(tmpdir(), 'zona-bench-'))
  log(
    `starting the server and loading ${spec.nodes} nodes, ${spec.people} people, ${spec.grants.length} grants…`,
  )
  server = await startServer({
    ...SIZE,
    seed: SEED,
    probeCount: QUICK ? 500 : 2000,
    ...(PG_URL && database
      ? { databaseUrl: withDatabase(PG_URL, database) }
      : { dataDir: dataDir as string }),
  })
  ready = server.ready
  log(`server ready at ${ready.url} (${ready.database}); load: ${JSON.stringify(ready.timings)}`)
  for (const p of ready.probes)
    log(`  probe ${p.name}: ${p.sequentialP50Us} µs p50 alone, ${p.concurrentPerSecond}/s with 32 in flight`)
  const session = await signIn(ready.url, ready.login, ready.password)
  const all = workloads(ready, session)
  for (const w of all) await preflight(w)
  for (const w of all) {
    if (ONLY && !ONLY.includes(w.name)) continue
    if (w.name === 'check@rate') {
      const saturated = results.find((r) => r.name === 'check')
      if (!saturated) continue
      w.overallRate = Math.max(100, Math.round((saturated.throughput.median * FIXED_RATE_SHARE) / 100) * 100)
      w.connections = Math.min(RATE_CONNECTIONS, w.overallRate)
      w.title = `POST /api/v1/check at a fixed ${w.overallRate} req/s (${FIXED_RATE_SHARE * 100} % of the saturated median)`
    }
    results.push(await runWorkload(server, w))
  }
} finally {
  await server?.stop()
  await monitor?.end()
  if (PG_URL && database) await admin(PG_URL, `drop database if exists ${database} with (force)`)
  if (dataDir && !IN_MEMORY) rmSync(dataDir, { recursive: true, force: true })
}

// ---------------------------------------------------------------- report

const totalS = (performance.now() - started) / 1000
const machine = {
  cpu: cpus()[0]?.model.trim() ?? 'unknown',
  cores: cpus().length,
  memoryGB: round(totalmem() / 2 ** 30, 1),
  node: process.version,
  platform: `${platform()} ${arch()}`,
  date: new Date().toISOString(),
  loadAverageAtStart: loadAtStart.map((x) => round(x, 2)),
  loadAverageAtEnd: loadavg().map((x) => round(x, 2)),
}
const pgliteVersion = (
  JSON.parse(
    readFileSync(new URL('../node_modules/@electric-sql/pglite/package.json', import.meta.url), 'utf8'),
  ) as {
    version: string
  }
).version
const section: Section = {
  machine,
  mode: QUICK ? 'quick' : 'full',
  database:
    BACKEND === 'postgres'
      ? `PostgreSQL ${serverVersion} on 127.0.0.1 (a fresh database, dropped after; pool of 10)`
      : `PGlite ${pgliteVersion} ${IN_MEMORY ? 'in memory' : `in a fresh data dir in ${tmpdir()}`} (in the server process)`,
  settings: {
    seed: SEED,
    durationS: DURATION,
    warmupS: WARMUP,
    runs: REPS,
    connections: CONNECTIONS,
    checkQueries: QUERIES,
    allowedShare: round(allowedShare, 3),
    verifiedPerRun: VERIFY_PER_RUN,
  },
  customer: {
    accounts: spec.accounts,
    levels: spec.accountDepth,
    services: spec.services,
    people: spec.people,
    grants: spec.grants.length,
  },
  load: { timingsMs: ready.timings, rssAfterLoadMB: mb(ready.rss) },
  probes: ready.probes,
  workloads: results,
  runSeconds: round(totalS, 1),
}

for (const r of results)
  process.stdout.write(
    `${r.name.padEnd(22)} ${fmt(r.throughput).padStart(26)} req/s  p50 ${fmt(r.p50Us).padStart(22)}  p95 ${fmt(r.p95Us).padStart(22)}  p99 ${fmt(r.p99Us).padStart(22)} µs` +
      `${r.verification ? `  verified ${r.verification.checks}, mismatches ${r.verification.mismatches}` : ''}\n`,
  )
process.stdout.write(`run took ${totalS.toFixed(0)} s\n`)

if (WRITE) {
  mkdirSync(RESULTS, { recursive: true })
  const jsonFile = new URL('http.json', RESULTS)
  const all = (existsSync(jsonFile) ? JSON.parse(readFileSync(jsonFile, 'utf8')) : {}) as Record<
    string,
    Section
  >
  all[SECTION] = section
  writeFileSync(jsonFile, `${JSON.stringify(all, null, 2)}\n`)
  writeFileSync(new URL('http.md', RESULTS), markdown(all))
  log('wrote bench/results/http.json and bench/results/http.md')
}
