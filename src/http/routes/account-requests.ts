/**
 * W2 over HTTP, mounted at /api/v1: the public account-request wizard ("žiadosť o konto") and
 * the operator's queue. Present only where the catalog has features.account_requests (sk-isp);
 * elsewhere every path here is the ordinary 404.
 *
 * The public POST answers one fixed 202 body, never sooner than ANSWER_FLOOR_MS after it
 * arrived, whatever the records say, and is rate-limited per IP address: neither the answer nor
 * its timing tells whether a contract or an e-mail exists. Token routes answer one
 * TOKEN_INVALID for unknown, used and expired links.
 */
import type {} from '@fastify/csrf-protection'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ZonaError } from '../../errors.ts'
import type { AccountRequest } from '../../store/schema.ts'
import {
  type AccountRequestItem,
  accountRequestByToken,
  approveAccountRequest,
  completeAccountRequest,
  listAccountRequestQueue,
  rejectAccountRequest,
  requestAccount,
} from '../../workflows/account-requests.ts'
import { commandActor, requireOperator, SESSION_COOKIE } from '../principal.ts'
import { Cursor, Id, Limit, problems } from '../schemas.ts'
import { sessionCookieOptions } from './auth.ts'

/** The public answer takes at least this long, so the few milliseconds a match costs do not show. */
export const ANSWER_FLOOR_MS = 250
/** Account requests per IP address and window. */
export const REQUESTS_PER_WINDOW = 5
export const REQUEST_WINDOW = '10 minutes'

export const ACCEPTED = {
  status: 'accepted' as const,
  detail:
    'Thank you. If the contract number and e-mail match our records, a link to set your password is on its way; otherwise our staff will check the request and contact you.',
}

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()])
const DateTime = Type.String({ format: 'date-time' })
const Token = Type.String({ minLength: 1, maxLength: 200 })
const State = Type.Union([
  Type.Literal('pending'),
  Type.Literal('link_sent'),
  Type.Literal('waiting_for_operator'),
  Type.Literal('completed'),
  Type.Literal('rejected'),
  Type.Literal('expired'),
])

const AccountRequestView = Type.Object({
  id: Type.String(),
  state: State,
  contract_number: Type.String(),
  email: Type.String(),
  customer_id: Nullable(Type.String()),
  node_id: Nullable(Type.String({ description: 'the account or service of the contract number' })),
  person_id: Nullable(Type.String({ description: 'the login that completed it' })),
  decided_by: Nullable(Type.String()),
  ip: Nullable(Type.String()),
  created_at: DateTime,
  closed_at: Nullable(DateTime),
})

const QueueItem = Type.Object({
  ...AccountRequestView.properties,
  match: Type.Object(
    {
      contract_found: Type.Boolean(),
      email_on_file: Type.Boolean({ description: 'the e-mail is the contact e-mail of that contract' }),
      primary_present: Type.Boolean({ description: 'the customer has its primary account' }),
    },
    { description: 'what the records say now' },
  ),
})

function requestView(r: AccountRequest) {
  return {
    id: r.id,
    state: r.state,
    contract_number: r.contractNumber,
    email: r.email,
    customer_id: r.customerId,
    node_id: r.nodeId,
    person_id: r.personId,
    decided_by: r.decidedBy,
    ip: r.ip,
    created_at: r.createdAt.toISOString(),
    closed_at: r.closedAt ? r.closedAt.toISOString() : null,
  }
}

function queueItemView(r: AccountRequestItem) {
  return {
    ...requestView(r),
    match: {
      contract_found: r.match.contractFound,
      email_on_file: r.match.emailOnFile,
      primary_present: r.match.primaryPresent,
    },
  }
}

/** As in the operator back office: a person's session or a decision key is refused, no key is 401. */
async function operatorOnly(request: FastifyRequest, reply: FastifyReply) {
  const p = request.principal
  if (p && p.kind !== 'operator')
    throw new ZonaError('FORBIDDEN', 'the operator back office needs an operator API key', {
      reason: 'NOT_OPERATOR',
      explanation:
        p.kind === 'decision'
          ? `the key ${p.name} has scope decision, which may only ask for decisions`
          : 'people sign in to the customer portal; the back office is for operator staff',
    })
  await requireOperator(request, reply)
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export const accountRequestRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const zona = app.zona
  if (!zona.catalog.features.accountRequests) return
  const csrf = app.csrfProtection
  const tags = ['account requests']

  app.post(
    '/account-requests',
    {
      onRequest: csrf,
      config: { rateLimit: { max: REQUESTS_PER_WINDOW, timeWindow: REQUEST_WINDOW } },
      schema: {
        tags,
        operationId: 'requestAccount',
        summary: 'Ask for a login with a contract number and an e-mail (the account-request wizard)',
        description:
          'The answer is the same whether or not the contract or the e-mail is known. When the e-mail is the one on file for the contract, a link to set a password is mailed to it; otherwise the request waits for operator staff.',
        body: Type.Object(
          {
            contract_number: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }),
            email: Type.String({ minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+$' }),
          },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object({ status: Type.Literal('accepted'), detail: Type.String() }),
          ...problems(400, 403, 429),
        },
      },
    },
    async (request, reply) => {
      const started = performance.now()
      const outcome = await requestAccount(zona, {
        contractNumber: request.body.contract_number,
        email: request.body.email,
        ip: request.ip,
      })
      request.log.info({ accountRequest: outcome.id, state: outcome.state }, 'account request')
      await sleep(ANSWER_FLOOR_MS - (performance.now() - started))
      return reply.status(202).send(ACCEPTED)
    },
  )

  app.get(
    '/account-requests/by-token',
    {
      config: { rateLimit: { max: 20, timeWindow: '1 minute' } },
      schema: {
        tags,
        operationId: 'getAccountRequestByToken',
        summary: 'What the link of an account request is for (does not use it up)',
        querystring: Type.Object({ token: Token }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            email: Type.String(),
            contract_number: Type.String(),
            customer_name: Type.String(),
            existing_login: Type.Boolean({
              description:
                'the e-mail already has a login: complete with its password; display_name is not used',
            }),
            expires_at: DateTime,
          }),
          ...problems(400, 429),
        },
      },
    },
    async (request) => {
      const link = await accountRequestByToken(zona, request.query.token)
      return {
        email: link.email,
        contract_number: link.contractNumber,
        customer_name: link.customerName,
        existing_login: link.existingLogin,
        expires_at: link.expiresAt.toISOString(),
      }
    },
  )

  app.post(
    '/account-requests/complete',
    {
      onRequest: csrf,
      config: { rateLimit: { max: 10, timeWindow: '1 minute' } },
      schema: {
        tags,
        operationId: 'completeAccountRequest',
        summary:
          'Use the link: set the password (or give the existing login’s), get an account at the customer, be signed in',
        description:
          'The new account has no options: invoices and call records stay off until the primary account switches them on.',
        body: Type.Object(
          {
            token: Token,
            password: Type.String({ minLength: 1, maxLength: 1024 }),
            display_name: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
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
            customer_id: Type.String(),
            grant: Nullable(
              Type.Object({ id: Type.String(), role: Type.String(), options: Type.Array(Type.String()) }),
            ),
            new_login: Type.Boolean(),
            expires_at: DateTime,
          }),
          ...problems(400, 403, 409, 429),
        },
      },
    },
    async (request, reply) => {
      const done = await completeAccountRequest(zona, {
        token: request.body.token,
        password: request.body.password,
        displayName: request.body.display_name ?? null,
        ip: request.ip,
        userAgent: request.headers['user-agent'] ?? null,
      })
      reply.setCookie(
        SESSION_COOKIE,
        done.session.token,
        sessionCookieOptions(zona.config, done.session.expiresAt),
      )
      return {
        person: {
          id: done.person.id,
          login: done.person.login,
          email: done.person.email,
          display_name: done.person.displayName,
        },
        customer_id: done.customerId,
        grant: done.grant && { id: done.grant.id, role: done.grant.role, options: done.grant.options },
        new_login: done.newLogin,
        expires_at: done.session.expiresAt.toISOString(),
      }
    },
  )

  // ------------------------------------------------------------------ operator staff

  const operator = { tags: ['operator'], security: [{ apiKey: [] }] }

  app.get(
    '/operator/account-requests',
    {
      preHandler: operatorOnly,
      schema: {
        ...operator,
        operationId: 'listAccountRequests',
        summary: 'Account requests, newest first, a page at a time; state=waiting_for_operator is the queue',
        querystring: Type.Object(
          { state: Type.Optional(State), cursor: Type.Optional(Cursor), limit: Type.Optional(Limit) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ items: Type.Array(QueueItem), next_cursor: Nullable(Type.String()) }),
          ...problems(400, 401, 403),
        },
      },
    },
    async (request) => {
      const q = request.query
      const page = await listAccountRequestQueue(zona, {
        state: q.state,
        cursor: q.cursor,
        limit: q.limit ?? 100,
      })
      return { items: page.items.map(queueItemView), next_cursor: page.next_cursor }
    },
  )

  app.post(
    '/operator/account-requests/:id/approve',
    {
      preHandler: operatorOnly,
      // The body is optional: a POST without one means {}.
      preValidation: async (request) => {
        request.body ??= {}
      },
      schema: {
        ...operator,
        operationId: 'approveAccountRequest',
        summary: 'Approve a queued request: the link to set a password goes to the e-mail given',
        params: Type.Object({ id: Id }),
        body: Type.Object(
          {
            customer: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 200,
                description: 'required when the contract number matched no customer',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: AccountRequestView, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const approved = await approveAccountRequest(zona, commandActor(request), request.params.id, {
        customerId: request.body.customer,
      })
      return requestView(approved)
    },
  )

  app.post(
    '/operator/account-requests/:id/reject',
    {
      preHandler: operatorOnly,
      schema: {
        ...operator,
        operationId: 'rejectAccountRequest',
        summary:
          'Reject a queued request, or withdraw an unused link; no mail is sent, the reason is audited',
        params: Type.Object({ id: Id }),
        body: Type.Object(
          { reason: Type.String({ minLength: 1, maxLength: 1000 }) },
          { additionalProperties: false },
        ),
        response: { 200: AccountRequestView, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const rejected = await rejectAccountRequest(zona, commandActor(request), request.params.id, {
        reason: request.body.reason,
      })
      return requestView(rejected)
    },
  )
}
