import { afterAll, beforeAll, expect, it } from 'vitest'
import { hashToken } from '../auth/tokens.ts'
import { createPerson } from '../commands/auth/people.ts'
import { ZonaError } from '../errors.ts'
import { startTestZona, type TestZona } from '../server/testing.ts'
import { listAuditEvents } from '../store/audit.ts'
import { withTransaction } from '../store/common.ts'
import { insertGrant } from '../store/grants.ts'
import { describeEachBackend } from '../store/testing.ts'
import { insertCustomer, insertNodes } from '../store/tree.ts'
import { acceptInvitation, invite, MAX_TOKEN_ATTEMPTS } from './invitations.ts'

const PASSWORD = 'correct horse battery'

/** The token of the newest invitation mail to `to`, read from the outbox (the message as queued). */
async function tokenFor(z: TestZona, to: string): Promise<string> {
  const row = await z.store.db
    .selectFrom('outbox')
    .select(['text', 'template', 'customerId'])
    .where('recipient', '=', to)
    .orderBy('id', 'desc')
    .executeTakeFirstOrThrow()
  expect(row.template).toBe('invitation')
  const match = /\/invitation\?token=([A-Za-z0-9_-]+)/.exec(row.text)
  if (!match) throw new Error(`no link in ${row.text}`)
  return match[1] as string
}

async function rejection(p: Promise<unknown>): Promise<ZonaError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  )
  if (!(e instanceof ZonaError)) throw new Error(`expected a ZonaError, got ${String(e)}`)
  return e
}

describeEachBackend('invitation commands (nos-pt)', (backend) => {
  let z: TestZona
  const id: Record<string, string> = {}

  async function person(key: string, login: string | null, grants: [string, string][]) {
    const p = await withTransaction(z.store.db, (trx) =>
      createPerson(trx, z.zona, {
        displayName: key,
        login: login ?? key,
        email: `${key}@example.test`,
        password: PASSWORD,
      }),
    )
    id[key] = p.id
    for (const [role, scope] of grants)
      await insertGrant(z.store.db, {
        customerId: 'ovh-co',
        personId: p.id,
        role,
        scopeNodeId: scope,
        limited: role === 'administrator',
        grantedBy: 'operator:test',
      })
  }

  beforeAll(async () => {
    z = await startTestZona(backend, { preset: 'nos-pt', env: { ZONA_INVITATION_DAYS: '3' } })
    const db = z.store.db
    await insertCustomer(db, { id: 'ovh-co', name: 'Construções Lda.', preset: 'nos-pt' })
    await insertNodes(db, [
      { id: 'ovh-acc', customerId: 'ovh-co', parentId: 'ovh-co', kind: 'account', name: 'Main' },
      {
        id: 'srv-1',
        customerId: 'ovh-co',
        parentId: 'ovh-acc',
        kind: 'service',
        name: 'ns1.example',
        serviceType: 'dedicated',
      },
      {
        id: 'srv-2',
        customerId: 'ovh-co',
        parentId: 'ovh-acc',
        kind: 'service',
        name: 'ns2.example',
        serviceType: 'dedicated',
      },
    ])
    await person('owner', null, [['administrator', 'ovh-co']])
    await person('kim', null, [])
    await z.zona.access.refresh()
  })
  afterAll(() => z.close())

  it('creates a new invitee with the login the inviter chose, and the link expires after ZONA_INVITATION_DAYS', async () => {
    const { invitation, mailId } = await invite(
      z.zona,
      { id: id.owner as string },
      {
        customer: 'ovh-co',
        login: 'chosen-by-inviter',
        email: 'tech@example.test',
        grants: [{ role: 'user', scope: 'srv-1' }],
      },
    )
    expect(Math.round((new Date(invitation.expires_at).getTime() - Date.now()) / 86_400_000)).toBe(3)
    const mail = await z.store.db
      .selectFrom('outbox')
      .selectAll()
      .where('id', '=', Number(mailId))
      .executeTakeFirstOrThrow()
    expect(mail).toMatchObject({
      recipient: 'tech@example.test',
      customerId: 'ovh-co',
      template: 'invitation',
    })
    const token = await tokenFor(z, 'tech@example.test')
    const result = await acceptInvitation(z.zona, { token, password: 'a fine new password' })
    expect(result.created).toBe(true)
    expect(result.person.login).toBe('chosen-by-inviter')
    expect(result.given).toMatchObject([{ role: 'user', scopeNodeId: 'srv-1', grantedBy: id.owner }])
    expect(result.session?.token).toBeTruthy()
    expect(z.zona.access.engine.check(result.person.id, 'service.settings.change', 'srv-1')).toBe(true)
  })

  it('lets exactly one of two simultaneous acceptances with an existing login through, and closes the loser’s session', async () => {
    await invite(
      z.zona,
      { id: id.owner as string },
      {
        customer: 'ovh-co',
        email: 'kim@example.test',
        grants: [{ role: 'user', scope: 'srv-2' }],
      },
    )
    const token = await tokenFor(z, 'kim@example.test')
    const sessions = () =>
      z.store.db
        .selectFrom('sessions')
        .select('idHash')
        .where('personId', '=', id.kim as string)
        .execute()
    const before = (await sessions()).length
    const results = await Promise.allSettled([
      acceptInvitation(z.zona, { token, password: PASSWORD }),
      acceptInvitation(z.zona, { token, password: PASSWORD }),
    ])
    const won = results.filter((r) => r.status === 'fulfilled')
    const lost = results.filter((r) => r.status === 'rejected')
    expect(won).toHaveLength(1)
    expect(lost).toHaveLength(1)
    expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'TOKEN_INVALID' })
    const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acceptInvitation>>>).value
    expect(winner).toMatchObject({ created: false, person: { id: id.kim } })
    // Both proved the password and were signed in; only the winner's session stays.
    expect((await sessions()).map((s) => s.idHash)).toEqual(
      expect.arrayContaining([hashToken(winner.session?.token as string)]),
    )
    expect(await sessions()).toHaveLength(before + 1)
    const grants = await z.store.db
      .selectFrom('grants')
      .select('role')
      .where('personId', '=', id.kim as string)
      .execute()
    expect(grants).toEqual([{ role: 'user' }])
  })

  it(`stops a link after ${MAX_TOKEN_ATTEMPTS} wrong passwords, counting them on the token`, async () => {
    await person('lena', null, [])
    await invite(
      z.zona,
      { id: id.owner as string },
      {
        customer: 'ovh-co',
        email: 'lena@example.test',
        grants: [{ role: 'user', scope: 'srv-1' }],
      },
    )
    const token = await tokenFor(z, 'lena@example.test')
    for (let i = 0; i < MAX_TOKEN_ATTEMPTS; i++) {
      const e = await rejection(acceptInvitation(z.zona, { token, password: `wrong guess ${i}` }))
      expect(e.code).toMatch(/LOGIN_FAILED|LOGIN_LOCKED/)
    }
    const row = await z.store.db
      .selectFrom('oneTimeTokens')
      .select(['attempts', 'usedAt'])
      .where('tokenHash', '=', hashToken(token))
      .executeTakeFirstOrThrow()
    expect(row.attempts).toBe(MAX_TOKEN_ATTEMPTS)
    expect(row.usedAt).toBeInstanceOf(Date)
    const e = await rejection(acceptInvitation(z.zona, { token, password: PASSWORD }))
    expect(e.code).toBe('TOKEN_INVALID')
    expect(
      await listAuditEvents(z.store.db, { action: 'invitation.accepted', actor: id.lena as string }),
    ).toEqual([])
  })
})

describeEachBackend('invitation commands (ovh)', (backend) => {
  let z: TestZona
  let owner: string
  beforeAll(async () => {
    z = await startTestZona(backend, { preset: 'ovh' })
    await insertCustomer(z.store.db, { id: 'ovh-co', name: 'Hébergeur SARL', preset: 'ovh' })
    await insertNodes(z.store.db, [
      { id: 'ovh-acc', customerId: 'ovh-co', parentId: 'ovh-co', kind: 'account', name: 'Main' },
      {
        id: 'srv-1',
        customerId: 'ovh-co',
        parentId: 'ovh-acc',
        kind: 'service',
        name: 'ns1.example',
        serviceType: 'dedicated',
      },
    ])
    const p = await withTransaction(z.store.db, (trx) =>
      createPerson(trx, z.zona, { displayName: 'Owner', email: 'owner@example.test', password: PASSWORD }),
    )
    owner = p.id
    expect(p.login).toMatch(/^[A-Z]{2}[0-9]{5}-OVH$/)
    await insertGrant(z.store.db, {
      customerId: 'ovh-co',
      personId: owner,
      role: 'owner',
      scopeNodeId: 'ovh-co',
      limited: true,
      grantedBy: 'operator:test',
    })
    await z.zona.access.refresh()
  })
  afterAll(() => z.close())

  it('refuses to make someone a service contact by invitation: contacts change through W5 only', async () => {
    const e = await rejection(
      invite(
        z.zona,
        { id: owner },
        {
          customer: 'ovh-co',
          email: 'tech@example.test',
          grants: [{ role: 'tech-contact', scope: 'srv-1' }],
        },
      ),
    )
    expect(e).toMatchObject({
      code: 'FORBIDDEN',
      details: { reason: 'CONTACT_CHANGE_REQUIRED', field: 'body.grants[0].role' },
    })
    expect(await z.store.db.selectFrom('invitations').selectAll().execute()).toEqual([])
  })
})
