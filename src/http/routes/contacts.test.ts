/**
 * W5 over the API, as the OVH seed walks it: every path (admin names a technical, billing or
 * admin contact; admin resets a contact to itself; technical and billing contacts name their
 * successors), through the real SMTP catcher – each party's code is read out of the e-mail it
 * received. Then the ways it can go wrong: refusal, resend, reused / expired / other party's /
 * guessed codes, arrears, and two approvals racing each other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashToken, newToken } from '../../auth/tokens.ts'
import { readConfig } from '../../config.ts'
import { type CaughtMessage, type MailCatcher, startMailCatcher } from '../../mail/catcher.ts'
import { type Running, startZona } from '../../server/start.ts'
import { listAuditEvents } from '../../store/audit.ts'
import { insertGrant } from '../../store/grants.ts'
import { insertPerson, insertSession } from '../../store/people.ts'
import { describeEachBackend, type TestBackend, type TestStore } from '../../store/testing.ts'
import { insertCustomer, insertInvoices, insertNodes, markInvoicePaid } from '../../store/tree.ts'

const API = '/api/v1'
const DAY = 86_400_000

type Method = 'GET' | 'POST'

interface Res {
  statusCode: number
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are read loosely
  json(): any
  body: string
}

/** A real Zona on the ovh preset with a movable clock, a mail catcher, and people signed in by session rows. */
class Ovh {
  private readonly sessions = new Map<string, string>()
  private csrf: { token: string; cookie: string } | undefined
  private offset = 0
  private ips = 0
  readonly people = new Map<string, { id: string; login: string; email: string }>()

  private constructor(
    readonly z: Running,
    readonly store: TestStore,
    readonly catcher: MailCatcher,
  ) {}

  static async start(backend: TestBackend): Promise<Ovh> {
    const store = await backend.open()
    const catcher = await startMailCatcher()
    const read = readConfig({ ZONA_PRESET: 'ovh', PORT: '0', ZONA_LOG_LEVEL: 'silent' })
    if (!read.ok) throw new Error(read.errors.join('\n'))
    let ovh: Ovh | undefined
    const z = await startZona(read.config, {
      store,
      logger: false,
      listen: false,
      mailCatcher: catcher,
      clock: () => new Date(Date.now() + (ovh?.offset ?? 0)),
    })
    ovh = new Ovh(z, store, catcher)
    return ovh
  }

  async close() {
    await this.z.close()
    await this.store.close()
    await this.catcher.close()
  }

  /** Moves Zona's clock forward. */
  advance(ms: number) {
    this.offset += ms
  }

  /** A new address, so per-address rate limits of one test do not spill into another. */
  ip() {
    this.ips++
    return `10.9.${Math.floor(this.ips / 250)}.${(this.ips % 250) + 1}`
  }

  /** A person with a NIC handle, an e-mail and a live session. */
  async person(key: string) {
    const n = this.people.size + 1
    const login = `${key.slice(0, 2).toUpperCase().padEnd(2, 'X')}${String(10000 + n)}-OVH`
    const email = `${key}@example.test`
    await insertPerson(this.store.db, {
      id: key,
      login,
      email,
      displayName: `${key[0]?.toUpperCase()}${key.slice(1)}`,
    })
    const { token } = newToken('zs_')
    await insertSession(this.store.db, {
      idHash: hashToken(token),
      personId: key,
      expiresAt: new Date(Date.now() + 60 * DAY),
    })
    this.sessions.set(key, token)
    const p = { id: key, login, email }
    this.people.set(key, p)
    return p
  }

  /** A service with its three contacts (grants of the contact roles). */
  async service(id: string, contacts: { admin: string; technical: string; billing: string }) {
    await insertNodes(this.store.db, [
      {
        id,
        customerId: 'acme',
        parentId: 'acc',
        kind: 'service',
        name: `${id}.example`,
        serviceType: 'hosting',
      },
    ])
    for (const [role, person] of [
      ['admin-contact', contacts.admin],
      ['tech-contact', contacts.technical],
      ['billing-contact', contacts.billing],
    ] as const)
      await insertGrant(this.store.db, {
        customerId: 'acme',
        personId: person,
        role,
        scopeNodeId: id,
        grantedBy: 'operator:test',
      })
    await this.z.zona.access.refresh()
  }

  async request(
    as: string | null,
    method: Method,
    url: string,
    body?: object,
    options: { csrf?: boolean; ip?: string } = {},
  ): Promise<Res> {
    if (!this.csrf) {
      const r = await this.z.app.inject({ method: 'GET', url: `${API}/auth/csrf` })
      const cookie = r.cookies.find((c) => c.name === 'zona_csrf')
      if (r.statusCode !== 200 || !cookie) throw new Error(`no CSRF token: ${r.body}`)
      this.csrf = { token: r.json().token, cookie: `zona_csrf=${cookie.value}` }
    }
    const cookies = [this.csrf.cookie]
    if (as) cookies.push(`zona_session=${this.sessions.get(as)}`)
    const headers: Record<string, string> = { cookie: cookies.join('; ') }
    if ((options.csrf ?? true) && method !== 'GET') headers['x-csrf-token'] = this.csrf.token
    return this.z.app.inject({
      method,
      url: `${API}${url}`,
      headers,
      remoteAddress: options.ip ?? this.ip(),
      ...(body ? { payload: body } : {}),
    })
  }

  get = (as: string, url: string) => this.request(as, 'GET', url)

  ask(as: string, service: string, kind: string, newContact: string) {
    return this.request(as, 'POST', `/services/${service}/contact-changes`, {
      kind,
      new_contact: this.people.get(newContact)?.login ?? newContact,
    })
  }

  /** Approve or refuse with a code: as the e-mail link does (no session), or signed in as `as`. */
  decide(verb: 'approve' | 'refuse', id: string, token: string, as: string | null = null, ip?: string) {
    return this.request(as, 'POST', `/contact-changes/${id}/${verb}`, { token }, { ip: ip ?? this.ip() })
  }

  /** Every message sent so far about the change, after the outbox is drained. */
  async mailsAbout(changeId: string): Promise<CaughtMessage[]> {
    await this.z.mail?.drain()
    return this.catcher.messages().filter((m) => m.text.includes(`/contact-changes/${changeId}?token=`))
  }

  /** The newest code mailed to `person` for the change, read out of the received e-mail. */
  async tokenOf(changeId: string, person: string): Promise<string> {
    const email = this.people.get(person)?.email as string
    await this.z.mail?.drain()
    await this.catcher.waitFor(
      (m) => m.to === email && m.text.includes(`/contact-changes/${changeId}?token=`),
    )
    const mails = (await this.mailsAbout(changeId)).filter((m) => m.to === email)
    const last = mails[mails.length - 1] as CaughtMessage
    const link = last.text.match(/\/contact-changes\/([^?\s]+)\?token=([A-Za-z0-9_-]+)/)
    expect(link?.[1]).toBe(changeId)
    return link?.[2] as string
  }

  /** The 'contact-change-applied' messages that arrived about a service. */
  async appliedMails(service: string): Promise<CaughtMessage[]> {
    await this.z.mail?.drain()
    return this.catcher
      .messages()
      .filter((m) => m.text.includes(`${service}.example`) && !m.text.includes('/contact-changes/'))
  }

  /** The holders of each contact role on the service, from the database. */
  async holders(service: string): Promise<Record<string, string[]>> {
    const rows = await this.store.db
      .selectFrom('grants')
      .select(['role', 'personId'])
      .where('scopeNodeId', '=', service)
      .orderBy('personId')
      .execute()
    const out: Record<string, string[]> = { 'admin-contact': [], 'tech-contact': [], 'billing-contact': [] }
    for (const r of rows) out[r.role]?.push(r.personId)
    return out
  }
}

/** A problem body without what names the request, to compare two refusals. */
function sameProblem(body: Record<string, unknown>) {
  const { request_id: _r, instance: _i, ...rest } = body
  return rest
}

describeEachBackend('contact changes API (ovh)', (backend) => {
  let o: Ovh
  beforeAll(async () => {
    o = await Ovh.start(backend)
    const db = o.store.db
    await insertCustomer(db, { id: 'acme', name: 'Acme s.r.o.', preset: 'ovh' })
    await insertNodes(db, [
      { id: 'acc', customerId: 'acme', parentId: 'acme', kind: 'account', name: 'Acme' },
    ])
    for (const key of ['owner', 'adam', 'tomas', 'berta', 'nina', 'petr', 'stranger', 'dluznik'])
      await o.person(key)
    await insertGrant(db, {
      customerId: 'acme',
      personId: 'owner',
      role: 'owner',
      scopeNodeId: 'acme',
      limited: true,
      grantedBy: 'operator:test',
    })
    await o.z.zona.access.refresh()
  }, 60_000)
  afterAll(async () => {
    await o?.close()
  })

  const usual = { admin: 'adam', technical: 'tomas', billing: 'berta' }

  /** Requests a change and returns its id, after checking the 201. */
  async function requested(as: string, service: string, kind: string, newContact: string): Promise<string> {
    const r = await o.ask(as, service, kind, newContact)
    expect(r.statusCode, r.body).toBe(201)
    return r.json().id
  }

  /** Both parties approve with the codes from their e-mails; returns the last answer. */
  async function bothApprove(id: string, requester: string, newContact: string) {
    const first = await o.decide('approve', id, await o.tokenOf(id, newContact))
    expect(first.statusCode, first.body).toBe(200)
    const second = await o.decide('approve', id, await o.tokenOf(id, requester), requester)
    expect(second.statusCode, second.body).toBe(200)
    return second.json()
  }

  describe('seeing the contacts', () => {
    it('lists, per service I see, its three contacts with display name and NIC handle, a page at a time', async () => {
      await o.service('list-1', usual)
      await o.service('list-2', usual)
      await o.service('list-3', { ...usual, technical: 'nina' })
      const page1 = await o.get('owner', '/customers/acme/contacts?limit=2')
      expect(page1.statusCode, page1.body).toBe(200)
      const all = [...page1.json().items]
      let cursor = page1.json().next_cursor
      expect(cursor).not.toBeNull()
      while (cursor) {
        const next = await o.get('owner', `/customers/acme/contacts?limit=2&cursor=${cursor}`)
        expect(next.statusCode).toBe(200)
        all.push(...next.json().items)
        cursor = next.json().next_cursor
      }
      const row = all.find((i) => i.service.id === 'list-3')
      expect(row.contacts).toEqual({
        admin: { id: 'adam', login: o.people.get('adam')?.login, display_name: 'Adam' },
        technical: { id: 'nina', login: o.people.get('nina')?.login, display_name: 'Nina' },
        billing: { id: 'berta', login: o.people.get('berta')?.login, display_name: 'Berta' },
      })
      expect(row.may_request).toEqual({ admin: true, technical: true, billing: true })
      const seen = all.map((i) => i.service.id)
      expect(seen).toEqual(expect.arrayContaining(['list-1', 'list-2', 'list-3']))
      expect(new Set(seen).size).toBe(seen.length)

      // Nina is a contact of list-3 only: "mine" is the seed's table of my services.
      const mine = await o.get('nina', '/customers/acme/contacts?mine=true')
      expect(mine.json().items.map((i: { service: { id: string } }) => i.service.id)).toEqual(['list-3'])
      expect(mine.json().items[0].may_request).toEqual({ admin: false, technical: true, billing: false })

      const one = await o.get('tomas', '/services/list-1/contacts')
      expect(one.statusCode).toBe(200)
      expect(one.json().contacts.technical.id).toBe('tomas')
      expect(one.json().may_request).toEqual({ admin: false, technical: true, billing: false })
    })

    it('hides services and customers I have nothing on: the same 404 as a missing id', async () => {
      await o.service('hidden-1', usual)
      const hidden = await o.get('stranger', '/services/hidden-1/contacts')
      const missing = await o.get('stranger', '/services/no-such-service/contacts')
      expect(hidden.statusCode).toBe(404)
      expect(sameProblem(hidden.json())).toEqual(sameProblem(missing.json()))
      expect((await o.get('stranger', '/customers/acme/contacts')).statusCode).toBe(404)
      expect((await o.get('owner', '/customers/acme/contacts?cursor=bm9wZQ')).json().field).toBe(
        'query.cursor',
      )
    })
  })

  describe('every path of the seed', () => {
    it('admin names a new technical contact: two different codes, one approval waits, the second applies and three e-mails arrive', async () => {
      await o.service('svc-tech', usual)
      const r = await o.ask('adam', 'svc-tech', 'technical', 'nina')
      expect(r.statusCode, r.body).toBe(201)
      const change = r.json()
      expect(change).toMatchObject({
        state: 'pending',
        kind: 'technical',
        role: 'tech-contact',
        requester: { id: 'adam' },
        old_contact: { id: 'tomas' },
        new_contact: { id: 'nina', login: o.people.get('nina')?.login },
        waiting_for: ['requester', 'new_contact'],
        my_parties: ['requester'],
      })

      // Each party got its own mail, in the catalog's language (Czech), with its own code and a link that pre-fills it.
      const mails = await o.mailsAbout(change.id)
      expect(mails.map((m) => m.to).sort()).toEqual(['adam@example.test', 'nina@example.test'])
      for (const m of mails) {
        expect(m.subject).toContain('technického kontaktu')
        expect(m.text).toContain(`${o.z.zona.config.publicUrl}/contact-changes/${change.id}?token=`)
      }
      const adamToken = await o.tokenOf(change.id, 'adam')
      const ninaToken = await o.tokenOf(change.id, 'nina')
      expect(adamToken).not.toBe(ninaToken)
      expect(mails.find((m) => m.to === 'nina@example.test')?.text).toContain(ninaToken)
      // At rest, only hashes.
      const rows = await o.store.db
        .selectFrom('oneTimeTokens')
        .selectAll()
        .where('subjectId', '=', change.id)
        .execute()
      expect(rows.map((t) => t.tokenHash).sort()).toEqual([hashToken(adamToken), hashToken(ninaToken)].sort())
      expect(JSON.stringify(rows)).not.toContain(adamToken)
      expect(JSON.stringify(rows)).not.toContain(ninaToken)

      // The new contact approves from the e-mail link, without signing in.
      const first = await o.decide('approve', change.id, ninaToken)
      expect(first.statusCode, first.body).toBe(200)
      expect(first.json()).toMatchObject({ state: 'pending', waiting_for: ['requester'] })
      const seen = await o.get('adam', `/contact-changes/${change.id}`)
      expect(seen.json()).toMatchObject({
        state: 'pending',
        waiting_for: ['requester'],
        my_parties: ['requester'],
      })
      expect(
        seen.json().parties.find((p: { party: string }) => p.party === 'new_contact').approved_at,
      ).not.toBeNull()
      expect((await o.holders('svc-tech'))['tech-contact']).toEqual(['tomas'])

      // The requester approves signed in.
      const second = await o.decide('approve', change.id, adamToken, 'adam')
      expect(second.statusCode, second.body).toBe(200)
      expect(second.json()).toMatchObject({ state: 'applied', waiting_for: [] })
      expect(await o.holders('svc-tech')).toEqual({
        'admin-contact': ['adam'],
        'tech-contact': ['nina'],
        'billing-contact': ['berta'],
      })

      const applied = await o.appliedMails('svc-tech')
      expect(applied.map((m) => m.to).sort()).toEqual([
        'adam@example.test',
        'nina@example.test',
        'tomas@example.test',
      ])
      for (const m of applied) expect(m.text).toContain(o.people.get('nina')?.login)

      const events = await listAuditEvents(o.store.db, { subject: change.id })
      expect(events.map((e) => e.action).sort()).toEqual([
        'contact_change.applied',
        'contact_change.approved',
        'contact_change.approved',
        'contact_change.requested',
      ])
      expect(events.find((e) => e.action === 'contact_change.applied')?.actor).toBe('adam')
      expect(
        events
          .filter((e) => e.action === 'contact_change.approved')
          .map((e) => e.actor)
          .sort(),
      ).toEqual(['adam', 'nina'])

      // The old technical contact has nothing left on the service.
      expect((await o.get('tomas', '/services/svc-tech')).statusCode).toBe(404)
      expect((await o.get('nina', '/services/svc-tech/contacts')).json().contacts.technical.id).toBe('nina')
    })

    it('admin names a new billing contact', async () => {
      await o.service('svc-bill', usual)
      const id = await requested('adam', 'svc-bill', 'billing', 'nina')
      expect((await bothApprove(id, 'adam', 'nina')).state).toBe('applied')
      expect((await o.holders('svc-bill'))['billing-contact']).toEqual(['nina'])
      expect((await o.appliedMails('svc-bill')).map((m) => m.to).sort()).toEqual([
        'adam@example.test',
        'berta@example.test',
        'nina@example.test',
      ])
    })

    it('admin names a new admin contact, and keeps nothing of the role', async () => {
      await o.service('svc-admin', usual)
      const id = await requested('adam', 'svc-admin', 'admin', 'petr')
      expect((await bothApprove(id, 'adam', 'petr')).state).toBe('applied')
      expect((await o.holders('svc-admin'))['admin-contact']).toEqual(['petr'])
      expect((await o.get('adam', '/services/svc-admin')).statusCode).toBe(404)
      expect((await o.get('petr', '/services/svc-admin/contacts')).json().may_request.billing).toBe(true)
    })

    it('the owner names a contact too', async () => {
      await o.service('svc-owner', usual)
      const id = await requested('owner', 'svc-owner', 'technical', 'petr')
      expect((await bothApprove(id, 'owner', 'petr')).state).toBe('applied')
      expect((await o.holders('svc-owner'))['tech-contact']).toEqual(['petr'])
    })

    it('admin resets the technical contact to itself: one code, and it still needs that approval', async () => {
      await o.service('svc-reset', usual)
      const r = await o.ask('adam', 'svc-reset', 'technical', 'adam')
      expect(r.statusCode, r.body).toBe(201)
      const change = r.json()
      expect(change.my_parties).toEqual(['requester', 'new_contact'])
      const mails = await o.mailsAbout(change.id)
      expect(mails.map((m) => m.to)).toEqual(['adam@example.test'])
      expect((await o.holders('svc-reset'))['tech-contact']).toEqual(['tomas'])
      const done = await o.decide('approve', change.id, await o.tokenOf(change.id, 'adam'), 'adam')
      expect(done.statusCode, done.body).toBe(200)
      expect(done.json().state).toBe('applied')
      expect((await o.holders('svc-reset'))['tech-contact']).toEqual(['adam'])
      expect((await o.appliedMails('svc-reset')).map((m) => m.to).sort()).toEqual([
        'adam@example.test',
        'tomas@example.test',
      ])
    })

    it('admin resets the billing contact to itself', async () => {
      await o.service('svc-reset-b', usual)
      const id = await requested('adam', 'svc-reset-b', 'billing', 'adam')
      const done = await o.decide('approve', id, await o.tokenOf(id, 'adam'))
      expect(done.json().state).toBe('applied')
      expect((await o.holders('svc-reset-b'))['billing-contact']).toEqual(['adam'])
    })

    it('the technical contact names its successor, and afterwards has no technical rights on the service', async () => {
      await o.service('svc-succ-t', usual)
      const before = await o.get('tomas', '/services/svc-succ-t')
      expect(before.statusCode).toBe(200)
      const id = await requested('tomas', 'svc-succ-t', 'technical', 'nina')
      expect((await bothApprove(id, 'tomas', 'nina')).state).toBe('applied')
      expect((await o.holders('svc-succ-t'))['tech-contact']).toEqual(['nina'])
      expect((await o.get('tomas', '/services/svc-succ-t')).statusCode).toBe(404)
      expect(o.z.zona.access.engine.check('tomas', 'technical.manage', 'svc-succ-t')).toBe(false)
      expect(o.z.zona.access.engine.check('nina', 'technical.manage', 'svc-succ-t')).toBe(true)
      // Requester and old contact are one person here: two applied mails, not three.
      expect((await o.appliedMails('svc-succ-t')).map((m) => m.to).sort()).toEqual([
        'nina@example.test',
        'tomas@example.test',
      ])
    })

    it('the billing contact names its successor', async () => {
      await o.service('svc-succ-b', usual)
      const id = await requested('berta', 'svc-succ-b', 'billing', 'petr')
      expect((await bothApprove(id, 'berta', 'petr')).state).toBe('applied')
      expect((await o.holders('svc-succ-b'))['billing-contact']).toEqual(['petr'])
      expect(o.z.zona.access.engine.check('berta', 'billing.invoices.view', 'svc-succ-b')).toBe(false)
    })
  })

  describe('refusals at the request', () => {
    it('a technical contact may not change the billing or admin contact: 403 with the engine explanation', async () => {
      await o.service('svc-deny', usual)
      for (const kind of ['billing', 'admin']) {
        const r = await o.ask('tomas', 'svc-deny', kind, 'nina')
        expect(r.statusCode).toBe(403)
        expect(r.json()).toMatchObject({ code: 'FORBIDDEN', reason: 'NOT_PERMITTED_TO_MANAGE' })
        expect(r.json().explanation).toContain('contacts.manage')
      }
      // Nor may the billing contact name the technical one.
      expect((await o.ask('berta', 'svc-deny', 'technical', 'nina')).statusCode).toBe(403)
      expect(
        await o.store.db.selectFrom('contactChanges').where('nodeId', '=', 'svc-deny').selectAll().execute(),
      ).toEqual([])
    })

    it('names the field at fault and needs the CSRF token with a session', async () => {
      await o.service('svc-input', usual)
      const kind = await o.request('adam', 'POST', '/services/svc-input/contact-changes', {
        kind: 'owner',
        new_contact: 'x',
      })
      expect(kind.statusCode).toBe(400)
      expect(kind.json().field).toBe('body.kind')
      const who = await o.ask('adam', 'svc-input', 'technical', 'ZZ99999-OVH')
      expect(who.statusCode).toBe(404)
      expect(who.json().field).toBe('body.new_contact')
      const same = await o.ask('adam', 'svc-input', 'technical', 'tomas')
      expect(same.statusCode).toBe(409)
      const noCsrf = await o.request(
        'adam',
        'POST',
        '/services/svc-input/contact-changes',
        { kind: 'technical', new_contact: o.people.get('nina')?.login },
        { csrf: false },
      )
      expect(noCsrf.statusCode).toBe(403)
      expect(noCsrf.json().code).toBe('CSRF_INVALID')
      const anonymous = await o.request(null, 'POST', '/services/svc-input/contact-changes', {
        kind: 'technical',
        new_contact: 'x',
      })
      expect(anonymous.statusCode).toBe(401)
    })

    it('one change per contact at a time: a second request gets 409', async () => {
      await o.service('svc-busy', usual)
      await requested('adam', 'svc-busy', 'technical', 'nina')
      const again = await o.ask('tomas', 'svc-busy', 'technical', 'petr')
      expect(again.statusCode).toBe(409)
      expect(again.json().code).toBe('CONFLICT')
      // Another contact of the same service is free.
      await requested('adam', 'svc-busy', 'billing', 'petr')
    })

    it('a billing change is refused while the old or the new billing contact is in arrears, naming who without amounts', async () => {
      await o.service('svc-arrears', usual)
      await o.service('svc-debt', { ...usual, billing: 'dluznik' })
      const invoice = (id: string, node: string) => ({
        id,
        customerId: 'acme',
        nodeId: node,
        number: id,
        issuedOn: '2020-01-01',
        dueOn: '2020-01-15',
        amountCents: 987_654,
        currency: 'EUR',
      })
      // The new billing contact (dluznik) owes on another service.
      await insertInvoices(o.store.db, [invoice('inv-debt', 'svc-debt')])
      const byNew = await o.ask('adam', 'svc-arrears', 'billing', 'dluznik')
      expect(byNew.statusCode).toBe(409)
      expect(byNew.json()).toMatchObject({ code: 'CONFLICT', reason: 'IN_ARREARS' })
      expect(byNew.json().detail).toContain(o.people.get('dluznik')?.login)
      expect(byNew.json().detail).not.toMatch(/9876|EUR/)
      // Technical changes are not concerned.
      await requested('adam', 'svc-debt', 'technical', 'nina')

      // The old billing contact owes on this very service.
      await insertInvoices(o.store.db, [invoice('inv-old', 'svc-arrears')])
      const byOld = await o.ask('adam', 'svc-arrears', 'billing', 'petr')
      expect(byOld.statusCode).toBe(409)
      expect(byOld.json().detail).toContain(o.people.get('berta')?.login)
      expect(byOld.json().detail).not.toContain(o.people.get('petr')?.login)

      // Paid: the change goes ahead.
      await markInvoicePaid(o.store.db, 'inv-old', new Date())
      await requested('adam', 'svc-arrears', 'billing', 'petr')
    })
  })

  describe('refuse, resend and bad codes', () => {
    it('either party refuses: the change ends, nothing changes hands, the other code stops working', async () => {
      await o.service('svc-refuse', usual)
      const id = await requested('adam', 'svc-refuse', 'technical', 'nina')
      const adamToken = await o.tokenOf(id, 'adam')
      const r = await o.decide('refuse', id, await o.tokenOf(id, 'nina'))
      expect(r.statusCode, r.body).toBe(200)
      expect(r.json()).toMatchObject({ state: 'refused', refused_by: { id: 'nina' }, waiting_for: [] })
      const late = await o.decide('approve', id, adamToken, 'adam')
      expect(late.statusCode).toBe(400)
      expect(late.json().code).toBe('TOKEN_INVALID')
      expect((await o.holders('svc-refuse'))['tech-contact']).toEqual(['tomas'])
      const events = await listAuditEvents(o.store.db, { subject: id, action: 'contact_change.refused' })
      expect(events.map((e) => e.actor)).toEqual(['nina'])
      // The contact is free for a new request.
      await requested('adam', 'svc-refuse', 'technical', 'petr')
    })

    it('resend: new codes for whoever has not approved, old ones refused, new ones work', async () => {
      await o.service('svc-resend', usual)
      const id = await requested('adam', 'svc-resend', 'technical', 'nina')
      const oldAdam = await o.tokenOf(id, 'adam')
      const oldNina = await o.tokenOf(id, 'nina')
      expect((await o.decide('approve', id, oldAdam)).json().waiting_for).toEqual(['new_contact'])

      const soon = await o.request('nina', 'POST', `/contact-changes/${id}/resend`)
      expect(soon.statusCode).toBe(429)
      expect(soon.json().retry_after).toBeGreaterThan(0)
      o.advance(61_000)
      expect((await o.request('stranger', 'POST', `/contact-changes/${id}/resend`)).statusCode).toBe(404)
      const resent = await o.request('nina', 'POST', `/contact-changes/${id}/resend`)
      expect(resent.statusCode, resent.body).toBe(200)
      const mails = await o.mailsAbout(id)
      // Adam approved already: only Nina gets a new code.
      expect(mails.map((m) => m.to).sort()).toEqual([
        'adam@example.test',
        'nina@example.test',
        'nina@example.test',
      ])
      const newNina = await o.tokenOf(id, 'nina')
      expect(newNina).not.toBe(oldNina)

      const stale = await o.decide('approve', id, oldNina)
      expect(stale.statusCode).toBe(400)
      expect(stale.json().code).toBe('TOKEN_INVALID')
      const fresh = await o.decide('approve', id, newNina, 'nina')
      expect(fresh.statusCode, fresh.body).toBe(200)
      expect(fresh.json().state).toBe('applied')
      expect(
        (await listAuditEvents(o.store.db, { subject: id, action: 'contact_change.resent' })).length,
      ).toBe(1)
    })

    it("reused, expired, other party's and made-up codes get one and the same answer, and nothing is half-applied", async () => {
      await o.service('svc-codes', usual)
      const id = await requested('adam', 'svc-codes', 'technical', 'nina')
      const adamToken = await o.tokenOf(id, 'adam')
      const ninaToken = await o.tokenOf(id, 'nina')
      const ip = o.ip()

      const ok = await o.decide('approve', id, ninaToken, null, ip)
      expect(ok.statusCode).toBe(200)
      const reused = await o.decide('approve', id, ninaToken, null, ip)
      // Signed in as Adam with Nina's code (she has used it, but the answer must not tell).
      const otherParty = await o.decide('refuse', id, ninaToken, 'adam', ip)
      const madeUp = await o.decide('approve', id, 'x'.repeat(43), null, ip)
      const wrongChange = await o.decide('approve', 'no-such-change', adamToken, null, ip)
      const answers = [reused, otherParty, madeUp, wrongChange]
      for (const a of answers) {
        expect(a.statusCode).toBe(400)
        expect(a.json().code).toBe('TOKEN_INVALID')
      }
      const bodies = answers.map((a) => sameProblem(a.json()))
      for (const b of bodies) expect(b).toEqual(bodies[0])
      expect(bodies[0]).toMatchObject({ field: 'body.token' })

      // Adam's unused code, sent by the signed-in Nina: refused like a wrong one.
      const notHers = await o.decide('approve', id, adamToken, 'nina', ip)
      expect(sameProblem(notHers.json())).toEqual(bodies[0])

      const state = await o.get('adam', `/contact-changes/${id}`)
      expect(state.json()).toMatchObject({ state: 'pending', waiting_for: ['requester'] })
      expect((await o.holders('svc-codes'))['tech-contact']).toEqual(['tomas'])
    })

    it('an expired change takes no codes and reads as expired', async () => {
      await o.service('svc-expire', usual)
      const id = await requested('adam', 'svc-expire', 'technical', 'nina')
      const ninaToken = await o.tokenOf(id, 'nina')
      const adamToken = await o.tokenOf(id, 'adam')
      expect((await o.decide('approve', id, ninaToken)).statusCode).toBe(200)
      o.advance(8 * DAY)
      const r = await o.decide('approve', id, adamToken, 'adam')
      expect(r.statusCode).toBe(400)
      expect(r.json().code).toBe('TOKEN_INVALID')
      expect((await o.get('adam', `/contact-changes/${id}`)).json()).toMatchObject({
        state: 'expired',
        waiting_for: [],
      })
      expect((await o.holders('svc-expire'))['tech-contact']).toEqual(['tomas'])
      // An expired change does not block the contact: a new request goes through.
      await requested('adam', 'svc-expire', 'technical', 'petr')
      expect(
        (await listAuditEvents(o.store.db, { subject: id, action: 'contact_change.expired' })).length,
      ).toBe(1)
    })

    it('guessing codes: after five wrong ones the change takes none (429), even the right one, until new codes are sent', async () => {
      await o.service('svc-guess', usual)
      const id = await requested('adam', 'svc-guess', 'technical', 'nina')
      const ninaToken = await o.tokenOf(id, 'nina')
      for (let i = 0; i < 5; i++) {
        // Each guess from another address: the per-change count is what stops it.
        const r = await o.decide('approve', id, newToken().token)
        expect(r.statusCode).toBe(400)
      }
      const blocked = await o.decide('approve', id, newToken().token)
      expect(blocked.statusCode).toBe(429)
      expect(blocked.json().code).toBe('RATE_LIMITED')
      expect(blocked.json().retry_after).toBeGreaterThan(0)
      const right = await o.decide('approve', id, ninaToken)
      expect(right.statusCode).toBe(429)
      expect((await o.get('adam', `/contact-changes/${id}`)).json().waiting_for).toEqual([
        'requester',
        'new_contact',
      ])

      o.advance(61_000)
      expect((await o.request('adam', 'POST', `/contact-changes/${id}/resend`)).statusCode).toBe(200)
      expect((await o.decide('approve', id, ninaToken)).statusCode).toBe(400)
      const fresh = await o.decide('approve', id, await o.tokenOf(id, 'nina'))
      expect(fresh.statusCode, fresh.body).toBe(200)
    })

    it('limits codes per address too', async () => {
      const ip = o.ip()
      const answers: number[] = []
      for (let i = 0; i < 32; i++)
        answers.push((await o.decide('approve', 'nope', newToken().token, null, ip)).statusCode)
      expect(answers.slice(0, 30).every((s) => s === 400)).toBe(true)
      expect(answers.slice(30)).toEqual([429, 429])
    })
  })

  describe('my requests', () => {
    it("lists the changes I am part of, with each party's status; others see none of them", async () => {
      await o.service('svc-mine', usual)
      const id = await requested('adam', 'svc-mine', 'billing', 'petr')
      await o.decide('approve', id, await o.tokenOf(id, 'petr'))
      for (const who of ['adam', 'petr', 'berta']) {
        const r = await o.get(who, '/contact-changes?mine=true&state=pending')
        expect(r.statusCode, r.body).toBe(200)
        const item = r.json().items.find((c: { id: string }) => c.id === id)
        expect(item, who).toMatchObject({ state: 'pending', waiting_for: ['requester'] })
        expect(
          item.parties.map((p: { party: string; approved_at: string | null }) => [
            p.party,
            p.approved_at !== null,
          ]),
        ).toEqual([
          ['requester', false],
          ['new_contact', true],
        ])
      }
      const mine = await o.get('berta', '/contact-changes?mine=true&state=pending')
      expect(mine.json().items.find((c: { id: string }) => c.id === id).my_parties).toEqual([])
      expect((await o.get('stranger', '/contact-changes?mine=true')).json().items).toEqual([])
      expect((await o.get('stranger', `/contact-changes/${id}`)).statusCode).toBe(404)
      expect((await o.get('adam', '/contact-changes?mine=false')).json().field).toBe('query.mine')
      const paged = await o.get('adam', '/contact-changes?mine=true&limit=1')
      expect(paged.json().items).toHaveLength(1)
      expect(paged.json().next_cursor).not.toBeNull()
    })
  })

  describe('two approvals racing', () => {
    it('applies the change exactly once, leaves one holder of each contact, and never answers 500', async () => {
      await o.service('svc-race', usual)
      const rounds = backend.name === 'postgres' ? 20 : 5
      let holder = 'tomas'
      for (let i = 0; i < rounds; i++) {
        const next = holder === 'nina' ? 'petr' : 'nina'
        const id = await requested('adam', 'svc-race', 'technical', next)
        const adamToken = await o.tokenOf(id, 'adam')
        const nextToken = await o.tokenOf(id, next)
        const [a, b] = await Promise.all([
          o.decide('approve', id, adamToken, 'adam'),
          o.decide('approve', id, nextToken),
        ])
        expect([a.statusCode, b.statusCode], `${a.body} ${b.body}`).toEqual([200, 200])
        expect([a.json().state, b.json().state].sort()).toEqual(['applied', 'pending'])
        const applied = await listAuditEvents(o.store.db, { subject: id, action: 'contact_change.applied' })
        expect(applied).toHaveLength(1)
        expect(await o.holders('svc-race')).toEqual({
          'admin-contact': ['adam'],
          'tech-contact': [next],
          'billing-contact': ['berta'],
        })
        const engine = o.z.zona.access.engine
        expect(
          engine
            .grantsAt('svc-race')
            .filter((g) => g.role === 'tech-contact')
            .map((g) => g.person),
        ).toEqual([next])
        holder = next
      }
    }, 120_000)

    it('the same code sent twice at once works once', async () => {
      await o.service('svc-twice', usual)
      const id = await requested('adam', 'svc-twice', 'technical', 'nina')
      const token = await o.tokenOf(id, 'nina')
      const answers = await Promise.all([o.decide('approve', id, token), o.decide('approve', id, token)])
      expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 400])
      expect(
        (await listAuditEvents(o.store.db, { subject: id, action: 'contact_change.approved' })).length,
      ).toBe(1)
    })
  })
})
