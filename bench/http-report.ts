/**
 * The HTTP benchmark's results (bench/results/http.json, one section per database) and their
 * rendering as bench/results/http.md. `npm run bench:http -- --render` rewrites the markdown from
 * the JSON without measuring.
 */
import type { Probe, ProfileSummary } from './http-server.ts'

export interface Run {
  seconds: number
  requests: number
  throughput: number
  p50Us: number
  p95Us: number
  p99Us: number
  maxUs: number
  meanUs: number
  non2xx: number
  errors: number
  timeouts: number
  /** CPU time of the server process (all its threads) per response, µs; the database server's is not in it. */
  serverCpuUs: number
  /** CPU time of this process (autocannon) per response, µs. */
  generatorCpuUs: number
  /** PostgreSQL only: CPU time of the server's database backends per response, µs. */
  databaseCpuUs?: number
}

export interface Spread {
  median: number
  min: number
  max: number
}

export interface WorkloadResult {
  name: string
  title: string
  method: string
  connections: number
  overallRate?: number
  runs: Run[]
  throughput: Spread
  p50Us: Spread
  p95Us: Spread
  p99Us: Spread
  serverCpuUs: Spread
  generatorCpuUs: Spread
  databaseCpuUs?: Spread
  non2xx: number
  errors: number
  profile?: ProfileSummary
  rssStartMB: number
  rssEndMB: number
  verification?: { responses: number; checks: number; mismatches: number; first?: string }
}

/** One database's run, as http.json keeps it. */
export interface Section {
  machine: {
    cpu: string
    cores: number
    memoryGB: number
    node: string
    platform: string
    date: string
    loadAverageAtStart: number[]
    loadAverageAtEnd: number[]
  }
  mode: string
  database: string
  settings: {
    seed: number
    durationS: number
    warmupS: number
    runs: number
    connections: number
    checkQueries: number
    allowedShare: number
    verifiedPerRun: number
  }
  customer: { accounts: number; levels: number; services: number; people: number; grants: number }
  load: { timingsMs: Record<string, number>; rssAfterLoadMB: number }
  probes: Probe[]
  workloads: WorkloadResult[]
  runSeconds: number
}

/** A spread as "median (smallest–largest)". */
export const fmt = (s: Spread, d = 0) => `${s.median.toFixed(d)} (${s.min.toFixed(d)}–${s.max.toFixed(d)})`

export function markdown(all: Record<string, Section>): string {
  const md: string[] = [
    '# HTTP benchmark',
    '',
    'A real Zona server in a child process, driven by autocannon from the parent process (`npm run bench:http`,',
    '`npm run bench:http -- --pg`). Each workload: a warm-up, then several runs of a fixed duration at a fixed',
    'number of connections, request bodies cycling through thousands of precomputed queries. Figures are the',
    'median over the runs, (smallest–largest run) beside it; latencies in µs from every 2xx response.',
    '',
  ]
  const titles: Record<string, string> = {
    pglite: 'PGlite',
    'pglite-memory': 'PGlite in memory',
    postgres: 'PostgreSQL',
  }
  for (const backend of Object.keys(titles)) {
    const s = all[backend]
    if (!s) continue
    const m = s.machine
    const dbColumn = s.workloads.some((w) => w.databaseCpuUs)
    md.push(
      `## ${titles[backend]}`,
      '',
      `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB; Node ${m.node}, ${m.platform}. Date: ${m.date}. ` +
        `Load average (1, 5, 15 min) at start ${m.loadAverageAtStart.join(' ')}, at end ${m.loadAverageAtEnd.join(' ')}. ` +
        `Mode: ${s.mode}; run time ${s.runSeconds} s.`,
      '',
      `Database: ${s.database}.`,
      '',
      `Customer (seed ${s.settings.seed}): ${s.customer.accounts} accounts on ${s.customer.levels} levels, ` +
        `${s.customer.services} services, ${s.customer.people} people, ${s.customer.grants} o2-cz grants. ` +
        `Loaded in ${Object.entries(s.load.timingsMs)
          .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
          .join(', ')}; server RSS after loading ${s.load.rssAfterLoadMB} MB.`,
      '',
      `Runs: ${s.settings.runs} × ${s.settings.durationS} s after ${s.settings.warmupS} s of warm-up, ` +
        `${s.settings.connections} connections. Check bodies: ${s.settings.checkQueries} precomputed queries, ` +
        `${(s.settings.allowedShare * 100).toFixed(0)} % allowed.`,
      '',
      `| Workload | Request | req/s | p50 µs | p95 µs | p99 µs | server CPU µs/req |${dbColumn ? ' PostgreSQL CPU µs/req |' : ''} autocannon CPU µs/req | non-2xx | RSS start → end MB | Verified (mismatches) |`,
      `| --- | --- | --- | --- | --- | --- | --- |${dbColumn ? ' --- |' : ''} --- | --- | --- | --- |`,
      ...s.workloads.map(
        (r) =>
          `| ${r.name} | ${r.method}${r.overallRate ? ` at ${r.overallRate}/s, ${r.connections} conn.` : ''} | ${fmt(r.throughput)} | ${fmt(r.p50Us)} | ${fmt(r.p95Us)} | ${fmt(r.p99Us)} | ${fmt(r.serverCpuUs)} |${dbColumn ? ` ${r.databaseCpuUs ? fmt(r.databaseCpuUs) : '–'} |` : ''} ${fmt(r.generatorCpuUs)} | ${r.non2xx + r.errors} | ${r.rssStartMB} → ${r.rssEndMB} | ${r.verification ? `${r.verification.checks} (${r.verification.mismatches})` : '–'} |`,
      ),
      '',
      'Per-request queries on their own, measured in the server process before the load (no HTTP):',
      '',
      '| Query | alone p50 µs | alone p99 µs | with 32 in flight, per s |',
      '| --- | --- | --- | --- |',
      ...s.probes.map(
        (p: Probe) =>
          `| ${p.name} | ${p.sequentialP50Us} | ${p.sequentialP99Us} | ${p.concurrentPerSecond} |`,
      ),
      '',
      ...costLadder(s.workloads),
      '',
      ...findings(backend, s.workloads),
      ...profileTable(s.workloads),
    )
  }
  md.push(...notes())
  return md.join('\n')
}

/** What each step from the bare ceiling to /check adds, in server CPU per request and in throughput. */
function costLadder(ws: WorkloadResult[]): string[] {
  const steps: [string, string][] = [
    ['bare', 'Fastify alone'],
    ['constant', "+ Zona's app and global hooks (helmet, cookies, principal, metrics)"],
    ['constant+key', '+ the API-key lookup'],
    ['constant+key+version', '+ the access-version read'],
    ['check', '+ body validation, the decision, its serialization (= POST /check)'],
  ]
  const rows: string[] = []
  const withDb = ws.some((w) => w.databaseCpuUs)
  let previous: WorkloadResult | undefined
  for (const [n, what] of steps) {
    const w = ws.find((x) => x.name === n)
    if (!w) continue
    const cpu = w.serverCpuUs.median
    const db = w.databaseCpuUs?.median ?? 0
    const before = previous ? previous.serverCpuUs.median + (previous.databaseCpuUs?.median ?? 0) : undefined
    const added =
      before === undefined ? '–' : `${cpu + db - before >= 0 ? '+' : ''}${(cpu + db - before).toFixed(1)}`
    rows.push(
      `| ${n} | ${what} | ${cpu.toFixed(1)} |${withDb ? ` ${db.toFixed(1)} |` : ''} ${added} | ${w.throughput.median.toFixed(0)} |`,
    )
    previous = w
  }
  if (rows.length === 0) return []
  return [
    'Cost ladder, from the bare ceiling to a decision: CPU per request of the server process (all its threads)',
    `${withDb ? 'and of its PostgreSQL backends, ' : ''}medians over the runs, and what each step adds:`,
    '',
    `| Workload | What it adds | server CPU µs/req |${withDb ? ' PostgreSQL CPU µs/req |' : ''} added | req/s |`,
    `| --- | --- | --- |${withDb ? ' --- |' : ''} --- | --- |`,
    ...rows,
  ]
}

/**
 * What dominates the cost of a decision, in this run's numbers: the steps of the ladder as shares
 * of /check, and what the two cheap fixes named in the notes would save.
 */
function findings(backend: string, ws: WorkloadResult[]): string[] {
  const cpu = (n: string) => {
    const w = ws.find((x) => x.name === n)
    return w ? w.serverCpuUs.median + (w.databaseCpuUs?.median ?? 0) : undefined
  }
  const [bare, constant, key, version, check] = [
    'bare',
    'constant',
    'constant+key',
    'constant+key+version',
    'check',
  ].map(cpu)
  if (
    bare === undefined ||
    constant === undefined ||
    key === undefined ||
    version === undefined ||
    check === undefined
  )
    return []
  const pct = (x: number) => `${Math.round((100 * x) / check)} %`
  const lookup = key - constant
  const versionRead = version - key
  const rest = check - version
  const profile = ws.find((w) => w.name === 'check')?.profile
  const share = (...parts: string[]) =>
    (profile?.busy ?? []).filter((b) => parts.includes(b.part)).reduce((a, b) => a + b.share, 0)
  const db = share('PGlite (JS)', 'PGlite (WASM PostgreSQL)', 'pg driver', 'Kysely')
  const pglite = backend.startsWith('pglite')
  const withoutLookup = check - lookup
  const withoutBoth = check - lookup - (pglite ? versionRead : 0)
  const where = pglite ? 'server CPU' : 'server and PostgreSQL CPU'
  return [
    `What a decision costs here (${where} per request, medians): POST /check ${check.toFixed(0)} µs, of which`,
    `the bare Fastify round trip ${bare.toFixed(0)} µs (${pct(bare)}), Zona's app and global hooks ${(constant - bare).toFixed(0)} µs (${pct(constant - bare)}),`,
    `the API-key lookup ${lookup.toFixed(0)} µs (${pct(lookup)}), the access-version read ${versionRead.toFixed(0)} µs (${pct(versionRead)}), and body`,
    `validation, the decision and serialization together ${rest.toFixed(0)} µs (${pct(rest)}).` +
      (profile
        ? ` In the profiled /check run, ${pglite ? 'PGlite (JS and WASM) and Kysely' : 'the pg driver and Kysely'} take ${db.toFixed(0)} % of the server's busy time, ` +
          `validation and serialization (ajv, fast-json-stringify and the code they compile from the schemas) ` +
          `${share('ajv (validation)', 'fast-json-stringify (serialization)', 'compiled schemas (ajv, fast-json-stringify)').toFixed(1)} %, ` +
          `the engine ${share('engine (src/domain)').toFixed(1)} %.`
        : ''),
    `Caching API-key lookups would bring /check to about ${withoutLookup.toFixed(0)} µs (${(check / withoutLookup).toFixed(1)}× the throughput, if the`,
    pglite
      ? `machine is the limit); skipping the version read on PGlite as well, to about ${withoutBoth.toFixed(0)} µs (${(check / withoutBoth).toFixed(1)}×).`
      : 'machine is the limit); the version read stays on PostgreSQL (I6), but could share the round trip with the key lookup.',
    ...rateNote(ws),
    '',
  ]
}

/** The fixed-rate run is only below saturation when it got the rate it asked for. */
function rateNote(ws: WorkloadResult[]): string[] {
  const w = ws.find((x) => x.name === 'check@rate')
  if (!w?.overallRate || w.throughput.median >= 0.95 * w.overallRate) return []
  return [
    `The fixed-rate run asked for ${w.overallRate} req/s and got ${w.throughput.median.toFixed(0)} on ${w.connections} connections: the`,
    'machine was busier than in its warm-up, so that run was not below saturation after all.',
  ]
}

/** Where the server's busy time goes in each workload (one extra run with the CPU profiler on). */
function profileTable(ws: WorkloadResult[]): string[] {
  const profiled = ws.filter((w) => w.profile)
  if (profiled.length === 0) return []
  const total = new Map<string, number>()
  for (const w of profiled)
    for (const b of (w.profile as ProfileSummary).busy) total.set(b.part, (total.get(b.part) ?? 0) + b.share)
  const parts = [...total]
    .sort((a, b) => b[1] - a[1])
    .map(([p]) => p)
    .filter((p) =>
      profiled.some((w) => ((w.profile as ProfileSummary).busy.find((b) => b.part === p)?.share ?? 0) >= 2),
    )
  const out = [
    "Where the server process's busy time goes (% of non-idle samples of V8's CPU profiler, one extra run per",
    'workload, not counted above; native code run on behalf of a JavaScript function counts as that function):',
    '',
    `| Workload | ${parts.join(' | ')} | other |`,
    `| --- | ${parts.map(() => '---').join(' | ')} | --- |`,
  ]
  for (const w of profiled) {
    const busy = (w.profile as ProfileSummary).busy
    const shares = parts.map((p) => busy.find((b) => b.part === p)?.share ?? 0)
    const other = Math.max(0, 100 - shares.reduce((a, b) => a + b, 0))
    out.push(`| ${w.name} | ${shares.map((x) => x.toFixed(1)).join(' | ')} | ${other.toFixed(1)} |`)
  }
  const check = profiled.find((w) => w.name === 'check')
  if (check) {
    out.push(
      '',
      'Functions with the most self time in the /check run (% of busy time):',
      '',
      ...(check.profile as ProfileSummary).top.slice(0, 10).map((t) => `- ${t.share} % \`${t.fn}\``),
    )
  }
  out.push('')
  return out
}

function notes(): string[] {
  return [
    '## Notes',
    '',
    '- **What dominates.** Before the engine is asked, every decision request runs two queries: the API-key',
    '  lookup of the principal hook (src/http/principal.ts, a select on api_keys by the key hash) and the',
    "  access-version read of the routes' preHandler (AccessModel.refresh in src/server/access-model.ts). The",
    '  decision itself takes under a microsecond (bench/results/engine.md); ajv validation of the small body and',
    '  the serialization of the answer are a few per cent. On PGlite each query is a parse, plan and execute of',
    "  PostgreSQL compiled to WASM on the server's own event loop (see the probe table), so the two queries are",
    '  most of a /check and the server process is bound to one core; on PostgreSQL they are two round trips to',
    '  another process that shares the same cores. Portal pages add a session lookup (sessions joined with',
    '  people) to the version read, then their own reads (the service row; the rows of up to 100 children)',
    "  and, on the service page, the engine's explanation of each of its 12 actions.",
    '- **Cheap fixes, not made here (the ladder and the findings above give their size).** (1) Cache API-key',
    '  lookups by key hash for a second, dropping an entry when this process revokes the key (a revoke through',
    '  another process then takes up to that second). (2) On PGlite, skip the per-request version read: only',
    '  one process can open a PGlite data dir, every write goes through this process (`write()` applies it or',
    "  reloads after commit) and PGlite's listen() already delivers the triggers' notifications in-process. On",
    '  PostgreSQL the read must stay for I6, but it can ride in the same statement as the key lookup, saving a',
    '  round trip. (3) Minor: @fastify/helmet builds the helmet middleware anew for each request (its',
    '  parseDirectives and dashify show in the profile of the constant route, a few µs a request).',
    '- **Setup.** The server (bench/http-server.ts) builds the Zona app as `startZona` does (buildApp, access',
    '  notifications, listen on 127.0.0.1 port 0) with the logger on at level warn, and adds two routes only the',
    '  benchmark has: `/bench/constant` and `/bench/versioned` (the latter behind the same access-version',
    '  `preHandler` the decision and portal routes use); the ceiling is a second, bare Fastify instance in the',
    '  same process. The tree is loaded through the operator import command (`importTree`, as POST …/import);',
    '  people and grants are written straight into the store in multi-row inserts (the grant commands would',
    '  cost a transaction and an audit event per grant), then the access model reloads from the database.',
    '  The portal workloads use a session from a real sign-in (POST /api/v1/auth/login with its CSRF token).',
    '  PGlite runs from a data dir on disk as in production; `--memory` runs it in memory instead.',
    '- **Correctness.** While measuring, 1 000 /check responses (and as many /check/batch and /list responses)',
    '  are compared with an engine built in the benchmark process from the same generated data: allowed and the',
    '  decision code for checks; for list pages, that every node is of the type and allowed, and that the page',
    '  size and cursor match the number of allowed nodes (sibling order may differ, as the server loads the',
    '  tree from the database).',
    '- **Load generator and machine.** autocannon runs in the parent process on the same machine; with 2 cores',
    '  the generator, the server and (with --pg) PostgreSQL compete for them, so throughput is that of the',
    '  machine, not of the server alone, and other work on the machine (see the load averages) moves it a lot.',
    '  CPU time per request (server process from process.cpuUsage; PostgreSQL backends of the benchmark database',
    '  from /proc, in 10 ms ticks) is steadier and is what the ladder uses. Latency is measured by',
    "  autocannon's client from writing a request to reading the whole response, so it includes time the",
    "  response waits for the generator to read it. The fixed-rate run uses autocannon's overallRate, which lets",
    "  each connection send its share of a second's requests back to back and then wait for the next second:",
    '  the load comes in bursts of as many requests as there are connections, so that run uses as few',
    '  connections as reach the rate in its warm-up (4, doubled while they fall short); with 32 it would measure',
    '  the queue of a 32-request burst every second. Its latency is not corrected for coordinated omission.',
    '',
  ]
}
