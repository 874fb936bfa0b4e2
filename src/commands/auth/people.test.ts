import { afterAll, beforeAll, expect, it } from 'vitest'
import { startTestZona, type TestZona } from '../../server/testing.ts'
import { listAuditEvents } from '../../store/audit.ts'
import { withTransaction } from '../../store/common.ts'
import { findCredentials } from '../../store/people.ts'
import { describeEachBackend } from '../../store/testing.ts'
import { createPerson, type NewPersonInput } from './people.ts'

describeEachBackend('createPerson', (backend) => {
  let ovh: TestZona
  let o2: TestZona
  beforeAll(async () => {
    ovh = await startTestZona(backend, { preset: 'ovh' })
    o2 = await startTestZona(backend, { preset: 'o2-cz' })
  })
  afterAll(async () => {
    await ovh.close()
    await o2.close()
  })

  const create = (z: TestZona, input: NewPersonInput) =>
    withTransaction(z.store.db, (trx) => createPerson(trx, z.zona, input))

  it('gives a NIC handle as the login where the catalog asks for one, retrying on collision', async () => {
    const first = await create(ovh, { displayName: 'Jean', email: 'jean@example.fr', login: 'ignored' })
    expect(first.login).toMatch(/^[A-Z]{2}[0-9]{5}-OVH$/)
    // The first draw repeats an existing handle: the next one is used.
    const taken = first.login
    const draws = [
      LETTERS.indexOf(taken[0] as string),
      LETTERS.indexOf(taken[1] as string),
      Number(taken.slice(2, 7)),
      1,
      2,
      345,
    ]
    const second = await create(ovh, { displayName: 'Marie', random: () => draws.shift() ?? 0 })
    expect(second.login).toBe('BC00345-OVH')
  })

  it('uses the given login elsewhere, hashes the password and writes person.created', async () => {
    const p = await create(o2, {
      displayName: 'Jana Nováková',
      email: 'jana@acme.example',
      login: 'jana',
      password: 'correct horse battery',
      actor: { id: 'operator:test' },
    })
    expect(p).toMatchObject({ login: 'jana', email: 'jana@acme.example', status: 'active' })
    const credentials = await findCredentials(o2.store.db, p.id)
    expect(credentials?.passwordHash).toMatch(/^\$argon2id\$/)
    const [event] = await listAuditEvents(o2.store.db, { action: 'person.created', subject: p.id })
    expect(event).toMatchObject({ actor: 'operator:test', after: { login: 'jana', password_set: true } })
    expect(JSON.stringify(event)).not.toContain('correct horse battery')
  })

  it('leaves the password unset for an invited person', async () => {
    const p = await create(o2, { displayName: 'Invitee', email: 'invitee@acme.example', login: 'invitee' })
    expect((await findCredentials(o2.store.db, p.id))?.passwordHash).toBeNull()
  })

  it('names the field at fault and writes nothing', async () => {
    await expect(create(o2, { displayName: 'X', email: 'x@acme.example' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field: 'login' },
    })
    await expect(create(o2, { displayName: 'J', login: 'JANA' })).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { field: 'login' },
    })
    await expect(
      create(o2, { displayName: 'J', login: 'jana2', email: 'JANA@acme.example' }),
    ).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { field: 'email' },
    })
    await expect(create(o2, { displayName: 'K', login: 'kim', password: 'kim' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field: 'password' },
    })
    await expect(
      create(o2, { displayName: 'K', login: 'kim', email: 'not-an-address' }),
    ).rejects.toMatchObject({
      details: { field: 'email' },
    })
    const kim = await o2.store.db.selectFrom('people').select('id').where('login', '=', 'kim').execute()
    expect(kim).toEqual([])
  })
})

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
