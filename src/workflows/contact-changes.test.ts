/**
 * The contact-change workflow without HTTP: what happens between the request and the second
 * approval (the requester loses the right, the new contact is deactivated, a payment falls
 * overdue), the expiry sweep, and portals without service contacts. Codes are read from the
 * queued e-mail (the SMTP path is the route test's).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Actor } from '../commands/context.ts'
import { ZonaError } from '../errors.ts'
import { startTestZona, type TestZona } from '../server/testing.ts'
import { listAuditEvents } from '../store/audit.ts'
import { deleteGrant, insertGrant } from '../store/grants.ts'
import { insertPerson, setPersonStatus } from '../store/people.ts'
import { describeEachBackend } from '../store/testing.ts'
import { insertCustomer, insertInvoices, insertNodes, markInvoicePaid } from '../store/tree.ts'
import {
  approveContactChangeWithToken,
  expireStaleContactChanges,
  listMyContactChanges,
  requestContactChange,
} from './contact-changes.ts'

const DAY = 86_400_000

describeEachBackend('contact-change workflow', (backend) => {
  let z: TestZona
  let offset = 0
  const now = () => new Date(Date.now() + offset)
  const as = (id: string): Actor => ({ id, ip: '127.0.0.1' })

  beforeAll(async () => {
    z = await startTestZona(backend, { preset: 'ovh', clock: now })
    const db = z.store.db
    await insertCustomer(db, { id: 'acme', name: 'Acme', preset: 'ovh' })
    await insertNodes(db, [
      { id: 'acc', customerId: 'acme', parentId: 'acme', kind: 'account', name: 'Acme' },
    ])
    for (const [id, email] of [
      ['adam', 'adam@example.test'],
      ['tomas', 'tomas@example.test'],
      ['berta', 'berta@example.test'],
      ['nina', 'nina@example.test'],
      ['petr', 'petr@example.test'],
      ['mailless', null],
    ] as const)
      await insertPerson(db, { id, login: `${id.toUpperCase()}1-OVH`, email, displayName: id })
  }, 60_000)
  afterAll(async () => {
    await z?.close()
  })

  async function service(id: string) {
    await insertNodes(z.store.db, [
      {
        id,
        customerId: 'acme',
        parentId: 'acc',
        kind: 'service',
        name: `${id}.example`,
        serviceType: 'hosting',
      },
    ])
    for (const [role, personId] of [
      ['admin-contact', 'adam'],
      ['tech-contact', 'tomas'],
      ['billing-contact', 'berta'],
    ] as const)
      await insertGrant(z.store.db, {
        customerId: 'acme',
        personId,
        role,
        scopeNodeId: id,
        grantedBy: 'operator:test',
      })
    await z.zona.access.refresh()
  }

  /** The newest code queued for the person about the change, read from its e-mail. */
  async function tokenOf(changeId: string, person: string): Promise<string> {
    const rows = await z.store.db
      .selectFrom('outbox')
      .select('text')
      .where('recipient', '=', `${person}@example.test`)
      .where('text', 'like', `%/contact-changes/${changeId}?token=%`)
      .orderBy('id', 'desc')
      .execute()
    const match = rows[0]?.text.match(/\?token=([A-Za-z0-9_-]+)/)
    if (!match) throw new Error(`no code for ${person}`)
    return match[1] as string
  }

  const approve = async (id: string, person: string) =>
    approveContactChangeWithToken(z.zona, {
      id,
      token: await tokenOf(id, person),
      sessionPerson: null,
      actor: as(person),
    })

  async function holders(node: string, role: string) {
    const rows = await z.store.db
      .selectFrom('grants')
      .select('personId')
      .where('scopeNodeId', '=', node)
      .where('role', '=', role)
      .execute()
    return rows.map((r) => r.personId)
  }

  async function refusedWith(p: Promise<unknown>): Promise<ZonaError> {
    const e = await p.then(
      () => undefined,
      (x: unknown) => x,
    )
    expect(e).toBeInstanceOf(ZonaError)
    return e as ZonaError
  }

  it('asks the engine again at the second approval: a requester who lost the right gets the change refused, with the reason', async () => {
    await service('w-lost')
    const change = await requestContactChange(z.zona, as('adam'), {
      service: 'w-lost',
      kind: 'technical',
      newContact: 'NINA1-OVH',
    })
    await approve(change.id, 'nina')
    // Meanwhile Adam stops being the admin contact (written as the operator would).
    const grant = z.zona.access.engine.findGrant('adam', 'admin-contact', 'w-lost')
    await deleteGrant(z.store.db, grant?.id as string)
    await z.zona.access.refresh()
    const out = await approve(change.id, 'adam')
    expect(out.state).toBe('refused')
    expect(out.refusal_reason).toContain('contacts.manage')
    expect(await holders('w-lost', 'tech-contact')).toEqual(['tomas'])
    const events = await listAuditEvents(z.store.db, { subject: change.id, action: 'contact_change.refused' })
    expect(events).toHaveLength(1)
    expect(
      await z.store.db
        .selectFrom('outbox')
        .where('template', '=', 'contact-change-applied')
        .where('text', 'like', '%w-lost%')
        .selectAll()
        .execute(),
    ).toEqual([])
  })

  it('refuses to apply while a billing contact has fallen into arrears meanwhile, and keeps nothing of that approval', async () => {
    await service('w-arrears')
    const change = await requestContactChange(z.zona, as('adam'), {
      service: 'w-arrears',
      kind: 'billing',
      newContact: 'PETR1-OVH',
    })
    await approve(change.id, 'petr')
    const due = new Date(now().getTime() + DAY).toISOString().slice(0, 10)
    await insertInvoices(z.store.db, [
      {
        id: 'w-inv',
        customerId: 'acme',
        nodeId: 'w-arrears',
        number: 'W-1',
        issuedOn: '2024-01-01',
        dueOn: due,
        amountCents: 100,
        currency: 'EUR',
      },
    ])
    offset += 2 * DAY
    const adamToken = await tokenOf(change.id, 'adam')
    const decide = () =>
      approveContactChangeWithToken(z.zona, {
        id: change.id,
        token: adamToken,
        sessionPerson: null,
        actor: as('adam'),
      })
    const e = await refusedWith(decide())
    expect(e.code).toBe('CONFLICT')
    expect(e.detail).toContain('BERTA1-OVH')
    const row = await z.store.db
      .selectFrom('contactChanges')
      .selectAll()
      .where('id', '=', change.id)
      .executeTakeFirst()
    expect(row).toMatchObject({ state: 'pending', requesterApprovedAt: null })
    await markInvoicePaid(z.store.db, 'w-inv', now())
    expect((await decide()).state).toBe('applied')
    expect(await holders('w-arrears', 'billing-contact')).toEqual(['petr'])
  })

  it('refuses a deactivated or mail-less new contact at the request, and a contact deactivated meanwhile at the apply', async () => {
    await service('w-inactive')
    const mailless = await refusedWith(
      requestContactChange(z.zona, as('adam'), {
        service: 'w-inactive',
        kind: 'technical',
        newContact: 'MAILLESS1-OVH',
      }),
    )
    expect(mailless.details.field).toBe('body.new_contact')
    const change = await requestContactChange(z.zona, as('adam'), {
      service: 'w-inactive',
      kind: 'technical',
      newContact: 'nina1-ovh',
    })
    await approve(change.id, 'nina')
    await setPersonStatus(z.store.db, 'nina', 'deactivated')
    await z.zona.access.refresh()
    try {
      const out = await approve(change.id, 'adam')
      expect(out).toMatchObject({ state: 'refused', refusal_reason: 'the new contact is deactivated' })
      const again = await refusedWith(
        requestContactChange(z.zona, as('adam'), {
          service: 'w-inactive',
          kind: 'billing',
          newContact: 'NINA1-OVH',
        }),
      )
      expect(again.details.field).toBe('body.new_contact')
    } finally {
      await setPersonStatus(z.store.db, 'nina', 'active')
      await z.zona.access.refresh()
    }
    expect(await holders('w-inactive', 'tech-contact')).toEqual(['tomas'])
  })

  it('the sweep expires changes past their expiry, once, with an audit event and their codes void', async () => {
    await service('w-sweep')
    const change = await requestContactChange(z.zona, as('tomas'), {
      service: 'w-sweep',
      kind: 'technical',
      newContact: 'PETR1-OVH',
    })
    const token = await tokenOf(change.id, 'petr')
    expect(await expireStaleContactChanges(z.zona)).toEqual([])
    offset += 8 * DAY
    const expired = await expireStaleContactChanges(z.zona)
    expect(expired.map((c) => c.id)).toContain(change.id)
    expect((await expireStaleContactChanges(z.zona)).map((c) => c.id)).not.toContain(change.id)
    const mine = await listMyContactChanges(z.zona, 'tomas', { state: 'expired', limit: 100 })
    expect(mine.items.map((c) => c.id)).toContain(change.id)
    const e = await refusedWith(
      approveContactChangeWithToken(z.zona, { id: change.id, token, sessionPerson: null, actor: as('petr') }),
    )
    expect(e.code).toBe('TOKEN_INVALID')
    const tokens = await z.store.db
      .selectFrom('oneTimeTokens')
      .select('usedAt')
      .where('subjectId', '=', change.id)
      .execute()
    expect(tokens.every((t) => t.usedAt !== null)).toBe(true)
    expect(
      await listAuditEvents(z.store.db, { subject: change.id, action: 'contact_change.expired' }),
    ).toHaveLength(1)
  })

  describe('a portal without service contacts', () => {
    it('has no contact changes: 404', async () => {
      const o2 = await startTestZona(backend, { preset: 'o2-cz' })
      try {
        const e = await refusedWith(listMyContactChanges(o2.zona, 'anyone', { limit: 10 }))
        expect(e.code).toBe('NOT_FOUND')
      } finally {
        await o2.close()
      }
    })
  })
})
