import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashToken } from '../../auth/tokens.ts'
import { createPerson } from '../../commands/auth/people.ts'
import { readConfig } from '../../config.ts'
import { type MailCatcher, startMailCatcher } from '../../mail/catcher.ts'
import { type Running, startZona } from '../../server/start.ts'
import { listAuditEvents } from '../../store/audit.ts'
import { withTransaction } from '../../store/common.ts'
import { insertGrant } from '../../store/grants.ts'
import { describeEachBackend, type TestStore } from '../../store/testing.ts'
import { insertCustomer, insertNodes } from '../../store/tree.ts'

const API = '/api/v1'
const PASSWORD = 'correct horse battery'
const PUBLIC_URL = 'http://zona.test'

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'
type Reply = Awaited<ReturnType<Running['app']['inject']>>

let ips = 0
/** Each browser its own address, so per-address rate limits of one test do not reach another. */
const nextIp = () => `10.4.${Math.floor(++ips / 250)}.${(ips % 250) + 1}`

/** A browser at one address: keeps cookies, fetches the CSRF token and sends it with writes. */
class Browser {
  readonly cookies = new Map<string, string>()
  private csrfToken: string | undefined

  constructor(
    private readonly z: Running,
    readonly ip = nextIp(),
  ) {}

  async request(method: Method, url: string, body?: object, csrf = true): Promise<Reply> {
    if (csrf && method !== 'GET' && !this.csrfToken) {
      const r = await this.request('GET', `${API}/auth/csrf`)
      this.csrfToken = r.json().token
    }
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
    const headers: Record<string, string> = cookie ? { cookie } : {}
    if (csrf && method !== 'GET') headers['x-csrf-token'] = this.csrfToken as string
    const res = await this.z.app.inject({
      method,
      url: url.startsWith('/api') ? url : `${API}${url}`,
      remoteAddress: this.ip,
      headers,
      ...(body ? { payload: body } : {}),
    })
    for (const c of res.cookies as { name: string; value: string }[]) {
      if (c.value === '') this.cookies.delete(c.name)
      else this.cookies.set(c.name, c.value)
    }
    return res
  }

  get = (url: string) => this.request('GET', url)
  post = (url: string, body?: object) => this.request('POST', url, body ?? {})
  patch = (url: string, body: object) => this.request('PATCH', url, body)
  delete = (url: string) => this.request('DELETE', url)

  async login(login: string, password = PASSWORD) {
    const r = await this.post('/auth/login', { login, password })
    expect(r.statusCode, r.body).toBe(200)
    return this
  }
}

/** A problem without what names the request, to compare two answers. */
function sameProblem(r: Reply) {
  const { request_id: _r, instance: _i, ...rest } = r.json()
  return { status: r.statusCode, ...rest }
}

describeEachBackend('invitations API (W1)', (backend) => {
  let z: Running & { store: TestStore }
  let catcher: MailCatcher
  let offset = 0
  const id: Record<string, string> = {}

  /** People with a password (they sign in for real) and grants written as the operator would. */
  async function person(key: string, email: string, grants: [string, string, string, string[]?][]) {
    const p = await withTransaction(z.store.db, (trx) =>
      createPerson(trx, z.zona, { displayName: key.toUpperCase(), login: key, email, password: PASSWORD }),
    )
    id[key] = p.id
    for (const [customer, role, scope, options] of grants)
      await insertGrant(z.store.db, {
        customerId: customer,
        personId: p.id,
        role,
        scopeNodeId: scope,
        options: options ?? [],
        limited: role === 'primary-admin',
        grantedBy: 'operator:test',
      })
  }

  /** The invitation links e-mailed to `to` so far, oldest first, once at least `count` arrived. */
  async function links(to: string, count = 1): Promise<string[]> {
    await z.mail?.drain()
    const deadline = Date.now() + 5000
    for (;;) {
      const mails = catcher.messages().filter((m) => m.to === to)
      if (mails.length >= count)
        return mails.map((m) => {
          const match = /\/invitation\?token=([A-Za-z0-9_-]+)/.exec(m.text)
          if (!match) throw new Error(`no link in ${m.text}`)
          expect(m.text).toContain(`${PUBLIC_URL}/invitation?token=`)
          return match[1] as string
        })
      if (Date.now() > deadline) throw new Error(`${count} mail(s) to ${to} did not arrive`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  const invite = (as: Browser, customer: string, body: object) =>
    as.post(`/customers/${customer}/invitations`, body)

  beforeAll(async () => {
    catcher = await startMailCatcher()
    const store = await backend.open()
    const read = readConfig({
      ZONA_PRESET: 'o2-cz',
      PORT: '0',
      ZONA_LOG_LEVEL: 'silent',
      ZONA_PUBLIC_URL: PUBLIC_URL,
    })
    if (!read.ok) throw new Error(read.errors.join('\n'))
    const running = await startZona(read.config, {
      store,
      logger: false,
      listen: false,
      clock: () => new Date(Date.now() + offset),
      mailCatcher: catcher,
    })
    z = {
      ...running,
      store,
      async close() {
        await running.close()
        await store.close()
      },
    }
    const db = store.db
    await insertCustomer(db, { id: 'acme', name: 'Acme', preset: 'o2-cz' })
    await insertCustomer(db, { id: 'globex', name: 'Globex', preset: 'o2-cz' })
    const svc = (sid: string, customerId: string, parentId: string, name: string) =>
      ({ id: sid, customerId, parentId, kind: 'service', name, serviceType: 'mobile' }) as const
    await insertNodes(db, [
      { id: 'acc-hq', customerId: 'acme', parentId: 'acme', kind: 'account', name: 'Headquarters' },
      { id: 'acc-br', customerId: 'acme', parentId: 'acc-hq', kind: 'account', name: 'Branch Brno' },
      { id: 'acc-other', customerId: 'acme', parentId: 'acme', kind: 'account', name: 'Ostrava' },
      svc('svc-hq-1', 'acme', 'acc-hq', '+420 601 000 001'),
      svc('svc-br-1', 'acme', 'acc-br', '+420 601 000 002'),
      svc('svc-ot-1', 'acme', 'acc-other', '+420 601 000 003'),
      { id: 'acc-gx', customerId: 'globex', parentId: 'globex', kind: 'account', name: 'Globex main' },
      svc('svc-gx-1', 'globex', 'acc-gx', '+420 601 999 999'),
    ])
    await person('pam', 'pam@acme.example', [['acme', 'primary-admin', 'acme']])
    await person('carl', 'carl@acme.example', [['acme', 'customer-admin', 'acme']])
    await person('ann', 'ann@acme.example', [['acme', 'account-admin', 'acc-hq']])
    await person('ivan', 'ivan@acme.example', [['acme', 'account-admin', 'acc-other', ['statements']]])
    await person('sue', 'sue@acme.example', [['acme', 'service-user', 'svc-br-1']])
    await person('gina', 'gina@globex.example', [['globex', 'primary-admin', 'globex']])
    await person('olga', 'olga@globex.example', [['globex', 'service-viewer', 'svc-gx-1']])
    await z.zona.access.refresh()
  })
  afterAll(async () => {
    await z.close()
    await catcher.close()
  })

  /** Tokens kept for the "same answer" test. */
  const spent: Record<string, string> = {}

  it('invites a new colleague, who accepts from the e-mailed link with a password and is signed in', async () => {
    const ann = await new Browser(z).login('ann')
    const r = await invite(ann, 'acme', {
      login: 'eva',
      email: 'eva@acme.example',
      display_name: 'Eva Nová',
      grants: [{ role: 'service-user', scope: 'svc-br-1' }],
    })
    expect(r.statusCode, r.body).toBe(201)
    expect(r.json()).toMatchObject({
      customer: 'acme',
      login: 'eva',
      email: 'eva@acme.example',
      state: 'pending',
      send_count: 1,
      invited_by: { id: id.ann, display_name: 'ANN' },
      grants: [
        {
          role: 'service-user',
          role_name: 'Uživatel služby',
          scope: { id: 'svc-br-1', kind: 'service', name: '+420 601 000 002' },
          options: [],
          expires_at: null,
        },
      ],
    })
    const days = (new Date(r.json().expires_at).getTime() - Date.now()) / 86_400_000
    expect(Math.round(days)).toBe(7)
    const [created] = await listAuditEvents(z.store.db, {
      action: 'invitation.created',
      subject: r.json().id,
    })
    expect(created).toMatchObject({ actor: id.ann, customerId: 'acme' })

    const [token] = await links('eva@acme.example')
    const mail = catcher.messages().find((m) => m.to === 'eva@acme.example')
    expect(mail?.subject).toContain('Acme')
    expect(mail?.text).toContain('ANN')
    expect(mail?.text).toContain('Uživatel služby – +420 601 000 002')
    // Only the hash is kept.
    const rows = await z.store.db
      .selectFrom('oneTimeTokens')
      .selectAll()
      .where('subjectId', '=', r.json().id)
      .execute()
    expect(rows.map((t) => t.tokenHash)).toEqual([hashToken(token as string)])
    expect(JSON.stringify(rows)).not.toContain(token)

    const eva = new Browser(z)
    const preview = await eva.get(`/invitations/by-token?token=${token}`)
    expect(preview.statusCode, preview.body).toBe(200)
    expect(preview.json()).toMatchObject({
      customer: { name: 'Acme' },
      inviter: { display_name: 'ANN' },
      roles: [{ role: 'service-user', role_name: 'Uživatel služby', role_name_en: 'Service user' }],
      login: 'eva',
      email: 'eva@acme.example',
      account_exists: false,
    })

    const accepted = await eva.post('/invitations/accept', { token, password: 'eva-is-new-here' })
    expect(accepted.statusCode, accepted.body).toBe(200)
    expect(accepted.json()).toMatchObject({
      person: { login: 'eva', email: 'eva@acme.example', display_name: 'Eva Nová' },
      customer: { id: 'acme', name: 'Acme' },
      new_login: true,
      given: [{ role: 'service-user', scope: 'svc-br-1', granted_by: id.ann }],
      not_given: [],
    })
    expect(eva.cookies.get('zona_session')).toBeTruthy()
    const me = await eva.get('/auth/me')
    expect(me.json().customers).toMatchObject([{ id: 'acme', grants: [{ role: 'service-user' }] }])
    expect((await eva.get('/services/svc-br-1')).statusCode).toBe(200)
    expect((await eva.get('/services/svc-hq-1')).statusCode).toBe(404)
    const [event] = await listAuditEvents(z.store.db, { action: 'invitation.accepted', subject: r.json().id })
    expect(event).toMatchObject({ actor: accepted.json().person.id, customerId: 'acme' })

    const again = await new Browser(z).post('/invitations/accept', { token, password: 'eva-is-new-here' })
    expect(again.json()).toMatchObject({ status: 400, code: 'TOKEN_INVALID' })
    spent.used = token as string
    expect((await ann.get('/customers/acme/invitations')).json().items).toEqual([])
  })

  it('lets someone with a login at another customer accept with that login: grants at both', async () => {
    const pam = await new Browser(z).login('pam')
    const r = await invite(pam, 'acme', {
      email: 'OLGA@globex.example',
      grants: [{ role: 'customer-viewer', scope: 'acme' }],
    })
    expect(r.statusCode, r.body).toBe(201)
    const [token] = await links('OLGA@globex.example')
    const stranger = new Browser(z)
    const preview = await stranger.get(`/invitations/by-token?token=${token}`)
    expect(preview.json()).toMatchObject({ account_exists: true, login: 'olga' })

    const bare = await stranger.post('/invitations/accept', { token })
    expect(bare.json()).toMatchObject({ status: 400, field: 'body.password' })
    const wrong = await stranger.post('/invitations/accept', { token, password: 'not her password' })
    expect(wrong.json()).toMatchObject({ status: 401, code: 'LOGIN_FAILED' })
    expect(stranger.cookies.get('zona_session')).toBeUndefined()

    const olga = new Browser(z)
    const accepted = await olga.post('/invitations/accept', { token, password: PASSWORD })
    expect(accepted.statusCode, accepted.body).toBe(200)
    expect(accepted.json()).toMatchObject({
      person: { id: id.olga },
      new_login: false,
      given: [{ role: 'customer-viewer' }],
    })
    const me = (await olga.get('/auth/me')).json()
    expect(me.customers.map((c: { id: string }) => c.id)).toEqual(['acme', 'globex'])
    expect((await olga.get('/services/svc-gx-1')).statusCode).toBe(200)
    expect((await olga.get('/services/svc-ot-1')).statusCode).toBe(200)
  })

  it('lets an invitee signed in as that login accept without the password again', async () => {
    const gina = await new Browser(z).login('gina')
    const r = await invite(gina, 'globex', {
      email: 'sue@acme.example',
      grants: [{ role: 'service-viewer', scope: 'svc-gx-1' }],
    })
    expect(r.statusCode, r.body).toBe(201)
    const [token] = await links('sue@acme.example')
    const sue = await new Browser(z).login('sue')
    const accepted = await sue.post('/invitations/accept', { token })
    expect(accepted.statusCode, accepted.body).toBe(200)
    expect(accepted.json()).toMatchObject({ person: { id: id.sue }, session_expires_at: null })
    expect((await sue.get('/services/svc-gx-1')).statusCode).toBe(200)
  })

  it('resends: the old link stops working, the new one works', async () => {
    const ann = await new Browser(z).login('ann')
    const r = await invite(ann, 'acme', {
      login: 'rita',
      email: 'rita@acme.example',
      grants: [{ role: 'service-viewer', scope: 'svc-hq-1' }],
    })
    expect(r.statusCode, r.body).toBe(201)
    const [first] = await links('rita@acme.example')
    const resent = await ann.post(`/invitations/${r.json().id}/resend`)
    expect(resent.statusCode, resent.body).toBe(200)
    expect(resent.json()).toMatchObject({ state: 'pending', send_count: 2 })
    const [, second] = await links('rita@acme.example', 2)
    expect(second).not.toBe(first)
    const rita = new Browser(z)
    expect((await rita.get(`/invitations/by-token?token=${first}`)).json()).toMatchObject({
      code: 'TOKEN_INVALID',
    })
    expect(
      (await rita.post('/invitations/accept', { token: first, password: 'rita-password-1' })).statusCode,
    ).toBe(400)
    const ok = await rita.post('/invitations/accept', { token: second, password: 'rita-password-1' })
    expect(ok.statusCode, ok.body).toBe(200)
    const [event] = await listAuditEvents(z.store.db, { action: 'invitation.resent', subject: r.json().id })
    expect(event).toMatchObject({ actor: id.ann, before: { send_count: 1 }, after: { send_count: 2 } })
    expect((await ann.post(`/invitations/${r.json().id}/resend`)).json()).toMatchObject({ status: 409 })
    spent.resent = first as string
  })

  it('cancels: the link stops working, and the invitation leaves the list', async () => {
    const ann = await new Browser(z).login('ann')
    const r = await invite(ann, 'acme', {
      login: 'carla',
      email: 'carla@acme.example',
      grants: [{ role: 'service-viewer', scope: 'svc-hq-1' }],
    })
    const [token] = await links('carla@acme.example')
    expect(
      (await ann.get('/customers/acme/invitations')).json().items.map((i: { id: string }) => i.id),
    ).toEqual([r.json().id])
    const cancelled = await ann.delete(`/invitations/${r.json().id}`)
    expect(cancelled.statusCode, cancelled.body).toBe(200)
    expect(cancelled.json().state).toBe('cancelled')
    expect((await ann.get('/customers/acme/invitations')).json().items).toEqual([])
    const carla = new Browser(z)
    expect(
      (await carla.post('/invitations/accept', { token, password: 'carla-password' })).json(),
    ).toMatchObject({
      code: 'TOKEN_INVALID',
    })
    expect((await ann.post(`/invitations/${r.json().id}/resend`)).statusCode).toBe(409)
    expect((await ann.delete(`/invitations/${r.json().id}`)).statusCode).toBe(409)
    const [event] = await listAuditEvents(z.store.db, {
      action: 'invitation.cancelled',
      subject: r.json().id,
    })
    expect(event).toMatchObject({ actor: id.ann })
    spent.cancelled = token as string
  })

  it('shows pending invitations only to those who could have made them, a page at a time', async () => {
    const pam = await new Browser(z).login('pam')
    const ann = await new Browser(z).login('ann')
    const mine = await invite(ann, 'acme', {
      login: 'li1',
      email: 'li1@acme.example',
      grants: [{ role: 'service-viewer', scope: 'svc-hq-1' }],
    })
    const wide = await invite(pam, 'acme', {
      login: 'li2',
      email: 'li2@acme.example',
      grants: [{ role: 'customer-viewer', scope: 'acme' }],
    })
    const both = await invite(pam, 'acme', {
      login: 'li3',
      email: 'li3@acme.example',
      grants: [
        { role: 'service-viewer', scope: 'svc-hq-1' },
        { role: 'service-viewer', scope: 'svc-ot-1' },
      ],
    })
    for (const r of [mine, wide, both]) expect(r.statusCode, r.body).toBe(201)
    const ids = (r: Reply) =>
      r
        .json()
        .items.map((i: { id: string }) => i.id)
        .sort()
    expect(ids(await ann.get('/customers/acme/invitations'))).toEqual([mine.json().id])
    const all = ids(await pam.get('/customers/acme/invitations'))
    expect(all).toEqual([mine.json().id, wide.json().id, both.json().id].sort())
    const first = await pam.get('/customers/acme/invitations?limit=2')
    const rest = await pam.get(`/customers/acme/invitations?limit=2&cursor=${first.json().next_cursor}`)
    expect([...ids(first), ...ids(rest)].sort()).toEqual(all)
    expect(rest.json().next_cursor).toBeNull()

    const sue = await new Browser(z).login('sue')
    const refused = (await sue.get('/customers/acme/invitations')).json()
    expect(refused).toMatchObject({ status: 403, reason: 'NOT_IN_SCOPE' })
    // Sue also holds a grant at globex (an earlier test): it is not named here.
    expect(refused.explanation).toContain('svc-br-1')
    expect(refused.explanation).not.toContain('svc-gx-1')
    const gina = await new Browser(z).login('gina')
    expect((await gina.get('/customers/acme/invitations')).statusCode).toBe(404)
    expect((await gina.delete(`/invitations/${mine.json().id}`)).statusCode).toBe(404)
    expect((await ann.delete(`/invitations/${wide.json().id}`)).statusCode).toBe(404)
    expect((await new Browser(z).get('/customers/acme/invitations')).statusCode).toBe(401)
    for (const r of [mine, wide, both])
      expect((await pam.delete(`/invitations/${r.json().id}`)).statusCode).toBe(200)
  })

  it('refuses, at creation, an invitation the inviter may not make, with the engine’s explanation naming the grant', async () => {
    const ann = await new Browser(z).login('ann')
    const outboxBefore = await z.store.db.selectFrom('outbox').select('id').execute()
    const above = await invite(ann, 'acme', {
      login: 'no1',
      email: 'no1@acme.example',
      grants: [
        { role: 'service-viewer', scope: 'svc-br-1' },
        { role: 'account-admin', scope: 'acc-br', options: ['statements'] },
      ],
    })
    expect(above.json()).toMatchObject({
      status: 403,
      code: 'FORBIDDEN',
      reason: 'ABOVE_CEILING',
      field: 'body.grants[1]',
    })
    expect(above.json().explanation).toContain('billing.statements.view')
    const carl = await new Browser(z).login('carl')
    const peer = await invite(carl, 'acme', {
      login: 'no2',
      email: 'no2@acme.example',
      grants: [{ role: 'customer-admin', scope: 'acme' }],
    })
    expect(peer.json()).toMatchObject({ status: 403, reason: 'NOT_IN_MAY_GRANT', field: 'body.grants[0]' })
    const pam = await new Browser(z).login('pam')
    const limited = await invite(pam, 'acme', {
      login: 'no3',
      email: 'no3@acme.example',
      grants: [{ role: 'primary-admin', scope: 'acme' }],
    })
    expect(limited.json()).toMatchObject({ status: 403, reason: 'OPERATOR_ONLY', field: 'body.grants[0]' })
    const outside = await invite(ann, 'acme', {
      email: 'no4@acme.example',
      login: 'no4',
      grants: [{ role: 'service-viewer', scope: 'svc-ot-1' }],
    })
    expect(outside.json()).toMatchObject({ status: 404, field: 'body.grants[0].scope' })
    const badRole = await invite(ann, 'acme', {
      email: 'no5@acme.example',
      login: 'no5',
      grants: [{ role: 'wizard', scope: 'svc-br-1' }],
    })
    expect(badRole.json()).toMatchObject({ status: 400, field: 'body.grants[0].role' })
    const badEmail = await invite(ann, 'acme', {
      email: 'not-an-address',
      grants: [{ role: 'service-viewer', scope: 'svc-br-1' }],
    })
    expect(badEmail.json()).toMatchObject({ status: 400, field: 'body.email' })
    const none = await invite(ann, 'acme', { email: 'no6@acme.example', grants: [] })
    expect(none.json()).toMatchObject({ status: 400, field: 'body.grants' })
    const taken = await invite(ann, 'acme', {
      email: 'no7@acme.example',
      login: 'sue',
      grants: [{ role: 'service-viewer', scope: 'svc-br-1' }],
    })
    expect(taken.json()).toMatchObject({ status: 409, field: 'body.login' })
    const noCsrf = await ann.request(
      'POST',
      `${API}/customers/acme/invitations`,
      {
        email: 'no8@acme.example',
        grants: [{ role: 'service-viewer', scope: 'svc-br-1' }],
      },
      false,
    )
    expect(noCsrf.json()).toMatchObject({ status: 403, code: 'CSRF_INVALID' })

    const invitations = await z.store.db
      .selectFrom('invitations')
      .select('id')
      .where('email', 'like', 'no%')
      .execute()
    expect(invitations).toEqual([])
    expect(await z.store.db.selectFrom('outbox').select('id').execute()).toHaveLength(outboxBefore.length)
  })

  it('decides again at acceptance with the inviter’s rights: what they lost meanwhile is not given', async () => {
    const ivan = await new Browser(z).login('ivan')
    const r = await invite(ivan, 'acme', {
      login: 'vera',
      email: 'vera@acme.example',
      grants: [
        { role: 'account-accountant', scope: 'acc-other', options: ['statements'] },
        { role: 'service-viewer', scope: 'svc-ot-1' },
      ],
    })
    expect(r.statusCode, r.body).toBe(201)
    const [token] = await links('vera@acme.example')
    // Before vera accepts, ivan's own grant loses the statements option.
    const pam = await new Browser(z).login('pam')
    const ivans = (await pam.get(`/customers/acme/grants?person=${id.ivan}`)).json().items[0]
    expect((await pam.patch(`/grants/${ivans.id}`, { options: [] })).statusCode).toBe(200)

    const vera = new Browser(z)
    const accepted = await vera.post('/invitations/accept', { token, password: 'vera-password-1' })
    expect(accepted.statusCode, accepted.body).toBe(200)
    expect(accepted.json().given).toMatchObject([
      { role: 'service-viewer', scope: 'svc-ot-1', granted_by: id.ivan },
    ])
    expect(accepted.json().not_given).toEqual([
      {
        role: 'account-accountant',
        scope: 'acc-other',
        code: 'ABOVE_CEILING',
        reason: expect.stringContaining('billing.statements.view'),
      },
    ])
    expect((await vera.get('/services/svc-ot-1')).statusCode).toBe(200)
    expect((await vera.get('/accounts/acc-other/invoices')).statusCode).toBe(404)

    // An inviter without users.manage any more gives nothing at all.
    const r2 = await invite(ivan, 'acme', {
      login: 'walt',
      email: 'walt@acme.example',
      grants: [{ role: 'service-viewer', scope: 'svc-ot-1' }],
    })
    const [token2] = await links('walt@acme.example')
    const ivansNow = (await pam.get(`/customers/acme/grants?person=${id.ivan}`)).json().items[0]
    expect((await pam.delete(`/grants/${ivansNow.id}`)).statusCode).toBe(204)
    const walt = await new Browser(z).post('/invitations/accept', {
      token: token2,
      password: 'walt-password-1',
    })
    expect(walt.statusCode, walt.body).toBe(200)
    expect(walt.json()).toMatchObject({ given: [], not_given: [{ code: 'NOT_PERMITTED_TO_MANAGE' }] })
    const [event] = await listAuditEvents(z.store.db, {
      action: 'invitation.accepted',
      subject: r2.json().id,
    })
    expect(event?.after).toMatchObject({ given: [], not_given: [{ code: 'NOT_PERMITTED_TO_MANAGE' }] })
  })

  it('lets exactly one of two simultaneous acceptances of one link through, and nothing of the other', async () => {
    const ann = await new Browser(z).login('ann')
    const r = await invite(ann, 'acme', {
      login: 'twin',
      email: 'twin@acme.example',
      grants: [{ role: 'service-viewer', scope: 'svc-hq-1' }],
    })
    const [token] = await links('twin@acme.example')
    const [a, b] = [new Browser(z), new Browser(z)]
    await Promise.all([a.request('GET', `${API}/auth/csrf`), b.request('GET', `${API}/auth/csrf`)])
    const results = await Promise.all([
      a.post('/invitations/accept', { token, password: 'first-twin-pass' }),
      b.post('/invitations/accept', { token, password: 'other-twin-pass' }),
    ])
    expect(results.map((x) => x.statusCode).sort()).toEqual([200, 400])
    expect(results.find((x) => x.statusCode === 400)?.json().code).toBe('TOKEN_INVALID')
    const people = await z.store.db
      .selectFrom('people')
      .select('id')
      .where('email', '=', 'twin@acme.example')
      .execute()
    expect(people).toHaveLength(1)
    const grants = await z.store.db
      .selectFrom('grants')
      .select('id')
      .where('personId', '=', people[0]?.id as string)
      .execute()
    expect(grants).toHaveLength(1)
    expect(
      await listAuditEvents(z.store.db, { action: 'invitation.accepted', subject: r.json().id }),
    ).toHaveLength(1)
    expect(
      await listAuditEvents(z.store.db, { action: 'person.created', subject: people[0]?.id as string }),
    ).toHaveLength(1)
  })

  describe('tokens that do not work', () => {
    it('answers a used, a resent, a cancelled, an expired and an unknown token alike, and counts the tries', async () => {
      const before = await new Browser(z).login('ann')
      const r = await invite(before, 'acme', {
        login: 'late',
        email: 'late@acme.example',
        grants: [{ role: 'service-viewer', scope: 'svc-hq-1' }],
      })
      expect(r.statusCode).toBe(201)
      const [expired] = await links('late@acme.example')
      offset += 8 * 86_400_000
      try {
        // Sessions age with the clock too: sign in again, eight days later.
        const ann = await new Browser(z).login('ann')
        const tokens = [
          spent.used,
          spent.resent,
          spent.cancelled,
          expired,
          randomBytes(32).toString('base64url'),
        ]
        const previews: object[] = []
        const accepts: object[] = []
        for (const token of tokens) {
          const b = new Browser(z)
          previews.push(sameProblem(await b.get(`/invitations/by-token?token=${token}`)))
          accepts.push(
            sameProblem(await b.post('/invitations/accept', { token, password: 'some-password-1' })),
          )
        }
        expect(previews[0]).toMatchObject({ status: 400, code: 'TOKEN_INVALID', field: 'query.token' })
        expect(accepts[0]).toMatchObject({ status: 400, code: 'TOKEN_INVALID', field: 'body.token' })
        for (const p of previews) expect(p).toEqual(previews[0])
        for (const p of accepts) expect(p).toEqual(accepts[0])
        // The listing shows the invitation as expired; resending revives it with a new link.
        const pending = (await ann.get('/customers/acme/invitations')).json().items
        expect(pending.find((x: { id: string }) => x.id === r.json().id)).toMatchObject({ state: 'expired' })
        expect((await ann.post(`/invitations/${r.json().id}/resend`)).json()).toMatchObject({
          state: 'pending',
        })
        const [, fresh] = await links('late@acme.example', 2)
        expect((await new Browser(z).get(`/invitations/by-token?token=${fresh}`)).statusCode).toBe(200)
      } finally {
        offset -= 8 * 86_400_000
      }
      const row = await z.store.db
        .selectFrom('oneTimeTokens')
        .select('attempts')
        .where('tokenHash', '=', hashToken(spent.used as string))
        .executeTakeFirstOrThrow()
      expect(row.attempts).toBeGreaterThanOrEqual(3)
    })

    it('rate-limits guessing: the 11th try in a minute from one address gets 429', async () => {
      const guesser = new Browser(z)
      for (let i = 0; i < 10; i++) {
        const r = await guesser.get(`/invitations/by-token?token=${randomBytes(32).toString('base64url')}`)
        expect(r.statusCode).toBe(400)
      }
      const limited = await guesser.get(
        `/invitations/by-token?token=${randomBytes(32).toString('base64url')}`,
      )
      expect(limited.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED' })
      const accepter = new Browser(z)
      const codes: number[] = []
      for (let i = 0; i < 11; i++)
        codes.push(
          (
            await accepter.post('/invitations/accept', {
              token: randomBytes(32).toString('base64url'),
              password: 'x-password-1',
            })
          ).statusCode,
        )
      expect(codes.slice(0, 10)).toEqual(Array(10).fill(400))
      expect(codes[10]).toBe(429)
      // Another address is not affected.
      expect(
        (await new Browser(z).get(`/invitations/by-token?token=${randomBytes(8).toString('hex')}`))
          .statusCode,
      ).toBe(400)
    })

    it('needs the CSRF token to accept', async () => {
      const r = await new Browser(z).request(
        'POST',
        `${API}/invitations/accept`,
        { token: 'x', password: 'y' },
        false,
      )
      expect(r.json()).toMatchObject({ status: 403, code: 'CSRF_INVALID' })
    })
  })

  it('documents every invitation route in the OpenAPI document', async () => {
    const doc = (await z.app.inject({ method: 'GET', url: '/api/openapi.json' })).json()
    const ops = Object.values(doc.paths as Record<string, Record<string, { operationId?: string }>>).flatMap(
      (p) => Object.values(p).map((o) => o.operationId),
    )
    for (const op of [
      'invite',
      'listInvitations',
      'resendInvitation',
      'cancelInvitation',
      'previewInvitation',
      'acceptInvitation',
    ])
      expect(ops).toContain(op)
  })
})
