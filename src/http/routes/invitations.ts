/**
 * W1 Invite over HTTP, mounted under /api/v1. Inviting, listing, resending and cancelling need a
 * session (users.manage, decided by the engine); the invitee's two routes are public – whoever
 * holds the link – with the CSRF token of GET /api/v1/auth/csrf and a per-address rate limit, and
 * they answer every token that does not work with the same 400 TOKEN_INVALID.
 */
import type {} from '@fastify/csrf-protection'
import type { FastifyPluginAsyncTypebox, TSchema } from '@fastify/type-provider-typebox'
import { Type } from '@fastify/type-provider-typebox'
import { personView } from '../../commands/auth/profile.ts'
import type { Grant } from '../../store/schema.ts'
import {
  acceptInvitation,
  cancelInvitation,
  invite,
  listPendingInvitations,
  MAX_INVITED_GRANTS,
  previewInvitation,
  resendInvitation,
} from '../../workflows/invitations.ts'
import { commandActor, personOf, requirePerson, SESSION_COOKIE } from '../principal.ts'
import { Cursor, Id, Limit, problems } from '../schemas.ts'
import { sessionCookieOptions } from './auth.ts'

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])
const session = [{ session: [] }]
/** Guessing links is slow: this many tries a minute per address, on each public route. */
const PUBLIC_RATE = { rateLimit: { max: 10, timeWindow: '1 minute' } }

const Token = Type.String({ minLength: 1, maxLength: 200, description: 'the token from the invitation link' })

const InvitationGrant = Type.Object({
  role: Type.String(),
  role_name: Type.String({ description: "in the catalog's language" }),
  role_name_en: Type.String(),
  scope: Type.Object({ id: Type.String(), kind: Type.String(), name: Nullable(Type.String()) }),
  options: Type.Array(Type.String()),
  expires_at: Nullable(Type.String({ format: 'date-time' })),
})

export const InvitationSchema = Type.Object({
  id: Type.String(),
  customer: Type.String(),
  login: Nullable(Type.String()),
  email: Type.String(),
  display_name: Nullable(Type.String()),
  state: Type.String({ enum: ['pending', 'accepted', 'cancelled', 'expired'] }),
  grants: Type.Array(InvitationGrant),
  invited_by: Type.Object({ id: Type.String(), display_name: Nullable(Type.String()) }),
  created_at: Type.String({ format: 'date-time' }),
  expires_at: Type.String({ format: 'date-time' }),
  last_sent_at: Type.String({ format: 'date-time' }),
  send_count: Type.Integer(),
})

const GrantSchema = Type.Object({
  id: Type.String(),
  customer: Type.String(),
  role: Type.String(),
  scope: Type.String(),
  options: Type.Array(Type.String()),
  expires_at: Nullable(Type.String({ format: 'date-time' })),
  granted_by: Nullable(Type.String()),
  granted_at: Type.String({ format: 'date-time' }),
})

function grantOut(g: Grant) {
  return {
    id: g.id,
    customer: g.customerId,
    role: g.role,
    scope: g.scopeNodeId,
    options: g.options,
    expires_at: g.expiresAt ? g.expiresAt.toISOString() : null,
    granted_by: g.grantedBy,
    granted_at: g.grantedAt.toISOString(),
  }
}

export const invitationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const zona = app.zona
  const csrf = app.csrfProtection
  // Decide on the engine as the database has it now (another process may have written).
  app.addHook('preHandler', async () => {
    await zona.access.refresh()
  })

  app.post(
    '/customers/:customer/invitations',
    {
      onRequest: csrf,
      preHandler: requirePerson,
      schema: {
        tags: ['invitations'],
        operationId: 'invite',
        summary:
          'Invite someone by e-mail (and login) with 1 to 10 grants; each is decided by the engine, a link is e-mailed',
        security: session,
        params: Type.Object({ customer: Id }),
        body: Type.Object(
          {
            login: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 200,
                description: 'the login name the invitee gets (ignored where logins are NIC handles)',
              }),
            ),
            email: Type.String({ minLength: 3, maxLength: 320 }),
            display_name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            grants: Type.Array(
              Type.Object(
                {
                  role: Type.String({ minLength: 1, maxLength: 100 }),
                  scope: Id,
                  options: Type.Optional(
                    Type.Array(Type.String({ minLength: 1, maxLength: 60 }), { maxItems: 20 }),
                  ),
                  expires_at: Type.Optional(
                    Nullable(Type.String({ format: 'date-time', description: 'null: never expires' })),
                  ),
                },
                { additionalProperties: false },
              ),
              { minItems: 1, maxItems: MAX_INVITED_GRANTS },
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: InvitationSchema, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const b = request.body
      const { invitation } = await invite(zona, commandActor(request), {
        customer: request.params.customer,
        login: b.login ?? null,
        email: b.email,
        displayName: b.display_name ?? null,
        grants: b.grants.map((g) => ({
          role: g.role,
          scope: g.scope,
          ...(g.options ? { options: g.options } : {}),
          expiresAt: g.expires_at ? new Date(g.expires_at) : null,
        })),
      })
      return reply.status(201).send(invitation)
    },
  )

  app.get(
    '/customers/:customer/invitations',
    {
      preHandler: requirePerson,
      schema: {
        tags: ['invitations'],
        operationId: 'listInvitations',
        summary: 'Pending invitations I could have made (users.manage on every scope they grant on)',
        security: session,
        params: Type.Object({ customer: Id }),
        querystring: Type.Object(
          { cursor: Type.Optional(Cursor), limit: Type.Optional(Limit) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ items: Type.Array(InvitationSchema), next_cursor: Nullable(Type.String()) }),
          ...problems(400, 401, 403, 404),
        },
      },
    },
    async (request) =>
      listPendingInvitations(zona, personOf(request), {
        customer: request.params.customer,
        ...(request.query.cursor !== undefined ? { cursor: request.query.cursor } : {}),
        limit: request.query.limit ?? 100,
      }),
  )

  app.post(
    '/invitations/:id/resend',
    {
      onRequest: csrf,
      preHandler: requirePerson,
      schema: {
        tags: ['invitations'],
        operationId: 'resendInvitation',
        summary: 'Send a new link with a fresh expiry; the old link stops working',
        security: session,
        params: Type.Object({ id: Id }),
        response: { 200: InvitationSchema, ...problems(401, 403, 404, 409) },
      },
    },
    async (request) => resendInvitation(zona, commandActor(request), request.params.id),
  )

  app.delete(
    '/invitations/:id',
    {
      onRequest: csrf,
      preHandler: requirePerson,
      schema: {
        tags: ['invitations'],
        operationId: 'cancelInvitation',
        summary: 'Cancel a pending invitation; its link stops working',
        security: session,
        params: Type.Object({ id: Id }),
        response: { 200: InvitationSchema, ...problems(401, 403, 404, 409) },
      },
    },
    async (request) => cancelInvitation(zona, commandActor(request), request.params.id),
  )

  app.get(
    '/invitations/by-token',
    {
      config: PUBLIC_RATE,
      schema: {
        tags: ['invitations'],
        operationId: 'previewInvitation',
        summary:
          'What an invitation link offers: customer, inviter, roles, and whether a login with its e-mail exists',
        querystring: Type.Object({ token: Token }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            customer: Type.Object({ name: Type.String() }),
            inviter: Type.Object({ display_name: Nullable(Type.String()) }),
            roles: Type.Array(InvitationGrant),
            login: Nullable(Type.String()),
            email: Type.String(),
            display_name: Nullable(Type.String()),
            account_exists: Type.Boolean({
              description: 'accept with the password of that login instead of choosing one',
            }),
            expires_at: Type.String({ format: 'date-time' }),
          }),
          ...problems(400, 429),
        },
      },
    },
    async (request) => previewInvitation(zona, request.query.token),
  )

  app.post(
    '/invitations/accept',
    {
      onRequest: csrf,
      config: PUBLIC_RATE,
      schema: {
        tags: ['invitations'],
        operationId: 'acceptInvitation',
        summary:
          'Accept with a new password, or with the existing login’s password (or signed in as it); signs in',
        body: Type.Object(
          {
            token: Token,
            password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
            display_name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            totp: Type.Optional(Type.String({ minLength: 1, maxLength: 16 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            person: Type.Object({
              id: Type.String(),
              login: Type.String(),
              email: Nullable(Type.String()),
              display_name: Type.String(),
            }),
            customer: Type.Object({ id: Type.String(), name: Type.String() }),
            new_login: Type.Boolean(),
            given: Type.Array(GrantSchema),
            not_given: Type.Array(
              Type.Object({
                role: Type.String(),
                scope: Type.String(),
                code: Type.String({ description: 'the engine decision code' }),
                reason: Type.String({
                  description: "the engine's explanation, with the inviter's rights now",
                }),
              }),
            ),
            session_expires_at: Nullable(Type.String({ format: 'date-time' })),
          }),
          ...problems(400, 401, 403, 429),
        },
      },
    },
    async (request, reply) => {
      const b = request.body
      const p = request.principal
      const result = await acceptInvitation(zona, {
        token: b.token,
        password: b.password ?? null,
        displayName: b.display_name ?? null,
        totp: b.totp ?? null,
        signedInAs: p?.kind === 'person' ? p.personId : null,
        ip: request.ip,
        userAgent: request.headers['user-agent'] ?? null,
      })
      if (result.session)
        reply.setCookie(
          SESSION_COOKIE,
          result.session.token,
          sessionCookieOptions(zona.config, result.session.expiresAt),
        )
      return {
        person: personView(result.person),
        customer: result.customer,
        new_login: result.created,
        given: result.given.map(grantOut),
        not_given: result.notGiven,
        session_expires_at: result.session ? result.session.expiresAt.toISOString() : null,
      }
    },
  )
}
