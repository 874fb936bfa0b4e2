/**
 * The server side of the soak (bench/soak.ts forks it): a real Zona (startZona, listening on
 * 127.0.0.1) on a fresh PGlite data dir, or on PostgreSQL when ZONA_SOAK_DATABASE_URL is set,
 * with one o2-cz customer of moderate size: 20 accounts, 400 services, 40 invoices, a primary
 * admin with a session, 400 people the soak gives and takes roles from, 100 of them with a grant.
 *
 * IPC: sends {type: 'ready', url, session, apiKey}; answers {type: 'memory'} with the process's
 * memory after a full garbage collection (so the heap figure is what is live, not what is
 * waiting to be collected), and exits on {type: 'stop'} or when the parent goes away.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashToken, newToken } from '../src/auth/tokens.ts'
import { readConfig } from '../src/config.ts'
import { startZona } from '../src/server/start.ts'
import { insertGrant } from '../src/store/grants.ts'
import { insertPerson, insertSession } from '../src/store/people.ts'
import { insertCustomer, insertInvoices, insertNodes, type NodeInput } from '../src/store/tree.ts'
import { accountId, personIdOf, SOAK, serviceId } from './soak-shape.ts'

const send = (message: unknown) => (process.send as NonNullable<typeof process.send>)(message)

async function main(): Promise<void> {
  process.on('disconnect', () => process.exit(1))
  const url = process.env.ZONA_SOAK_DATABASE_URL
  const dir = url ? undefined : mkdtempSync(join(tmpdir(), 'zona-soak-'))
  const read = readConfig({
    ZONA_PRESET: 'o2-cz',
    HOST: '127.0.0.1',
    PORT: '0',
    ZONA_LOG_LEVEL: 'warn',
    ...(url ? { DATABASE_URL: url } : { ZONA_DATA_DIR: join(dir as string, 'data') }),
  })
  if (!read.ok) throw new Error(read.errors.join('\n'))
  const running = await startZona(read.config, { logger: false })
  const db = running.zona.store.db

  const { customer } = SOAK
  await insertCustomer(db, { id: customer, name: 'Soak a.s.', preset: 'o2-cz' })
  const nodes: NodeInput[] = []
  for (let a = 0; a < SOAK.accounts; a++) {
    nodes.push({
      id: accountId(a),
      customerId: customer,
      parentId: customer,
      kind: 'account',
      name: `Account ${a}`,
    })
    for (let s = 0; s < SOAK.servicesPerAccount; s++)
      nodes.push({
        id: serviceId(a, s),
        customerId: customer,
        parentId: accountId(a),
        kind: 'service',
        name: `+420 7${String(a * 100 + s).padStart(8, '0')}`,
        serviceType: 'mobile',
        tariff: 'Business 5 GB',
      })
  }
  await insertNodes(db, nodes)
  await insertInvoices(
    db,
    Array.from({ length: SOAK.accounts * 2 }, (_, i) => ({
      id: `inv-${i}`,
      customerId: customer,
      nodeId: accountId(i % SOAK.accounts),
      number: `INV-${String(i).padStart(5, '0')}`,
      issuedOn: '2026-10-01',
      dueOn: '2026-10-15',
      amountCents: 10_000 + i,
      currency: 'CZK',
    })),
  )
  await insertPerson(db, { id: 'boss', login: 'boss', email: 'boss@example.test', displayName: 'Boss' })
  await insertGrant(db, {
    customerId: customer,
    personId: 'boss',
    role: 'primary-admin',
    scopeNodeId: customer,
    limited: true,
    grantedBy: 'operator:soak',
  })
  for (let i = 0; i < SOAK.people; i++) {
    await insertPerson(db, { id: personIdOf(i), login: personIdOf(i), displayName: `Person ${i}` })
    if (i < 100)
      await insertGrant(db, {
        customerId: customer,
        personId: personIdOf(i),
        role: i % 2 ? 'account-viewer' : 'service-user',
        scopeNodeId:
          i % 2 ? accountId(i % SOAK.accounts) : serviceId(i % SOAK.accounts, i % SOAK.servicesPerAccount),
        grantedBy: 'operator:soak',
      })
  }
  await running.zona.access.refresh()
  const session = newToken('zs_')
  await insertSession(db, {
    idHash: hashToken(session.token),
    personId: 'boss',
    expiresAt: new Date(Date.now() + 24 * 3_600_000),
  })
  const key = newToken('zk_')
  await db.insertInto('apiKeys').values({ keyHash: key.hash, name: 'soak', scope: 'decision' }).execute()

  process.on('message', async (m: { type?: string }) => {
    if (m.type === 'memory') {
      globalThis.gc?.()
      const u = process.memoryUsage()
      send({ type: 'memory', rss: u.rss, heapUsed: u.heapUsed, external: u.external })
    } else if (m.type === 'stop') {
      await running.close()
      if (dir) rmSync(dir, { recursive: true, force: true })
      process.exit(0)
    }
  })
  send({ type: 'ready', url: running.url, session: session.token, apiKey: key.token })
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(2)
})
