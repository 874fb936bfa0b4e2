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
import { hashPassword } from '../../src/auth/passwords.ts'
import { newToken } from '../../src/auth/tokens.ts'
import { createCustomer } from '../../src/commands/operator/customers.ts'
import { importTree } from '../../src/commands/operator/import.ts'
import { readConfig } from '../../src/config.ts'
import { createZona, startZona } from '../../src/server/start.ts'
import { withTransaction } from '../../src/store/common.ts'
import { setPasswordHash } from '../../src/store/people.ts'
import { generateCustomer, grantId, nodeId, personId, SERVICE_TYPES } from '../generate.ts'
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
const ROWS = 1000
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
  const accounts: Record<string, string>[] = []
  for (let k = 1; k <= spec.accounts; k++) {
    const parent = spec.parent[k] as number
    accounts.push({
      id: nodeId(spec, k),
      name: `Account ${k}`,
      ...(parent === 0 ? {} : { parent: nodeId(spec, parent) }),
    })
  }
  const services: Record<string, string>[] = []
  for (let k = spec.accounts + 1; k < spec.nodes; k++)
    services.push({
      id: nodeId(spec, k),
      parent: nodeId(spec, spec.parent[k] as number),
      name: `+420 7${String(k).padStart(8, '0')}`,
      service_type: SERVICE_TYPES[spec.serviceType[k] as number] as string,
    })
  await importTree(setup, ACTOR, spec.customer, { format: 'json', body: { accounts, services } })
  const passwordHash = await hashPassword(PASSWORD)
  await withTransaction(setup.store.db, async (trx) => {
    for (let from = 0; from < spec.people; from += ROWS) {
      const rows = []
      for (let i = from; i < Math.min(spec.people, from + ROWS); i++)
        rows.push({
          id: personId(spec, i),
          login: i === 0 ? LOGIN : personId(spec, i).toLowerCase(),
          email: null,
          displayName: `Person ${i}`,
          locale: null,
        })
      await trx.insertInto('people').values(rows).execute()
    }
    await setPasswordHash(trx, personId(spec, 0), passwordHash)
    for (let from = 0; from < spec.grants.length; from += ROWS) {
      const rows = spec.grants.slice(from, from + ROWS).map((g, j) => {
        const role = setup.catalog.role(g.role)
        if (!role) throw new Error(`role ${g.role} is not in the o2-cz catalog`)
        return {
          id: grantId(spec, from + j),
          customerId: spec.customer,
          personId: personId(spec, g.person),
          role: g.role,
          scopeNodeId: nodeId(spec, g.node),
          options: g.options,
          limited: role.limitPerCustomer !== undefined,
          grantedBy: ACTOR.id,
        }
      })
      await trx.insertInto('grants').values(rows).execute()
    }
  })
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
