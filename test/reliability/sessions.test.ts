/**
 * Sessions and tokens, as an attacker would try them (OWASP ASVS level 2, V3 and V4): the cookie
 * flags; CSRF refused on every state-changing route a browser reaches with its cookies (from the
 * OpenAPI document, so new routes are covered); session fixation; logout and deactivation ending
 * sessions on the server; brute-force lockout; one-time tokens that work once, expire, are stored
 * hashed and are rate-limited (I4); security headers on HTML and API answers, HSTS only behind
 * TLS; and no stack trace or SQL in any error body, even when the database itself fails.
 *
 * Runs on sk-isp, whose document has every route (account requests among them).
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashToken } from '../../src/auth/tokens.ts'
import { createPerson } from '../../src/commands/auth/people.ts'
import { startTestZona } from '../../src/server/testing.ts'
import { withTransaction } from '../../src/store/common.ts'
import { describeEachBackend } from '../../src/store/testing.ts'
import { request, validParts } from './support/cases.ts'
import { differences, fingerprint } from './support/db-dump.ts'
import { loadOperations, type Operation } from './support/openapi.ts'
import { answerFaults, leaksIn } from './support/problems.ts'
import { API, buildWorld, PASSWORD, type Sent, type World } from './support/world.ts'

const show = (res: Sent) => `${res.statusCode} ${res.body.slice(0, 200)}`

/** A browser's view of one Set-Cookie. */
interface Cookie {
  name: string
  value: string
  httpOnly?: boolean
  sameSite?: string
  secure?: boolean
  path?: string
  expires?: Date
  maxAge?: number
}

describeEachBackend('sessions and tokens', (backend) => {
  let world: World
  let offset = 0
  let ops: Operation[]
  const clock = () => new Date(Date.now() + offset)

  beforeAll(async () => {
    world = await buildWorld(backend, 'sk-isp', { clock })
    ops = await loadOperations(world)
  })
  afterAll(() => world?.z.close())

  async function newPerson(key: string, grant = true) {
    const p = await withTransaction(world.db, (trx) =>
      createPerson(trx, world.z.zona, {
        displayName: key,
        login: key,
        email: `${key}@example.test`,
        password: PASSWORD,
      }),
    )
    if (grant)
      await world.db
        .insertInto('grants')
        .values({
          customerId: 'acme',
          personId: p.id,
          role: world.roles.service.id,
          scopeNodeId: world.a.scopes[2] as string,
          grantedBy: 'operator:test',
        })
        .execute()
    await world.z.zona.access.refresh()
    return p
  }

  /** Signs in from a browser that may already hold cookies; returns the answer and its session cookie. */
  async function login(name: string, password = PASSWORD, cookies: string[] = [], ip?: string) {
    const res = await world.send({
      method: 'POST',
      url: `${API}/auth/login`,
      auth: 'none',
      payload: { login: name, password },
      headers: cookies.length ? { cookie: cookies.join('; ') } : {},
      ...(ip ? { ip } : {}),
    })
    const cookie = (res.cookies as Cookie[]).find((c) => c.name === 'zona_session')
    return { res, cookie, session: cookie?.value as string }
  }

  const me = (session: string) => world.send({ method: 'GET', url: `${API}/auth/me`, auth: { session } })

  describe('cookies', () => {
    it('gives a session cookie scripts cannot read, sent to the whole site, same-site only, not over https-less links', async () => {
      await newPerson('flags')
      const { res, cookie } = await login('flags')
      expect(res.statusCode, res.body).toBe(200)
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' })
      expect(cookie?.secure).toBeFalsy()
      expect(cookie?.value).toMatch(/^[A-Za-z0-9_-]{32,}$/)
      // Stored only as its hash.
      const stored = await world.db.selectFrom('sessions').select('idHash').execute()
      expect(stored.map((s) => s.idHash)).toContain(hashToken(cookie?.value as string))
      expect(stored.map((s) => s.idHash)).not.toContain(cookie?.value)
      const csrf = await world.send({ method: 'GET', url: `${API}/auth/csrf`, auth: 'none' })
      const secret = (csrf.cookies as Cookie[]).find((c) => c.name === 'zona_csrf')
      expect(secret).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' })
    })

    it('marks every cookie Secure, and sends HSTS, when Zona is reached over https', async () => {
      const z = await startTestZona(backend, {
        preset: 'o2-cz',
        env: { ZONA_PUBLIC_URL: 'https://zona.example.test' },
      })
      try {
        await withTransaction(z.store.db, (trx) =>
          createPerson(trx, z.zona, {
            displayName: 'tls',
            login: 'tls',
            email: 'tls@example.test',
            password: PASSWORD,
          }),
        )
        const c = await z.app.inject({ method: 'GET', url: `${API}/auth/csrf` })
        const secret = (c.cookies as Cookie[]).find((x) => x.name === 'zona_csrf') as Cookie
        expect(secret).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Strict' })
        const r = await z.app.inject({
          method: 'POST',
          url: `${API}/auth/login`,
          headers: { cookie: `zona_csrf=${secret.value}`, 'x-csrf-token': c.json().token },
          payload: { login: 'tls', password: PASSWORD },
        })
        expect(r.statusCode, r.body).toBe(200)
        expect((r.cookies as Cookie[]).find((x) => x.name === 'zona_session')).toMatchObject({
          secure: true,
          httpOnly: true,
          sameSite: 'Lax',
          path: '/',
        })
        for (const url of ['/api/docs', `${API}/portal-info`]) {
          const h = await z.app.inject({ method: 'GET', url })
          expect(h.headers['strict-transport-security'], url).toMatch(/max-age=(\d{8,})/)
          expect(
            Number(/max-age=(\d+)/.exec(String(h.headers['strict-transport-security']))?.[1]),
          ).toBeGreaterThanOrEqual(31_536_000)
        }
      } finally {
        await z.close()
      }
    })
  })

  describe('CSRF', () => {
    /** Every write a browser makes with its cookies: the portal's, the auth routes', the public forms'. */
    const cookieWrites = () =>
      ops.filter((op) => op.method !== 'GET' && (op.auth === 'session' || op.auth === 'public'))

    it('refuses every state-changing cookie route without the token, with a wrong one, or with another browser’s, and writes nothing', async () => {
      const other = await world.send({ method: 'GET', url: `${API}/auth/csrf`, auth: 'none' })
      const otherToken = other.json().token as string
      const failures: string[] = []
      let tried = 0
      const routes = cookieWrites()
      for (const op of routes) {
        const parts = validParts(world, op)
        const base = request(world, op, parts)
        // A browser sends its session cookie to the public forms too.
        const auth = base.auth === 'none' ? { session: world.a.session } : base.auth
        for (const [label, extra] of [
          ['no token', { csrf: 'none' as const }],
          ['a wrong token', { csrf: 'wrong' as const }],
          [
            "another browser's token",
            { csrf: 'none' as const, headers: { cookie: world.csrf.cookie, 'x-csrf-token': otherToken } },
          ],
        ] as const) {
          const before = await fingerprint(world.db)
          const res = await world.send({ ...base, auth, ...extra })
          tried++
          const faults = answerFaults(res)
          if (res.statusCode !== 403 || res.json().code !== 'CSRF_INVALID')
            faults.push('not refused as CSRF_INVALID')
          const wrote = differences(before, await fingerprint(world.db))
          if (wrote.length) faults.push(`wrote ${wrote.join(', ')}`)
          if (faults.length)
            failures.push(`${op.method} ${op.path} with ${label}: ${faults.join('; ')} → ${show(res)}`)
        }
      }
      console.info(
        `[sessions ${backend.name}] CSRF: ${tried} requests on ${routes.length} cookie routes, ${failures.length} failures`,
      )
      expect(routes.length).toBeGreaterThan(20)
      expect(failures).toEqual([])
    })

    it('asks the public forms (sign-in, reset, invitation, account request) for the token even without a session', async () => {
      const forms = cookieWrites().filter((op) => op.auth === 'public')
      expect(forms.map((o) => o.path)).toContain(`${API}/auth/login`)
      for (const op of forms) {
        const res = await world.send({
          ...request(world, op, validParts(world, op)),
          auth: 'none',
          csrf: 'none',
        })
        expect(res.statusCode, `${op.path}: ${res.body}`).toBe(403)
        expect(res.json().code).toBe('CSRF_INVALID')
      }
    })
  })

  describe('session lifecycle', () => {
    it('never adopts a session id chosen before sign-in (fixation)', async () => {
      const victim = await newPerson('fixated')
      // A made-up id planted in the browser: sign-in replaces it, and it never becomes a session.
      const planted = 'attacker-chosen-session-id-0123456789abcdef'
      const a = await login('fixated', PASSWORD, [`zona_session=${planted}`])
      expect(a.res.statusCode, a.res.body).toBe(200)
      expect(a.session).toBeDefined()
      expect(a.session).not.toBe(planted)
      expect((await me(planted)).statusCode).toBe(401)
      expect((await me(a.session)).json().person.id).toBe(victim.id)
      // The attacker's own live session planted in the victim's browser: signing in gives a new one,
      // and the planted one stays the attacker's, never the victim's.
      const attacker = await newPerson('fixer')
      const theirs = (await login('fixer')).session
      const b = await login('fixated', PASSWORD, [`zona_session=${theirs}`])
      expect(b.session).not.toBe(theirs)
      expect((await me(theirs)).json().person.id).toBe(attacker.id)
      expect((await me(b.session)).json().person.id).toBe(victim.id)
    })

    it('ends the session on the server at logout: the old cookie is refused', async () => {
      await newPerson('leaving')
      const { session } = await login('leaving')
      expect((await me(session)).statusCode).toBe(200)
      const out = await world.send({ method: 'POST', url: `${API}/auth/logout`, auth: { session } })
      expect(out.statusCode, out.body).toBe(204)
      const cleared = (out.cookies as Cookie[]).find((c) => c.name === 'zona_session')
      expect(cleared?.value ?? '').toBe('')
      const again = await me(session)
      expect(again.statusCode).toBe(401)
      expect(answerFaults(again)).toEqual([])
      const rows = await world.db
        .selectFrom('sessions')
        .select('idHash')
        .where('idHash', '=', hashToken(session))
        .execute()
      expect(rows).toEqual([])
    })

    it('ends every session of a person at once when the login is deactivated, by an admin or by the operator', async () => {
      for (const [by, key] of [
        ['admin', 'deactivated-by-admin'],
        ['operator', 'deactivated-by-operator'],
      ] as const) {
        const p = await newPerson(key)
        const phone = (await login(key)).session
        const laptop = (await login(key)).session
        expect((await me(phone)).statusCode).toBe(200)
        const res =
          by === 'admin'
            ? await world.send({
                method: 'POST',
                url: `${API}/people/${p.id}/deactivate`,
                auth: { session: world.a.session },
                payload: { customer: 'acme' },
              })
            : await world.send({
                method: 'POST',
                url: `${API}/operator/people/${p.id}/deactivate`,
                auth: 'operator',
                payload: {},
              })
        expect(res.statusCode, res.body).toBe(200)
        expect(res.json().sessions_ended).toBe(2)
        for (const s of [phone, laptop]) {
          expect((await me(s)).statusCode).toBe(401)
          const write = await world.send({
            method: 'POST',
            url: `${API}/auth/totp/setup`,
            auth: { session: s },
          })
          expect(write.statusCode).toBe(401)
        }
        expect((await login(key)).res.statusCode).toBe(401)
      }
    })

    it('locks the credentials after five wrong passwords in a row, from any addresses, until the lock ends', async () => {
      await newPerson('guessed')
      const codes: number[] = []
      for (let i = 0; i < 5; i++) codes.push((await login('guessed', `wrong guess ${i}`)).res.statusCode)
      expect(codes).toEqual([401, 401, 401, 401, 401])
      // The right password is refused while locked, and the answer says for how long.
      const locked = await login('guessed')
      expect(locked.res.statusCode).toBe(429)
      expect(locked.res.json()).toMatchObject({ code: 'LOGIN_LOCKED', status: 429 })
      expect(locked.res.json().retry_after).toBeGreaterThan(14 * 60)
      expect(Number(locked.res.headers['retry-after'])).toBeGreaterThan(14 * 60)
      expect(locked.cookie).toBeUndefined()
      offset += 15 * 60_000 + 1000
      const later = await login('guessed')
      expect(later.res.statusCode, later.res.body).toBe(200)
    })

    it('rate-limits sign-in attempts per address, whoever they are for', async () => {
      const codes: number[] = []
      for (let i = 0; i < 21; i++)
        codes.push((await login(`nobody-${i}`, 'wrong', [], '198.51.100.7')).res.statusCode)
      expect(codes.slice(0, 20).every((c) => c === 401)).toBe(true)
      expect(codes[20]).toBe(429)
    })
  })

  describe('one-time tokens (I4)', () => {
    /** The token of the newest mail of a kind to an address, read from the outbox as the mail carries it. */
    async function tokenMailed(to: string, path: string): Promise<string> {
      const mail = await world.db
        .selectFrom('outbox')
        .select('text')
        .where('recipient', '=', to)
        .orderBy('id', 'desc')
        .executeTakeFirstOrThrow()
      const m = new RegExp(`${path}\\?token=([A-Za-z0-9_%-]+)`).exec(mail.text)
      if (!m) throw new Error(`no ${path} link in: ${mail.text}`)
      return decodeURIComponent(m[1] as string)
    }

    const reset = (token: string, newPassword: string, ip?: string) =>
      world.send({
        method: 'POST',
        url: `${API}/auth/password-reset/confirm`,
        auth: 'none',
        payload: { token, new_password: newPassword },
        ...(ip ? { ip } : {}),
      })

    it('takes a password-reset token once, stores only its hash, and ends every session of the person', async () => {
      const p = await newPerson('forgetful')
      const session = (await login('forgetful')).session
      const asked = await world.send({
        method: 'POST',
        url: `${API}/auth/password-reset`,
        auth: 'none',
        payload: { login_or_email: 'forgetful' },
      })
      expect(asked.statusCode).toBe(202)
      const token = await tokenMailed(p.email as string, '/reset-password')
      const rows = await world.db.selectFrom('oneTimeTokens').select(['tokenHash']).execute()
      expect(rows.map((r) => r.tokenHash)).toContain(hashToken(token))
      expect(rows.map((r) => r.tokenHash)).not.toContain(token)
      const first = await reset(token, 'a brand new password 1')
      expect(first.statusCode, first.body).toBe(204)
      expect((await me(session)).statusCode).toBe(401)
      const second = await reset(token, 'another new password 2')
      expect(second.json()).toMatchObject({ status: 400, code: 'TOKEN_INVALID', field: 'body.token' })
      expect((await login('forgetful', 'another new password 2')).res.statusCode).toBe(401)
      expect((await login('forgetful', 'a brand new password 1')).res.statusCode).toBe(200)
    })

    it('refuses a password-reset token once it has expired', async () => {
      const p = await newPerson('slow')
      await world.send({
        method: 'POST',
        url: `${API}/auth/password-reset`,
        auth: 'none',
        payload: { login_or_email: 'slow' },
      })
      const token = await tokenMailed(p.email as string, '/reset-password')
      offset += 61 * 60_000
      const late = await reset(token, 'too late for this 42')
      expect(late.json()).toMatchObject({ status: 400, code: 'TOKEN_INVALID' })
      expect((await login('slow')).res.statusCode).toBe(200)
    })

    it('rate-limits guessing reset tokens from one address', async () => {
      const codes: number[] = []
      for (let i = 0; i < 11; i++)
        codes.push((await reset(`guess-${i}`, 'a guessed password 9', '198.51.100.9')).statusCode)
      expect(codes.slice(0, 10).every((c) => c === 400)).toBe(true)
      expect(codes[10]).toBe(429)
    })

    it('takes an invitation token once: a second acceptance, or a look at it afterwards, is refused', async () => {
      const invited = await world.send({
        method: 'POST',
        url: `${API}/customers/acme/invitations`,
        auth: { session: world.a.session },
        payload: {
          email: 'once@example.test',
          login: 'once',
          grants: [{ role: world.roles.service.id, scope: world.a.scopes[2] }],
        },
      })
      expect(invited.statusCode, invited.body).toBe(201)
      const token = await tokenMailed('once@example.test', '/invitation')
      const accept = () =>
        world.send({
          method: 'POST',
          url: `${API}/invitations/accept`,
          auth: 'none',
          payload: { token, password: 'my own password 77' },
        })
      const first = await accept()
      expect(first.statusCode, first.body).toBe(200)
      const second = await accept()
      expect(second.json()).toMatchObject({ status: 400, code: 'TOKEN_INVALID' })
      const look = await world.send({
        method: 'GET',
        url: `${API}/invitations/by-token?token=${encodeURIComponent(token)}`,
        auth: 'none',
      })
      expect(look.json()).toMatchObject({ status: 400, code: 'TOKEN_INVALID' })
    })
  })

  describe('headers and error bodies', () => {
    const PROTECTIONS = (res: Sent, what: string) => {
      expect(String(res.headers['content-security-policy']), what).toContain("frame-ancestors 'none'")
      expect(res.headers['x-content-type-options'], what).toBe('nosniff')
      expect(res.headers['referrer-policy'], what).toBeTruthy()
      // Plain http here: HSTS would lock browsers out of a server that has no TLS.
      expect(res.headers['strict-transport-security'], what).toBeUndefined()
    }

    it('sends CSP with frame-ancestors none, nosniff and a referrer policy on HTML pages and on API answers, errors included', async () => {
      const answers: [string, Sent][] = [
        ['the API documentation (HTML)', await world.send({ method: 'GET', url: '/api/docs', auth: 'none' })],
        ['a JSON answer', await world.send({ method: 'GET', url: `${API}/portal-info`, auth: 'none' })],
        ['a signed-in JSON answer', await me(world.a.session)],
        ['401', await world.send({ method: 'GET', url: `${API}/auth/me`, auth: 'none' })],
        [
          '404 of an unknown route',
          await world.send({ method: 'GET', url: `${API}/no-such-route`, auth: 'none' }),
        ],
        [
          '400 of a malformed URL',
          await world.send({
            method: 'GET',
            url: `${API}/customers/%ED%A0%80/roots`,
            auth: { session: world.a.session },
          }),
        ],
      ]
      const page = await world.send({ method: 'GET', url: '/', auth: 'none' })
      if (String(page.headers['content-type']).startsWith('text/html'))
        answers.push(['the web app (HTML)', page])
      expect(String(answers[0]?.[1].headers['content-type'])).toContain('text/html')
      for (const [what, res] of answers) PROTECTIONS(res, what)
    })

    it('shows no stack trace, SQL or driver message in any error, even when the database itself fails', async () => {
      const failures: string[] = []
      let errors = 0
      // Every route, without credentials, with a broken body, and with every field of the wrong type.
      for (const op of ops) {
        const base = request(world, op, validParts(world, op))
        for (const req of [
          { ...base, auth: 'none' as const },
          ...(op.method !== 'GET'
            ? [{ ...base, payload: '{"broken": ', contentType: 'application/json' }]
            : []),
          ...(op.body ? [{ ...base, payload: { unexpected: { deeply: [1, { nested: null }] } } }] : []),
        ]) {
          const res = await world.send(req)
          if (res.statusCode >= 400) errors++
          const faults = answerFaults(res)
          if (faults.length) failures.push(`${op.method} ${op.path}: ${faults.join('; ')} → ${show(res)}`)
        }
      }
      // A real failure inside the database, carrying SQL and internals in its message.
      await sql`create or replace function zz_fail() returns trigger language plpgsql as $$
        begin raise exception 'select password_hash from credentials where person_id = % (internal)', new.person_id; end $$`.execute(
        world.db,
      )
      await sql`create trigger zz_fail before insert on orders for each row execute function zz_fail()`.execute(
        world.db,
      )
      try {
        const res = await world.send({
          method: 'POST',
          url: `${API}/services/${world.a.services[1]}/orders`,
          auth: { session: world.a.session },
          payload: { kind: 'block', payload: {} },
        })
        expect(res.statusCode).toBe(500)
        expect(res.json()).toMatchObject({ code: 'INTERNAL', status: 500 })
        expect(res.body).not.toContain('password_hash')
        expect(leaksIn(res.body)).toEqual([])
        errors++
      } finally {
        await sql`drop trigger zz_fail on orders`.execute(world.db)
        await sql`drop function zz_fail()`.execute(world.db)
      }
      console.info(
        `[sessions ${backend.name}] error bodies: ${errors} errors read, ${failures.length} with internals`,
      )
      expect(failures).toEqual([])
    })
  })
})
