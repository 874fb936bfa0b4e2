import { afterAll, beforeAll, expect, it } from 'vitest'
import { createCustomer } from '../commands/operator/customers.ts'
import { ImportRejected, importTree } from '../commands/operator/import.ts'
import { startTestZona, type TestZona } from '../server/testing.ts'
import { describeEachBackend } from '../store/testing.ts'
import type { ImportProgress } from './jobs.ts'
import { WRITE_CHUNK } from './write.ts'

const SERVICES = 100_000
const ACCOUNTS = 200

describeEachBackend('tree import at scale', (backend) => {
  let z: TestZona
  const actor = { id: 'operator:import-test' }
  beforeAll(async () => {
    z = await startTestZona(backend, { preset: 'o2-cz' })
  })
  afterAll(() => z.close())

  it(`imports ${SERVICES} services from CSV in one transaction, reporting progress as it writes`, async () => {
    await createCustomer(z.zona, actor, { id: 'big', name: 'Big Customer a.s.' })
    const lines = ['kind,id,parent,name,service_type,tariff,status,contract_number,contact_email']
    // Half the accounts nest under the other half; children come before their parents on purpose.
    for (let a = ACCOUNTS - 1; a >= 0; a--)
      lines.push(
        `account,acc-${a},${a >= ACCOUNTS / 2 ? `acc-${a - ACCOUNTS / 2}` : ''},Account ${a},,,,K-${a},`,
      )
    for (let s = 0; s < SERVICES; s++)
      lines.push(
        `service,svc-${s},acc-${s % ACCOUNTS},+420 6${String(s).padStart(8, '0')},mobile,Business M,active,,`,
      )
    const text = lines.join('\n')

    const seen: ImportProgress[] = []
    const started = performance.now()
    const result = await importTree(z.zona, actor, 'big', { format: 'csv', text }, (p) => seen.push({ ...p }))
    const seconds = (performance.now() - started) / 1000
    console.log(
      `[${backend.name}] imported ${result.accounts} accounts and ${result.services} services in ${seconds.toFixed(1)} s`,
    )

    expect(result).toMatchObject({ accounts: ACCOUNTS, services: SERVICES })
    const total = ACCOUNTS + SERVICES
    // Progress: validating first, then writing in chunks that grow to the total.
    expect(seen[0]?.state).toBe('validating')
    const writing = seen.filter((p) => p.state === 'writing')
    expect(writing.length).toBeGreaterThanOrEqual(Math.ceil(total / WRITE_CHUNK))
    for (const p of writing) expect(p.total).toBe(total)
    const processed = writing.map((p) => p.processed)
    expect(processed).toEqual([...processed].sort((a, b) => a - b))
    expect(new Set(processed).size).toBeGreaterThan(10)
    expect(processed.at(-1)).toBe(total)

    // The database and the engine both have the whole tree.
    const counts = await z.store.db
      .selectFrom('nodes')
      .select(['kind', (eb) => eb.fn.countAll<string>().as('n')])
      .where('customerId', '=', 'big')
      .groupBy('kind')
      .orderBy('kind')
      .execute()
    expect(counts.map((c) => [c.kind, Number(c.n)])).toEqual([
      ['account', ACCOUNTS],
      ['customer', 1],
      ['service', SERVICES],
    ])
    const tree = z.zona.access.engine.tree
    expect(tree.info(`svc-${SERVICES - 1}`)).toMatchObject({
      kind: 'service',
      parent: `acc-${(SERVICES - 1) % ACCOUNTS}`,
      customer: 'big',
      serviceType: 'mobile',
    })
    expect(tree.info('acc-150')).toMatchObject({ parent: 'acc-50' })
    const events = await z.store.db
      .selectFrom('auditEvents')
      .selectAll()
      .where('customerId', '=', 'big')
      .where('action', '=', 'tree.imported')
      .execute()
    expect(events).toHaveLength(1)
    expect(events[0]?.after).toMatchObject({ format: 'csv', accounts: ACCOUNTS, services: SERVICES })
  }, 120_000)

  // On PGlite the one connection is the import's until it commits, so a poll (which looks up its
  // API key) waits for the end; there the CLI's onProgress is the way to watch (test above).
  it.skipIf(backend.name !== 'postgres')('shows the job progressing to whoever polls it', async () => {
    const key = await z.apiKey('operator', 'poller')
    await createCustomer(z.zona, actor, { id: 'polled', name: 'Polled' })
    const lines = ['kind,id,parent,name', 'account,pl-a,,A']
    for (let s = 0; s < 40_000; s++) lines.push(`service,pl-s${s},pl-a,Line ${s}`)
    const headers = { authorization: `Bearer ${key}` }
    const started = await z.app.inject({
      method: 'POST',
      url: '/api/v1/operator/customers/polled/import',
      headers: { ...headers, 'content-type': 'text/csv' },
      payload: lines.join('\n'),
    })
    expect(started.statusCode).toBe(202)
    const url = `/api/v1/operator/imports/${started.json().job_id}`
    const seen: { state: string; processed: number }[] = []
    for (let i = 0; i < 2000; i++) {
      const job = (await z.app.inject({ method: 'GET', url, headers })).json()
      seen.push({ state: job.state, processed: job.processed })
      if (job.state === 'done' || job.state === 'failed') break
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(seen.at(-1)).toEqual({ state: 'done', processed: 40_001 })
    const whileWriting = seen.filter((s) => s.state === 'writing').map((s) => s.processed)
    expect(whileWriting).toEqual([...whileWriting].sort((a, b) => a - b))
    expect(new Set(whileWriting.filter((p) => p > 0 && p < 40_001)).size).toBeGreaterThanOrEqual(2)
  })

  it('refuses the whole file when one row of a large import is bad, writing nothing', async () => {
    await createCustomer(z.zona, actor, { id: 'big-bad', name: 'Big Bad' })
    const lines = ['kind,id,parent,name', 'account,bb-a,,A']
    for (let s = 0; s < 20_000; s++) lines.push(`service,bb-s${s},${s === 17_000 ? 'bb-nope' : 'bb-a'},S${s}`)
    const error = await importTree(z.zona, actor, 'big-bad', { format: 'csv', text: lines.join('\n') }).catch(
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(ImportRejected)
    expect((error as ImportRejected).problems).toEqual([
      { field: 'csv line 17003: parent', detail: 'unknown parent bb-nope', row: 17_003 },
    ])
    const written = await z.store.db
      .selectFrom('nodes')
      .select('id')
      .where('customerId', '=', 'big-bad')
      .where('kind', '<>', 'customer')
      .execute()
    expect(written).toEqual([])
    expect(z.zona.access.engine.tree.has('bb-a')).toBe(false)
  })

  it('keeps names with quotes, commas, braces and backslashes exactly', async () => {
    await createCustomer(z.zona, actor, { id: 'odd', name: 'Odd' })
    const names = ['a "quoted" {braced}, name', 'back\\slash', 'NULL', 'ěščřžýáíé 日本', '']
    await importTree(z.zona, actor, 'odd', {
      format: 'json',
      body: {
        accounts: [{ id: 'odd-a', name: 'A', add_ons: ['x,y', '{z}'] }],
        services: names.map((name, i) => ({ id: `odd-s${i}`, parent: 'odd-a', name, tariff: name || null })),
      },
    })
    const rows = await z.store.db
      .selectFrom('nodes')
      .select(['id', 'name', 'tariff', 'addOns'])
      .where('customerId', '=', 'odd')
      .orderBy('id')
      .execute()
    expect(rows.find((r) => r.id === 'odd-a')?.addOns).toEqual(['x,y', '{z}'])
    // An empty name falls back to the id.
    expect(rows.filter((r) => r.id.startsWith('odd-s')).map((r) => r.name)).toEqual([
      ...names.slice(0, 4),
      'odd-s4',
    ])
    expect(rows.find((r) => r.id === 'odd-s2')?.tariff).toBe('NULL')
  })
})
