/**
 * W2 end to end over HTTP with the real SMTP catcher: the account-request wizard of the Slovak
 * seed (003: "Nemám svoje konto. Čo mám robiť? … sprievodcu žiadosti o konto. Budete potrebovať
 * Vaše číslo zmluvy a emailovú adresu."), the operator's queue, and what the new account may see.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { hashToken } from '../../auth/tokens.ts'
import { createPerson } from '../../commands/auth/people.ts'
import { type MailCatcher, startMailCatcher } from '../../mail/catcher.ts'
import { startTestZona, type TestZona } from '../../server/testing.ts'
import { listAuditEvents } from '../../store/audit.ts'
import { withTransaction } from '../../store/common.ts'
import { insertGrant } from '../../store/grants.ts'
import { describeEachBackend } from '../../store/testing.ts'
import {
  insertCustomer,
  insertInvoices,
  insertNodes,
  insertStatements,
  upsertUsageStats,
} from '../../store/tree.ts'
import { ACCEPTED, ANSWER_FLOOR_MS, REQUESTS_PER_WINDOW } from './account-requests.ts'

const API = '/api/v1'
const PRIMARY_PASSWORD = 'hlavne konto heslo'
const EVA_PASSWORD = 'eva má svoje heslo'

/** A browser of one IP address: keeps its cookies, fetches and sends the CSRF token. */
class Browser {
  readonly cookies = new Map<string, string>()
  private csrfToken: string | undefined

  constructor(
    private readonly z: TestZona,
    readonly ip: string,
  ) {}

  async request(
    method: 'GET' | 'POST' | 'PATCH',
    url: string,
    body?: object,
    headers: Record<string, string> = {},
  ) {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
    const res = await this.z.app.inject({
      method,
      url: `${API}${url}`,
      remoteAddress: this.ip,
      headers: { ...(cookie ? { cookie } : {}), ...headers },
      ...(body ? { payload: body } : {}),
    })
    for (const c of res.cookies as { name: string; value: string }[]) {
      if (c.value === '') this.cookies.delete(c.name)
      else this.cookies.set(c.name, c.value)
    }
    return res
  }

  async csrf(): Promise<string> {
    if (!this.csrfToken) {
      const r = await this.request('GET', '/auth/csrf')
      expect(r.statusCode).toBe(200)
      this.csrfToken = r.json().token as string
    }
    return this.csrfToken
  }

  get = (url: string) => this.request('GET', url)
  async post(url: string, body?: object) {
    return this.request('POST', url, body, { 'x-csrf-token': await this.csrf() })
  }
  async patch(url: string, body: object) {
    return this.request('PATCH', url, body, { 'x-csrf-token': await this.csrf() })
  }
  ask(contract_number: string, email: string) {
    return this.post('/account-requests', { contract_number, email })
  }
}

let ips = 0
/** Each request series gets its own address, so the per-IP limit of one test does not spill into another. */
const nextIp = () => `10.9.${Math.floor(++ips / 250)}.${(ips % 250) + 1}`

/** A problem body without the parts that name the request, to compare two answers. */
function sameProblem(body: Record<string, unknown>) {
  const { request_id: _r, instance: _i, ...rest } = body
  return rest
}

/** The token of the link in a received mail. */
function tokenIn(text: string): string {
  const m = /\/account-request\?token=([A-Za-z0-9_-]+)/.exec(text)
  if (!m?.[1]) throw new Error(`no account-request link in:\n${text}`)
  return m[1]
}

describeEachBackend('account requests (sk-isp, W2)', (backend) => {
  let z: TestZona
  let catcher: MailCatcher
  let operatorKey: string
  let offset = 0
  const ids: Record<string, string> = {}

  const browser = () => new Browser(z, nextIp())
  const operator = (method: 'GET' | 'POST', url: string, body?: object) =>
    z.app.inject({
      method,
      url: `${API}/operator${url}`,
      headers: { authorization: `Bearer ${operatorKey}` },
      ...(body ? { payload: body } : {}),
    })
  const mailTo = async (address: string) => {
    await z.mail?.drain()
    return catcher.waitFor((m) => m.to === address)
  }
  const mailsTo = async (address: string) => {
    await z.mail?.drain()
    return catcher.messages().filter((m) => m.to === address)
  }
  const queued = async () => {
    const r = await operator('GET', '/account-requests?state=waiting_for_operator')
    expect(r.statusCode).toBe(200)
    return r.json().items as { id: string; email: string; contract_number: string; match: object }[]
  }
  const requestOf = async (email: string) =>
    z.store.db
      .selectFrom('accountRequests')
      .selectAll()
      .where('email', '=', email)
      .orderBy('createdAt', 'desc')
      .executeTakeFirstOrThrow()
  const actionsOf = async (subject: string) =>
    (await listAuditEvents(z.store.db, { subject })).map((e) => e.action).reverse()
  /** Signs in as the primary account. */
  const primary = async () => {
    const b = browser()
    expect((await b.post('/auth/login', { login: 'hlavne', password: PRIMARY_PASSWORD })).statusCode).toBe(
      200,
    )
    return b
  }

  beforeAll(async () => {
    catcher = await startMailCatcher()
    z = await startTestZona(backend, {
      preset: 'sk-isp',
      env: { SMTP_URL: catcher.url },
      clock: () => new Date(Date.now() + offset),
    })
    const db = z.store.db
    await insertCustomer(db, { id: 'firma', name: 'Firma s.r.o.', preset: 'sk-isp' })
    await insertCustomer(db, { id: 'noprim', name: 'Bez hlavného konta a.s.', preset: 'sk-isp' })
    await insertNodes(db, [
      {
        id: 'acc-firma',
        customerId: 'firma',
        parentId: 'firma',
        kind: 'account',
        name: 'Firma – hlavný účet',
        contractNumber: 'ZML-1001',
        contactEmail: 'Peter.Novak@Firma.sk',
      },
      {
        id: 'voip-1',
        customerId: 'firma',
        parentId: 'acc-firma',
        kind: 'service',
        name: 'VoIP +421 2 0000 0001',
        serviceType: 'voip',
        contractNumber: 'ZML-1001',
      },
      {
        id: 'housing-1',
        customerId: 'firma',
        parentId: 'acc-firma',
        kind: 'service',
        name: 'Serverhousing rack 4',
        serviceType: 'housing',
        contractNumber: 'ZML-1002',
        contactEmail: 'eva@elsewhere.sk',
      },
      {
        id: 'acc-noprim',
        customerId: 'noprim',
        parentId: 'noprim',
        kind: 'account',
        name: 'Hlavný účet',
        contractNumber: 'ZML-2002',
        contactEmail: 'info@noprim.sk',
      },
    ])
    await insertInvoices(db, [
      {
        id: 'inv-1',
        customerId: 'firma',
        nodeId: 'acc-firma',
        number: 'FA-2025-001',
        issuedOn: '2025-03-01',
        dueOn: '2025-03-15',
        amountCents: 9_900,
        currency: 'EUR',
      },
    ])
    const call = {
      at: '2025-03-02T10:00:00Z',
      description: 'hovor na +421 900 000 000',
      quantity: 2,
      unit: 'min',
    }
    await insertStatements(db, [
      { id: 'st-1', customerId: 'firma', nodeId: 'acc-firma', period: '2025-03', lines: [call] },
    ])
    await upsertUsageStats(db, [
      { nodeId: 'housing-1', day: '2025-03-01', metric: 'traffic.in.bytes', ip: '192.0.2.10', value: 1000 },
    ])
    for (const [key, login, email, password] of [
      ['hlavne', 'hlavne', 'hlavne@firma.sk', PRIMARY_PASSWORD],
      ['eva', 'eva', 'eva@elsewhere.sk', EVA_PASSWORD],
    ] as const) {
      const p = await withTransaction(db, (trx) =>
        createPerson(trx, z.zona, { displayName: key, login, email, password }),
      )
      ids[key] = p.id
    }
    await insertGrant(db, {
      customerId: 'firma',
      personId: ids.hlavne as string,
      role: 'primary',
      scopeNodeId: 'firma',
      limited: true,
      grantedBy: 'operator:test',
    })
    await z.zona.access.refresh()
    operatorKey = await z.apiKey('operator', 'back-office')
  })
  afterAll(async () => {
    await z?.close()
    await catcher?.close()
  })

  // One answer of each kind, compared byte for byte later.
  const answers: string[] = []

  it('a contract number with its e-mail on file gets a link; completing it signs in as an account without invoices and call records', async () => {
    const peter = browser()
    const asked = await peter.ask('ZML-1001', 'peter.novak@firma.sk')
    expect(asked.statusCode).toBe(202)
    expect(asked.json()).toEqual(ACCEPTED)
    answers.push(asked.body)

    const mail = await mailTo('peter.novak@firma.sk')
    expect(mail.headers['x-zona-kind']).toBe('account-request-link')
    expect(mail.text).toContain(`${z.config.publicUrl}/account-request?token=`)
    const token = tokenIn(mail.text)
    // At rest only the hash: the token itself is nowhere in the database.
    const stored = await z.store.db
      .selectFrom('oneTimeTokens')
      .selectAll()
      .where('purpose', '=', 'account_request')
      .execute()
    expect(stored.map((t) => t.tokenHash)).toContain(hashToken(token))
    expect(stored.map((t) => t.tokenHash)).not.toContain(token)
    const stored1 = stored.find((t) => t.tokenHash === hashToken(token))
    expect((stored1?.expiresAt.getTime() ?? 0) - Date.now()).toBeGreaterThan(23 * 3_600_000)

    const link = await peter.get(`/account-requests/by-token?token=${token}`)
    expect(link.statusCode).toBe(200)
    expect(link.json()).toMatchObject({
      email: 'peter.novak@firma.sk',
      contract_number: 'ZML-1001',
      customer_name: 'Firma s.r.o.',
      existing_login: false,
    })

    // A refused password leaves the link working.
    const weak = await peter.post('/account-requests/complete', {
      token,
      password: 'short',
      display_name: 'Peter',
    })
    expect(weak.statusCode).toBe(400)
    expect(weak.json().field).toBe('body.password')
    const nameless = await peter.post('/account-requests/complete', { token, password: 'dlhé heslo Petra' })
    expect(nameless.json().field).toBe('body.display_name')

    const done = await peter.post('/account-requests/complete', {
      token,
      password: 'dlhé heslo Petra',
      display_name: 'Peter Novák',
    })
    expect(done.statusCode).toBe(200)
    const body = done.json()
    expect(body).toMatchObject({
      person: { login: 'peter.novak', email: 'peter.novak@firma.sk', display_name: 'Peter Novák' },
      customer_id: 'firma',
      grant: { role: 'account', options: [] },
      new_login: true,
    })
    ids.peter = body.person.id
    expect(peter.cookies.get('zona_session')).toBeTruthy()

    const me = await peter.get('/auth/me')
    expect(me.statusCode).toBe(200)
    expect(me.json().customers).toMatchObject([{ id: 'firma', grants: [{ role: 'account', options: [] }] }])

    // "Je možné zamedziť prístup do faktúr pre niektoré kontá? Áno!" – off until the primary switches them on.
    const invoices = await peter.get('/accounts/acc-firma/invoices')
    expect(invoices.statusCode).toBe(403)
    expect(invoices.json()).toMatchObject({ code: 'FORBIDDEN' })
    expect(invoices.json().explanation).toBeTruthy()
    expect((await peter.get('/accounts/acc-firma/statements')).statusCode).toBe(403)
    // "Kde môžem nájsť štatistiky serverhousingových dát?" – usage statistics stay visible.
    const usage = await peter.get('/services/housing-1/usage?from=2025-03-01&to=2025-03-31&by=ip')
    expect(usage.statusCode).toBe(200)
    expect(usage.json().items.length).toBeGreaterThan(0)

    // The primary account switches invoices on for this account (Upraviť konto).
    const boss = await primary()
    const switched = await boss.patch(`/grants/${body.grant.id}`, { options: ['invoices'] })
    expect(switched.statusCode).toBe(200)
    expect(switched.json().options).toEqual(['invoices'])
    const now = await peter.get('/accounts/acc-firma/invoices')
    expect(now.statusCode).toBe(200)
    expect(now.json().items.map((i: { number: string }) => i.number)).toEqual(['FA-2025-001'])
    expect((await peter.get('/accounts/acc-firma/statements')).statusCode).toBe(403)

    const request = await requestOf('peter.novak@firma.sk')
    expect(request).toMatchObject({ state: 'completed', personId: ids.peter, customerId: 'firma' })
    expect(await actionsOf(request.id)).toEqual([
      'account_request.created',
      'account_request.link_sent',
      'account_request.completed',
    ])

    // Used once: the same link again is refused exactly as a made-up one.
    const again = await peter.post('/account-requests/complete', {
      token,
      password: 'dlhé heslo Petra',
      display_name: 'Peter Novák',
    })
    const guessed = await peter.post('/account-requests/complete', {
      token: `${token.slice(0, -2)}xx`,
      password: 'dlhé heslo Petra',
      display_name: 'Peter Novák',
    })
    expect(again.statusCode).toBe(400)
    expect(again.json()).toMatchObject({ code: 'TOKEN_INVALID', field: 'body.token' })
    expect(sameProblem(again.json())).toEqual(sameProblem(guessed.json()))
    expect(sameProblem((await peter.get(`/account-requests/by-token?token=${token}`)).json())).toEqual(
      sameProblem((await peter.get('/account-requests/by-token?token=nothing-like-it')).json()),
    )
  })

  it('the new account changes its own password ("Kde môžem zmeniť svoje prihlasovacie heslo?")', async () => {
    const b = browser()
    expect(
      (await b.post('/auth/login', { login: 'peter.novak', password: 'dlhé heslo Petra' })).statusCode,
    ).toBe(200)
    const changed = await b.post('/auth/password', {
      current_password: 'dlhé heslo Petra',
      new_password: 'nové heslo Petra 2025',
    })
    expect(changed.statusCode).toBe(200)
    expect(
      (await browser().post('/auth/login', { login: 'peter.novak', password: 'dlhé heslo Petra' }))
        .statusCode,
    ).toBe(401)
    expect(
      (await browser().post('/auth/login', { login: 'peter.novak', password: 'nové heslo Petra 2025' }))
        .statusCode,
    ).toBe(200)
  })

  it('another e-mail or an unknown contract gets the same answer after the same wait, no mail, and waits for the operator', async () => {
    const t0 = performance.now()
    const other = await browser().ask('ZML-1001', 'jana.kovacova@firma.sk')
    const t1 = performance.now()
    const unknown = await browser().ask('ZML-9999', 'somebody@nowhere.example')
    const t2 = performance.now()
    const match = await browser().ask('ZML-1002', 'EVA@elsewhere.sk')
    const t3 = performance.now()
    for (const r of [other, unknown, match]) expect(r.statusCode).toBe(202)
    expect(other.body).toBe(answers[0])
    expect(unknown.body).toBe(answers[0])
    expect(match.body).toBe(answers[0])
    for (const ms of [t1 - t0, t2 - t1, t3 - t2]) expect(ms).toBeGreaterThanOrEqual(ANSWER_FLOOR_MS - 5)

    expect(await mailsTo('jana.kovacova@firma.sk')).toEqual([])
    expect(await mailsTo('somebody@nowhere.example')).toEqual([])
    expect(
      await z.store.db
        .selectFrom('outbox')
        .select('recipient')
        .where('recipient', 'in', ['jana.kovacova@firma.sk', 'somebody@nowhere.example'])
        .execute(),
    ).toEqual([])

    const queue = await queued()
    expect(queue.find((q) => q.email === 'jana.kovacova@firma.sk')).toMatchObject({
      contract_number: 'ZML-1001',
      customer_id: 'firma',
      node_id: 'acc-firma',
      state: 'waiting_for_operator',
      match: { contract_found: true, email_on_file: false, primary_present: true },
    })
    expect(queue.find((q) => q.email === 'somebody@nowhere.example')).toMatchObject({
      customer_id: null,
      match: { contract_found: false, email_on_file: false, primary_present: false },
    })
    expect(queue.some((q) => q.email === 'EVA@elsewhere.sk')).toBe(false)
    const jana = await requestOf('jana.kovacova@firma.sk')
    expect(await actionsOf(jana.id)).toEqual(['account_request.created', 'account_request.queued'])
  })

  it('an e-mail that already has a login completes with that login’s password and gains the account', async () => {
    const b = browser()
    const token = tokenIn((await mailTo('EVA@elsewhere.sk')).text)
    expect((await b.get(`/account-requests/by-token?token=${token}`)).json().existing_login).toBe(true)
    const wrong = await b.post('/account-requests/complete', { token, password: 'not evas password' })
    expect(wrong.statusCode).toBe(400)
    expect(wrong.json().field).toBe('body.password')
    const done = await b.post('/account-requests/complete', { token, password: EVA_PASSWORD })
    expect(done.statusCode).toBe(200)
    expect(done.json()).toMatchObject({
      person: { id: ids.eva, login: 'eva' },
      grant: { role: 'account', options: [] },
      new_login: false,
    })
    expect((await b.get('/auth/me')).json().customers.map((c: { id: string }) => c.id)).toEqual(['firma'])
  })

  it('a customer without a primary account: even the e-mail on file waits for the operator', async () => {
    expect((await browser().ask('ZML-2002', 'info@noprim.sk')).body).toBe(answers[0])
    expect(await mailsTo('info@noprim.sk')).toEqual([])
    expect((await queued()).find((q) => q.email === 'info@noprim.sk')).toMatchObject({
      customer_id: 'noprim',
      match: { contract_found: true, email_on_file: true, primary_present: false },
    })
  })

  it('operator staff approve: the link goes to the e-mail given, and completing it makes an account', async () => {
    const jana = await requestOf('jana.kovacova@firma.sk')
    const approved = await operator('POST', `/account-requests/${jana.id}/approve`)
    expect(approved.statusCode).toBe(200)
    expect(approved.json()).toMatchObject({ state: 'link_sent', decided_by: 'operator:back-office' })
    expect((await operator('POST', `/account-requests/${jana.id}/approve`)).statusCode).toBe(409)

    const b = browser()
    const token = tokenIn((await mailTo('jana.kovacova@firma.sk')).text)
    const done = await b.post('/account-requests/complete', {
      token,
      password: 'Janino dlhé heslo',
      display_name: 'Jana Kováčová',
    })
    expect(done.statusCode).toBe(200)
    expect(done.json()).toMatchObject({
      person: { login: 'jana.kovacova' },
      grant: { role: 'account', options: [] },
    })
    const grant = await z.store.db
      .selectFrom('grants')
      .selectAll()
      .where('id', '=', done.json().grant.id)
      .executeTakeFirstOrThrow()
    expect(grant.grantedBy).toBe('operator:back-office')
    expect((await b.get('/accounts/acc-firma/invoices')).statusCode).toBe(403)
    expect(await actionsOf(jana.id)).toEqual([
      'account_request.created',
      'account_request.queued',
      'account_request.approved',
      'account_request.completed',
    ])

    // A contract number nobody has: staff must say which customer it is.
    const stranger = await requestOf('somebody@nowhere.example')
    const unnamed = await operator('POST', `/account-requests/${stranger.id}/approve`, {})
    expect(unnamed.statusCode).toBe(400)
    expect(unnamed.json().field).toBe('body.customer')
    const nowhere = await operator('POST', `/account-requests/${stranger.id}/approve`, {
      customer: 'no-such',
    })
    expect(nowhere.statusCode).toBe(404)
    expect(nowhere.json().field).toBe('body.customer')
    const named = await operator('POST', `/account-requests/${stranger.id}/approve`, { customer: 'firma' })
    expect(named.json()).toMatchObject({ state: 'link_sent', customer_id: 'firma' })
    expect(await mailsTo('somebody@nowhere.example')).toHaveLength(1)
  })

  it('operator staff reject: no mail, the reason in the audit, and the request stays closed', async () => {
    await browser().ask('ZML-1001', 'mallory@evil.example')
    const mallory = await requestOf('mallory@evil.example')
    const rejected = await operator('POST', `/account-requests/${mallory.id}/reject`, {
      reason: 'not a person of the customer',
    })
    expect(rejected.statusCode).toBe(200)
    expect(rejected.json()).toMatchObject({ state: 'rejected', decided_by: 'operator:back-office' })
    expect((await operator('POST', `/account-requests/${mallory.id}/approve`)).statusCode).toBe(409)
    expect(
      (await operator('POST', `/account-requests/${mallory.id}/reject`, { reason: 'again' })).statusCode,
    ).toBe(409)
    expect(await mailsTo('mallory@evil.example')).toEqual([])
    const [event] = await listAuditEvents(z.store.db, {
      subject: mallory.id,
      action: 'account_request.rejected',
    })
    expect(event).toMatchObject({
      actor: 'operator:back-office',
      after: { state: 'rejected', reason: 'not a person of the customer' },
    })
    const rejectedList = await operator('GET', '/account-requests?state=rejected')
    expect(rejectedList.json().items.map((r: { id: string }) => r.id)).toEqual([mallory.id])

    expect((await operator('POST', '/account-requests/no-such-id/reject', { reason: 'x' })).statusCode).toBe(
      404,
    )
    const noKey = await z.app.inject({ method: 'GET', url: `${API}/operator/account-requests` })
    expect(noKey.statusCode).toBe(401)
    const asPerson = await (await primary()).get('/operator/account-requests')
    expect(asPerson.statusCode).toBe(403)
  })

  it('an expired link is refused exactly like a used or made-up one', async () => {
    await browser().ask('ZML-2002', 'late@noprim.sk')
    const late = await requestOf('late@noprim.sk')
    expect((await operator('POST', `/account-requests/${late.id}/approve`)).statusCode).toBe(200)
    const token = tokenIn((await mailTo('late@noprim.sk')).text)
    const b = browser()
    offset = 25 * 3_600_000
    try {
      const expired = await b.post('/account-requests/complete', {
        token,
        password: 'late but long',
        display_name: 'Late',
      })
      const made = await b.post('/account-requests/complete', {
        token: 'made-up',
        password: 'late but long',
        display_name: 'Late',
      })
      expect(expired.statusCode).toBe(400)
      expect(sameProblem(expired.json())).toEqual(sameProblem(made.json()))
      expect((await b.get(`/account-requests/by-token?token=${token}`)).json().code).toBe('TOKEN_INVALID')
    } finally {
      offset = 0
    }
    expect((await requestOf('late@noprim.sk')).state).toBe('link_sent')
  })

  it('pages the queue with a cursor', async () => {
    const first = await operator('GET', '/account-requests?limit=2')
    expect(first.statusCode).toBe(200)
    const all: string[] = first.json().items.map((r: { id: string }) => r.id)
    let cursor: string | null = first.json().next_cursor
    while (cursor) {
      const next = await operator('GET', `/account-requests?limit=2&cursor=${cursor}`)
      all.push(...next.json().items.map((r: { id: string }) => r.id))
      cursor = next.json().next_cursor
    }
    const rows = await z.store.db.selectFrom('accountRequests').select('id').execute()
    expect(all.sort()).toEqual(rows.map((r) => r.id).sort())
    const bad = await operator('GET', '/account-requests?cursor=garbage')
    expect(bad.statusCode).toBe(400)
    expect(bad.json().field).toBe('query.cursor')
  })

  it(`answers 429 after ${REQUESTS_PER_WINDOW} requests from one address`, async () => {
    const b = browser()
    for (let i = 0; i < REQUESTS_PER_WINDOW; i++)
      expect((await b.ask(`X-${i}`, `x${i}@spam.example`)).statusCode).toBe(202)
    const limited = await b.ask('X-last', 'last@spam.example')
    expect(limited.statusCode).toBe(429)
    expect(limited.json().code).toBe('RATE_LIMITED')
    expect((await browser().ask('X-other-ip', 'other@spam.example')).statusCode).toBe(202)
  })

  it('refuses a request without the CSRF token and names a bad field', async () => {
    const b = browser()
    const noCsrf = await b.request('POST', '/account-requests', {
      contract_number: 'ZML-1001',
      email: 'a@b.sk',
    })
    expect(noCsrf.statusCode).toBe(403)
    expect(noCsrf.json().code).toBe('CSRF_INVALID')
    const bad = await b.ask('ZML-1001', 'not-an-email')
    expect(bad.statusCode).toBe(400)
    expect(bad.json().field).toBe('body.email')
    const missing = await b.post('/account-requests', { email: 'a@b.sk' })
    expect(missing.json().field).toBe('body.contract_number')
  })
})

describeEachBackend('account requests under a preset without them (o2-cz)', (backend) => {
  let z: TestZona
  beforeAll(async () => {
    z = await startTestZona(backend, { preset: 'o2-cz' })
  })
  afterAll(() => z?.close())

  it('answers 404 on every account-request route and leaves them out of the API document', async () => {
    const key = await z.apiKey('operator')
    const b = new Browser(z, '10.8.0.1')
    expect((await b.ask('ZML-1001', 'peter@firma.sk')).statusCode).toBe(404)
    expect((await b.get('/account-requests/by-token?token=x')).statusCode).toBe(404)
    expect(
      (await b.post('/account-requests/complete', { token: 'x', password: 'long enough pw' })).statusCode,
    ).toBe(404)
    const list = await z.app.inject({
      method: 'GET',
      url: `${API}/operator/account-requests`,
      headers: { authorization: `Bearer ${key}` },
    })
    expect(list.statusCode).toBe(404)
    const doc = (await z.app.inject({ method: 'GET', url: '/api/openapi.json' })).json()
    expect(Object.keys(doc.paths).filter((p) => p.includes('account-requests'))).toEqual([])
  })
})
