/**
 * The server side of the HTTP benchmark (bench/http.bench.ts forks it): a real Zona app on its own
 * event loop, loaded with the generated large customer, plus two routes only this process has:
 *
 * - on the Zona app, GET /bench/constant (the app's global hooks – helmet, principal resolution,
 *   metrics – and nothing else) and GET /bench/versioned (the same plus the access-version check
 *   every decision and portal request makes), to split the cost of a request into steps;
 * - a second, bare Fastify instance with one constant route: the ceiling of the framework here.
 *
 * Loading: the tree goes through the operator import command (importTree, as POST …/import and the
 * CLI do: validation, one transaction, the audit event); the 10 000 people and their ~20 000
 * grants go straight into the store in multi-row inserts (one argon2 hash for the primary admin
 * only), then the access model reloads as it would after another process's write. Going through
 * the grant commands would cost one transaction and audit event per grant and prove nothing the
 * route tests do not.
 *
 * Talks to the parent over IPC: 'ready' (urls, credentials, load timings, query probes), then
 * answers 'rss' (memory), 'cpu' (process.cpuUsage) and 'profile' (starts or stops V8's CPU profiler
 * and sends a summary), and exits on 'stop'.
 */
import { writeFileSync } from 'node:fs'
import { type Profiler, Session } from 'node:inspector/promises'
import { hrtime } from 'node:process'
import Fastify from 'fastify'
import { hashToken, newToken } from '../src/auth/tokens.ts'
import { createCustomer } from '../src/commands/operator/customers.ts'
import { readConfig } from '../src/config.ts'
import { buildApp } from '../src/http/app.ts'
import { readVersion } from '../src/server/access-model.ts'
import { createZona } from '../src/server/start.ts'
import { subscribeAccessChanges } from '../src/store/changes.ts'
import { generateCustomer, nodeId } from './generate.ts'
import { importCustomerTree, insertPeopleAndGrants } from './load-customer.ts'

export interface ServerArgs {
  accounts: number
  services: number
  people: number
  seed: number
  /** PostgreSQL when set; PGlite in dataDir otherwise. */
  databaseUrl?: string
  dataDir?: string
  /** Sequential and concurrent runs of each probe query. */
  probeCount: number
}

export interface Probe {
  name: string
  /** One query at a time: median and p99 in µs. */
  sequentialP50Us: number
  sequentialP99Us: number
  /** 32 queries in flight for a second: completed per second. */
  concurrentPerSecond: number
}

export interface Ready {
  type: 'ready'
  url: string
  bareUrl: string
  apiKey: string
  login: string
  password: string
  database: string
  timings: Record<string, number>
  counts: { nodes: number; grants: number; people: number }
  probes: Probe[]
  rss: number
}

const ADMIN_LOGIN = 'bench-admin'
const ADMIN_PASSWORD = 'bench-admin-password-1'
const ACTOR = { id: 'operator:bench' }

const send = (message: unknown) =>
  new Promise<void>((resolve, reject) =>
    (process.send as NonNullable<typeof process.send>)(message, undefined, {}, (e) =>
      e ? reject(e) : resolve(),
    ),
  )

async function main(): Promise<void> {
  // Never outlive the benchmark (interrupted, or crashed before it could say stop).
  process.on('disconnect', () => process.exit(1))
  const args = JSON.parse(process.env.ZONA_BENCH_SERVER ?? '{}') as ServerArgs
  const timings: Record<string, number> = {}
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now()
    try {
      return await fn()
    } finally {
      timings[name] = Math.round(performance.now() - t0)
    }
  }

  const read = readConfig({
    ZONA_PRESET: 'o2-cz',
    HOST: '127.0.0.1',
    PORT: '0',
    // The logger stays on (Fastify makes a child logger per request, as in production) but quiet:
    // at 'info' pino would write two lines a request into a pipe nobody reads.
    ZONA_LOG_LEVEL: 'warn',
    ...(args.databaseUrl ? { DATABASE_URL: args.databaseUrl } : { ZONA_DATA_DIR: args.dataDir }),
  })
  if (!read.ok) throw new Error(read.errors.join('\n'))
  const zona = await timed('open and migrate', () => createZona(read.config, { logger: false }))

  const spec = generateCustomer({
    accounts: args.accounts,
    services: args.services,
    people: args.people,
    seed: args.seed,
  })
  const customer = spec.customer

  await timed('create customer', () => createCustomer(zona, ACTOR, { id: customer, name: 'Benchmark a.s.' }))
  await timed('import tree (importTree command)', () =>
    importCustomerTree(zona, ACTOR, spec, { tariff: 'Business 5 GB' }),
  )
  await timed('people and grants (store, multi-row inserts)', () =>
    insertPeopleAndGrants(zona, ACTOR, spec, { login: ADMIN_LOGIN, password: ADMIN_PASSWORD }),
  )
  await timed('access model reload', () => zona.access.refresh())
  const engine = zona.access.engine
  if (engine.grantCount !== spec.grants.length)
    throw new Error(`the access model holds ${engine.grantCount} grants, expected ${spec.grants.length}`)

  const { token: apiKey, hash } = newToken('zk_')
  await zona.store.db
    .insertInto('apiKeys')
    .values({ keyHash: hash, name: 'bench', scope: 'decision' })
    .execute()

  const probes = await probeQueries(zona, apiKey, nodeId(spec, spec.accounts + 1), args.probeCount)

  const app = await buildApp(zona, { logger: true })
  // Requests still running when a run ends (autocannon drops its sockets) must finish before the store closes.
  let inFlight = 0
  app.addHook('onRequest', async () => {
    inFlight++
  })
  app.addHook('onResponse', async () => {
    inFlight--
  })
  app.get('/bench/constant', { schema: { hide: true } }, async () => ({ ok: true }))
  await app.register(async (scope) => {
    scope.addHook('preHandler', async () => {
      await zona.access.refresh()
    })
    scope.get('/bench/versioned', { schema: { hide: true } }, async () => ({ ok: true }))
  })
  // As startZona does: another process's writes arrive as notifications.
  const subscription = await subscribeAccessChanges(zona.store, () => {
    zona.access.refresh().catch(() => {})
  })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })

  const bare = Fastify({ logger: false })
  bare.get('/', async () => ({ ok: true }))
  const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 })

  const profiler = new Session()
  profiler.connect()
  process.on('message', (m: { type: string; on?: boolean; file?: string }) => {
    if (m.type === 'rss') {
      const mem = process.memoryUsage()
      send({ type: 'rss', rss: mem.rss, heapUsed: mem.heapUsed }).catch(() => {})
    } else if (m.type === 'cpu') {
      send({ type: 'cpu', ...process.cpuUsage() }).catch(() => {})
    } else if (m.type === 'profile') {
      void (async () => {
        if (m.on) {
          await profiler.post('Profiler.enable')
          await profiler.post('Profiler.start')
          await send({ type: 'profile' })
          return
        }
        const { profile } = await profiler.post('Profiler.stop')
        await profiler.post('Profiler.disable')
        if (m.file) writeFileSync(m.file, JSON.stringify(profile))
        await send({ type: 'profile', ...summariseProfile(profile) })
      })()
    } else if (m.type === 'stop') {
      void (async () => {
        profiler.disconnect()
        await bare.close()
        await subscription.close()
        await app.close()
        for (const until = Date.now() + 10_000; inFlight > 0 && Date.now() < until; )
          await new Promise((r) => setTimeout(r, 50))
        await zona.store.close()
        process.exit(0)
      })()
    }
  })

  const ready: Ready = {
    type: 'ready',
    url,
    bareUrl,
    apiKey,
    login: ADMIN_LOGIN,
    password: ADMIN_PASSWORD,
    database: zona.store.location,
    timings,
    counts: { nodes: spec.nodes, grants: engine.grantCount, people: spec.people },
    probes,
    rss: process.memoryUsage().rss,
  }
  await send(ready)
}

/**
 * The per-request queries on their own, before any HTTP load: the access-version read (every
 * decision and portal request), the API-key lookup (every decision request) and the node row of
 * a service page. Figures for the notes on what a request costs.
 */
async function probeQueries(
  zona: Awaited<ReturnType<typeof createZona>>,
  apiKey: string,
  serviceId: string,
  count: number,
): Promise<Probe[]> {
  const db = zona.store.db
  const keyHash = hashToken(apiKey)
  const queries: [string, () => Promise<unknown>][] = [
    ['access version read', () => readVersion(db)],
    [
      'API key lookup',
      () =>
        db
          .selectFrom('apiKeys')
          .select(['id', 'name', 'scope'])
          .where('keyHash', '=', keyHash)
          .where('revokedAt', 'is', null)
          .executeTakeFirst(),
    ],
    [
      'service row (findNode)',
      () => db.selectFrom('nodes').selectAll().where('id', '=', serviceId).executeTakeFirst(),
    ],
  ]
  const out: Probe[] = []
  for (const [name, q] of queries) {
    for (let i = 0; i < 200; i++) await q()
    const us: number[] = []
    for (let i = 0; i < count; i++) {
      const t0 = hrtime.bigint()
      await q()
      us.push(Number(hrtime.bigint() - t0) / 1000)
    }
    us.sort((a, b) => a - b)
    let done = 0
    const until = performance.now() + 1000
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (performance.now() < until) {
          await q()
          done++
        }
      }),
    )
    out.push({
      name,
      sequentialP50Us: round1(us[Math.floor(us.length * 0.5)] as number),
      sequentialP99Us: round1(us[Math.floor(us.length * 0.99)] as number),
      concurrentPerSecond: done,
    })
  }
  return out
}

const round1 = (x: number) => Math.round(x * 10) / 10

export interface ProfileSummary {
  /** Samples taken, idle included. */
  samples: number
  /** Share of the busy (non-idle) time by where the code comes from, largest first. */
  busy: { part: string; share: number }[]
  /** The functions with the most self time, as a share of busy time. */
  top: { fn: string; share: number }[]
}

/** Where a sampled function's code lives, in a few parts that say what a request spends its time on. */
function partOf(frame: Profiler.ProfileNode['callFrame']): string {
  const url = frame.url
  if (url === '') {
    if (frame.functionName === '(garbage collector)') return 'GC'
    if (frame.functionName === '(idle)') return 'idle'
    // JavaScript made at run time (new Function) has a script but no url: ajv's validators and
    // fast-json-stringify's serializers, compiled from the routes' schemas.
    if (frame.scriptId !== '0') return 'compiled schemas (ajv, fast-json-stringify)'
    return 'Node native (sockets, syscalls)'
  }
  if (url.startsWith('wasm://')) return 'PGlite (WASM PostgreSQL)'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1]
  if (pkg) {
    if (pkg === '@electric-sql/pglite') return 'PGlite (JS)'
    if (pkg.startsWith('pg')) return 'pg driver'
    if (pkg === 'kysely') return 'Kysely'
    if (pkg === 'ajv' || pkg === 'ajv-formats' || pkg === 'fast-uri') return 'ajv (validation)'
    if (pkg === 'fast-json-stringify') return 'fast-json-stringify (serialization)'
    if (pkg === 'pino' || pkg === 'pino-std-serializers' || pkg === 'sonic-boom') return 'pino'
    if (pkg === 'prom-client' || pkg === 'tdigest' || pkg === 'bintrees') return 'prom-client (metrics)'
    if (pkg === 'tsx' || pkg === 'esbuild') return 'tsx (loader)'
    return 'Fastify and plugins'
  }
  if (url.includes('/src/domain/')) return 'engine (src/domain)'
  if (url.includes('/src/')) return 'Zona code (src/http, queries, store)'
  if (url.startsWith('node:')) return 'Node (http, net, streams)'
  return 'other'
}

function summariseProfile(profile: Profiler.Profile): ProfileSummary {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  // Samples are counted rather than weighted by their time deltas: on a busy machine the sampling
  // thread is sometimes not scheduled, and the gap would land on whatever ran next (often the
  // profiler's own stop call).
  const self = new Map<number, number>()
  const samples = profile.samples ?? []
  for (let i = 1; i < samples.length - 1; i++) {
    const id = samples[i] as number
    self.set(id, (self.get(id) ?? 0) + 1)
  }
  const parts = new Map<string, number>()
  const fns = new Map<string, number>()
  let total = 0
  let idle = 0
  for (const [id, n] of self) {
    const frame = (nodes.get(id) as Profiler.ProfileNode).callFrame
    const part = partOf(frame)
    total += n
    if (part === 'idle') {
      idle += n
      continue
    }
    parts.set(part, (parts.get(part) ?? 0) + n)
    const where = frame.url.replace(/^.*node_modules\//, '').replace(/^.*\/(src|bench)\//, '$1/')
    const fn = where
      ? `${frame.functionName || '(anonymous)'} ${where}:${frame.lineNumber + 1}`
      : `${frame.functionName || '(anonymous)'}${part === 'compiled schemas (ajv, fast-json-stringify)' ? ' (compiled schema)' : ''}`
    fns.set(fn, (fns.get(fn) ?? 0) + n)
  }
  const busy = Math.max(1, total - idle)
  const share = (n: number) => Math.round((1000 * n) / busy) / 10
  return {
    samples: total,
    busy: [...parts].sort((a, b) => b[1] - a[1]).map(([part, n]) => ({ part, share: share(n) })),
    top: [...fns]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([fn, n]) => ({ fn, share: share(n) })),
  }
}

main().catch(async (e) => {
  await send({ type: 'error', message: (e as Error).stack ?? String(e) }).catch(() => {})
  process.exit(1)
})
