/**
 * Zona's real server for the HTTP tier, in its own process (forked by bench/peers/run.ts).
 *
 * Setup (not timed as load): a fresh database (PGlite in a temporary folder, the default, or a
 * fresh PostgreSQL database when the parent passes one), the
 * generated customer's tree through the operator import command, its people and grants through
 * multi-row inserts, a password for the primary admin (the revoke goes through the portal API as
 * them) and a decision API key (stored as the sha256 of the token, as newToken makes it). Then
 * the store is closed and the server started on it as `zona serve` does (startZona): that start,
 * database open and access model load included, is the load time.
 *
 * IPC: sends 'ready' (url, key, login, timings); answers 'rss'; exits on 'stop'.
 */
import { newToken } from '../../src/auth/tokens.ts'
import { createCustomer } from '../../src/commands/operator/customers.ts'
import { readConfig } from '../../src/config.ts'
import { createZona, startZona } from '../../src/server/start.ts'
import { generateCustomer } from '../generate.ts'
import { importCustomerTree, insertPeopleAndGrants } from '../load-customer.ts'
import type { Scale } from './workload.ts'

export interface ZonaServerArgs {
  scale: Scale
  seed: number
  /** PGlite's folder (the default backend) … */
  dataDir: string
  /** … or a fresh PostgreSQL database. */
  databaseUrl?: string
}

export interface ZonaServerReady {
  type: 'ready'
  url: string
  apiKey: string
  login: string
  password: string
  setupMs: number
  loadMs: number
  grants: number
}

const ACTOR = { id: 'operator:peers-bench' }
const LOGIN = 'peers-admin'
const PASSWORD = 'peers-admin-password-1'

const send = (m: unknown) =>
  new Promise<void>((resolve, reject) =>
    (process.send as NonNullable<typeof process.send>)(m, undefined, {}, (e) => (e ? reject(e) : resolve())),
  )

async function main(): Promise<void> {
  const args = JSON.parse(process.env.ZONA_PEERS_SERVER ?? '{}') as ZonaServerArgs
  const read = readConfig({
    ZONA_PRESET: 'o2-cz',
    HOST: '127.0.0.1',
    PORT: '0',
    // Fastify's request logger stays on as in production, quiet: nobody reads the pipe.
    ZONA_LOG_LEVEL: 'warn',
    ...(args.databaseUrl ? { DATABASE_URL: args.databaseUrl } : { ZONA_DATA_DIR: args.dataDir }),
  })
  if (!read.ok) throw new Error(read.errors.join('\n'))
  const config = read.config

  const s0 = performance.now()
  const spec = generateCustomer({ ...args.scale, seed: args.seed })
  const setup = await createZona(config, { logger: false })
  await createCustomer(setup, ACTOR, { id: spec.customer, name: 'Benchmark a.s.' })
  await importCustomerTree(setup, ACTOR, spec)
  await insertPeopleAndGrants(setup, ACTOR, spec, { login: LOGIN, password: PASSWORD })
  const { token: apiKey, hash } = newToken('zk_')
  await setup.store.db
    .insertInto('apiKeys')
    .values({ keyHash: hash, name: 'peers-bench', scope: 'decision' })
    .execute()
  await setup.store.close()
  const setupMs = performance.now() - s0

  const l0 = performance.now()
  const running = await startZona(config, { logger: true })
  const loadMs = performance.now() - l0
  const grants = running.zona.access.engine.grantCount
  if (grants !== spec.grants.length)
    throw new Error(`the server holds ${grants} grants, expected ${spec.grants.length}`)

  process.on('message', (m: { type: string }) => {
    if (m.type === 'rss') void send({ type: 'rss', rss: process.memoryUsage().rss })
    else if (m.type === 'stop')
      void running.close().finally(() => {
        process.exit(0)
      })
  })
  const ready: ZonaServerReady = {
    type: 'ready',
    url: running.url,
    apiKey,
    login: LOGIN,
    password: PASSWORD,
    setupMs: Math.round(setupMs),
    loadMs: Math.round(loadMs),
    grants,
  }
  await send(ready)
}

main().catch(async (e: Error) => {
  await send({ type: 'error', message: e.stack ?? String(e) }).catch(() => {})
  process.exit(1)
})
