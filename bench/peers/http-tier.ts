/**
 * The over-the-wire tier, on loopback: Zona's real server (POST /api/v1/check and /api/v1/list),
 * Cerbos PDP over HTTP (alone, with the attributes already in the request, and behind a caller
 * that fetches them), and a bare Fastify route answering a constant (the ceiling). Each server
 * runs in its own process; autocannon (programmatic API) loads them from this one, with varied
 * request bodies, at a fixed number of connections and at a fixed rate.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Catalog } from '../../src/domain/catalog.ts'
import { nodeId, personId } from '../generate.ts'
import { nanSpread, type RevokeResult, type Row, type SystemResult } from './inproc.ts'
import { latency, type Rep, round, rssOfPid, summarize } from './stats.ts'
import { AppTree } from './systems/app-tree.ts'
import { allowedIn, type CerbosGrant, cerbosCheckBody, startCerbos } from './systems/cerbos.ts'
import { versionOf } from './versions.ts'
import { customerOf, sameSet, type Workload } from './workload.ts'
import type { ZonaServerReady } from './zona-server.ts'

export interface HttpSettings {
  reps: number
  warmS: number
  repS: number
  connections: number
  /** Requests per second of the fixed-rate runs (the same for every server). */
  rate: number
  pageSize: number
  /** Checks of the sample compared with Zona's answers (all when absent; the quick run compares fewer). */
  compareChecks?: number
  /** A PostgreSQL server (any database on it): Zona also runs on a fresh database there. */
  pgUrl?: string
}

type Log = (line: string) => void

// autocannon ships no types: the part of its programmatic API used here.
interface AutocannonResult {
  '2xx': number
  non2xx: number
  errors: number
  timeouts: number
  duration: number
}
interface AutocannonInstance {
  on(event: 'response', f: (client: unknown, status: number, bytes: number, ms: number) => void): void
}
type Autocannon = (
  opts: Record<string, unknown>,
  cb: (err: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

interface Child {
  child: ChildProcess
  ready: Record<string, unknown>
  rss(): Promise<number>
  stop(): Promise<void>
}

const here = (f: string) => new URL(f, import.meta.url).pathname

function forkChild(file: string, env: Record<string, string>): Promise<Child> {
  const child = fork(here(file), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const waitFor = (type: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const on = (m: Record<string, unknown>) => {
        if (m.type === 'error') {
          child.off('message', on)
          reject(new Error(`${file}: ${m.message}`))
        } else if (m.type === type) {
          child.off('message', on)
          resolve(m)
        }
      }
      child.on('message', on)
      child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)))
    })
  return waitFor('ready').then((ready) => ({
    child,
    ready,
    rss: async () => {
      const r = waitFor('rss')
      child.send({ type: 'rss' })
      return round(((await r).rss as number) / 1048576)
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.send({ type: 'stop' })
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref()
      }),
  }))
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
    s.on('error', reject)
  })
}

/** `n` calls with at most `k` in flight. */
async function pool<T>(n: number, k: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(k, n) }, async () => {
      while (next < n) {
        const i = next++
        out[i] = await fn(i)
      }
    }),
  )
  return out
}

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<unknown> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
  const text = await r.text()
  if (!r.ok) throw new Error(`${url}: ${r.status} ${text.slice(0, 300)}`)
  return text ? JSON.parse(text) : null
}

interface Target {
  url: string
  path: string
  headers?: Record<string, string>
  bodies: string[]
}

interface LoadRep extends Rep {
  errors: number
  non2xx: number
}

/** One autocannon run: 2xx answers per second and the latency of each 2xx answer (µs). */
function loadRun(t: Target, s: HttpSettings, durationS: number, rate?: number): Promise<LoadRep> {
  return new Promise((resolve, reject) => {
    let i = 0
    const times: number[] = []
    const instance = autocannon(
      {
        url: t.url,
        connections: s.connections,
        duration: durationS,
        ...(rate ? { overallRate: rate } : {}),
        requests: [
          {
            method: 'POST',
            path: t.path,
            headers: { 'content-type': 'application/json', ...t.headers },
            setupRequest: (req: Record<string, unknown>) => ({
              ...req,
              body: t.bodies[i++ % t.bodies.length],
            }),
          },
        ],
      },
      (err, result) => {
        if (err) return reject(err)
        const ok = result['2xx']
        const l = latency(times)
        resolve({
          ops: ok / result.duration,
          p50: l.p50,
          p95: l.p95,
          p99: l.p99,
          n: l.n,
          errors: result.errors + result.timeouts,
          non2xx: result.non2xx,
        })
      },
    )
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) times.push(ms * 1000)
    })
  })
}

type Measured = { conc: LoadRep[]; fixed: LoadRep[]; bad: number }

/**
 * Warm-up of each target, then the repetitions taken in turns – one run of every target, then
 * the next – first at fixed concurrency, then at the fixed rate: on a shared machine each target
 * then meets the same background, and the medians compare like with like.
 */
async function measureAll(
  targets: Record<string, Target>,
  s: HttpSettings,
  log: Log,
): Promise<Record<string, Measured>> {
  const names = Object.keys(targets)
  const out: Record<string, Measured> = {}
  for (const k of names) {
    await loadRun(targets[k] as Target, s, s.warmS)
    out[k] = { conc: [], fixed: [], bad: 0 }
  }
  for (const rate of [undefined, s.rate])
    for (let r = 0; r < s.reps; r++)
      for (const k of names) {
        const run = await loadRun(targets[k] as Target, s, s.repS, rate)
        const m = out[k] as Measured
        ;(rate ? m.fixed : m.conc).push(run)
        m.bad += run.errors + run.non2xx
      }
  for (const k of names) {
    const m = out[k] as Measured
    const median = [...m.conc].map((r) => r.ops).sort((a, b) => a - b)[m.conc.length >> 1] as number
    log(
      `http ${k}: ${round(median)} req/s at ${s.connections} connections${m.bad ? `, ${m.bad} errors or non-2xx` : ''}`,
    )
  }
  return out
}

const revokeRow = (system: string, label: string, rss_mb: number, r: RevokeResult): Row => ({
  system,
  label,
  tier: 'http-loopback',
  workload: 'revoke → first refused check',
  ops_per_sec: Number.NaN,
  p50_us: round(r.ms * 1000),
  p95_us: Number.NaN,
  p99_us: Number.NaN,
  n: r.checks,
  reps: 1,
  spread: nanSpread(),
  rss_mb,
  mismatches: r.refused ? 0 : 1,
  void: !r.refused,
  note: `refused on check ${r.checks} after the revoke`,
})

/** The rows of one load target: fixed concurrency, then fixed rate. */
function loadRows(
  s: HttpSettings,
  system: string,
  label: string,
  rss_mb: number,
  workload: string,
  m: Measured,
  mismatches: number,
): Row[] {
  const tier = 'http-loopback' as const
  const bad = m.bad ? { note: `${m.bad} errors or non-2xx answers` } : {}
  const broken = mismatches > 0 || m.bad > 0
  return [
    {
      system,
      label,
      tier,
      workload: `${workload} · ${s.connections} connections`,
      ...summarize(m.conc),
      rss_mb,
      mismatches,
      void: broken,
      ...bad,
    },
    {
      system,
      label,
      tier,
      workload: `${workload} · ${s.rate} req/s`,
      ...summarize(m.fixed),
      rss_mb,
      mismatches,
      void: broken,
      ...bad,
    },
  ]
}

const base = { tier: 'http-loopback' as const, rssBeforeMb: Number.NaN }

const differs = (answers: boolean[], expected: boolean[]) =>
  answers.reduce((a, x, i) => a + (x === expected[i] ? 0 : 1), 0)
const listDiffers = (got: string[][], w: Workload) =>
  got.reduce((a, x, i) => a + (sameSet(x, (w.lists[i] as Workload['lists'][number]).expected) ? 0 : 1), 0)

/** A Zona server's answers to the comparison sample: mismatches with Zona in-process. */
async function compareZona(
  zr: ZonaServerReady,
  w: Workload,
  compared: number,
): Promise<{ checks: number; lists: number }> {
  const q = w.checks
  const auth = { authorization: `Bearer ${zr.apiKey}` }
  const answers = await pool(compared, 32, async (i) => {
    const r = (await postJson(
      `${zr.url}/api/v1/check`,
      { person: q.person[i], permission: q.permission[i], node: q.node[i] },
      auth,
    )) as { allowed: boolean }
    return r.allowed
  })
  const lists = await pool(w.lists.length, 8, async (i) => {
    const l = w.lists[i] as Workload['lists'][number]
    const all: string[] = []
    let cursor: string | null = null
    do {
      const page = (await postJson(
        `${zr.url}/api/v1/list`,
        {
          person: l.person,
          permission: l.permission,
          type: 'service',
          limit: 1000,
          ...(cursor ? { cursor } : {}),
        },
        auth,
      )) as { nodes: string[]; next_cursor: string | null }
      all.push(...page.nodes)
      cursor = page.next_cursor
    } while (cursor)
    return all
  })
  return { checks: differs(answers, q.allowed), lists: listDiffers(lists, w) }
}

/** A fresh database on the PostgreSQL server of `url`; dropped by the returned function. */
async function freshPgDatabase(url: string): Promise<{ url: string; drop(): Promise<void> }> {
  const { default: pg } = await import('pg')
  const name = `zona_peers_${process.pid}_${Date.now()}`
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  await admin.query(`create database ${name}`)
  await admin.end()
  const u = new URL(url)
  u.pathname = `/${name}`
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: url })
      await c.connect()
      await c.query(`drop database if exists ${name} with (force)`)
      await c.end()
    },
  }
}

interface ZonaServer {
  system: string
  label: string
  child: Child
  ready: ZonaServerReady
  versions: Record<string, string>
  mismatches?: { checks: number; lists: number }
}

export async function runHttpTier(
  catalog: Catalog,
  w: Workload,
  s: HttpSettings,
  log: Log,
): Promise<SystemResult[]> {
  const spec = customerOf(w)
  const tree = new AppTree(spec)
  const grantsOf = new Map<string, CerbosGrant[]>()
  for (const g of spec.grants) {
    const p = personId(spec, g.person)
    const mine = grantsOf.get(p) ?? []
    mine.push({ node: nodeId(spec, g.node), role: g.role, options: g.options })
    grantsOf.set(p, mine)
  }
  const q = w.checks
  const n = q.person.length
  const compared = Math.min(n, s.compareChecks ?? n)
  const dir = mkdtempSync(join(tmpdir(), 'zona-peers-'))
  const started: { stop(): Promise<void> }[] = []
  const results: SystemResult[] = []
  let pgDb: { url: string; drop(): Promise<void> } | undefined
  try {
    // ---- the servers, one process each; load time is each one's start until it answers
    const bare = await forkChild('./bare-server.ts', {})
    started.push(bare)
    log('http: bare Fastify up')
    const zonas: ZonaServer[] = []
    const zona = await forkChild('./zona-server.ts', {
      ZONA_PEERS_SERVER: JSON.stringify({ scale: w.scale, seed: w.seed, dataDir: join(dir, 'zona-data') }),
    })
    started.push(zona)
    zonas.push({
      system: 'zona',
      label: 'Zona server (POST /api/v1/check, /list)',
      child: zona,
      ready: zona.ready as unknown as ZonaServerReady,
      versions: { fastify: versionOf('fastify'), '@electric-sql/pglite': versionOf('@electric-sql/pglite') },
    })
    if (s.pgUrl) {
      pgDb = await freshPgDatabase(s.pgUrl)
      const child = await forkChild('./zona-server.ts', {
        ZONA_PEERS_SERVER: JSON.stringify({
          scale: w.scale,
          seed: w.seed,
          dataDir: join(dir, 'unused'),
          databaseUrl: pgDb.url,
        }),
      })
      started.push(child)
      zonas.push({
        system: 'zona-pg',
        label: 'Zona server on PostgreSQL',
        child,
        ready: child.ready as unknown as ZonaServerReady,
        versions: { fastify: versionOf('fastify'), pg: versionOf('pg') },
      })
    }
    for (const z of zonas)
      log(`http: ${z.label} up (setup ${z.ready.setupMs} ms, start ${z.ready.loadMs} ms)`)
    const pdp = await startCerbos(catalog, join(dir, 'cerbos'), {
      http: await freePort(),
      grpc: await freePort(),
      debug: await freePort(),
    })
    started.push(pdp)
    log(`http: Cerbos PDP up in ${pdp.loadMs} ms (${pdp.version})`)
    const caller = await forkChild('./cerbos-caller.ts', {
      ZONA_PEERS_CERBOS: JSON.stringify({ scale: w.scale, seed: w.seed, cerbosUrl: pdp.url }),
    })
    started.push(caller)
    const callerUrl = caller.ready.url as string

    // ---- the comparison with Zona's (in-process) answers
    for (const z of zonas) {
      z.mismatches = await compareZona(z.ready, w, compared)
      log(
        `http: ${z.label}: ${z.mismatches.checks} of ${compared} checks and ${z.mismatches.lists} of ${w.lists.length} lists differ from Zona in-process`,
      )
    }
    const pdpBody = (i: number) =>
      cerbosCheckBody(
        q.person[i] as string,
        grantsOf.get(q.person[i] as string) ?? [],
        q.permission[i] as string,
        q.node[i] as string,
        tree.path(q.node[i] as string),
      )
    const pdpCheck = await pool(compared, 32, async (i) =>
      allowedIn(await postJson(`${pdp.url}/api/check/resources`, pdpBody(i)), q.permission[i] as string),
    )
    const callerCheck = await pool(compared, 32, async (i) => {
      const r = (await postJson(`${callerUrl}/check`, {
        person: q.person[i],
        permission: q.permission[i],
        node: q.node[i],
      })) as { allowed: boolean }
      return r.allowed
    })
    const callerLists = await pool(w.lists.length, 8, async (i) => {
      const l = w.lists[i] as Workload['lists'][number]
      return (
        (await postJson(`${callerUrl}/list`, { person: l.person, permission: l.permission })) as {
          nodes: string[]
        }
      ).nodes
    })
    const mm = {
      pdp: differs(pdpCheck, q.allowed),
      caller: differs(callerCheck, q.allowed),
      callerLists: listDiffers(callerLists, w),
    }
    log(
      `http: Cerbos ${mm.pdp}, Cerbos + caller ${mm.caller} of ${compared} checks and ${mm.callerLists} of ${w.lists.length} lists differ from Zona`,
    )

    // ---- load, the targets taken in turns
    const checkBodies = Array.from({ length: n }, (_, i) =>
      JSON.stringify({ person: q.person[i], permission: q.permission[i], node: q.node[i] }),
    )
    const listBodies = w.lists.map((l) =>
      JSON.stringify({ person: l.person, permission: l.permission, type: 'service', limit: s.pageSize }),
    )
    const targets: Record<string, Target> = {
      'bare Fastify': { url: bare.ready.url as string, path: '/check', bodies: checkBodies },
    }
    for (const z of zonas) {
      const headers = { authorization: `Bearer ${z.ready.apiKey}` }
      targets[`${z.system} check`] = { url: z.ready.url, path: '/api/v1/check', headers, bodies: checkBodies }
      targets[`${z.system} list`] = { url: z.ready.url, path: '/api/v1/list', headers, bodies: listBodies }
    }
    targets['Cerbos PDP check'] = {
      url: pdp.url,
      path: '/api/check/resources',
      bodies: Array.from({ length: n }, (_, i) => JSON.stringify(pdpBody(i))),
    }
    targets['Cerbos + caller check'] = { url: callerUrl, path: '/check', bodies: checkBodies }
    targets['Cerbos + caller list'] = {
      url: callerUrl,
      path: '/list',
      bodies: w.lists.map((l) =>
        JSON.stringify({ person: l.person, permission: l.permission, limit: s.pageSize }),
      ),
    }
    const runs = await measureAll(targets, s, log)
    const run = (k: string) => runs[k] as Measured

    // ---- memory, then revoke → first refused check
    const bareRss = await bare.rss()
    const pdpRss = rssOfPid(pdp.pid)
    const callerRss = round((await caller.rss()) + pdpRss)
    const page = `list first page (${s.pageSize})`
    const bareLabel = 'bare Fastify route (constant answer)'
    results.push({
      ...base,
      system: 'fastify-bare',
      label: bareLabel,
      versions: { fastify: versionOf('fastify') },
      loadMs: bare.ready.loadMs as number,
      rssLoadedMb: bareRss,
      rssMb: bareRss,
      compared: { checks: 0, checkMismatches: 0, lists: 0, listMismatches: 0, examples: [] },
      revoke: { ms: Number.NaN, checks: 0, refused: true },
      rows: loadRows(s, 'fastify-bare', bareLabel, bareRss, 'check (ceiling)', run('bare Fastify'), 0),
      notes: [],
    })
    for (const z of zonas) {
      const rss = await z.child.rss()
      const revoke = await revokeThroughZona(z.ready, w)
      log(`http: ${z.label}: revoke refused after ${revoke.checks} check(s), ${revoke.ms} ms`)
      const m = z.mismatches as { checks: number; lists: number }
      results.push({
        ...base,
        system: z.system,
        label: z.label,
        versions: z.versions,
        loadMs: z.ready.loadMs,
        rssLoadedMb: rss,
        rssMb: rss,
        compared: {
          checks: compared,
          checkMismatches: m.checks,
          lists: w.lists.length,
          listMismatches: m.lists,
          examples: [],
        },
        revoke,
        rows: [
          ...loadRows(s, z.system, z.label, rss, 'check', run(`${z.system} check`), m.checks),
          ...loadRows(s, z.system, z.label, rss, page, run(`${z.system} list`), m.lists),
          revokeRow(z.system, z.label, rss, revoke),
        ],
        notes: [
          `setup (the tree through the import command, people and grants in multi-row inserts) ${z.ready.setupMs} ms, not counted as load`,
        ],
      })
    }
    const callerRevoke = await revokeProbe(
      () =>
        postJson(`${callerUrl}/revoke`, {
          person: w.revoke.person,
          role: w.revoke.role,
          node: w.revoke.node,
        }),
      async () =>
        (
          (await postJson(`${callerUrl}/check`, {
            person: w.revoke.person,
            permission: w.revoke.permission,
            node: w.revoke.node,
          })) as { allowed: boolean }
        ).allowed,
    )
    const pdpLabel = 'Cerbos PDP over HTTP (attributes in the request)'
    results.push({
      ...base,
      system: 'cerbos',
      label: pdpLabel,
      versions: { cerbos: pdp.version, '@cerbos/cerbos-linux-x64': versionOf('@cerbos/cerbos-linux-x64') },
      loadMs: pdp.loadMs,
      rssLoadedMb: pdpRss,
      rssMb: pdpRss,
      compared: { checks: compared, checkMismatches: mm.pdp, lists: 0, listMismatches: 0, examples: [] },
      revoke: { ms: Number.NaN, checks: 0, refused: true },
      rows: loadRows(s, 'cerbos', pdpLabel, pdpRss, 'check', run('Cerbos PDP check'), mm.pdp),
      notes: [
        'the bodies carry the grants and the path, built before the run: fetching them is not counted here (see Cerbos + caller)',
      ],
    })
    const callerLabel = 'Cerbos + caller fetching the attributes (@cerbos/http)'
    results.push({
      ...base,
      system: 'cerbos+caller',
      label: callerLabel,
      versions: { '@cerbos/http': versionOf('@cerbos/http'), cerbos: pdp.version },
      loadMs: (caller.ready.loadMs as number) + pdp.loadMs,
      rssLoadedMb: callerRss,
      rssMb: callerRss,
      compared: {
        checks: compared,
        checkMismatches: mm.caller,
        lists: w.lists.length,
        listMismatches: mm.callerLists,
        examples: [],
      },
      revoke: callerRevoke,
      rows: [
        ...loadRows(
          s,
          'cerbos+caller',
          callerLabel,
          callerRss,
          'check',
          run('Cerbos + caller check'),
          mm.caller,
        ),
        ...loadRows(
          s,
          'cerbos+caller',
          callerLabel,
          callerRss,
          page,
          run('Cerbos + caller list'),
          mm.callerLists,
        ),
        revokeRow('cerbos+caller', callerLabel, callerRss, callerRevoke),
      ],
      notes: [
        'RSS is the caller process plus the PDP; load time is the caller building its maps plus the PDP start',
      ],
    })
    return results
  } finally {
    for (const c of started.reverse()) await c.stop().catch(() => {})
    await pgDb?.drop().catch((e) => log(`could not drop the benchmark database: ${(e as Error).message}`))
    rmSync(dir, { recursive: true, force: true })
  }
}

async function revokeProbe(
  revoke: () => Promise<unknown>,
  allowed: () => Promise<boolean>,
): Promise<RevokeResult> {
  if (!(await allowed())) throw new Error('the revoke target is not allowed before the revoke')
  const t0 = performance.now()
  await revoke()
  let checks = 0
  while (performance.now() - t0 < 15_000) {
    checks++
    if (!(await allowed())) return { ms: round(performance.now() - t0), checks, refused: true }
  }
  return { ms: round(performance.now() - t0), checks, refused: false }
}

/** Sign in as the primary admin (CSRF token and cookie first), then revoke through DELETE /api/v1/grants/:id. */
async function revokeThroughZona(zr: ZonaServerReady, w: Workload): Promise<RevokeResult> {
  const cookies = new Map<string, string>()
  const keep = (r: Response) => {
    for (const c of r.headers.getSetCookie()) {
      const [pair] = c.split(';')
      const at = (pair ?? '').indexOf('=')
      if (at > 0) cookies.set((pair as string).slice(0, at), (pair as string).slice(at + 1))
    }
  }
  const cookie = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  const csrf = await fetch(`${zr.url}/api/v1/auth/csrf`)
  keep(csrf)
  const { token } = (await csrf.json()) as { token: string }
  const login = await fetch(`${zr.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-csrf-token': token, cookie: cookie() },
    body: JSON.stringify({ login: zr.login, password: zr.password }),
  })
  if (!login.ok) throw new Error(`login: ${login.status} ${await login.text()}`)
  keep(login)
  const t = w.revoke
  const auth = { authorization: `Bearer ${zr.apiKey}` }
  return revokeProbe(
    async () => {
      const r = await fetch(`${zr.url}/api/v1/grants/${encodeURIComponent(t.grantId)}`, {
        method: 'DELETE',
        headers: { 'x-csrf-token': token, cookie: cookie() },
      })
      if (r.status !== 204) throw new Error(`revoke: ${r.status} ${await r.text()}`)
    },
    async () =>
      (
        (await postJson(
          `${zr.url}/api/v1/check`,
          { person: t.person, permission: t.permission, node: t.node },
          auth,
        )) as { allowed: boolean }
      ).allowed,
  )
}
