/** The results of the peer benchmark: bench/results/peers.json, peers.md and peers.svg. */
import { writeFileSync } from 'node:fs'
import { arch, cpus, platform, totalmem } from 'node:os'
import { join } from 'node:path'
import type { Catalog } from '../../src/domain/catalog.ts'
import type { HttpSettings } from './http-tier.ts'
import { ALL_SIZES, type InProcSettings, type Row, type SystemResult } from './inproc.ts'
import { round } from './stats.ts'
import { CASBIN_MODEL, casbinPolicies } from './systems/casbin.ts'
import { cerbosPolicy } from './systems/cerbos.ts'
import { spiceSchema } from './systems/spicedb.ts'
import { versionOf, zonaVersion } from './versions.ts'
import { LIST_BUCKETS, type Workload } from './workload.ts'

export interface ReportInput {
  mode: 'quick' | 'full'
  seed: number
  workload: Workload
  inproc: InProcSettings
  http: HttpSettings
  results: SystemResult[]
  failures: string[]
  loadavg: { start: number[]; end: number[] }
  runSeconds: number
  catalog: Catalog
}

interface Target {
  target: string
  measured: number
  limit: string
  unit: string
  pass: boolean | null
  note?: string
}

const NAMES: Record<string, string> = {
  zona: 'Zona',
  casl: 'CASL',
  casbin: 'casbin',
  spicedb: 'SpiceDB embedded',
  cerbos: 'Cerbos PDP',
  'cerbos+caller': 'Cerbos + caller',
  'zona-pg': 'Zona on PostgreSQL',
  'fastify-bare': 'bare Fastify',
}
const COLORS: Record<string, string> = {
  zona: '#1b6ac9',
  casl: '#e07b00',
  casbin: '#2e9e44',
  spicedb: '#c23b3b',
  cerbos: '#7d4fc4',
  'cerbos+caller': '#a98ad9',
  'zona-pg': '#5d9be8',
  'fastify-bare': '#7a7a7a',
}

const name = (s: string) => NAMES[s] ?? s

export function writeReport(dir: string, input: ReportInput): string[] {
  const rows = input.results.flatMap((r) => r.rows.map((row) => ({ ...row, load_ms: r.loadMs })))
  const find = (system: string, tier: Row['tier'], workload: string) =>
    rows.find((r) => r.system === system && r.tier === tier && r.workload === workload)
  const conc = `${input.http.connections} connections`
  const rate = `${input.http.rate} req/s`
  const page = `list first page (${input.http.pageSize})`
  const targets = computeTargets(input, find, conc, page)
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memory_gb: round(totalmem() / 1024 ** 3),
    node: process.version,
    v8: process.versions.v8,
    os: `${platform()} ${arch()}`,
  }
  const versions: Record<string, string> = { zona: zonaVersion() }
  for (const r of input.results) Object.assign(versions, r.versions)
  Object.assign(versions, { autocannon: versionOf('autocannon'), '@cerbos/http': versionOf('@cerbos/http') })
  const w = input.workload
  const byBucket: Record<string, number> = {}
  for (const l of w.lists) byBucket[l.bucket] = (byBucket[l.bucket] ?? 0) + 1
  const json = {
    generated: new Date().toISOString(),
    mode: input.mode,
    seed: input.seed,
    run_seconds: input.runSeconds,
    machine,
    loadavg: input.loadavg,
    versions,
    workload: {
      customer: w.scale,
      checks: { n: w.checks.person.length, allowed: w.checks.allowed.filter(Boolean).length },
      lists: { n: w.lists.length, by_size: byBucket, page_size: input.http.pageSize },
      revoke: w.revoke,
      zona_vs_naive_reference: w.reference,
    },
    settings: { in_process: input.inproc, http: input.http },
    targets,
    systems: input.results.map((r) => ({
      system: r.system,
      label: r.label,
      tier: r.tier,
      load_ms: r.loadMs,
      rss_mb: r.rssMb,
      rss_before_load_mb: r.rssBeforeMb,
      compared: r.compared,
      revoke: r.revoke,
      ...(r.staleRevoke ? { revoke_minimize_latency: r.staleRevoke } : {}),
      notes: r.notes,
    })),
    rows: rows.map((r) => ({
      system: r.system,
      tier: r.tier,
      workload: r.workload,
      ops_per_sec: r.ops_per_sec,
      p50_us: r.p50_us,
      p95_us: r.p95_us,
      p99_us: r.p99_us,
      rss_mb: r.rss_mb,
      mismatches: r.mismatches,
      void: r.void,
      label: r.label,
      load_ms: r.load_ms,
      n: r.n,
      reps: r.reps,
      spread: r.spread,
      ...(r.note ? { note: r.note } : {}),
    })),
    failures: input.failures,
  }
  writeFileSync(join(dir, 'peers.json'), `${JSON.stringify(json, null, 2)}\n`)
  writeFileSync(join(dir, 'peers.svg'), chart(input, find, conc, page))
  writeFileSync(
    join(dir, 'peers.md'),
    markdown(input, rows, targets, machine, versions, find, conc, rate, page),
  )
  return ['peers.json', 'peers.md', 'peers.svg'].map((f) => join(dir, f))
}

type Find = (system: string, tier: Row['tier'], workload: string) => (Row & { load_ms: number }) | undefined

function ratio(a: Row | undefined, b: Row | undefined): number {
  if (!a || !b || a.void || b.void) return Number.NaN
  return a.ops_per_sec / b.ops_per_sec
}

function computeTargets(input: ReportInput, find: Find, conc: string, page: string): Target[] {
  const zCheck = find('zona', 'in-process', 'check')
  const zList = find('zona', 'in-process', `list first page: ${ALL_SIZES}`)
  const zHttp = find('zona', 'http-loopback', `check · ${conc}`)
  const out: Target[] = []
  const t = (
    target: string,
    measured: number,
    limit: string,
    unit: string,
    ok: (x: number) => boolean,
    note?: string,
  ) => {
    out.push({
      target,
      measured: round(measured),
      limit,
      unit,
      pass: Number.isFinite(measured) ? ok(measured) : null,
      ...(note ? { note } : {}),
    })
  }
  t(
    'in-process check: Zona / CASL (checks/s)',
    ratio(zCheck, find('casl', 'in-process', 'check')),
    '≥ 10',
    '×',
    (x) => x >= 10,
  )
  t(
    'in-process check: Zona / casbin (checks/s)',
    ratio(zCheck, find('casbin', 'in-process', 'check')),
    '≥ 10',
    '×',
    (x) => x >= 10,
  )
  t(
    'in-process check median (Zona)',
    zCheck && !zCheck.void ? zCheck.p50_us : Number.NaN,
    '≤ 0.5',
    'µs',
    (x) => x <= 0.5,
  )
  t(
    'list first page: Zona / SpiceDB embedded (all sizes, pages/s)',
    ratio(zList, find('spicedb', 'in-process', `list first page: ${ALL_SIZES}`)),
    '≥ 100',
    '×',
    (x) => x >= 100,
  )
  for (const b of LIST_BUCKETS) {
    const r = ratio(
      find('zona', 'in-process', `list first page: ${b.id}`),
      find('spicedb', 'in-process', `list first page: ${b.id}`),
    )
    if (Number.isFinite(r)) t(`… list first page ${b.id}: Zona / SpiceDB`, r, '≥ 100', '×', (x) => x >= 100)
  }
  t(
    'POST /api/v1/check / bare Fastify ceiling (req/s)',
    ratio(zHttp, find('fastify-bare', 'http-loopback', `check (ceiling) · ${conc}`)) * 100,
    '≥ 70',
    '%',
    (x) => x >= 70,
  )
  t(
    'POST /api/v1/check / Cerbos PDP alone (req/s)',
    ratio(zHttp, find('cerbos', 'http-loopback', `check · ${conc}`)),
    '≥ 10',
    '×',
    (x) => x >= 10,
  )
  t(
    'POST /api/v1/check / Cerbos + caller (req/s)',
    ratio(zHttp, find('cerbos+caller', 'http-loopback', `check · ${conc}`)),
    '≥ 10',
    '×',
    (x) => x >= 10,
  )
  const zPg = find('zona-pg', 'http-loopback', `check · ${conc}`)
  if (zPg) {
    t(
      'Zona on PostgreSQL: POST /api/v1/check / bare Fastify ceiling',
      ratio(zPg, find('fastify-bare', 'http-loopback', `check (ceiling) · ${conc}`)) * 100,
      '≥ 70',
      '%',
      (x) => x >= 70,
    )
    t(
      'Zona on PostgreSQL: POST /api/v1/check / Cerbos PDP alone',
      ratio(zPg, find('cerbos', 'http-loopback', `check · ${conc}`)),
      '≥ 10',
      '×',
      (x) => x >= 10,
    )
  }
  const zr = input.results.find((r) => r.system === 'zona' && r.tier === 'http-loopback')?.revoke
  t(
    'revoke → refused: checks until the first refusal (HTTP)',
    zr?.refused ? zr.checks : Number.NaN,
    '= 1 (the very next request)',
    '',
    (x) => x === 1,
  )
  const zi = input.results.find((r) => r.system === 'zona' && r.tier === 'in-process')?.revoke
  t(
    'revoke → refused: checks until the first refusal (in-process)',
    zi?.refused ? zi.checks : Number.NaN,
    '= 1',
    '',
    (x) => x === 1,
  )
  void page
  return out
}

// ---------------------------------------------------------------- formatting

function num(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '–'
  const r = round(x)
  if (Math.abs(r) >= 1000) return Math.round(r).toLocaleString('en-US').replace(/,/g, ' ')
  return String(r)
}

function ms(x: number): string {
  return Number.isFinite(x) ? (x >= 1000 ? `${num(x / 1000)} s` : `${num(x)} ms`) : '–'
}

function cells(r: Row | undefined): string[] {
  if (!r) return ['–', '–', '–', '–']
  if (r.void) return ['void', 'void', 'void', 'void']
  return [num(r.ops_per_sec), num(r.p50_us), num(r.p95_us), num(r.p99_us)]
}

function mismatchCell(r: Row): string {
  if (r.void) return `**VOID**: ${r.mismatches} differ${r.note ? ` (${r.note})` : ''}`
  return String(r.mismatches)
}

function table(head: string[], body: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...body.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n')
}

function markdown(
  input: ReportInput,
  rows: (Row & { load_ms: number })[],
  targets: Target[],
  machine: Record<string, string | number>,
  versions: Record<string, string>,
  find: Find,
  conc: string,
  rate: string,
  page: string,
): string {
  const w = input.workload
  const inproc = ['zona', 'casl', 'casbin', 'spicedb']
  const http = ['fastify-bare', 'zona', 'zona-pg', 'cerbos', 'cerbos+caller']
  const sys = (s: string, tier: Row['tier']) => input.results.find((r) => r.system === s && r.tier === tier)
  const out: string[] = []
  out.push('# Zona beside SpiceDB, Cerbos, casbin and CASL', '')
  out.push(
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memory_gb} GB; Node ${machine.node} (V8 ${machine.v8}), ${machine.os}. ` +
      `Load average (1/5/15 min) at the start ${input.loadavg.start.join(' / ')}, at the end ${input.loadavg.end.join(' / ')}` +
      (Math.max(...input.loadavg.start, ...input.loadavg.end) > Number(machine.cores)
        ? ` – **the machine was shared with other work during the run** (load above its ${machine.cores} cores), so absolute figures are low and noisy; ratios within one run are what the targets use.`
        : '.'),
  )
  out.push('')
  out.push(
    `Date: ${new Date().toISOString()}. Mode: ${input.mode}. Run time: ${ms(input.runSeconds * 1000)}. Reproduce with \`npm run bench:peers\` (\`-- --quick\` for the smoke run).`,
  )
  out.push('')
  out.push(
    `Versions: ${Object.entries(versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
  )
  out.push('')
  const grants = w.scale
  out.push(
    `Workload (seed ${input.seed}, bench/generate.ts): 1 customer, ${grants.accounts} accounts on 4 levels, ${grants.services} services, ${grants.people} people holding o2-cz grants at every level. ` +
      `${w.checks.person.length} checks (a third aimed at customer-, account- and service-level grants each; ${w.checks.allowed.filter(Boolean).length} allowed) and ${w.lists.length} lists of services ` +
      `(${LIST_BUCKETS.map((b) => `${w.lists.filter((l) => l.bucket === b.id).length} ${b.id}`).join(', ')}). ` +
      `Every system answers all of them first; its answers are compared with Zona's, and Zona's with a naive reference (${w.reference.checkMismatches} check and ${w.reference.listMismatches} list differences). Any difference voids the system's rows.`,
  )
  out.push('')
  out.push('![ops per second, log scale](peers.svg)', '')

  out.push('## Results', '')
  out.push(
    'Medians over 5 repetitions after a warm-up; µs per call (in-process) or per request (HTTP, autocannon). ops/s: checks per second back to back in one thread (in-process check), first pages per second one after another (in-process lists), answered requests per second (HTTP).',
    '',
  )
  const head = [
    'System',
    'Tier',
    'Workload',
    'ops/s',
    'p50 µs',
    'p95 µs',
    'p99 µs',
    'RSS MB',
    'load',
    'mismatches',
  ]
  const line = (r: (Row & { load_ms: number }) | undefined) =>
    r ? [r.label, r.tier, r.workload, ...cells(r), num(r.rss_mb), ms(r.load_ms), mismatchCell(r)] : undefined
  const main: string[][] = []
  for (const s of inproc) {
    const l = line(find(s, 'in-process', 'check'))
    if (l) main.push(l)
  }
  for (const s of inproc) {
    const l = line(find(s, 'in-process', `list first page: ${ALL_SIZES}`))
    if (l) main.push(l)
  }
  for (const s of http) {
    const l = line(
      find(s, 'http-loopback', s === 'fastify-bare' ? `check (ceiling) · ${conc}` : `check · ${conc}`),
    )
    if (l) main.push(l)
  }
  for (const s of http) {
    const l = line(find(s, 'http-loopback', `${page} · ${conc}`))
    if (l) main.push(l)
  }
  out.push(table(head, main), '')

  out.push('## Targets', '')
  out.push(
    table(
      ['', 'Target', 'Measured', 'Limit'],
      targets.map((t) => [
        t.pass === null ? 'n/a' : t.pass ? 'PASS' : '**MISS**',
        t.target,
        Number.isFinite(t.measured) ? `${num(t.measured)} ${t.unit}` : '–',
        `${t.limit} ${t.unit}`,
      ]),
    ),
    '',
  )
  const missNotes = missExplanations(input, targets, find, conc)
  if (missNotes.length > 0) out.push(...missNotes.map((n) => `- ${n}`), '')

  out.push('## Checks by the level of the grant aimed at, allowed and denied', '')
  out.push('p50 / p95 / p99 µs per call, in-process.', '')
  const classes = [
    'check',
    ...['customer', 'account', 'service'].flatMap((l) => [
      `check: ${l} grant, allowed`,
      `check: ${l} grant, denied`,
    ]),
  ]
  out.push(
    table(
      ['Checks', ...inproc.map(name)],
      classes.map((c) => [
        c === 'check' ? 'all' : c.slice(7),
        ...inproc.map((s) => {
          const r = find(s, 'in-process', c)
          return r ? (r.void ? 'void' : `${num(r.p50_us)} / ${num(r.p95_us)} / ${num(r.p99_us)}`) : '–'
        }),
      ]),
    ),
    '',
  )
  out.push('## Lists: the first page (up to 100 services) by result size', '')
  out.push('p50 / p99 µs per first page, in-process (one after another).', '')
  out.push(
    table(
      ['Result size', ...inproc.map(name)],
      [ALL_SIZES, ...LIST_BUCKETS.map((b) => b.id)].map((b) => [
        b,
        ...inproc.map((s) => {
          const r = find(s, 'in-process', `list first page: ${b}`)
          return r ? (r.void ? 'void' : `${num(r.p50_us)} / ${num(r.p99_us)}`) : '–'
        }),
      ]),
    ),
    '',
  )
  out.push('## Over the wire: fixed concurrency and fixed rate', '')
  out.push(
    `autocannon, ${input.http.connections} connections (as fast as the server answers) and a fixed ${rate} overall (the same offered load for every server), request bodies varied over the sample. Latency of each 2xx answer, µs.`,
    '',
  )
  out.push(
    table(
      ['System', 'Workload', 'req/s', 'p50 µs', 'p95 µs', 'p99 µs', 'RSS MB', 'mismatches'],
      rows
        .filter((r) => r.tier === 'http-loopback' && !r.workload.startsWith('revoke'))
        .map((r) => [r.label, r.workload, ...cells(r), num(r.rss_mb), mismatchCell(r)]),
    ),
    '',
  )
  out.push('## Revoke → first refused check', '')
  out.push(
    table(
      ['System', 'Tier', 'How the revoke is made', 'time to the first refusal', 'checks until refused'],
      input.results
        .filter((r) => r.revoke.checks > 0)
        .map((r) => [
          r.label,
          r.tier,
          revokeHow(r.system, r.tier),
          ms(r.revoke.ms),
          r.revoke.refused ? String(r.revoke.checks) : '**never (15 s)**',
        ])
        .concat(
          input.results
            .filter((r) => r.staleRevoke)
            .map((r) => [
              `${r.label}, minimize_latency`,
              r.tier,
              'the same delete, then checks with minimize_latency (cached) consistency',
              ms(r.staleRevoke?.ms ?? Number.NaN),
              r.staleRevoke?.refused ? String(r.staleRevoke.checks) : '**never (15 s)**',
            ]),
        ),
    ),
    '',
  )
  out.push('## Load time and memory', '')
  out.push(
    table(
      ['System', 'Tier', 'load', 'RSS before load MB', 'RSS MB', 'checks compared', 'lists compared'],
      input.results.map((r) => [
        r.label,
        r.tier,
        ms(r.loadMs),
        num(r.rssBeforeMb),
        num(r.rssMb),
        r.compared.checks ? `${r.compared.checks} (${r.compared.checkMismatches} differ)` : '–',
        r.compared.lists ? `${r.compared.lists} (${r.compared.listMismatches} differ)` : '–',
      ]),
    ),
    '',
  )
  out.push(
    'Load: in-process, building the system from the generated customer in a fresh process (Zona: tree, index and grants; casbin: policies and role links; CASL: one ability per person; SpiceDB: start, schema, relationships). HTTP: Zona, `startZona` on the already imported database until it listens (database open, access model load); Cerbos, process start until its health check answers. RSS: the process after the measurements (in-process processes also hold the generated workload, see "before load").',
    '',
  )
  out.push('## Spread over the repetitions', '')
  out.push('min–max of the per-repetition figures (the tables show their median).', '')
  out.push(
    table(
      ['System', 'Tier', 'Workload', 'ops/s', 'p50 µs', 'p99 µs'],
      rows
        .filter(
          (r) =>
            r.reps > 1 &&
            (r.workload === 'check' || r.workload.includes(ALL_SIZES) || r.tier === 'http-loopback'),
        )
        .map((r) => [
          r.label,
          r.tier,
          r.workload,
          `${num(r.spread.ops_per_sec[0])}–${num(r.spread.ops_per_sec[1])}`,
          `${num(r.spread.p50_us[0])}–${num(r.spread.p50_us[1])}`,
          `${num(r.spread.p99_us[0])}–${num(r.spread.p99_us[1])}`,
        ]),
    ),
    '',
  )
  out.push(...translations(input.catalog, sys('spicedb', 'in-process')), '')
  out.push('## Method', '')
  out.push(
    ...[
      `In-process: each system in its own Node process (SpiceDB's synchronous FFI calls in a worker_thread of it). Single calls timed with process.hrtime.bigint() (the timer's own cost subtracted); checks cycle through the sample in order; ${input.inproc.reps} repetitions of ${ms(input.inproc.checkRepMs)} after ${ms(input.inproc.warmMs)} of warm-up; check throughput is a separate untimed loop (SpiceDB: calls over the time they took, one at a time). List pages: the first 100 services of each list${input.inproc.listsPerBucket ? ` (${input.inproc.listsPerBucket} lists of each size per repetition)` : ''}, one after another.`,
      `HTTP: every server in its own process on 127.0.0.1, loaded from this one by autocannon's programmatic API; ${input.http.reps} repetitions of ${input.http.repS} s at ${conc} and ${input.http.reps} at ${rate}, after a ${input.http.warmS} s warm-up; bodies cycle through the sample. Zona runs with its default embedded database (PGlite)${input.results.some((r) => r.system === 'zona-pg') ? ' and again on a fresh PostgreSQL database' : ''}, its request logger at level warn, an API key of scope decision in the Authorization header.`,
      'The comparison sample is answered before anything is timed: in-process one call per question (SpiceDB: CheckBulkPermissions, 100 a call); HTTP one request per question (Zona lists page through with the cursor). Lists compare the set of services (SpiceDB returns its own order; the others tree order).',
      'Out of scope for the peers: delegation (who may grant what), expiry and service-type limits (o2-cz has none; the generated grants do not expire).',
    ].map((x) => `- ${x}`),
    '',
  )
  const notes = input.results.flatMap((r) => r.notes.map((n) => `${r.label} (${r.tier}): ${n}`))
  if (notes.length > 0 || input.failures.length > 0) {
    out.push('## Notes', '')
    out.push(...notes.map((n) => `- ${n}`))
    const casbinRow = find('casbin', 'in-process', 'check')
    if (casbinRow)
      out.push(
        `- casbin (in-process): each check asks casbin once per level from the node up to the customer (up to 6 calls), and each call evaluates the matcher against its ${casbinPolicies(input.catalog).length} policy lines in turn until one allows – casbin keeps no index on \`p\` lines; that is what its ${num(casbinRow.p50_us)} µs median is made of.`,
      )
    out.push(...input.failures.map((f) => `- FAILED: ${f.split('\n')[0]}`))
    out.push('')
  }
  return out.join('\n')
}

function revokeHow(system: string, tier: Row['tier']): string {
  if (tier === 'http-loopback' && system.startsWith('zona'))
    return 'DELETE /api/v1/grants/:id as the primary admin (session + CSRF), then POST /api/v1/check'
  if (system === 'cerbos+caller') return "the grant leaves the caller's data (POST /revoke), then POST /check"
  if (system === 'zona') return 'engine.removeGrant'
  if (system === 'casbin') return 'removeGroupingPolicy'
  if (system === 'casl') return "the person's ability rebuilt from their remaining grants"
  if (system === 'spicedb') return 'WriteRelationships DELETE, then CheckPermission fully consistent'
  return ''
}

function missExplanations(input: ReportInput, targets: Target[], find: Find, conc: string): string[] {
  const out: string[] = []
  const missed = (prefix: string) => targets.some((t) => t.target.startsWith(prefix) && t.pass === false)
  if (missed('in-process check median'))
    out.push(
      `**In-process check median**: measured ${num(find('zona', 'in-process', 'check')?.p50_us)} µs per single call. Single-call timing includes cache misses a batch loop hides (bench/results/engine.md measures batch means); on a loaded machine every call also risks a context switch. What would close it: a quieter machine first; then a denser per-person grant layout (one typed array per person instead of an array of objects) to cut the pointer chasing on the hot path.`,
    )
  if (missed('in-process check: Zona / CASL') || missed('in-process check: Zona / casbin'))
    out.push(
      `**Check ratio against CASL or casbin**: Zona ${num(find('zona', 'in-process', 'check')?.ops_per_sec)} checks/s (p50 ${num(find('zona', 'in-process', 'check')?.p50_us)} µs), CASL ${num(find('casl', 'in-process', 'check')?.ops_per_sec)} (p50 ${num(find('casl', 'in-process', 'check')?.p50_us)} µs), casbin ${num(find('casbin', 'in-process', 'check')?.ops_per_sec)}. CASL answers from in-memory rules too – one condition match per rule of the person, plus the path the application builds – so it sits within an order of magnitude; the untimed throughput loop is also the figure most disturbed by other work on a shared machine (see the spread). What would close it is on Zona's side only: most of Zona's check is three string-keyed Map lookups (person, permission, node); a fast path taking ids already resolved once per request (person entry, permission bit, node index) would leave the grant scan alone. The peers are not slowed down.`,
    )
  if (targets.some((t) => t.target.includes('Zona / SpiceDB') && t.pass === false))
    out.push(
      "**List first page against SpiceDB**: some size classes stay under 100×: where the result is empty or a single service, SpiceDB's LookupResources stops early too. Zona answers those from the person's grants alone.",
    )
  const zHttp = find('zona', 'http-loopback', `check · ${conc}`)
  if (missed('POST /api/v1/check / bare'))
    out.push(
      `**POST /api/v1/check against the bare route**: ${num(zHttp?.ops_per_sec)} req/s against ${num(find('fastify-bare', 'http-loopback', `check (ceiling) · ${conc}`)?.ops_per_sec)}. The engine's answer costs a microsecond. On PGlite no database query is left on a decision's path (API keys are verified once per access version; the version is learned from the database's own notifications, which PGlite delivers before a write returns). What remains is the portal's global hooks, which the bare route does not run: helmet's security headers, cookie parsing, principal resolution (a sha256 of the key), the scan of the body for text PostgreSQL cannot store, Prometheus metrics; then Ajv validation, the response serializer and an explanation per answer (\`explain\`, not \`check\`). On a loaded machine each of these weighs more against a route that does nothing. What would close it: a decision listener of its own (a Fastify instance without the portal's hooks, as SpiceDB and Cerbos serve their APIs apart from any UI), and callers sending POST /api/v1/check/batch (up to 1 000 checks a request).`,
    )
  const zPg = find('zona-pg', 'http-loopback', `check · ${conc}`)
  if (zPg && !zPg.void)
    out.push(
      `**The same server on PostgreSQL** (a pg pool, the queries leave the event loop): ${num(zPg.ops_per_sec)} req/s, p50 ${num(zPg.p50_us)} µs – one query per request remains, the access-version read that makes a revoke through another server process visible on the very next request (I6).`,
    )
  if (missed('POST /api/v1/check / Cerbos'))
    out.push(
      "**POST /api/v1/check against Cerbos**: Cerbos answers a compiled CEL condition from the request alone (no database, no authentication); Zona's request does the work above. The same changes would close it; against Cerbos with the caller fetching the attributes (the way an application uses it) the gap is smaller.",
    )
  const zList = find('zona', 'in-process', `list first page: ${ALL_SIZES}`)
  const faster = ['casl', 'casbin', 'spicedb'].filter((p) => {
    const r = find(p, 'in-process', `list first page: ${ALL_SIZES}`)
    return r && zList && !r.void && r.p50_us < zList.p50_us
  })
  if (faster.length > 0)
    out.push(
      `**In-process lists**: ${faster.map(name).join(', ')} return a first page faster than Zona (p50 ${faster.map((p) => num(find(p, 'in-process', `list first page: ${ALL_SIZES}`)?.p50_us)).join(', ')} µs against ${num(zList?.p50_us)} µs). Their lists are the peer naming the grant nodes, then the application's tree index (a plain loop over pre-order ranges, bench/peers/systems/app-tree.ts); Zona's list walks the same ranges through a generator that also checks the tree's version on every node. Not a target, but a place where the engine could be quicker (a plain loop for the first page).`,
    )
  if (missed('revoke'))
    out.push(
      '**Revoke**: a check after the revoke was still allowed; see the revoke table. That is a bug in Zona (I6), not a benchmark artefact.',
    )
  void input
  return out
}

function translations(catalog: Catalog, spice: SystemResult | undefined): string[] {
  const policies = casbinPolicies(catalog)
  const schema = spiceSchema(catalog)
  const account = schema.split('\n\n').find((d) => d.startsWith('definition account')) ?? ''
  const statementsLine =
    account.split('\n').find((l) => l.includes('permission billing_statements_view')) ?? ''
  const viewLine = account.split('\n').find((l) => l.includes('permission node_view')) ?? ''
  const cerbos = cerbosPolicy(catalog)
  const cerbosStatements =
    cerbos.split('\n').find((l) => l.includes('expr:') && l.includes('statements')) ?? ''
  return [
    '## How the o2-cz catalog was translated',
    '',
    "The catalog's check semantics: a grant (person, role, node, options) gives the role's permissions, plus those its switched-on options add, on the node and everything under it. Every translation below is generated from presets/o2-cz.yaml by bench/peers/systems/*.ts, so no rule is typed twice.",
    '',
    `- **Zona**: the engine itself (src/domain/engine.ts), loaded with the same grants; it is also checked against the naive reference of bench/generate.ts.`,
    `- **casbin** (RBAC with domains): a grant is \`g, person, role, node\` (the node is the domain); each role with each subset of its options is one casbin role (\`account-admin+statements\`) with one \`p, role, permission\` line per permission – ${policies.length} lines for o2-cz. The matcher is \`r.act == p.act && g(r.sub, p.sub, r.dom)\` (the cheap comparison first). casbin has no tree: the application asks at the node and at each ancestor until one allows. Lists: the person's \`g\` lines where casbin allows the permission, then the services under those nodes from the application's tree index.`,
    '',
    '```ini',
    CASBIN_MODEL.trim(),
    '```',
    '',
    "- **CASL**: one ability per person; each grant is one rule `can([the role's permissions with its options], 'Node', { path: grantNode })`; the node handed to CASL carries `path`, the node and its ancestors (walked up the application's parent map on each check), so a rule matches its node's whole subtree. Lists: `rulesToAST` (CASL's query builder) gives `path = a OR path = b …`, run against the application's tree index as it would become a database query. A revoke rebuilds the person's rules.",
    `- **SpiceDB**: definitions \`customer\`, \`account\` (parent: customer | account) and \`service\` (parent: account); one relation per role and one per role option (\`account_admin__statements\`); each permission is the union of the roles giving it, the option relations switching it on, and \`parent->permission\`${spice ? ` (${spice.notes.find((n) => n.includes('relationships'))?.split(' ')[0] ?? ''} relationships for this customer)` : ''}. For example, on \`account\`:`,
    '',
    '```',
    viewLine.trim(),
    statementsLine.trim(),
    '```',
    '',
    '  Checks use `fully_consistent` (minimize_latency may answer from before the last write; the revoke table shows what it did here); lists are `LookupResources` on `service` with `optional_limit` 100 for the first page. Embedded, in-memory datastore, through FFI: not a tuned SpiceDB cluster.',
    "- **Cerbos**: one resource policy for kind `node`, one rule per permission, for the principal role `person`, with a CEL condition over the grants the caller passes (`P.attr.grants`, each {node, role, options}) and the node's path (`R.attr.path`). For example, billing.statements.view:",
    '',
    '```yaml',
    cerbosStatements.trim(),
    '```',
    '',
    '  Lists: PlanResources, whose condition comes back as `"A5" in path || …`, run against the application\'s tree index. The caller fetches grants and path from memory – the cheapest there is; reading them from a database would cost more.',
  ]
}

// ---------------------------------------------------------------- the chart

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** Horizontal bars on one logarithmic axis: every figure is a rate per second. */
function chart(input: ReportInput, find: Find, conc: string, page: string): string {
  const groups: { title: string; bars: { system: string; row: Row | undefined }[] }[] = [
    {
      title: 'In-process · check (checks/s, one thread)',
      bars: ['zona', 'casl', 'casbin', 'spicedb'].map((s) => ({
        system: s,
        row: find(s, 'in-process', 'check'),
      })),
    },
    {
      title: 'In-process · list first page, all sizes (pages/s)',
      bars: ['zona', 'casl', 'casbin', 'spicedb'].map((s) => ({
        system: s,
        row: find(s, 'in-process', `list first page: ${ALL_SIZES}`),
      })),
    },
    {
      title: `HTTP on loopback · check (req/s, ${conc})`,
      bars: ['fastify-bare', 'zona', 'zona-pg', 'cerbos', 'cerbos+caller'].map((s) => ({
        system: s,
        row: find(s, 'http-loopback', s === 'fastify-bare' ? `check (ceiling) · ${conc}` : `check · ${conc}`),
      })),
    },
    {
      title: `HTTP on loopback · ${page} (req/s, ${conc})`,
      bars: ['zona', 'zona-pg', 'cerbos+caller'].map((s) => ({
        system: s,
        row: find(s, 'http-loopback', `${page} · ${conc}`),
      })),
    },
  ].map((g) => ({ ...g, bars: g.bars.filter((b) => b.row) }))
  const values = groups
    .flatMap((g) => g.bars.map((b) => b.row?.ops_per_sec ?? Number.NaN))
    .filter((x) => Number.isFinite(x) && x > 0)
  const lo = 10 ** Math.floor(Math.log10(Math.min(...values, 10)))
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...values, 100)))
  const W = 880
  const left = 190
  const right = 90
  const barH = 18
  const gap = 6
  const plotW = W - left - right
  const x = (v: number) =>
    left + (plotW * (Math.log10(v) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo))
  const parts: string[] = []
  let y = 58
  for (const g of groups) {
    parts.push(`<text x="${left}" y="${y}" class="group">${xml(g.title)}</text>`)
    y += 8
    for (const b of g.bars) {
      const r = b.row as Row
      const label = `${name(b.system)}`
      parts.push(
        `<text x="${left - 8}" y="${y + barH - 5}" class="label" text-anchor="end">${xml(label)}</text>`,
      )
      if (r.void || !Number.isFinite(r.ops_per_sec) || r.ops_per_sec <= 0) {
        parts.push(
          `<rect x="${left}" y="${y}" width="${plotW}" height="${barH}" fill="url(#void)" stroke="#999"/>`,
        )
        parts.push(
          `<text x="${left + 6}" y="${y + barH - 5}" class="value">void: answers differ from Zona's</text>`,
        )
      } else {
        const w = Math.max(1, x(r.ops_per_sec) - left)
        parts.push(
          `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[b.system] ?? '#555'}"><title>${xml(`${r.label} – ${r.workload}: ${num(r.ops_per_sec)}/s, p50 ${num(r.p50_us)} µs`)}</title></rect>`,
        )
        parts.push(
          `<text x="${(left + w + 5).toFixed(1)}" y="${y + barH - 5}" class="value">${num(r.ops_per_sec)}</text>`,
        )
      }
      y += barH + gap
    }
    y += 22
  }
  const top = 40
  const bottom = y - 18
  const grid: string[] = []
  for (let v = lo; v <= hi * 1.0001; v *= 10) {
    const gx = x(v).toFixed(1)
    grid.push(`<line x1="${gx}" y1="${top}" x2="${gx}" y2="${bottom}" class="grid"/>`)
    grid.push(`<text x="${gx}" y="${bottom + 14}" class="tick" text-anchor="middle">${tick(v)}</text>`)
    for (let m = 2; m < 10 && v * m < hi; m++) {
      const mx = x(v * m).toFixed(1)
      grid.push(`<line x1="${mx}" y1="${top}" x2="${mx}" y2="${bottom}" class="minor"/>`)
    }
  }
  const H = bottom + 44
  const foot = `${input.mode} run, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores; per second, log scale; bench/results/peers.md has latencies, spreads and the notes`
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif">`,
    '<defs><pattern id="void" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="#eee"/><line x1="0" y1="0" x2="0" y2="8" stroke="#bbb" stroke-width="3"/></pattern></defs>',
    '<style>.title{font-size:16px;font-weight:600;fill:#222}.group{font-size:13px;font-weight:600;fill:#333}.label{font-size:12px;fill:#333}.value{font-size:11px;fill:#222}.tick{font-size:11px;fill:#666}.grid{stroke:#ccc;stroke-width:1}.minor{stroke:#eee;stroke-width:1}.foot{font-size:10px;fill:#777}</style>',
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${left}" y="24" class="title">Zona beside SpiceDB, Cerbos, casbin and CASL – operations per second</text>`,
    ...grid,
    ...parts,
    `<text x="${left}" y="${H - 10}" class="foot">${xml(foot)}</text>`,
    '</svg>',
    '',
  ].join('\n')
}

function tick(v: number): string {
  if (v >= 1e6) return `${v / 1e6}M`
  if (v >= 1e3) return `${v / 1e3}k`
  return String(v)
}
