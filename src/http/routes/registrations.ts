/**
 * W3 over HTTP: the registrations of a customer, and deactivating or reactivating a login.
 * `registrationRoutes` (under /api/v1) is for signed-in people managing a customer, decided by the
 * engine; `operatorPeopleRoutes` (under /api/v1/operator) is the back office's, the only way to
 * switch off the login of a primary admin or legal representative. Single grants are widened,
 * reduced, re-dated and revoked with PATCH/DELETE /api/v1/grants/:id (portal routes).
 */
import type {} from '@fastify/csrf-protection'
import type { FastifyPluginAsyncTypebox, TSchema } from '@fastify/type-provider-typebox'
import { Type } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import {
  type LoginStatusResult,
  listRegistrations,
  operatorSetLoginStatus,
  setLoginStatus,
} from '../../workflows/registrations.ts'
import { commandActor, personOf, requireOperator, requirePerson } from '../principal.ts'
import { Cursor, Id, Limit, problems } from '../schemas.ts'
import { InvitationSchema } from './invitations.ts'

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])
const Verdict = Type.Object({
  allowed: Type.Boolean(),
  code: Type.String({ description: 'ALLOWED, or why not (an engine decision code, SHARED_LOGIN or SELF)' }),
  reason: Type.String(),
})

const Registration = Type.Object({
  key: Type.String({ description: 'the person id, or invitee:<e-mail> for an invitee without a login' }),
  person: Nullable(
    Type.Object({
      id: Type.String(),
      login: Type.String(),
      email: Nullable(Type.String()),
      display_name: Type.String(),
      status: Type.String({ enum: ['active', 'deactivated'] }),
      last_login_at: Nullable(Type.String({ format: 'date-time' })),
    }),
  ),
  email: Nullable(Type.String()),
  status: Type.String({ enum: ['active', 'deactivated', 'invited'] }),
  grants: Type.Array(
    Type.Object({
      id: Type.String(),
      role: Type.String(),
      role_name: Type.String(),
      role_name_en: Type.String(),
      scope: Type.Object({ id: Type.String(), kind: Type.String(), name: Nullable(Type.String()) }),
      options: Type.Array(Type.String()),
      expires_at: Nullable(Type.String({ format: 'date-time' })),
      active: Type.Boolean({ description: 'false once expired' }),
      granted_by: Nullable(Type.Object({ id: Type.String(), display_name: Nullable(Type.String()) })),
      granted_at: Type.String({ format: 'date-time' }),
      revoke: Verdict,
    }),
  ),
  invitations: Type.Array(InvitationSchema),
  deactivate: Nullable(Verdict),
})

const StatusResult = Type.Object({
  person: Type.Object({ id: Type.String(), login: Type.String(), status: Type.String() }),
  changed: Type.Boolean({ description: 'false when the login already had this status' }),
  sessions_ended: Type.Integer(),
})

function statusOut(r: LoginStatusResult) {
  return {
    person: { id: r.person.id, login: r.person.login, status: r.person.status },
    changed: r.changed,
    sessions_ended: r.sessionsEnded,
  }
}

export const registrationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const zona = app.zona
  app.addHook('onRequest', requirePerson)
  app.addHook('preHandler', async () => {
    await zona.access.refresh()
  })

  app.get(
    '/customers/:customer/registrations',
    {
      schema: {
        tags: ['registrations'],
        operationId: 'listRegistrations',
        summary:
          'Everyone registered at the customer whom I manage: grants, who granted them, last sign-in, status, pending invitations',
        security: [{ session: [] }],
        params: Type.Object({ customer: Id }),
        querystring: Type.Object(
          {
            status: Type.Optional(
              Type.Union([Type.Literal('active'), Type.Literal('deactivated'), Type.Literal('invited')]),
            ),
            role: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            q: Type.Optional(
              Type.String({ minLength: 1, maxLength: 100, description: 'part of a name, login or e-mail' }),
            ),
            cursor: Type.Optional(Cursor),
            limit: Type.Optional(Limit),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ items: Type.Array(Registration), next_cursor: Nullable(Type.String()) }),
          ...problems(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const q = request.query
      return listRegistrations(zona, personOf(request), {
        customer: request.params.customer,
        ...(q.status !== undefined ? { status: q.status } : {}),
        ...(q.role !== undefined ? { role: q.role } : {}),
        ...(q.q !== undefined ? { q: q.q } : {}),
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
        limit: q.limit ?? 100,
      })
    },
  )

  for (const [verb, active] of [
    ['deactivate', false],
    ['reactivate', true],
  ] as const) {
    app.post(
      `/people/:id/${verb}`,
      {
        onRequest: app.csrfProtection,
        schema: {
          tags: ['registrations'],
          operationId: `${verb}Login`,
          summary: active
            ? 'Switch a login on again (needs the right to revoke every grant it holds, at every customer)'
            : 'Switch a login off: every session ends at once (needs the right to revoke every grant it holds, at every customer)',
          security: [{ session: [] }],
          params: Type.Object({ id: Id }),
          body: Type.Object({ customer: Id }, { additionalProperties: false }),
          response: { 200: StatusResult, ...problems(400, 401, 403, 404) },
        },
      },
      async (request) =>
        statusOut(
          await setLoginStatus(zona, commandActor(request), {
            person: request.params.id,
            customer: request.body.customer,
            active,
          }),
        ),
    )
  }
}

export const operatorPeopleRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const zona = app.zona
  app.addHook('onRequest', async (request: FastifyRequest, reply) => requireOperator(request, reply))

  for (const [verb, active] of [
    ['deactivate', false],
    ['reactivate', true],
  ] as const) {
    app.post(
      `/people/:id/${verb}`,
      {
        schema: {
          tags: ['operator'],
          operationId: `operator${verb[0]?.toUpperCase()}${verb.slice(1)}Login`,
          summary: active
            ? 'Switch any login on again (operator staff)'
            : 'Switch any login off, also a primary admin’s or legal representative’s; every session ends at once (operator staff)',
          security: [{ apiKey: [] }],
          params: Type.Object({ id: Id }),
          body: Type.Object(
            { customer: Type.Optional(Id) },
            {
              additionalProperties: false,
              description:
                'customer: the customer the audit event is filed under (optional); send {} without',
            },
          ),
          response: { 200: StatusResult, ...problems(400, 401, 404) },
        },
      },
      async (request) =>
        statusOut(
          await operatorSetLoginStatus(zona, commandActor(request), {
            person: request.params.id,
            active,
            customer: request.body.customer ?? null,
          }),
        ),
    )
  }
}
