/**
 * Service contacts and contact changes (W5, ovh) under /api/v1: the contacts of the services I
 * see, asking for a change, approving or refusing it with my one-time code, sending the codes
 * again, and "my requests".
 *
 * Approve and refuse take the code from the e-mail and work with or without a session: the
 * link from the mail may be opened in any browser, and the code alone proves the party (as a
 * password-reset link does). With a session cookie the code must be the signed-in person's own,
 * and the CSRF token (x-csrf-token) is required, as for every write with a session. Both are
 * rate-limited per address, and wrong codes are also counted per change.
 */
import type {} from '@fastify/csrf-protection'
import type { FastifyPluginAsyncTypebox, TSchema } from '@fastify/type-provider-typebox'
import { Type } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import {
  approveContactChangeWithToken,
  getContactChange,
  listCustomerContacts,
  listMyContactChanges,
  refuseContactChangeWithToken,
  requestContactChange,
  resendContactChange,
  serviceContacts,
} from '../../workflows/contact-changes.ts'
import { commandActor, personOf, requirePerson, SESSION_COOKIE } from '../principal.ts'
import { Cursor, Id, Limit, problems } from '../schemas.ts'

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])
const Page = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), next_cursor: Nullable(Type.String()) })
const Paging = { cursor: Type.Optional(Cursor), limit: Type.Optional(Limit) }
const session = [{ session: [] }]

const Kind = Type.Union([Type.Literal('admin'), Type.Literal('technical'), Type.Literal('billing')], {
  description: 'admin (administrative), technical or billing contact',
})
const PartySchema = Type.Union([Type.Literal('requester'), Type.Literal('new_contact')])
const State = Type.Union(
  [
    Type.Literal('pending'),
    Type.Literal('applied'),
    Type.Literal('refused'),
    Type.Literal('cancelled'),
    Type.Literal('expired'),
  ],
  { description: 'a pending change past its expiry reads as expired' },
)

const PersonRef = Type.Object({
  id: Type.String(),
  login: Nullable(Type.String({ description: 'the customer identifier (NIC handle), e.g. AB12345-OVH' })),
  display_name: Nullable(Type.String()),
})

const ServiceContacts = Type.Object({
  service: Type.Object({ id: Type.String(), name: Type.String(), status: Nullable(Type.String()) }),
  contacts: Type.Object({
    admin: Nullable(PersonRef),
    technical: Nullable(PersonRef),
    billing: Nullable(PersonRef),
  }),
  may_request: Type.Object(
    { admin: Type.Boolean(), technical: Type.Boolean(), billing: Type.Boolean() },
    { description: 'whether I may ask to change each contact (the engine decides)' },
  ),
  pending: Type.Array(Kind, { description: 'contacts with a change waiting for approval' }),
})

const ContactChange = Type.Object({
  id: Type.String(),
  customer: Type.String(),
  service: Type.Object({ id: Type.String(), name: Nullable(Type.String()) }),
  kind: Kind,
  role: Type.String({ description: "the catalog's contact role, e.g. tech-contact" }),
  state: State,
  requester: PersonRef,
  old_contact: PersonRef,
  new_contact: PersonRef,
  parties: Type.Array(
    Type.Object({
      party: PartySchema,
      person: PersonRef,
      approved_at: Nullable(Type.String({ format: 'date-time' })),
    }),
  ),
  waiting_for: Type.Array(PartySchema, {
    description: 'while pending: whose approval is still missing ("waiting for the other party")',
  }),
  my_parties: Type.Array(PartySchema, { description: 'my own parties in this change' }),
  refused_by: Nullable(PersonRef),
  refusal_reason: Nullable(
    Type.String({ description: 'why Zona refused it at the second approval (e.g. rights lost meanwhile)' }),
  ),
  created_at: Type.String({ format: 'date-time' }),
  expires_at: Type.String({ format: 'date-time' }),
  closed_at: Nullable(Type.String({ format: 'date-time' })),
})

const TokenBody = Type.Object(
  {
    token: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'my confirmation code from the e-mail (the link pre-fills it)',
    }),
  },
  { additionalProperties: false },
)

/** Per address: a handful of codes a minute is plenty for a person, and little for a guesser. */
const TOKEN_RATE = { rateLimit: { max: 30, timeWindow: '1 minute' } }

export const contactRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const zona = app.zona
  const csrf = app.csrfProtection
  // Decide on the engine as the database has it now (I6).
  app.addHook('preHandler', async () => {
    await zona.access.refresh()
  })
  /** CSRF for calls that carry a session cookie; a code alone carries no ambient authority. */
  function csrfWithSession(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) {
    if (request.cookies?.[SESSION_COOKIE]) return csrf.call(app, request, reply, done)
    done()
  }
  const sessionPerson = (request: FastifyRequest) =>
    request.principal?.kind === 'person' ? request.principal.personId : null

  app.get(
    '/customers/:customer/contacts',
    {
      onRequest: requirePerson,
      schema: {
        tags: ['contacts'],
        operationId: 'listCustomerContacts',
        summary:
          'Per service of the customer I may see (tree order), its administrative, technical and billing contact; mine=true: only where I am one',
        security: session,
        params: Type.Object({ customer: Id }),
        querystring: Type.Object(
          {
            mine: Type.Optional(Type.Boolean({ description: 'only services where I am a contact' })),
            ...Paging,
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(ServiceContacts), ...problems(400, 401, 404) },
      },
    },
    async (request) =>
      listCustomerContacts(zona, personOf(request), {
        customer: request.params.customer,
        ...request.query,
        limit: request.query.limit ?? 100,
      }),
  )

  app.get(
    '/services/:id/contacts',
    {
      onRequest: requirePerson,
      schema: {
        tags: ['contacts'],
        operationId: 'getServiceContacts',
        summary: "A service's administrative, technical and billing contact, and which of them I may change",
        security: session,
        params: Type.Object({ id: Id }),
        response: { 200: ServiceContacts, ...problems(401, 404) },
      },
    },
    async (request) => serviceContacts(zona, personOf(request), request.params.id),
  )

  app.post(
    '/services/:id/contact-changes',
    {
      onRequest: [requirePerson, csrf],
      config: { rateLimit: { max: 20, timeWindow: '1 minute' } },
      schema: {
        tags: ['contacts'],
        operationId: 'requestContactChange',
        summary:
          'Ask that a person become the administrative, technical or billing contact; both I and the new contact get a code to confirm',
        description:
          'The engine decides who may ask (403 with its explanation otherwise): the administrative contact and the owner may name anyone, themselves included ("reset"); a technical or billing contact only its successor. A billing change is refused (409, reason IN_ARREARS) while the old or the new billing contact has overdue payments; one change per contact waits at a time (409).',
        security: session,
        params: Type.Object({ id: Id }),
        body: Type.Object(
          {
            kind: Kind,
            new_contact: Type.String({
              minLength: 1,
              maxLength: 320,
              description: "the new contact's customer identifier (NIC handle, login)",
            }),
          },
          { additionalProperties: false },
        ),
        response: { 201: ContactChange, ...problems(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      const change = await requestContactChange(zona, commandActor(request), {
        service: request.params.id,
        kind: request.body.kind,
        newContact: request.body.new_contact,
      })
      return reply.status(201).send(change)
    },
  )

  app.get(
    '/contact-changes',
    {
      onRequest: requirePerson,
      schema: {
        tags: ['contacts'],
        operationId: 'listMyContactChanges',
        summary:
          "My requests: contact changes where I am the requester, the old or the new contact, newest first, with each party's status",
        security: session,
        querystring: Type.Object(
          {
            mine: Type.Optional(
              Type.Literal(true, { description: 'the changes I am part of (the only list offered)' }),
            ),
            state: Type.Optional(State),
            ...Paging,
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(ContactChange), ...problems(400, 401, 404) },
      },
    },
    async (request) =>
      listMyContactChanges(zona, personOf(request), {
        ...(request.query.state ? { state: request.query.state } : {}),
        ...(request.query.cursor ? { cursor: request.query.cursor } : {}),
        limit: request.query.limit ?? 100,
      }),
  )

  app.get(
    '/contact-changes/:id',
    {
      onRequest: requirePerson,
      schema: {
        tags: ['contacts'],
        operationId: 'getContactChange',
        summary: 'One contact change, with who has approved and whom it is waiting for',
        security: session,
        params: Type.Object({ id: Id }),
        response: { 200: ContactChange, ...problems(401, 404) },
      },
    },
    async (request) => getContactChange(zona, personOf(request), request.params.id),
  )

  for (const [verb, decide] of [
    ['approve', approveContactChangeWithToken],
    ['refuse', refuseContactChangeWithToken],
  ] as const) {
    app.post(
      `/contact-changes/:id/${verb}`,
      {
        onRequest: csrfWithSession,
        config: TOKEN_RATE,
        schema: {
          tags: ['contacts'],
          operationId: verb === 'approve' ? 'approveContactChange' : 'refuseContactChange',
          summary:
            verb === 'approve'
              ? 'Approve with my code: the first approval waits for the other party, the second applies the change'
              : 'Refuse with my code: the change ends and nothing changes hands',
          description:
            "Works with the code alone (the e-mail link) or with a session; with a session the code must be mine and x-csrf-token is required. An unknown, used, expired or other party's code is 400 TOKEN_INVALID; after too many wrong codes the change takes none (429) until it expires or the codes are sent again.",
          security: [{}, { session: [] }],
          params: Type.Object({ id: Id }),
          body: TokenBody,
          response: { 200: ContactChange, ...problems(400, 403, 404, 409, 429) },
        },
      },
      async (request) =>
        decide(zona, {
          id: request.params.id,
          token: request.body.token,
          sessionPerson: sessionPerson(request),
          actor: commandActor(request),
        }),
    )
  }

  app.post(
    '/contact-changes/:id/resend',
    {
      onRequest: [requirePerson, csrf],
      config: { rateLimit: { max: 10, timeWindow: '1 minute' } },
      schema: {
        tags: ['contacts'],
        operationId: 'resendContactChange',
        summary:
          'Send the codes again to the parties that have not approved yet; their old codes stop working',
        security: session,
        params: Type.Object({ id: Id }),
        response: { 200: ContactChange, ...problems(401, 403, 404, 409, 429) },
      },
    },
    async (request) => resendContactChange(zona, commandActor(request), request.params.id),
  )
}
