/**
 * The customer portal API (W7) and delegation (DOMAIN.md section 6, W3), for a signed-in person.
 * Every read and write is decided by the engine for that person: a node they cannot see is a 404
 * like a missing id, a node they see but may not act on a 403 with the engine's explanation.
 * Writes with a session cookie carry the CSRF token (x-csrf-token).
 */
import type { FastifyPluginAsyncTypebox, TSchema } from '@fastify/type-provider-typebox'
import { Type } from '@fastify/type-provider-typebox'
import { changeGrant, grantRole, revokeGrant } from '../../commands/portal/grants.ts'
import { ACCOUNT_ORDER_KINDS, placeOrder, SERVICE_ORDER_KINDS } from '../../commands/portal/orders.ts'
import {
  ACCOUNT_KINDS,
  listInvoices,
  listStatements,
  listUsage,
  SERVICE_KINDS,
} from '../../queries/billing.ts'
import { listManagedGrants, nodeAccess, personAccess } from '../../queries/grants.ts'
import { listOrders } from '../../queries/orders.ts'
import { listChildren, listRoots, searchTree, servicePage } from '../../queries/tree.ts'
import type { Grant, Order } from '../../store/schema.ts'
import { commandActor, personOf, requirePerson } from '../principal.ts'
import { Cursor, Id, Limit, problems } from '../schemas.ts'

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])
const Page = <T extends TSchema>(item: T, extra: Record<string, TSchema> = {}) =>
  Type.Object({ items: Type.Array(item), next_cursor: Nullable(Type.String()), ...extra })
const AnyObject = Type.Object({}, { additionalProperties: true })
const Paging = { cursor: Type.Optional(Cursor), limit: Type.Optional(Limit) }
const Day = Type.String({ format: 'date', description: 'YYYY-MM-DD' })
const Month = Type.String({ pattern: '^[0-9]{4}-(0[1-9]|1[0-2])$', description: 'YYYY-MM' })
const Verdict = {
  allowed: Type.Boolean(),
  code: Type.String({ description: 'ALLOWED, or why not: the engine decision code' }),
  reason: Type.String({ description: "the engine's explanation" }),
}
const session = [{ session: [] }]

const TreeItem = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  name: Type.String(),
  service_type: Nullable(Type.String()),
  status: Nullable(Type.String()),
  tariff: Nullable(Type.String()),
  has_children: Type.Boolean(),
  permissions: Type.Array(Type.String()),
})

const ServicePage = Type.Object({
  id: Type.String(),
  customer: Type.String(),
  account: Nullable(Type.String()),
  name: Type.String(),
  service_type: Nullable(Type.String()),
  status: Nullable(Type.String()),
  tariff: Nullable(Type.String()),
  add_ons: Nullable(Type.Array(Type.String())),
  contract_number: Nullable(Type.String()),
  attributes: Nullable(AnyObject),
  permissions: Type.Array(Type.String()),
  actions: Type.Array(Type.Object({ action: Type.String(), permission: Type.String(), ...Verdict })),
})

const Invoice = Type.Object({
  id: Type.String(),
  number: Type.String(),
  node: Type.String(),
  issued_on: Type.String(),
  due_on: Type.String(),
  amount_cents: Type.Number(),
  currency: Type.String(),
  payment: Nullable(
    Type.Object({
      status: Type.String({ description: 'paid, unpaid or overdue' }),
      paid_at: Nullable(Type.String()),
      reference: Nullable(Type.String()),
    }),
  ),
})

const Statement = Type.Object({
  id: Type.String(),
  node: Type.String(),
  period: Type.String(),
  lines: Type.Array(AnyObject),
})

const Usage = Type.Object({
  day: Nullable(Type.String()),
  metric: Type.String(),
  ip: Nullable(Type.String()),
  value: Type.Number(),
})

const OrderSchema = Type.Object({
  id: Type.String(),
  node: Type.String(),
  kind: Type.String(),
  payload: AnyObject,
  status: Type.String(),
  person: Nullable(Type.String()),
  on_behalf_of: Nullable(Type.String()),
  created_at: Type.String(),
  updated_at: Type.String(),
})

const PersonRef = Type.Object({
  id: Type.String(),
  login: Nullable(Type.String()),
  display_name: Nullable(Type.String()),
  status: Nullable(Type.String()),
})

const GrantItem = Type.Object({
  id: Type.String(),
  person: PersonRef,
  role: Type.String(),
  scope: Type.Object({ id: Type.String(), kind: Type.String(), name: Nullable(Type.String()) }),
  options: Type.Array(Type.String()),
  expires_at: Nullable(Type.String()),
  granted_by: Nullable(PersonRef),
  granted_at: Nullable(Type.String()),
  revoke: Type.Object(Verdict),
})

const GrantSchema = Type.Object({
  id: Type.String(),
  customer: Type.String(),
  person: Type.String(),
  role: Type.String(),
  scope: Type.String(),
  options: Type.Array(Type.String()),
  expires_at: Nullable(Type.String()),
  granted_by: Nullable(Type.String()),
  granted_at: Type.String(),
})

const Options = Type.Array(Type.String({ minLength: 1, maxLength: 60 }), {
  maxItems: 20,
  description: "the role's options to switch on, e.g. statements",
})
const Expiry = Nullable(Type.String({ format: 'date-time', description: 'null: never expires' }))

function orderOut(o: Order) {
  return {
    id: o.id,
    node: o.nodeId,
    kind: o.kind,
    payload: o.payload,
    status: o.status,
    person: o.personId,
    on_behalf_of: o.onBehalfOf,
    created_at: o.createdAt.toISOString(),
    updated_at: o.updatedAt.toISOString(),
  }
}

function grantOut(g: Grant) {
  return {
    id: g.id,
    customer: g.customerId,
    person: g.personId,
    role: g.role,
    scope: g.scopeNodeId,
    options: g.options,
    expires_at: g.expiresAt ? g.expiresAt.toISOString() : null,
    granted_by: g.grantedBy,
    granted_at: g.grantedAt.toISOString(),
  }
}

const expiry = (v: string | null | undefined) =>
  v === undefined ? undefined : v === null ? null : new Date(v)

export const portalRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', requirePerson)
  // Decide on the engine as the database has it now: a revoke elsewhere counts on the next request (I6).
  app.addHook('preHandler', async () => {
    await app.zona.access.refresh()
  })
  const csrf = app.csrfProtection

  // ---------------------------------------------------------------- the tree

  app.get(
    '/customers/:customer/roots',
    {
      schema: {
        tags: ['portal'],
        operationId: 'listRoots',
        summary: 'The top-most nodes of the customer I may see (the scopes of my grants)',
        security: session,
        params: Type.Object({ customer: Id }),
        querystring: Type.Object(Paging, { additionalProperties: false }),
        response: { 200: Page(TreeItem), ...problems(400, 401, 404) },
      },
    },
    async (request) =>
      listRoots(app.zona, personOf(request), {
        customer: request.params.customer,
        ...request.query,
        limit: request.query.limit ?? 100,
      }),
  )

  app.get(
    '/customers/:customer/tree',
    {
      schema: {
        tags: ['portal'],
        operationId: 'browseTree',
        summary:
          'The children of a node I may see (my roots without parent), or a search by name or id with q',
        security: session,
        params: Type.Object({ customer: Id }),
        querystring: Type.Object(
          {
            parent: Type.Optional(Id),
            q: Type.Optional(
              Type.String({ minLength: 1, maxLength: 100, description: 'part of a name or id' }),
            ),
            ...Paging,
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(TreeItem), ...problems(400, 401, 404) },
      },
    },
    async (request) => {
      const { q, ...rest } = request.query
      const input = { customer: request.params.customer, ...rest, limit: rest.limit ?? 100 }
      const person = personOf(request)
      return q === undefined
        ? listChildren(app.zona, person, input)
        : searchTree(app.zona, person, { ...input, q })
    },
  )

  app.get(
    '/services/:id',
    {
      schema: {
        tags: ['portal'],
        operationId: 'getService',
        summary: 'A service: tariff, add-ons, status, contract, and for each action whether I may and why',
        security: session,
        params: Type.Object({ id: Id }),
        response: { 200: ServicePage, ...problems(401, 404) },
      },
    },
    async (request) => servicePage(app.zona, personOf(request), request.params.id),
  )

  // ---------------------------------------------------------------- billing and usage

  for (const [on, kinds] of [
    ['accounts', ACCOUNT_KINDS],
    ['services', SERVICE_KINDS],
  ] as const) {
    const label = on === 'accounts' ? 'Account' : 'Service'
    app.get(
      `/${on}/:id/invoices`,
      {
        schema: {
          tags: ['portal'],
          operationId: `list${label}Invoices`,
          summary: `Invoices of ${on === 'accounts' ? 'an account (or the customer)' : 'a service'}, newest first; payment status with billing.payments.view`,
          security: session,
          params: Type.Object({ id: Id }),
          querystring: Type.Object(Paging, { additionalProperties: false }),
          response: {
            200: Page(Invoice, { payments_visible: Type.Boolean() }),
            ...problems(400, 401, 403, 404),
          },
        },
      },
      async (request) =>
        listInvoices(app.zona, personOf(request), {
          node: request.params.id,
          kinds,
          ...request.query,
          limit: request.query.limit ?? 100,
        }),
    )
    app.get(
      `/${on}/:id/statements`,
      {
        schema: {
          tags: ['portal'],
          operationId: `list${label}Statements`,
          summary: `Detailed statements (call records) of ${on === 'accounts' ? 'an account' : 'a service'}, newest period first`,
          security: session,
          params: Type.Object({ id: Id }),
          querystring: Type.Object(
            { from: Type.Optional(Month), to: Type.Optional(Month), ...Paging },
            { additionalProperties: false },
          ),
          response: { 200: Page(Statement), ...problems(400, 401, 403, 404) },
        },
      },
      async (request) =>
        listStatements(app.zona, personOf(request), {
          node: request.params.id,
          kinds,
          ...request.query,
          limit: request.query.limit ?? 12,
        }),
    )
  }

  app.get(
    '/services/:id/usage',
    {
      schema: {
        tags: ['portal'],
        operationId: 'getServiceUsage',
        summary: 'Usage statistics of a service by day, or totals per IP (server housing traffic) with by=ip',
        security: session,
        params: Type.Object({ id: Id }),
        querystring: Type.Object(
          {
            from: Type.Optional(Day),
            to: Type.Optional(Day),
            metric: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            by: Type.Optional(Type.Enum(['day', 'ip'])),
            ...Paging,
          },
          { additionalProperties: false },
        ),
        response: {
          200: Page(Usage, { from: Type.String(), to: Type.String(), by: Type.String() }),
          ...problems(400, 401, 403, 404),
        },
      },
    },
    async (request) =>
      listUsage(app.zona, personOf(request), {
        node: request.params.id,
        ...request.query,
        by: request.query.by ?? 'day',
        limit: request.query.limit ?? 100,
      }),
  )

  // ---------------------------------------------------------------- orders

  for (const [on, kinds] of [
    ['services', SERVICE_ORDER_KINDS],
    ['accounts', ACCOUNT_ORDER_KINDS],
  ] as const) {
    const names = Object.keys(kinds)
    app.post(
      `/${on}/:id/orders`,
      {
        onRequest: csrf,
        schema: {
          tags: ['portal'],
          operationId: on === 'services' ? 'placeServiceOrder' : 'placeAccountOrder',
          summary:
            on === 'services'
              ? 'Order a change of a service (recorded as a request for the operator): each kind needs its permission'
              : 'Order a new service under an account (service.order)',
          description: Object.entries(kinds)
            .map(([k, v]) => `${k}: ${v.permission}`)
            .join('; '),
          security: session,
          params: Type.Object({ id: Id }),
          body: Type.Object(
            {
              kind: Type.Enum(names as [string, ...string[]]),
              payload: Type.Optional(AnyObject),
            },
            { additionalProperties: false },
          ),
          response: { 201: OrderSchema, ...problems(400, 401, 403, 404, 409) },
        },
      },
      async (request, reply) => {
        const order = await placeOrder(app.zona, commandActor(request), {
          on: on === 'services' ? 'service' : 'account',
          node: request.params.id,
          kind: request.body.kind as string,
          payload: request.body.payload,
        })
        return reply.status(201).send(orderOut(order))
      },
    )
  }

  app.get(
    '/customers/:customer/orders',
    {
      schema: {
        tags: ['portal'],
        operationId: 'listOrders',
        summary: "My orders, or everyone's with users.manage on the customer",
        security: session,
        params: Type.Object({ customer: Id }),
        querystring: Type.Object(
          {
            mine: Type.Optional(Type.Boolean({ description: 'only mine, even when I may see all' })),
            status: Type.Optional(Type.Enum(['pending', 'sent', 'completed', 'failed', 'cancelled'])),
            ...Paging,
          },
          { additionalProperties: false },
        ),
        response: {
          200: Page(OrderSchema, { showing: Type.String({ description: 'all or mine' }) }),
          ...problems(400, 401, 404),
        },
      },
    },
    async (request) => {
      const { status, ...rest } = request.query
      return listOrders(app.zona, personOf(request), {
        customer: request.params.customer,
        ...rest,
        ...(status ? { status: status as 'pending' } : {}),
        limit: rest.limit ?? 100,
      })
    },
  )

  // ---------------------------------------------------------------- grants (delegation)

  app.get(
    '/customers/:customer/grants',
    {
      schema: {
        tags: ['grants'],
        operationId: 'listCustomerGrants',
        summary: 'The grants of the customer I manage (users.manage on their scope), with who granted them',
        security: session,
        params: Type.Object({ customer: Id }),
        querystring: Type.Object({ person: Type.Optional(Id), ...Paging }, { additionalProperties: false }),
        response: { 200: Page(GrantItem), ...problems(400, 401, 404) },
      },
    },
    async (request) =>
      listManagedGrants(app.zona, personOf(request), {
        customer: request.params.customer,
        ...request.query,
        limit: request.query.limit ?? 100,
      }),
  )

  app.post(
    '/grants',
    {
      onRequest: csrf,
      schema: {
        tags: ['grants'],
        operationId: 'grantRole',
        summary: 'Give an existing person a role on a node; the engine applies the delegation rules',
        security: session,
        body: Type.Object(
          {
            person: Id,
            role: Type.String({ minLength: 1, maxLength: 100 }),
            scope: Id,
            options: Type.Optional(Options),
            expires_at: Type.Optional(Expiry),
          },
          { additionalProperties: false },
        ),
        response: { 201: GrantSchema, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const b = request.body
      const grant = await grantRole(app.zona, commandActor(request), {
        person: b.person,
        role: b.role,
        scope: b.scope,
        ...(b.options ? { options: b.options } : {}),
        expiresAt: expiry(b.expires_at) ?? null,
      })
      return reply.status(201).send(grantOut(grant))
    },
  )

  app.patch(
    '/grants/:id',
    {
      onRequest: csrf,
      schema: {
        tags: ['grants'],
        operationId: 'changeGrant',
        summary: 'Widen, reduce, move or re-date a grant (e.g. Admin Light to User on a line)',
        security: session,
        params: Type.Object({ id: Id }),
        body: Type.Object(
          {
            role: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            scope: Type.Optional(Id),
            options: Type.Optional(Options),
            expires_at: Type.Optional(Expiry),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: GrantSchema, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const b = request.body
      const grant = await changeGrant(app.zona, commandActor(request), request.params.id, {
        ...(b.role !== undefined ? { role: b.role } : {}),
        ...(b.scope !== undefined ? { scope: b.scope } : {}),
        ...(b.options !== undefined ? { options: b.options } : {}),
        ...(b.expires_at !== undefined ? { expiresAt: expiry(b.expires_at) ?? null } : {}),
      })
      return grantOut(grant)
    },
  )

  app.delete(
    '/grants/:id',
    {
      onRequest: csrf,
      schema: {
        tags: ['grants'],
        operationId: 'revokeGrant',
        summary: "Revoke a grant; it stops working at the person's next request",
        security: session,
        params: Type.Object({ id: Id }),
        response: { 204: Type.Null(), ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await revokeGrant(app.zona, commandActor(request), request.params.id)
      return reply.status(204).send(null)
    },
  )

  app.get(
    '/people/:id/access',
    {
      schema: {
        tags: ['grants'],
        operationId: 'reviewPersonAccess',
        summary: "A person's grants in a customer and, for a node, everything they can do there and why",
        security: session,
        params: Type.Object({ id: Id }),
        querystring: Type.Object({ customer: Id, node: Type.Optional(Id) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            person: PersonRef,
            customer: Type.String(),
            grants: Type.Array(GrantItem),
            node: Nullable(
              Type.Object({
                id: Type.String(),
                permissions: Type.Array(
                  Type.Object({ permission: Type.String(), ...Verdict, grant: Nullable(Type.String()) }),
                ),
              }),
            ),
          }),
          ...problems(400, 401, 403, 404),
        },
      },
    },
    async (request) =>
      personAccess(app.zona, personOf(request), {
        person: request.params.id,
        customer: request.query.customer,
        ...(request.query.node !== undefined ? { node: request.query.node } : {}),
      }),
  )

  app.get(
    '/nodes/:id/access',
    {
      schema: {
        tags: ['grants'],
        operationId: 'reviewNodeAccess',
        summary: 'Everyone whose grants cover the node, and what each gives there (users.manage on it)',
        security: session,
        params: Type.Object({ id: Id }),
        querystring: Type.Object(Paging, { additionalProperties: false }),
        response: {
          200: Page(
            Type.Object({ grant: GrantItem, permissions: Type.Array(Type.String()), active: Type.Boolean() }),
          ),
          ...problems(400, 401, 403, 404),
        },
      },
    },
    async (request) =>
      nodeAccess(app.zona, personOf(request), {
        node: request.params.id,
        ...request.query,
        limit: request.query.limit ?? 100,
      }),
  )
}
