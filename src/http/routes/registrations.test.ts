import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashToken, newToken } from '../../auth/tokens.ts'
import { createPerson } from '../../commands/auth/people.ts'
import { startTestZona, type TestZona } from '../../server/testing.ts'
import { listAuditEvents } from '../../store/audit.ts'
import { withTransaction } from '../../store/common.ts'
import { insertGrant } from '../../store/grants.ts'
import { insertSession, recordLogin } from '../../store/people.ts'
import { describeEachBackend, type TestBackend } from '../../store/testing.ts'
import { insertCustomer, insertInvoices, insertNodes, type NodeInput } from '../../store/tree.ts'
import { invite } from '../../workflows/invitations.ts'

const API = '/api/v1'
const PASSWORD = 'correct horse battery'

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'
type Grants = [customer: string, role: string, scope: string, grantedBy?: string][]

/** A test Zona with a movable clock and people signed in by session rows (and a password to sign in again). */
class Office {
  readonly id: Record<string, string> = {}
  private readonly sessions = new Map<string, string>()
  private csrf: { token: string; cookie: string } | undefined
  offset = 0

  private constructor(readonly z: TestZona) {}

  static async start(backend: TestBackend, preset: string): Promise<Office> {
    let office: Office | undefined
    const z = await startTestZona(backend, {
      preset,
      clock: () => new Date(Date.now() + (office?.offset ?? 0)),
    })
    office = new Office(z)
    return office
  }

  async person(key: string, grants: Grants, options: { status?: 'deactivated' } = {}) {
    const db = this.z.store.db
    const p = await withTransaction(db, (trx) =>
      createPerson(trx, this.z.zona, {
        displayName: key.toUpperCase(),
        login: key,
        email: `${key}@example.test`,
        password: PASSWORD,
      }),
    )
    this.id[key] = p.id
    await this.signIn(key)
    for (const [customer, role, scope, grantedBy] of grants)
      await insertGrant(db, {
        customerId: customer,
        personId: p.id,
        role,
        scopeNodeId: scope,
        limited: role === 'primary-admin' || role === 'legal-rep',
        grantedBy: grantedBy ? (this.id[grantedBy] ?? grantedBy) : 'operator:test',
      })
    if (options.status)
      await db.updateTable('people').set({ status: options.status }).where('id', '=', p.id).execute()
  }

  /** A new session row for the person (as a sign-in would make). */
  async signIn(key: string) {
    const { token } = newToken('zs_')
    await insertSession(this.z.store.db, {
      idHash: hashToken(token),
      personId: this.id[key] as string,
      expiresAt: new Date(Date.now() + 86_400_000),
    })
    this.sessions.set(key, token)
  }

  async request(as: string | null, method: Method, url: string, body?: object, csrf = true) {
    if (!this.csrf) {
      const r = await this.z.app.inject({ method: 'GET', url: `${API}/auth/csrf` })
      const cookie = r.cookies.find((c) => c.name === 'zona_csrf')
      if (!cookie) throw new Error('no CSRF cookie')
      this.csrf = { token: r.json().token, cookie: `zona_csrf=${cookie.value}` }
    }
    const cookies = [this.csrf.cookie]
    if (as) cookies.push(`zona_session=${this.sessions.get(as)}`)
    const headers: Record<string, string> = { cookie: cookies.join('; ') }
    if (csrf && method !== 'GET') headers['x-csrf-token'] = this.csrf.token
    return this.z.app.inject({
      method,
      url: url.startsWith('/api') ? url : `${API}${url}`,
      headers,
      ...(body ? { payload: body } : {}),
    })
  }

  get = (as: string, url: string) => this.request(as, 'GET', url)
  post = (as: string, url: string, body: object = {}) => this.request(as, 'POST', url, body)
  patch = (as: string, url: string, body: object) => this.request(as, 'PATCH', url, body)
  delete = (as: string, url: string) => this.request(as, 'DELETE', url)
}

const service = (id: string, customerId: string, parentId: string, name: string): NodeInput => ({
  id,
  customerId,
  parentId,
  kind: 'service',
  name,
  serviceType: 'mobile',
})

interface Item {
  key: string
  status: string
  person: { id: string; login: string; last_login_at: string | null } | null
  email: string | null
  grants: {
    id: string
    role: string
    scope: { id: string }
    granted_by: { display_name: string | null } | null
  }[]
  invitations: { id: string }[]
  deactivate: { allowed: boolean; code: string } | null
}

describeEachBackend('registrations API (W3, o2-cz)', (backend) => {
  let o: Office
  const logins = (body: { items: Item[] }) => body.items.map((i) => i.person?.login ?? i.email)

  beforeAll(async () => {
    o = await Office.start(backend, 'o2-cz')
    const db = o.z.store.db
    await insertCustomer(db, { id: 'acme', name: 'Acme', preset: 'o2-cz' })
    await insertCustomer(db, { id: 'globex', name: 'Globex', preset: 'o2-cz' })
    await insertNodes(db, [
      { id: 'acc-hq', customerId: 'acme', parentId: 'acme', kind: 'account', name: 'Headquarters' },
      { id: 'acc-br', customerId: 'acme', parentId: 'acc-hq', kind: 'account', name: 'Branch Brno' },
      { id: 'acc-other', customerId: 'acme', parentId: 'acme', kind: 'account', name: 'Ostrava' },
      service('svc-hq-1', 'acme', 'acc-hq', '+420 601 000 001'),
      service('svc-br-1', 'acme', 'acc-br', '+420 601 000 002'),
      service('svc-ot-1', 'acme', 'acc-other', '+420 601 000 003'),
      { id: 'acc-gx', customerId: 'globex', parentId: 'globex', kind: 'account', name: 'Globex main' },
      service('svc-gx-1', 'globex', 'acc-gx', '+420 601 999 999'),
    ])
    await o.person('pam', [['acme', 'primary-admin', 'acme']])
    await o.person('carl', [['acme', 'customer-admin', 'acme', 'pam']])
    await o.person('ann', [['acme', 'account-admin', 'acc-hq', 'pam']])
    await o.person('dora', [['acme', 'service-user', 'svc-br-1', 'ann']])
    await o.person('bert', [
      ['acme', 'service-viewer', 'svc-hq-1', 'ann'],
      ['acme', 'account-viewer', 'acc-other', 'carl'],
    ])
    await o.person('sam', [
      ['acme', 'service-user', 'svc-br-1', 'ann'],
      ['globex', 'service-viewer', 'svc-gx-1'],
    ])
    await o.person('gina', [['globex', 'primary-admin', 'globex']])
    await o.person('olaf', [['acme', 'customer-viewer', 'acme', 'pam']], { status: 'deactivated' })
    await recordLogin(db, o.id.dora as string, new Date('2025-05-01T08:00:00Z'))
    await o.z.zona.access.refresh()
    await invite(
      o.z.zona,
      { id: o.id.pam as string },
      {
        customer: 'acme',
        login: 'nina',
        email: 'nina@example.test',
        displayName: 'Nina',
        grants: [{ role: 'service-viewer', scope: 'svc-hq-1' }],
      },
    )
    await invite(
      o.z.zona,
      { id: o.id.pam as string },
      { customer: 'acme', email: 'gina@example.test', grants: [{ role: 'customer-viewer', scope: 'acme' }] },
    )
  })
  afterAll(() => o.z.close())

  describe('the list', () => {
    it('shows everyone registered, with grants, who granted them, last sign-in, status and pending invitations', async () => {
      const r = await o.get('pam', '/customers/acme/registrations')
      expect(r.statusCode, r.body).toBe(200)
      const body = r.json() as { items: Item[] }
      expect(logins(body)).toEqual([
        'ann',
        'bert',
        'carl',
        'dora',
        'gina',
        'nina@example.test',
        'olaf',
        'pam',
        'sam',
      ])
      const item = (login: string) => body.items.find((i) => (i.person?.login ?? i.email) === login) as Item
      expect(item('dora')).toMatchObject({
        status: 'active',
        person: { last_login_at: '2025-05-01T08:00:00.000Z' },
        grants: [
          {
            role: 'service-user',
            role_name: 'Uživatel služby',
            scope: { id: 'svc-br-1', kind: 'service', name: '+420 601 000 002' },
            granted_by: { id: o.id.ann, display_name: 'ANN' },
            revoke: { allowed: true },
          },
        ],
        invitations: [],
        deactivate: { allowed: true, code: 'ALLOWED' },
      })
      expect(item('nina@example.test')).toMatchObject({
        key: 'invitee:nina@example.test',
        person: null,
        status: 'invited',
        grants: [],
        invitations: [{ login: 'nina', display_name: 'Nina', invited_by: { display_name: 'PAM' } }],
        deactivate: null,
      })
      // gina has a login (at globex) and only an invitation here.
      expect(item('gina')).toMatchObject({ status: 'invited', person: { login: 'gina' }, grants: [] })
      expect(item('gina').grants).toEqual([])
      expect(item('olaf').status).toBe('deactivated')
      expect(item('pam')).toMatchObject({ deactivate: { allowed: false, code: 'SELF' } })
      expect(item('carl')).toMatchObject({ deactivate: { allowed: true } })
      expect(item('sam')).toMatchObject({ deactivate: { allowed: false, code: 'SHARED_LOGIN' } })
      expect(item('sam').grants.map((g) => g.scope.id)).toEqual(['svc-br-1'])
    })

    it('shows an account admin only the people, and grants, inside their subtree', async () => {
      const body = (await o.get('ann', '/customers/acme/registrations')).json() as { items: Item[] }
      expect(logins(body)).toEqual(['ann', 'bert', 'dora', 'nina@example.test', 'sam'])
      const bert = body.items.find((i) => i.person?.login === 'bert') as Item
      expect(bert.grants.map((g) => g.scope.id)).toEqual(['svc-hq-1'])
      expect(bert.deactivate).toMatchObject({ allowed: false, code: 'NOT_PERMITTED_TO_MANAGE' })
    })

    it('filters by status and role, searches names, logins and e-mail addresses', async () => {
      const q = async (query: string) =>
        logins((await o.get('pam', `/customers/acme/registrations?${query}`)).json())
      expect(await q('status=invited')).toEqual(['gina', 'nina@example.test'])
      expect(await q('status=deactivated')).toEqual(['olaf'])
      expect(await q('status=active')).toEqual(['ann', 'bert', 'carl', 'dora', 'pam', 'sam'])
      expect(await q('role=service-user')).toEqual(['dora', 'sam'])
      expect(await q('role=service-viewer')).toEqual(['bert', 'nina@example.test'])
      expect(await q('q=DOR')).toEqual(['dora'])
      expect(await q('q=nina%40example')).toEqual(['nina@example.test'])
      expect(await q('q=sam%40example.test')).toEqual(['sam'])
      expect(await q('q=zzz')).toEqual([])
      expect(await q('status=active&role=customer-admin&q=car')).toEqual(['carl'])
    })

    it('pages with a cursor', async () => {
      const all = logins((await o.get('pam', '/customers/acme/registrations')).json())
      const seen: (string | null)[] = []
      let cursor: string | null = null
      do {
        const page: { items: Item[]; next_cursor: string | null } = (
          await o.get('pam', `/customers/acme/registrations?limit=4${cursor ? `&cursor=${cursor}` : ''}`)
        ).json()
        expect(page.items.length).toBeLessThanOrEqual(4)
        seen.push(...logins(page))
        cursor = page.next_cursor
      } while (cursor)
      expect(seen).toEqual(all)
      const bad = await o.get('pam', '/customers/acme/registrations?cursor=bm9wZQ')
      expect(bad.json()).toMatchObject({ status: 400, field: 'query.cursor' })
    })

    it('is for people managing the customer: 403 with the reason to others, 404 outside it', async () => {
      const dora = await o.get('dora', '/customers/acme/registrations')
      expect(dora.json()).toMatchObject({ status: 403, code: 'FORBIDDEN', reason: 'NOT_IN_SCOPE' })
      expect((await o.get('gina', '/customers/acme/registrations')).statusCode).toBe(404)
      expect((await o.get('pam', '/customers/nowhere/registrations')).statusCode).toBe(404)
      expect((await o.get('pam', '/customers/acme/registrations?role=wizard')).json()).toMatchObject({
        status: 400,
        field: 'query.role',
      })
      expect((await o.get('pam', '/customers/acme/registrations?status=gone')).json()).toMatchObject({
        status: 400,
        field: 'query.status',
      })
      expect((await o.request(null, 'GET', '/customers/acme/registrations')).statusCode).toBe(401)
    })
  })

  describe('deactivating a login', () => {
    it('ends the person’s sessions at once; reactivating lets them sign in again', async () => {
      expect((await o.get('dora', '/services/svc-br-1')).statusCode).toBe(200)
      const r = await o.post('ann', `/people/${o.id.dora}/deactivate`, { customer: 'acme' })
      expect(r.statusCode, r.body).toBe(200)
      expect(r.json()).toMatchObject({
        person: { login: 'dora', status: 'deactivated' },
        changed: true,
        sessions_ended: 1,
      })
      expect((await o.get('dora', '/auth/me')).statusCode).toBe(401)
      expect((await o.get('dora', '/services/svc-br-1')).statusCode).toBe(401)
      const signIn = await o.post('dora', '/auth/login', { login: 'dora', password: PASSWORD })
      expect(signIn.json()).toMatchObject({ status: 401, code: 'LOGIN_FAILED' })
      expect(o.z.zona.access.engine.check(o.id.dora as string, 'node.view', 'svc-br-1')).toBe(false)
      const [event] = await listAuditEvents(o.z.store.db, {
        action: 'person.deactivated',
        subject: o.id.dora as string,
      })
      expect(event).toMatchObject({
        actor: o.id.ann,
        customerId: 'acme',
        before: { status: 'active' },
        after: { status: 'deactivated', sessions_ended: 1 },
      })
      const list = (await o.get('ann', '/customers/acme/registrations?status=deactivated')).json()
      expect(logins(list)).toEqual(['dora'])
      const twice = await o.post('ann', `/people/${o.id.dora}/deactivate`, { customer: 'acme' })
      expect(twice.json()).toMatchObject({ changed: false, sessions_ended: 0 })

      const back = await o.post('ann', `/people/${o.id.dora}/reactivate`, { customer: 'acme' })
      expect(back.statusCode, back.body).toBe(200)
      expect(back.json()).toMatchObject({ person: { status: 'active' }, changed: true })
      expect((await o.get('dora', '/auth/me')).statusCode).toBe(401)
      const again = await o.post('dora', '/auth/login', { login: 'dora', password: PASSWORD })
      expect(again.statusCode, again.body).toBe(200)
      expect(o.z.zona.access.engine.check(o.id.dora as string, 'node.view', 'svc-br-1')).toBe(true)
      expect(
        await listAuditEvents(o.z.store.db, { action: 'person.reactivated', subject: o.id.dora as string }),
      ).toHaveLength(1)
    })

    it('refuses a login shared with another customer, and offers revoking this customer’s grants instead', async () => {
      const r = await o.post('ann', `/people/${o.id.sam}/deactivate`, { customer: 'acme' })
      expect(r.json()).toMatchObject({ status: 403, code: 'FORBIDDEN', reason: 'SHARED_LOGIN' })
      expect(r.json().explanation).toContain('another customer')
      expect(r.json().explanation).toContain('DELETE /api/v1/grants')
      expect(r.json().explanation).not.toMatch(/globex|svc-gx-1/)
      expect(
        (await o.post('pam', `/people/${o.id.sam}/deactivate`, { customer: 'acme' })).json(),
      ).toMatchObject({
        reason: 'SHARED_LOGIN',
      })
      const samGrant = (await o.get('ann', `/customers/acme/grants?person=${o.id.sam}`)).json().items[0]
      expect((await o.delete('ann', `/grants/${samGrant.id}`)).statusCode).toBe(204)
      expect((await o.get('sam', '/services/svc-gx-1')).statusCode).toBe(200)
      expect((await o.get('sam', '/services/svc-br-1')).statusCode).toBe(404)
    })

    it('refuses what the actor may not revoke, with the engine’s reason', async () => {
      const bert = await o.post('ann', `/people/${o.id.bert}/deactivate`, { customer: 'acme' })
      expect(bert.json()).toMatchObject({ status: 403, reason: 'NOT_PERMITTED_TO_MANAGE' })
      expect(bert.json().explanation).toContain('acc-other')
      expect(
        (await o.post('ann', `/people/${o.id.carl}/deactivate`, { customer: 'acme' })).json(),
      ).toMatchObject({
        status: 404,
        field: 'params.id',
      })
      expect((await o.post('ann', `/people/nobody/deactivate`, { customer: 'acme' })).statusCode).toBe(404)
      expect(
        (await o.post('gina', `/people/${o.id.dora}/deactivate`, { customer: 'acme' })).json(),
      ).toMatchObject({
        status: 404,
        field: 'body.customer',
      })
      expect(
        (await o.post('ann', `/people/${o.id.ann}/deactivate`, { customer: 'acme' })).json(),
      ).toMatchObject({
        status: 400,
        field: 'params.id',
      })
      expect((await o.post('ann', `/people/${o.id.dora}/deactivate`, {})).json()).toMatchObject({
        status: 400,
        field: 'body.customer',
      })
      const noCsrf = await o.request(
        'ann',
        'POST',
        `/people/${o.id.dora}/deactivate`,
        { customer: 'acme' },
        false,
      )
      expect(noCsrf.json()).toMatchObject({ status: 403, code: 'CSRF_INVALID' })
    })

    it('leaves the primary admin to the operator, who may switch any login off and on', async () => {
      const carl = await o.post('carl', `/people/${o.id.pam}/deactivate`, { customer: 'acme' })
      expect(carl.json()).toMatchObject({ status: 403, reason: 'OPERATOR_ONLY' })
      expect(carl.json().explanation).toContain('operator')
      const key = await o.z.apiKey('operator', 'back-office')
      const op = (verb: string, person: string, body: object = {}) =>
        o.z.app.inject({
          method: 'POST',
          url: `${API}/operator/people/${person}/${verb}`,
          headers: { authorization: `Bearer ${key}` },
          payload: body,
        })
      expect((await o.get('pam', '/auth/me')).statusCode).toBe(200)
      const off = await op('deactivate', o.id.pam as string, { customer: 'acme' })
      expect(off.statusCode, off.body).toBe(200)
      expect(off.json()).toMatchObject({
        person: { status: 'deactivated' },
        changed: true,
        sessions_ended: 1,
      })
      expect((await o.get('pam', '/auth/me')).statusCode).toBe(401)
      const [event] = await listAuditEvents(o.z.store.db, {
        action: 'person.deactivated',
        subject: o.id.pam as string,
      })
      expect(event).toMatchObject({ actor: 'operator:back-office', customerId: 'acme' })
      const on = await op('reactivate', o.id.pam as string)
      expect(on.json()).toMatchObject({ person: { status: 'active' }, changed: true })
      expect(o.z.zona.access.engine.check(o.id.pam as string, 'users.manage', 'acme')).toBe(true)
      expect((await op('deactivate', 'nobody')).json()).toMatchObject({ status: 404, field: 'params.id' })
      expect((await op('deactivate', o.id.pam as string, { customer: 'nowhere' })).json()).toMatchObject({
        status: 404,
        field: 'body.customer',
      })
      const anonymous = await o.z.app.inject({
        method: 'POST',
        url: `${API}/operator/people/${o.id.pam}/deactivate`,
      })
      expect(anonymous.statusCode).toBe(401)
      const asPerson = await o.post('carl', `/operator/people/${o.id.pam}/deactivate`)
      expect(asPerson.statusCode).toBe(401)
    })
  })
})

describeEachBackend('registrations API (W3, tim-business: the legal representative’s story)', (backend) => {
  let o: Office
  beforeAll(async () => {
    o = await Office.start(backend, 'tim-business')
    const db = o.z.store.db
    await insertCustomer(db, { id: 'tim-co', name: 'Pasta Srl', preset: 'tim-business' })
    await insertNodes(db, [
      { id: 'tim-acc', customerId: 'tim-co', parentId: 'tim-co', kind: 'account', name: 'Conto principale' },
      service('line-1', 'tim-co', 'tim-acc', '+39 333 000 0001'),
      service('line-2', 'tim-co', 'tim-acc', '+39 333 000 0002'),
    ])
    await insertInvoices(db, [
      {
        id: 'fat-1',
        customerId: 'tim-co',
        nodeId: 'tim-acc',
        number: 'F-1',
        issuedOn: '2025-03-01',
        dueOn: '2025-03-31',
        amountCents: 9900,
        currency: 'EUR',
      },
    ])
    await o.person('lr', [['tim-co', 'legal-rep', 'tim-co']])
    await o.person('af', [['tim-co', 'admin-full', 'tim-co', 'lr']])
    await o.person('al', [['tim-co', 'admin-light', 'tim-co', 'lr']])
    await o.z.zona.access.refresh()
  })
  afterAll(() => o.z.close())

  const alGrant = async () => {
    const items = (await o.get('lr', '/customers/tim-co/registrations?q=al')).json().items as Item[]
    return items.find((i) => i.person?.login === 'al')?.grants ?? []
  }

  it('reduces Admin Light to User on a line, sets an expiry, clears it, and revokes', async () => {
    expect((await o.get('al', '/accounts/tim-acc/invoices')).statusCode).toBe(200)
    const [light] = await alGrant()
    expect(light).toMatchObject({ role: 'admin-light', role_name: 'Amministratore Light' })

    // Reduce: Admin Light → User on line-1; the invoices are gone.
    const reduced = await o.patch('lr', `/grants/${light?.id}`, { role: 'user', scope: 'line-1' })
    expect(reduced.statusCode, reduced.body).toBe(200)
    expect((await o.get('al', '/accounts/tim-acc/invoices')).statusCode).toBe(404)
    expect((await o.get('al', '/services/line-1/invoices')).json()).toMatchObject({
      status: 403,
      reason: 'NOT_IN_ROLE',
    })
    expect((await o.get('al', '/services/line-2')).statusCode).toBe(404)
    const [user] = await alGrant()
    expect(user).toMatchObject({
      role: 'user',
      role_name: 'Utilizzatore',
      scope: { id: 'line-1' },
      granted_by: { display_name: 'LR' },
    })

    // An expiry: in an hour. Two hours later the line is out of reach.
    const at = new Date(Date.now() + 3_600_000).toISOString()
    const dated = await o.patch('lr', `/grants/${reduced.json().id}`, { expires_at: at })
    expect(dated.json()).toMatchObject({ expires_at: at })
    expect((await alGrant())[0]).toMatchObject({ expires_at: at, active: true })
    o.offset = 2 * 3_600_000
    try {
      expect((await o.get('al', '/services/line-1')).statusCode).toBe(404)
      expect((await alGrant())[0]).toMatchObject({ active: false })
      // Cleared: the grant works again.
      const cleared = await o.patch('lr', `/grants/${reduced.json().id}`, { expires_at: null })
      expect(cleared.json()).toMatchObject({ expires_at: null })
      expect((await o.get('al', '/services/line-1')).statusCode).toBe(200)
    } finally {
      o.offset = 0
    }

    // Revoked: refused on the very next request, and gone from the registrations.
    expect((await o.delete('lr', `/grants/${reduced.json().id}`)).statusCode).toBe(204)
    expect((await o.get('al', '/services/line-1')).statusCode).toBe(404)
    expect(await alGrant()).toEqual([])
    const events = await listAuditEvents(o.z.store.db, { action: 'grant.', customerId: 'tim-co' })
    expect(events.map((e) => e.action).reverse()).toEqual([
      'grant.changed',
      'grant.changed',
      'grant.changed',
      'grant.revoked',
    ])
  })

  it('lets the legal representative deactivate a full administrator, but nobody in the portal the legal representative', async () => {
    const lr = await o.post('af', `/people/${o.id.lr}/deactivate`, { customer: 'tim-co' })
    expect(lr.json()).toMatchObject({ status: 403, reason: 'OPERATOR_ONLY' })
    const af = await o.post('lr', `/people/${o.id.af}/deactivate`, { customer: 'tim-co' })
    expect(af.statusCode, af.body).toBe(200)
    expect((await o.get('af', '/customers/tim-co/roots')).statusCode).toBe(401)
    const list = (await o.get('lr', '/customers/tim-co/registrations')).json().items as Item[]
    expect(list.map((i) => [i.person?.login, i.status])).toEqual([
      ['af', 'deactivated'],
      ['lr', 'active'],
    ])
  })
})
