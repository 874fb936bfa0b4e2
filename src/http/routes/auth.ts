/**
 * Login and credentials (W6) under /api/v1/auth: CSRF token, sign in and out, my profile,
 * password change, password reset by e-mail, and the optional second factor.
 *
 * Every POST here needs the CSRF token from GET /csrf in the x-csrf-token header – sign-in and
 * reset requests too, so another site cannot sign a browser into an account of its choosing.
 * Sign-in and reset are also rate-limited per IP address.
 */
import type {} from '@fastify/csrf-protection'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { endSession, login } from '../../commands/auth/login.ts'
import { changePassword, confirmPasswordReset, requestPasswordReset } from '../../commands/auth/password.ts'
import { personView, profileOf } from '../../commands/auth/profile.ts'
import { disableTotp, enableTotp, setupTotp } from '../../commands/auth/second-factor.ts'
import type { Config } from '../../config.ts'
import { ZonaError } from '../../errors.ts'
import { commandActor, personOf, requirePerson, SESSION_COOKIE } from '../principal.ts'
import { problems } from '../schemas.ts'

const PersonSummary = Type.Object({
  id: Type.String(),
  login: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  display_name: Type.String(),
})

const CustomerGrants = Type.Object({
  id: Type.String(),
  name: Type.String(),
  grants: Type.Array(
    Type.Object({
      id: Type.String(),
      role: Type.String(),
      role_name: Type.String({ description: "in the catalog's language" }),
      role_name_en: Type.String(),
      scope: Type.Object({ id: Type.String(), kind: Type.String(), name: Type.String() }),
      options: Type.Array(Type.String()),
      expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
      active: Type.Boolean({ description: 'false once expired' }),
    }),
  ),
})

const Password = Type.String({ minLength: 1, maxLength: 1024 })
const NewPassword = Type.String({
  minLength: 1,
  maxLength: 1024,
  description: 'at least 10 and at most 200 characters, not the login name or e-mail',
})

/** The session cookie: HttpOnly, SameSite=Lax (links from mail still arrive signed in), Secure over https. */
export function sessionCookieOptions(config: Config, expires?: Date) {
  return {
    httpOnly: true,
    sameSite: 'lax' as const,
    path: '/',
    secure: config.publicUrl.startsWith('https:'),
    ...(expires ? { expires } : {}),
  }
}

const perIp = (max: number) => ({ rateLimit: { max, timeWindow: '1 minute' } })

export const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const zona = app.zona
  const csrf = app.csrfProtection
  const clearSession = (reply: FastifyReply) =>
    reply.clearCookie(SESSION_COOKIE, sessionCookieOptions(zona.config))

  app.get(
    '/csrf',
    {
      schema: {
        tags: ['auth'],
        operationId: 'getCsrfToken',
        summary: 'A CSRF token for the x-csrf-token header of every POST (also sets its cookie)',
        response: { 200: Type.Object({ token: Type.String() }) },
      },
    },
    async (_request, reply) => ({ token: reply.generateCsrf() }),
  )

  app.post(
    '/login',
    {
      onRequest: csrf,
      config: perIp(20),
      schema: {
        tags: ['auth'],
        operationId: 'login',
        summary: 'Sign in with a login name or e-mail and the password (and the code, with a second factor)',
        body: Type.Object(
          {
            login: Type.String({ minLength: 1, maxLength: 320, description: 'login name or e-mail' }),
            password: Password,
            totp: Type.Optional(Type.String({ minLength: 1, maxLength: 16 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            person: PersonSummary,
            customers: Type.Array(CustomerGrants),
            expires_at: Type.String({ format: 'date-time' }),
          }),
          ...problems(400, 401, 403, 429),
        },
      },
    },
    async (request, reply) => {
      const { login: loginName, password, totp } = request.body
      const result = await login(zona, {
        login: loginName,
        password,
        totp: totp ?? null,
        ip: request.ip,
        userAgent: request.headers['user-agent'] ?? null,
      })
      reply.setCookie(SESSION_COOKIE, result.token, sessionCookieOptions(zona.config, result.expiresAt))
      const profile = await profileOf(zona, result.person.id)
      return {
        person: personView(result.person),
        customers: profile?.customers ?? [],
        expires_at: result.expiresAt.toISOString(),
      }
    },
  )

  app.post(
    '/logout',
    {
      onRequest: csrf,
      schema: {
        tags: ['auth'],
        operationId: 'logout',
        summary: 'Sign out: the session ends on the server and its cookie is cleared',
        security: [{ session: [] }],
        response: { 204: Type.Null(), ...problems(403) },
      },
    },
    async (request, reply) => {
      const p = request.principal
      if (p?.kind === 'person')
        await endSession(zona, { sessionHash: p.sessionHash, personId: p.personId }, commandActor(request))
      clearSession(reply)
      return reply.status(204).send(null)
    },
  )

  app.get(
    '/me',
    {
      preHandler: requirePerson,
      schema: {
        tags: ['auth'],
        operationId: 'me',
        summary: 'Who I am, and my roles grouped by customer',
        security: [{ session: [] }],
        response: {
          200: Type.Object({
            person: Type.Object({
              ...PersonSummary.properties,
              locale: Type.Union([Type.String(), Type.Null()]),
              status: Type.Union([Type.Literal('active'), Type.Literal('deactivated')]),
              last_login_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
              second_factor: Type.Union([Type.Literal('on'), Type.Literal('pending'), Type.Literal('off')]),
            }),
            customers: Type.Array(CustomerGrants),
            session: Type.Object({
              expires_at: Type.String({ format: 'date-time' }),
              on_behalf_of: Type.Union([Type.String(), Type.Null()]),
            }),
          }),
          ...problems(401),
        },
      },
    },
    async (request) => {
      const p = request.principal
      if (p?.kind !== 'person') throw new ZonaError('UNAUTHENTICATED', 'sign in to use the portal')
      const [profile, session] = await Promise.all([
        profileOf(zona, p.personId),
        zona.store.db
          .selectFrom('sessions')
          .select(['expiresAt', 'onBehalfOf'])
          .where('idHash', '=', p.sessionHash)
          .executeTakeFirst(),
      ])
      if (!profile || !session) throw new ZonaError('UNAUTHENTICATED', 'sign in to use the portal')
      return {
        ...profile,
        session: { expires_at: session.expiresAt.toISOString(), on_behalf_of: session.onBehalfOf },
      }
    },
  )

  app.post(
    '/password',
    {
      onRequest: csrf,
      preHandler: requirePerson,
      config: perIp(10),
      schema: {
        tags: ['auth'],
        operationId: 'changePassword',
        summary: 'Change my password; every other session of mine ends, this one stays',
        security: [{ session: [] }],
        body: Type.Object(
          { current_password: Password, new_password: NewPassword },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ other_sessions_ended: Type.Integer() }),
          ...problems(400, 401, 403, 429),
        },
      },
    },
    async (request) => {
      const p = request.principal
      if (p?.kind !== 'person') throw new ZonaError('UNAUTHENTICATED', 'sign in to use the portal')
      const { sessionsEnded } = await changePassword(zona, {
        personId: p.personId,
        sessionHash: p.sessionHash,
        currentPassword: request.body.current_password,
        newPassword: request.body.new_password,
        actor: commandActor(request),
      })
      return { other_sessions_ended: sessionsEnded }
    },
  )

  app.post(
    '/password-reset',
    {
      onRequest: csrf,
      config: perIp(5),
      schema: {
        tags: ['auth'],
        operationId: 'requestPasswordReset',
        summary:
          'Ask for a password reset link by e-mail; the answer is the same whether or not the login exists',
        body: Type.Object(
          { login_or_email: Type.String({ minLength: 1, maxLength: 320 }) },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object({ status: Type.Literal('accepted'), detail: Type.String() }),
          ...problems(400, 403, 429),
        },
      },
    },
    async (request, reply) => {
      await requestPasswordReset(zona, {
        loginOrEmail: request.body.login_or_email,
        actor: { id: 'anonymous', ip: request.ip },
      })
      return reply.status(202).send({
        status: 'accepted' as const,
        detail:
          'If this login or e-mail belongs to an account with an e-mail address, a reset link is on its way.',
      })
    },
  )

  app.post(
    '/password-reset/confirm',
    {
      onRequest: csrf,
      config: perIp(10),
      schema: {
        tags: ['auth'],
        operationId: 'confirmPasswordReset',
        summary: 'Set a new password with the token from the reset link; every session of the person ends',
        body: Type.Object(
          { token: Type.String({ minLength: 1, maxLength: 200 }), new_password: NewPassword },
          { additionalProperties: false },
        ),
        response: { 204: Type.Null(), ...problems(400, 403, 429) },
      },
    },
    async (request, reply) => {
      await confirmPasswordReset(zona, {
        token: request.body.token,
        newPassword: request.body.new_password,
        actor: { id: 'anonymous', ip: request.ip },
      })
      return reply.status(204).send(null)
    },
  )

  app.post(
    '/totp/setup',
    {
      onRequest: csrf,
      preHandler: requirePerson,
      schema: {
        tags: ['auth'],
        operationId: 'setupTotp',
        summary: 'Start setting up a second factor: a secret for the authenticator app, not yet active',
        security: [{ session: [] }],
        response: {
          200: Type.Object({
            secret: Type.String({ description: 'Base32, to type into the app' }),
            otpauth_uri: Type.String({ description: 'otpauth://totp/…, for a QR code' }),
          }),
          ...problems(401, 403, 409),
        },
      },
    },
    async (request) => {
      const setup = await setupTotp(zona, personOf(request), commandActor(request))
      return { secret: setup.secret, otpauth_uri: setup.uri }
    },
  )

  app.post(
    '/totp/enable',
    {
      onRequest: csrf,
      preHandler: requirePerson,
      config: perIp(10),
      schema: {
        tags: ['auth'],
        operationId: 'enableTotp',
        summary: 'Turn the second factor on with a code from the app; sign-in then asks for a code',
        security: [{ session: [] }],
        body: Type.Object(
          { code: Type.String({ minLength: 1, maxLength: 16 }) },
          { additionalProperties: false },
        ),
        response: { 204: Type.Null(), ...problems(400, 401, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      await enableTotp(zona, personOf(request), request.body.code, commandActor(request))
      return reply.status(204).send(null)
    },
  )

  app.post(
    '/totp/disable',
    {
      onRequest: csrf,
      preHandler: requirePerson,
      config: perIp(10),
      schema: {
        tags: ['auth'],
        operationId: 'disableTotp',
        summary: 'Turn the second factor off (needs the password)',
        security: [{ session: [] }],
        body: Type.Object({ password: Password }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...problems(400, 401, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      await disableTotp(zona, personOf(request), request.body.password, commandActor(request))
      return reply.status(204).send(null)
    },
  )
}
