/**
 * The soak (issue 7, part 7; `npm run soak`, not in CI): a real Zona process (soak-server.ts) on
 * loopback takes mixed traffic for 10 minutes (`--minutes N`), from autocannon in this process:
 *
 * - the portal, as the primary admin's browser (session cookie, CSRF token): the tree, a service
 *   page, an account's invoices, the grants list, and a grant given then revoked (each connection
 *   works on people of its own, so the revoke always finds its grant);
 * - the decision API with a decision key: POST /api/v1/check and POST /api/v1/list.
 *
 * It runs in windows of 10 s (both kinds at once); after each window the server's memory is read
 * (RSS, and the heap after a full GC). The report gives throughput, p50/p99 and errors per kind
 * and per window, and a trend verdict for memory: the least-squares slope over the last half of
 * the samples, in MB per minute. Any error, timeout or non-2xx answer fails the run (exit 1).
 *
 * Writes bench/results/soak.md (unless --no-write). `--database-url postgres://…` runs it on
 * PostgreSQL instead of PGlite.
 */
import { fork } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { accountId, personIdOf, SOAK, serviceId } from './soak-shape.ts'

// ---------------------------------------------------------------- autocannon (no bundled types)

interface CannonRequest {
  method?: string
  path?: string
  body?: string
  headers?: Record<string, string>
  setupRequest?: (request: CannonRequest, context: Record<string, unknown>) => CannonRequest
  onResponse?: (status: number, body: string, context: Record<string, unknown>) => void
}

interface CannonResult {
  errors: number
  timeouts: number
  non2xx: number
  requests: { total: number; average: number }
  latency: { p50: number; p99: number; max: number }
}

type Autocannon = (
  options: {
    url: string
    connections: number
    duration: number
    timeout?: number
    requests: CannonRequest[]
  },
  done: (error: Error | null, result: CannonResult) => void,
) => unknown

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

function run(
  url: string,
  connections: number,
  seconds: number,
  requests: CannonRequest[],
): Promise<CannonResult> {
  return new Promise((resolve, reject) =>
    autocannon({ url, connections, duration: seconds, timeout: 10, requests }, (e, r) =>
      e ? reject(e) : resolve(r),
    ),
  )
}

// ---------------------------------------------------------------- arguments

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'window-seconds': { type: 'string', default: '10' },
    connections: { type: 'string', default: '4' },
    'database-url': { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
})
const minutes = Number(args.minutes)
const windowSeconds = Number(args['window-seconds'])
const connections = Number(args.connections)
if (!(minutes > 0) || !(windowSeconds > 0) || !(connections > 0)) {
  console.error(
    'usage: npm run soak -- [--minutes 10] [--window-seconds 10] [--connections 4] [--database-url URL]',
  )
  process.exit(2)
}

// ---------------------------------------------------------------- the server process

interface Ready {
  type: 'ready'
  url: string
  session: string
  apiKey: string
}
interface Memory {
  type: 'memory'
  rss: number
  heapUsed: number
  external: number
}

const child = fork(fileURLToPath(new URL('./soak-server.ts', import.meta.url)), [], {
  execArgv: ['--import', 'tsx', '--expose-gc'],
  env: {
    ...process.env,
    ...(args['database-url'] ? { ZONA_SOAK_DATABASE_URL: args['database-url'] } : {}),
  },
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
})
const waiting = new Map<string, (m: unknown) => void>()
child.on('message', (m: { type: string }) => {
  waiting.get(m.type)?.(m)
  waiting.delete(m.type)
})
child.on('exit', (code) => {
  if (!stopping) {
    console.error(`the soak server exited (${code}) during the run`)
    process.exit(1)
  }
})
let stopping = false
const next = <T>(type: string, ask?: object) =>
  new Promise<T>((resolve) => {
    waiting.set(type, resolve as (m: unknown) => void)
    if (ask) child.send(ask)
  })

const ready = await next<Ready>('ready')
const csrfAnswer = await fetch(`${ready.url}/api/v1/auth/csrf`)
const csrfCookie = csrfAnswer.headers
  .getSetCookie()
  .map((c) => c.split(';')[0])
  .join('; ')
const csrfToken = ((await csrfAnswer.json()) as { token: string }).token

// ---------------------------------------------------------------- the traffic

const random = (n: number) => Math.floor(Math.random() * n)
const anyService = () => serviceId(random(SOAK.accounts), random(SOAK.servicesPerAccount))
const browser = { cookie: `zona_session=${ready.session}; ${csrfCookie}` }
const json = { 'content-type': 'application/json' }
/** The people a connection gives a role to, in turn; 400 people, so no two grant runs meet. */
let turn = 0

const portal: CannonRequest[] = [
  { method: 'GET', path: `/api/v1/customers/${SOAK.customer}/tree?limit=50`, headers: browser },
  {
    method: 'GET',
    headers: browser,
    setupRequest: (r) => ({ ...r, path: `/api/v1/services/${anyService()}` }),
  },
  {
    method: 'GET',
    headers: browser,
    setupRequest: (r) => ({ ...r, path: `/api/v1/accounts/${accountId(random(SOAK.accounts))}/invoices` }),
  },
  {
    method: 'POST',
    path: '/api/v1/grants',
    headers: { ...browser, ...json, 'x-csrf-token': csrfToken },
    setupRequest: (r, context) => {
      const person = personIdOf(100 + (turn++ % (SOAK.people - 100)))
      context.person = person
      return { ...r, body: JSON.stringify({ person, role: 'service-viewer', scope: anyService() }) }
    },
    onResponse: (status, body, context) => {
      context.grant = status === 201 ? (JSON.parse(body) as { id: string }).id : undefined
    },
  },
  {
    method: 'DELETE',
    headers: { ...browser, 'x-csrf-token': csrfToken },
    // Without a grant to revoke (the POST failed, and is counted), start the round again.
    setupRequest: (r, context) =>
      (context.grant ? { ...r, path: `/api/v1/grants/${context.grant}` } : undefined) as CannonRequest,
  },
  { method: 'GET', path: `/api/v1/customers/${SOAK.customer}/grants?limit=20`, headers: browser },
]

const PERMISSIONS = [
  'node.view',
  'billing.invoices.view',
  'service.block',
  'service.tariff.change',
  'users.manage',
]
const bearer = { authorization: `Bearer ${ready.apiKey}`, ...json }
const decisions: CannonRequest[] = [
  {
    method: 'POST',
    path: '/api/v1/check',
    headers: bearer,
    setupRequest: (r) => ({
      ...r,
      body: JSON.stringify({
        person: personIdOf(random(SOAK.people)),
        permission: PERMISSIONS[random(PERMISSIONS.length)],
        node: random(4) ? anyService() : accountId(random(SOAK.accounts)),
      }),
    }),
  },
  {
    method: 'POST',
    path: '/api/v1/list',
    headers: bearer,
    setupRequest: (r) => ({
      ...r,
      body: JSON.stringify({
        person: random(10) ? personIdOf(random(100)) : 'boss',
        permission: 'node.view',
        type: 'service',
        limit: 50,
      }),
    }),
  },
]

// ---------------------------------------------------------------- the run

interface Window {
  at: number
  portal: CannonResult
  decisions: CannonResult
  memory: Memory
}

const windows: Window[] = []
const startedAt = Date.now()
const baseline = await next<Memory>('memory', { type: 'memory' })
const total = Math.round((minutes * 60) / windowSeconds)
const mb = (bytes: number) => bytes / 1_048_576
console.log(
  `soak: ${minutes} min in ${total} windows of ${windowSeconds} s, ${connections} portal + ${connections} decision connections, ${args['database-url'] ? 'PostgreSQL' : 'PGlite'}`,
)
for (let w = 0; w < total; w++) {
  const [p, d] = await Promise.all([
    run(ready.url, connections, windowSeconds, portal),
    run(ready.url, connections, windowSeconds, decisions),
  ])
  const memory = await next<Memory>('memory', { type: 'memory' })
  windows.push({ at: (Date.now() - startedAt) / 1000, portal: p, decisions: d, memory })
  const bad = (r: CannonResult) => r.errors + r.timeouts + r.non2xx
  console.log(
    `${String(w + 1).padStart(3)}/${total}  portal ${p.requests.average.toFixed(0)}/s p99 ${p.latency.p99} ms  decisions ${d.requests.average.toFixed(0)}/s p99 ${d.latency.p99} ms  errors ${bad(p) + bad(d)}  rss ${mb(memory.rss).toFixed(0)} MB heap ${mb(memory.heapUsed).toFixed(1)} MB`,
  )
}
stopping = true
child.send({ type: 'stop' })

// ---------------------------------------------------------------- the report

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length
  if (n < 2) return 0
  const mx = points.reduce((s, [x]) => s + x, 0) / n
  const my = points.reduce((s, [, y]) => s + y, 0) / n
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0)
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0)
  return sxx === 0 ? 0 : sxy / sxx
}

const half = windows.slice(Math.floor(windows.length / 2))
const perMinute = (f: (m: Memory) => number) => slope(half.map((w) => [w.at / 60, mb(f(w.memory))]))
const heapSlope = perMinute((m) => m.heapUsed)
const rssSlope = perMinute((m) => m.rss)
// A live heap rising by more than 1 MB a minute under a steady load would be a leak; RSS is looser
// (allocator and, on PGlite, the embedded database's WebAssembly memory, which never shrinks).
const verdict = (value: number, limit: number) =>
  Math.abs(value) <= limit ? `flat (|slope| ≤ ${limit} MB/min)` : value > 0 ? 'GROWING' : 'falling'

const sum = (f: (w: Window) => number) => windows.reduce((s, w) => s + f(w), 0)
const errorsOf = (r: CannonResult) => r.errors + r.timeouts + r.non2xx
const totals = (kind: 'portal' | 'decisions') => {
  const requests = sum((w) => w[kind].requests.total)
  const seconds = windows.length * windowSeconds
  const p99s = windows.map((w) => w[kind].latency.p99).sort((a, b) => a - b)
  return {
    requests,
    perSecond: requests / seconds,
    p50: median(windows.map((w) => w[kind].latency.p50)),
    p99Median: median(p99s),
    p99Worst: p99s[p99s.length - 1] ?? 0,
    errors: sum((w) => errorsOf(w[kind])),
  }
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? 0
}
const portalTotals = totals('portal')
const decisionTotals = totals('decisions')
const errors = portalTotals.errors + decisionTotals.errors
const last = windows[windows.length - 1]?.memory ?? baseline

const lines = [
  '# Soak',
  '',
  `\`npm run soak -- --minutes ${minutes}\`, ${new Date(startedAt).toISOString()}: ${windows.length} windows of ${windowSeconds} s,`,
  `${connections} portal and ${connections} decision connections at once (autocannon in the parent process, the`,
  `server a child process on loopback), ${args['database-url'] ? 'PostgreSQL' : 'PGlite'}, o2-cz customer of ${SOAK.accounts} accounts,`,
  `${SOAK.accounts * SOAK.servicesPerAccount} services, ${SOAK.people + 1} people. Machine: ${cpus().length} cores, load average at the end ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ')}.`,
  '',
  '| traffic | requests | per second | p50 (median of windows) | p99 (median of windows) | worst window p99 | errors |',
  '|---|---|---|---|---|---|---|',
  `| portal (tree, service, invoices, grant + revoke, grants list) | ${portalTotals.requests} | ${portalTotals.perSecond.toFixed(0)} | ${portalTotals.p50} ms | ${portalTotals.p99Median} ms | ${portalTotals.p99Worst} ms | ${portalTotals.errors} |`,
  `| decision API (/check, /list) | ${decisionTotals.requests} | ${decisionTotals.perSecond.toFixed(0)} | ${decisionTotals.p50} ms | ${decisionTotals.p99Median} ms | ${decisionTotals.p99Worst} ms | ${decisionTotals.errors} |`,
  '',
  `Errors (connection errors, timeouts and non-2xx answers): **${errors}**${errors ? ' – the run FAILED' : ''}.`,
  // Each window also waits for its last answers and a full GC: the wall time is longer than the load time.
  `Load ${windows.length * windowSeconds} s; wall time ${((windows[windows.length - 1]?.at ?? 0) / 60).toFixed(1)} min.`,
  '',
  '## Memory of the server process',
  '',
  `Before the load: RSS ${mb(baseline.rss).toFixed(0)} MB, heap ${mb(baseline.heapUsed).toFixed(1)} MB. At the end: RSS ${mb(last.rss).toFixed(0)} MB, heap ${mb(last.heapUsed).toFixed(1)} MB.`,
  `Slope over the last half (${half.length} samples): heap ${heapSlope.toFixed(2)} MB/min – ${verdict(heapSlope, 1)};`,
  `RSS ${rssSlope.toFixed(2)} MB/min – ${verdict(rssSlope, 5)}.`,
  '',
  '| t (s) | portal/s | portal p99 | decisions/s | decisions p99 | errors | RSS MB | heap MB (after GC) |',
  '|---|---|---|---|---|---|---|---|',
  ...windows.map(
    (w) =>
      `| ${w.at.toFixed(0)} | ${w.portal.requests.average.toFixed(0)} | ${w.portal.latency.p99} ms | ${w.decisions.requests.average.toFixed(0)} | ${w.decisions.latency.p99} ms | ${errorsOf(w.portal) + errorsOf(w.decisions)} | ${mb(w.memory.rss).toFixed(0)} | ${mb(w.memory.heapUsed).toFixed(1)} |`,
  ),
  '',
]
const report = lines.join('\n')
if (!args['no-write']) {
  const file = fileURLToPath(new URL('./results/soak.md', import.meta.url))
  writeFileSync(file, report)
  console.log(`written: ${file}`)
}
// Everything above the per-window table.
console.log(
  lines
    .slice(
      0,
      lines.indexOf(
        '| t (s) | portal/s | portal p99 | decisions/s | decisions p99 | errors | RSS MB | heap MB (after GC) |',
      ),
    )
    .join('\n'),
)
process.exit(errors > 0 ? 1 : 0)
