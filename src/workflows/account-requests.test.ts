/**
 * The account-request commands without HTTP: the role they give, the login they make, the
 * newest link winning, two completions racing, and the mail written with the change (outbox).
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { loadPreset } from '../catalog/load.ts'
import { createPerson } from '../commands/auth/people.ts'
import type { Zona } from '../commands/context.ts'
import { compileCatalog } from '../domain/catalog.ts'
import { ZonaError } from '../errors.ts'
import { startTestZona, type TestZona } from '../server/testing.ts'
import { withTransaction } from '../store/common.ts'
import { insertGrant } from '../store/grants.ts'
import { describeEachBackend } from '../store/testing.ts'
import { insertCustomer, insertNodes } from '../store/tree.ts'
import {
  completeAccountRequest,
  type RequestAccountOutcome,
  requestAccount,
  requestedAccountRole,
} from './account-requests.ts'

it('gives the catalog’s account role, else the narrowest customer-wide role the primary may grant', () => {
  expect(requestedAccountRole(loadPreset('sk-isp'))?.id).toBe('account')
  // o2-cz has no 'account': of what the primary admin may grant customer-wide, view-only is the least.
  const o2 = requestedAccountRole(loadPreset('o2-cz'))
  expect(o2?.scope).toBe('customer')
  expect(loadPreset('o2-cz').permissionsOf(o2?.maxMask ?? 0)).toEqual(['node.view'])
})

describeEachBackend('account-request commands', (backend) => {
  let z: TestZona
  beforeAll(async () => {
    z = await startTestZona(backend, { preset: 'sk-isp' })
    const db = z.store.db
    await insertCustomer(db, { id: 'firma', name: 'Firma', preset: 'sk-isp' })
    await insertNodes(db, [
      {
        id: 'acc',
        customerId: 'firma',
        parentId: 'firma',
        kind: 'account',
        name: 'Hlavný účet',
        contractNumber: 'C-1',
        contactEmail: 'peter@firma.sk',
      },
      {
        id: 'acc-2',
        customerId: 'firma',
        parentId: 'firma',
        kind: 'account',
        name: 'Pobočka',
        contractNumber: 'C-2',
        contactEmail: 'pavol@firma.sk',
      },
      {
        id: 'acc-3',
        customerId: 'firma',
        parentId: 'firma',
        kind: 'account',
        name: 'Sklad',
        contractNumber: 'C-3',
        contactEmail: 'Sklad+Nitra@firma.sk',
      },
    ])
    const boss = await withTransaction(db, (trx) =>
      createPerson(trx, z.zona, { displayName: 'Boss', login: 'boss', email: 'boss@firma.sk' }),
    )
    await insertGrant(db, {
      customerId: 'firma',
      personId: boss.id,
      role: 'primary',
      scopeNodeId: 'firma',
      limited: true,
      grantedBy: 'operator:test',
    })
    // Someone else already has the login 'peter'.
    await withTransaction(db, (trx) =>
      createPerson(trx, z.zona, { displayName: 'Other Peter', login: 'peter', email: 'peter@elsewhere.sk' }),
    )
    await z.zona.access.refresh()
  })
  afterAll(() => z?.close())

  /** The link token of a request, read from the queued mail in the outbox. */
  async function linkOf(outcome: RequestAccountOutcome): Promise<string> {
    expect(outcome.state).toBe('link_sent')
    const row = await z.store.db
      .selectFrom('outbox')
      .selectAll()
      .where('template', '=', 'account-request-link')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow()
    const m = /account-request\?token=([A-Za-z0-9_-]+)/.exec(row.text)
    if (!m?.[1]) throw new Error('no link in the mail')
    return m[1]
  }

  it('queues the mail in the same transaction, only for the e-mail on file, in the catalog’s language', async () => {
    const before = await z.store.db.selectFrom('outbox').select('id').execute()
    const queued = await requestAccount(z.zona, { contractNumber: 'C-1', email: 'stranger@evil.example' })
    expect(queued).toMatchObject({ state: 'waiting_for_operator', queued: 'email_not_on_file' })
    expect(await z.store.db.selectFrom('outbox').select('id').execute()).toHaveLength(before.length)
    const sent = await requestAccount(z.zona, { contractNumber: ' C-1 ', email: 'PETER@firma.sk' })
    expect(sent.state).toBe('link_sent')
    const mail = await z.store.db
      .selectFrom('outbox')
      .selectAll()
      .where('template', '=', 'account-request-link')
      .executeTakeFirstOrThrow()
    expect(mail).toMatchObject({ recipient: 'PETER@firma.sk', customerId: 'firma', status: 'pending' })
    expect(mail.subject).toMatch(/heslo|hesla/i)
  })

  it('makes the login from the e-mail’s local part, unique, and completes only once when two race', async () => {
    const token = await linkOf(
      await requestAccount(z.zona, { contractNumber: 'C-1', email: 'peter@firma.sk' }),
    )
    const complete = () =>
      completeAccountRequest(z.zona, { token, password: 'Petrovo heslo 1', displayName: 'Peter' })
    const results = await Promise.allSettled([complete(), complete()])
    const won = results.filter((r) => r.status === 'fulfilled')
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    expect(won).toHaveLength(1)
    expect(lost).toHaveLength(1)
    expect(lost[0]?.reason).toBeInstanceOf(ZonaError)
    expect(lost[0]?.reason).toMatchObject({ code: 'TOKEN_INVALID' })
    const done = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof complete>>>).value
    expect(done.person.login).toBe('peter2')
    expect(done.grant).toMatchObject({ role: 'account', options: [], grantedBy: 'system:account-request' })
    const people = await z.store.db
      .selectFrom('people')
      .select('id')
      .where('email', '=', 'peter@firma.sk')
      .execute()
    expect(people).toHaveLength(1)
    expect(z.zona.access.engine.check(done.person.id, 'usage.stats.view', 'acc')).toBe(true)
    expect(z.zona.access.engine.check(done.person.id, 'billing.invoices.view', 'acc')).toBe(false)
  })

  it('a newer link makes the older one worthless', async () => {
    const older = await linkOf(
      await requestAccount(z.zona, { contractNumber: 'C-2', email: 'pavol@firma.sk' }),
    )
    const newer = await linkOf(
      await requestAccount(z.zona, { contractNumber: 'C-2', email: 'pavol@firma.sk' }),
    )
    await expect(
      completeAccountRequest(z.zona, { token: older, password: 'Pavlovo heslo 1', displayName: 'Pavol' }),
    ).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
    const states = await z.store.db
      .selectFrom('accountRequests')
      .select('state')
      .where('email', '=', 'pavol@firma.sk')
      .orderBy('createdAt')
      .execute()
    expect(states.map((s) => s.state)).toEqual(['expired', 'link_sent'])
    const done = await completeAccountRequest(z.zona, {
      token: newer,
      password: 'Pavlovo heslo 1',
      displayName: 'Pavol',
    })
    expect(done.person.login).toBe('pavol')
  })

  it('gives a NIC handle where the catalog asks for one', async () => {
    const definition = loadPreset('sk-isp').definition
    const compiled = compileCatalog({
      ...definition,
      features: { ...definition.features, login_format: 'nic-handle', login_suffix: 'SK' },
    })
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.issues))
    const zona: Zona = { ...z.zona, catalog: compiled.catalog }
    const token = await linkOf(
      await requestAccount(zona, { contractNumber: 'C-3', email: 'Sklad+Nitra@firma.sk' }),
    )
    const done = await completeAccountRequest(zona, {
      token,
      password: 'Skladové heslo 1',
      displayName: 'Sklad',
    })
    expect(done.person.login).toMatch(/^[A-Z]{2}\d+-SK$/)
  })
})
