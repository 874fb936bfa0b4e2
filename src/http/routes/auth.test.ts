import { afterAll, beforeAll, expect, it } from 'vitest'
import { hashToken } from '../../auth/tokens.ts'
import { totpCode } from '../../auth/totp.ts'
import { createPerson } from '../../commands/auth/people.ts'
import { readConfig } from '../../config.ts'
import { type MailCatcher, startMailCatcher } from '../../mail/catcher.ts'
import { type Running, startZona } from '../../server/start.ts'
import { listAuditEvents } from '../../store/audit.ts'
import { withTransaction } from '../../store/common.ts'
import { insertGrant } from '../../store/grants.ts'
import { findCredentials, findPerson, setPersonStatus } from '../../store/people.ts'
import { describeEachBackend, type TestBackend, type TestStore } from '../../store/testing.ts'
import { insertCustomer, insertNodes } from '../../store/tree.ts'

const AUTH = '/api/v1/auth'
const PASSWORD = 'correct horse battery'

interface AuthZona extends Running {
  store: TestStore
  /** Moves Zona's clock (not the database's) forward. */
  advance(ms: number): void
}

/** A real Zona on the backend, with a movable clock and, when given, a real SMTP catcher for its mail. */
async function startAuthZona(
  backend: TestBackend,
  options: { preset?: string; env?: Record<string, string>; mailCatcher?: MailCatcher } = {},
): Promise<AuthZona> {
  const store = await backend.open()
  const read = readConfig({
    ZONA_PRESET: options.preset ?? 'o2-cz',
    PORT: '0',
    ZONA_LOG_LEVEL: 'silent',
    ...options.env,
  })
  if (!read.ok) throw new Error(read.errors.join('\n'))
  let offset = 0
  const running = await startZona(read.config, {
    store,
    logger: false,
    listen: false,
    clock: () => new Date(Date.now() + offset),
    ...(options.mailCatcher ? { mailCatcher: options.mailCatcher } : {}),
  })
  return {
    ...running,
    store,
    advance(ms) {
      offset += ms
    },
    async close() {
      await running.close()
      await store.close()
    },
  }
}

interface Cookie {
  name: string
  value: string
  httpOnly?: boolean
  sameSite?: string
  secure?: boolean
  path?: string
  expires?: Date
}

/** A browser of one IP address: keeps cookies, fetches and sends the CSRF token. */
class Browser {
  readonly cookies = new Map<string, string>()
  lastCookies: Cookie[] = []
  private csrfToken: string | undefined

  constructor(
    private readonly z: Running,
    readonly ip: string,
  ) {}

  async request(method: 'GET' | 'POST', url: string, body?: object, headers: Record<string, string> = {}) {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
    const res = await this.z.app.inject({
      method,
      url,
      remoteAddress: this.ip,
      headers: { ...(cookie ? { cookie } : {}), ...headers },
      ...(body ? { payload: body } : {}),
    })
    this.lastCookies = res.cookies as Cookie[]
    for (const c of this.lastCookies) {
      if (c.value === '' || (c.expires && c.expires.getTime() < Date.now() - 86_400_000))
        this.cookies.delete(c.name)
      else this.cookies.set(c.name, c.value)
    }
    return res
  }

  async csrf(): Promise<string> {
    if (!this.csrfToken) {
      const r = await this.request('GET', `${AUTH}/csrf`)
      expect(r.statusCode).toBe(200)
      this.csrfToken = r.json().token as string
    }
    return this.csrfToken
  }

  async post(url: string, body?: object) {
    return this.request('POST', url, body, { 'x-csrf-token': await this.csrf() })
  }

  login(login: string, password = PASSWORD, totp?: string) {
    return this.post(`${AUTH}/login`, { login, password, ...(totp ? { totp } : {}) })
  }

  me() {
    return this.request('GET', `${AUTH}/me`)
  }

  get session(): string | undefined {
    return this.cookies.get('zona_session')
  }
}

/** A code that is not `code` (nor, but for a one-in-a-million chance, its neighbours'). */
const otherThan = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0')

let ips = 0
/** Each test gets its own address, so the per-IP rate limits of one test do not spill into another. */
const nextIp = () => `10.0.${Math.floor(++ips / 250)}.${(ips % 250) + 1}`

describeEachBackend('auth API', (backend) => {
  let z: AuthZona
  let catcher: MailCatcher
  const ids: Record<string, string> = {}

  const browser = () => new Browser(z, nextIp())

  async function person(
    key: string,
    login: string,
    email: string | null,
    password: string | null = PASSWORD,
  ) {
    const p = await withTransaction(z.store.db, (trx) =>
      createPerson(trx, z.zona, { displayName: key, login, email, password }),
    )
    ids[key] = p.id
    return p
  }

  beforeAll(async () => {
    catcher = await startMailCatcher()
    z = await startAuthZona(backend, { mailCatcher: catcher })
    const db = z.store.db
    await insertCustomer(db, { id: 'acme', name: 'Acme', preset: 'o2-cz' })
    await insertCustomer(db, { id: 'beta', name: 'Beta', preset: 'o2-cz' })
    await insertNodes(db, [
      { id: 'acc-hq', customerId: 'acme', parentId: 'acme', kind: 'account', name: 'HQ' },
      { id: 'acc-b', customerId: 'beta', parentId: 'beta', kind: 'account', name: 'Beta main' },
    ])
    await person('jana', 'jana', 'jana@acme.example')
    for (const key of ['eva', 'lock', 'deact', 'pwd', 'reset', 'late', 'totp', 'out', 'gone'])
      await person(key, key, `${key}@acme.example`)
    await person('mailless', 'mailless', null)
    await insertGrant(db, {
      customerId: 'acme',
      personId: ids.jana as string,
      role: 'primary-admin',
      scopeNodeId: 'acme',
      limited: true,
      grantedBy: 'operator:test',
    })
    await insertGrant(db, {
      customerId: 'beta',
      personId: ids.jana as string,
      role: 'account-viewer',
      scopeNodeId: 'acc-b',
      grantedBy: 'operator:test',
      expiresAt: new Date(Date.now() - 1000),
    })
    await z.zona.access.refresh()
  })
  afterAll(async () => {
    await z.close()
    await catcher.close()
  })

  it('signs in by login name: a session cookie that scripts cannot read, stored only as a hash', async () => {
    const b = browser()
    const r = await b.login('jana')
    expect(r.statusCode).toBe(200)
    expect(r.json().person).toEqual({
      id: ids.jana,
      login: 'jana',
      email: 'jana@acme.example',
      display_name: 'jana',
    })
    expect(r.json().customers.map((c: { id: string }) => c.id)).toEqual(['acme', 'beta'])
    const cookie = b.lastCookies.find((c) => c.name === 'zona_session') as Cookie
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' })
    expect(cookie.secure).toBeFalsy()
    const hours = (cookie.expires as Date).getTime() - Date.now()
    expect(Math.round(hours / 3_600_000)).toBe(z.zona.config.ZONA_SESSION_HOURS)

    const sessions = await z.store.db
      .selectFrom('sessions')
      .selectAll()
      .where('personId', '=', ids.jana as string)
      .execute()
    expect(sessions.map((s) => s.idHash)).toContain(hashToken(cookie.value))
    expect(sessions.some((s) => s.idHash === cookie.value)).toBe(false)
    expect((await findPerson(z.store.db, ids.jana as string))?.lastLoginAt).toBeInstanceOf(Date)
    const [event] = await listAuditEvents(z.store.db, {
      action: 'login.succeeded',
      subject: ids.jana as string,
    })
    expect(event).toMatchObject({ actor: ids.jana, ip: b.ip })
  })

  it('signs in by e-mail address, in any case', async () => {
    const r = await browser().login('JANA@Acme.example')
    expect(r.statusCode).toBe(200)
    expect(r.json().person.id).toBe(ids.jana)
  })

  it('marks the cookie Secure when Zona is reached over https', async () => {
    const tls = await startAuthZona(backend, { env: { ZONA_PUBLIC_URL: 'https://zona.example' } })
    try {
      await withTransaction(tls.store.db, (trx) =>
        createPerson(trx, tls.zona, { displayName: 'T', login: 'tls', email: null, password: PASSWORD }),
      )
      const b = new Browser(tls, nextIp())
      expect((await b.login('tls')).statusCode).toBe(200)
      expect(b.lastCookies.find((c) => c.name === 'zona_session')).toMatchObject({
        secure: true,
        httpOnly: true,
      })
    } finally {
      await tls.close()
    }
  })

  it('shows my profile: roles per customer in the catalog language and English, and expired grants as inactive', async () => {
    const b = browser()
    await b.login('jana')
    const r = await b.me()
    expect(r.statusCode).toBe(200)
    const me = r.json()
    expect(me.person).toMatchObject({ id: ids.jana, status: 'active', second_factor: 'off' })
    expect(me.customers).toEqual([
      {
        id: 'acme',
        name: 'Acme',
        grants: [
          expect.objectContaining({
            role: 'primary-admin',
            role_name: 'Primární správce zákazníka',
            role_name_en: 'Primary customer administrator',
            scope: { id: 'acme', kind: 'customer', name: 'Acme' },
            active: true,
          }),
        ],
      },
      {
        id: 'beta',
        name: 'Beta',
        grants: [
          expect.objectContaining({
            role: 'account-viewer',
            scope: expect.objectContaining({ id: 'acc-b' }),
            active: false,
          }),
        ],
      },
    ])
    expect(new Date(me.session.expires_at).getTime()).toBeGreaterThan(Date.now())
    expect((await browser().me()).statusCode).toBe(401)
  })

  it('answers a wrong password, an unknown login and a deactivated person alike', async () => {
    await withTransaction(z.store.db, (trx) =>
      trx
        .updateTable('people')
        .set({ status: 'deactivated' })
        .where('id', '=', ids.gone as string)
        .execute(),
    )
    const strip = (r: { statusCode: number; json(): Record<string, unknown> }) => {
      const { request_id, instance, ...rest } = r.json()
      return { status: r.statusCode, ...rest }
    }
    const wrong = await browser().login('eva', 'not the password')
    const unknown = await browser().login('nobody-here', 'not the password')
    const deactivated = await browser().login('gone')
    expect(wrong.statusCode).toBe(401)
    expect(strip(wrong)).toMatchObject({ code: 'LOGIN_FAILED' })
    expect(strip(unknown)).toEqual(strip(wrong))
    expect(strip(deactivated)).toEqual(strip(wrong))
    const [event] = await listAuditEvents(z.store.db, { action: 'login.failed', subject: 'nobody-here' })
    expect(event).toMatchObject({ actor: 'anonymous', after: { reason: 'unknown_login', person_id: null } })
  })

  it('locks the credentials for 15 minutes after 5 failures in a row', async () => {
    const b = browser()
    for (let i = 0; i < 5; i++) expect((await b.login('lock', 'wrong password!')).statusCode).toBe(401)
    const locked = await b.login('lock')
    expect(locked.statusCode).toBe(429)
    expect(locked.json().code).toBe('LOGIN_LOCKED')
    const retryAfter = Number(locked.headers['retry-after'])
    expect(retryAfter).toBeGreaterThan(14 * 60)
    expect(retryAfter).toBeLessThanOrEqual(15 * 60)
    // Still locked a minute before the end, even with the right password.
    z.advance((retryAfter - 60) * 1000)
    expect((await b.login('lock')).statusCode).toBe(429)
    z.advance(61_000)
    const r = await b.login('lock')
    expect(r.statusCode).toBe(200)
    expect(await findCredentials(z.store.db, ids.lock as string)).toMatchObject({
      failedAttempts: 0,
      lockedUntil: null,
    })
  })

  it('refuses writes without the CSRF token, and accepts them with it', async () => {
    const b = browser()
    const noToken = await b.request('POST', `${AUTH}/login`, { login: 'eva', password: PASSWORD })
    expect(noToken.statusCode).toBe(403)
    expect(noToken.json().code).toBe('CSRF_INVALID')
    await b.csrf()
    const wrongToken = await b.request(
      'POST',
      `${AUTH}/login`,
      { login: 'eva', password: PASSWORD },
      { 'x-csrf-token': 'forged' },
    )
    expect(wrongToken.json().code).toBe('CSRF_INVALID')
    expect((await b.login('eva')).statusCode).toBe(200)
    // A session cookie alone does not let another site sign me out or change my password.
    expect((await b.request('POST', `${AUTH}/logout`)).statusCode).toBe(403)
    expect(
      (
        await b.request('POST', `${AUTH}/password`, {
          current_password: PASSWORD,
          new_password: 'something else 1',
        })
      ).statusCode,
    ).toBe(403)
    expect((await b.me()).statusCode).toBe(200)
  })

  it('signs out: the session ends on the server, so the old cookie is refused', async () => {
    const b = browser()
    await b.login('out')
    const cookie = b.session as string
    const r = await b.post(`${AUTH}/logout`)
    expect(r.statusCode).toBe(204)
    expect(b.session).toBeUndefined()
    const replay = await z.app.inject({ url: `${AUTH}/me`, cookies: { zona_session: cookie } })
    expect(replay.statusCode).toBe(401)
    expect(
      await listAuditEvents(z.store.db, { action: 'session.ended', subject: ids.out as string }),
    ).toHaveLength(1)
  })

  it('refuses a deactivated person on the very next request (I6)', async () => {
    const b = browser()
    await b.login('deact')
    expect((await b.me()).statusCode).toBe(200)
    // Only the status changes here, sessions stay: the refusal comes from the session lookup itself.
    await z.store.db
      .updateTable('people')
      .set({ status: 'deactivated' })
      .where('id', '=', ids.deact as string)
      .execute()
    expect((await b.me()).statusCode).toBe(401)
    await z.store.db
      .updateTable('people')
      .set({ status: 'active' })
      .where('id', '=', ids.deact as string)
      .execute()
    expect((await b.me()).statusCode).toBe(200)
    // Deactivating through the store also ends the sessions: reactivation does not bring them back.
    await setPersonStatus(z.store.db, ids.deact as string, 'deactivated')
    await setPersonStatus(z.store.db, ids.deact as string, 'active')
    expect((await b.me()).statusCode).toBe(401)
  })

  it('changes the password: other sessions end, this one stays', async () => {
    const here = browser()
    const there = browser()
    await here.login('pwd')
    await there.login('pwd')
    const wrong = await here.post(`${AUTH}/password`, {
      current_password: 'not it at all',
      new_password: 'a new password 1',
    })
    expect(wrong.statusCode).toBe(400)
    expect(wrong.json().field).toBe('body.current_password')
    const short = await here.post(`${AUTH}/password`, { current_password: PASSWORD, new_password: 'short' })
    expect(short.json()).toMatchObject({ status: 400, field: 'body.new_password' })
    const own = await here.post(`${AUTH}/password`, {
      current_password: PASSWORD,
      new_password: 'pwd@acme.example',
    })
    expect(own.json()).toMatchObject({ status: 400, field: 'body.new_password' })

    const r = await here.post(`${AUTH}/password`, {
      current_password: PASSWORD,
      new_password: 'a new password 1',
    })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toEqual({ other_sessions_ended: 1 })
    expect((await here.me()).statusCode).toBe(200)
    expect((await there.me()).statusCode).toBe(401)
    expect((await browser().login('pwd')).statusCode).toBe(401)
    expect((await browser().login('pwd', 'a new password 1')).statusCode).toBe(200)
    const hash = (await findCredentials(z.store.db, ids.pwd as string))?.passwordHash as string
    expect(hash.startsWith('$argon2id$')).toBe(true)
    expect(hash).not.toContain('a new password 1')
    expect(
      await listAuditEvents(z.store.db, { action: 'password.changed', subject: ids.pwd as string }),
    ).toHaveLength(1)
  })

  it('resets a forgotten password through the link in a real e-mail, once', async () => {
    const signedIn = browser()
    await signedIn.login('reset')
    const b = browser()
    const known = await b.post(`${AUTH}/password-reset`, { login_or_email: 'reset' })
    const unknown = await b.post(`${AUTH}/password-reset`, { login_or_email: 'no-such-login' })
    const noMail = await b.post(`${AUTH}/password-reset`, { login_or_email: 'mailless' })
    expect(known.statusCode).toBe(202)
    expect(unknown.statusCode).toBe(202)
    expect(unknown.json()).toEqual(known.json())
    expect(noMail.json()).toEqual(known.json())

    await z.mail?.drain()
    const mail = await catcher.waitFor((m) => m.to === 'reset@acme.example')
    const link = /https?:\/\/\S+\/reset-password\?token=([A-Za-z0-9_%-]+)/.exec(mail.text)
    expect(link?.[0].startsWith(`${z.zona.config.publicUrl}/reset-password?token=`)).toBe(true)
    const token = decodeURIComponent(link?.[1] as string)
    expect(mail.html).toContain(link?.[1])
    // Stored hashed, for one hour.
    const row = await z.store.db
      .selectFrom('oneTimeTokens')
      .selectAll()
      .where('tokenHash', '=', hashToken(token))
      .executeTakeFirstOrThrow()
    expect(row).toMatchObject({ purpose: 'password_reset', personId: ids.reset, usedAt: null })
    expect(Math.round((row.expiresAt.getTime() - row.createdAt.getTime()) / 60_000)).toBe(60)
    expect(
      await z.store.db
        .selectFrom('oneTimeTokens')
        .select('tokenHash')
        .where('tokenHash', '=', token)
        .execute(),
    ).toEqual([])
    // The unknown login and the login without an e-mail got nothing.
    const outbox = await z.store.db
      .selectFrom('outbox')
      .select('recipient')
      .where('template', '=', 'password-reset')
      .execute()
    expect(outbox.map((m) => m.recipient)).toEqual(['reset@acme.example'])

    const weak = await b.post(`${AUTH}/password-reset/confirm`, { token, new_password: 'reset' })
    expect(weak.json()).toMatchObject({ status: 400, field: 'body.new_password' })
    const ok = await b.post(`${AUTH}/password-reset/confirm`, { token, new_password: 'reset by mail 42' })
    expect(ok.statusCode).toBe(204)
    expect((await signedIn.me()).statusCode).toBe(401)
    expect((await browser().login('reset', 'reset by mail 42')).statusCode).toBe(200)
    const again = await b.post(`${AUTH}/password-reset/confirm`, { token, new_password: 'another one 42' })
    expect(again.statusCode).toBe(400)
    expect(again.json()).toMatchObject({ code: 'TOKEN_INVALID', field: 'body.token' })
    const madeUp = await b.post(`${AUTH}/password-reset/confirm`, {
      token: 'made-up',
      new_password: 'another one 42',
    })
    expect(madeUp.json().code).toBe('TOKEN_INVALID')
    const actions = (await listAuditEvents(z.store.db, { action: 'password.reset.' })).map(
      (e) => `${e.action} ${e.subject}`,
    )
    expect(actions).toEqual(
      expect.arrayContaining([
        `password.reset.requested ${ids.reset}`,
        'password.reset.requested no-such-login',
        `password.reset.completed ${ids.reset}`,
      ]),
    )
  })

  it('refuses an expired reset link, and sends one reset mail a minute at most', async () => {
    const b = browser()
    await b.post(`${AUTH}/password-reset`, { login_or_email: 'late@acme.example' })
    await b.post(`${AUTH}/password-reset`, { login_or_email: 'late@acme.example' })
    const rows = await z.store.db
      .selectFrom('oneTimeTokens')
      .selectAll()
      .where('personId', '=', ids.late as string)
      .execute()
    expect(rows).toHaveLength(1)
    await z.mail?.drain()
    const mail = await catcher.waitFor((m) => m.to === 'late@acme.example')
    const token = decodeURIComponent(/reset-password\?token=([A-Za-z0-9_%-]+)/.exec(mail.text)?.[1] as string)
    z.advance(61 * 60_000)
    const r = await b.post(`${AUTH}/password-reset/confirm`, { token, new_password: 'too late now 42' })
    expect(r.json()).toMatchObject({ status: 400, code: 'TOKEN_INVALID' })
    expect((await browser().login('late')).statusCode).toBe(200)
  })

  it('rate-limits reset requests and sign-ins per address', async () => {
    const b = browser()
    const codes: number[] = []
    for (let i = 0; i < 6; i++)
      codes.push((await b.post(`${AUTH}/password-reset`, { login_or_email: `x${i}` })).statusCode)
    expect(codes).toEqual([202, 202, 202, 202, 202, 429])
    const limited = await b.post(`${AUTH}/password-reset`, { login_or_email: 'x' })
    expect(limited.json().code).toBe('RATE_LIMITED')
    const logins: number[] = []
    for (let i = 0; i < 21; i++) logins.push((await b.login(`nobody${i}`, 'wrong password')).statusCode)
    expect(logins.slice(0, 20).every((s) => s === 401)).toBe(true)
    expect(logins[20]).toBe(429)
  })

  it('asks for a code once the second factor is on, and takes each code once', async () => {
    const b = browser()
    await b.login('totp')
    const setup = await b.post(`${AUTH}/totp/setup`)
    expect(setup.statusCode).toBe(200)
    const { secret, otpauth_uri } = setup.json()
    expect(otpauth_uri).toMatch(/^otpauth:\/\/totp\//)
    expect(otpauth_uri).toContain(`secret=${secret}`)
    expect((await b.me()).json().person.second_factor).toBe('pending')
    // Pending is not on: sign-in still needs no code.
    expect((await browser().login('totp')).statusCode).toBe(200)

    const wrong = await b.post(`${AUTH}/totp/enable`, {
      code: otherThan(await totpCode(secret, z.zona.clock())),
    })
    expect(wrong.json()).toMatchObject({ status: 400, code: 'TOKEN_INVALID', field: 'body.code' })
    expect(
      (await b.post(`${AUTH}/totp/enable`, { code: await totpCode(secret, z.zona.clock()) })).statusCode,
    ).toBe(204)
    expect((await b.me()).json().person.second_factor).toBe('on')

    const missing = await browser().login('totp')
    expect(missing.json()).toMatchObject({ status: 401, code: 'SECOND_FACTOR_REQUIRED' })
    const bad = await browser().login('totp', PASSWORD, otherThan(await totpCode(secret, z.zona.clock())))
    expect(bad.json()).toMatchObject({ status: 401, code: 'SECOND_FACTOR_REQUIRED' })
    expect((await findCredentials(z.store.db, ids.totp as string))?.failedAttempts).toBe(1)
    // A wrong password says nothing about the second factor.
    expect((await browser().login('totp', 'wrong password!')).json().code).toBe('LOGIN_FAILED')

    z.advance(30_000)
    const code = await totpCode(secret, z.zona.clock())
    expect((await browser().login('totp', PASSWORD, code)).statusCode).toBe(200)
    expect((await browser().login('totp', PASSWORD, code)).json().code).toBe('SECOND_FACTOR_REQUIRED')

    const noPassword = await b.post(`${AUTH}/totp/disable`, { password: 'not my password' })
    expect(noPassword.json()).toMatchObject({ status: 400, field: 'body.password' })
    expect((await b.post(`${AUTH}/totp/disable`, { password: PASSWORD })).statusCode).toBe(204)
    expect((await browser().login('totp')).statusCode).toBe(200)
    const actions = (await listAuditEvents(z.store.db, { subject: ids.totp as string, action: 'totp.' })).map(
      (e) => e.action,
    )
    expect(actions).toEqual(['totp.disabled', 'totp.enabled', 'totp.setup.started'])
  })

  it('names the field at fault in bad input', async () => {
    const b = browser()
    const missing = await b.post(`${AUTH}/login`, { login: 'jana' })
    expect(missing.json()).toMatchObject({ status: 400, field: 'body.password' })
    const extra = await b.post(`${AUTH}/login`, { login: 'jana', password: PASSWORD, admin: true })
    expect(extra.json()).toMatchObject({ status: 400, field: 'body.admin' })
  })

  it('documents every route in the OpenAPI document', async () => {
    const doc = (await z.app.inject('/api/openapi.json')).json()
    for (const path of [
      'csrf',
      'login',
      'logout',
      'me',
      'password',
      'password-reset',
      'password-reset/confirm',
      'totp/setup',
      'totp/enable',
      'totp/disable',
    ])
      expect(Object.keys(doc.paths)).toContain(`${AUTH}/${path}`)
  })
})
