/**
 * The operator back office under /api/v1/operator: customers, their account/service tree and
 * its import, the primary admin / legal representative / account owner (W4), the people of a
 * customer, the audit log and its export, API keys. Every route needs an operator API key; the
 * audit actor is `operator:<key name>`.
 */
import { Readable } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Zona } from '../../commands/context.ts'
import { apiKeyView, createApiKey, listApiKeys, revokeApiKey } from '../../commands/operator/api-keys.ts'
import { auditEventView, exportAudit, listAudit } from '../../commands/operator/audit.ts'
import {
  createCustomer,
  getCustomer,
  listCustomers,
  requireCustomer,
} from '../../commands/operator/customers.ts'
import { addNodes, type ImportInput, ImportRejected, importTree } from '../../commands/operator/import.ts'
import { listCustomerPeople } from '../../commands/operator/people.ts'
import { appointPrimary, getPrimary, type PrimaryHolder } from '../../commands/operator/primary.ts'
import { listChildren } from '../../commands/operator/tree.ts'
import { ZonaError } from '../../errors.ts'
import { type ImportJob, ImportJobs } from '../../import/jobs.ts'
import type { RowProblem } from '../../import/read.ts'
import type { Customer, Grant, NodeRow, Person } from '../../store/schema.ts'
import { commandActor, requireOperator } from '../principal.ts'
import { classify, problemOf } from '../problem.ts'
import { Cursor, Id, Limit, problems } from '../schemas.ts'

/** Imports are large: up to 100 000 services and more, where the rest of the API stays at 1 MB. */
export const IMPORT_BODY_LIMIT = 50 * 1024 * 1024
/** Problems listed in an import's answer; the count says how many there were in all. */
const MAX_LISTED_PROBLEMS = 1000

// ------------------------------------------------------------------------------- schemas

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()])
const DateTime = Type.String({ format: 'date-time' })

const Page = <T extends Parameters<typeof Type.Array>[0]>(item: T) =>
  Type.Object({ items: Type.Array(item), next_cursor: Nullable(Type.String()) })

const CustomerView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  preset: Type.String({ description: 'the role catalog the customer runs on' }),
  created_at: DateTime,
})

const CustomerDetail = Type.Object({
  ...CustomerView.properties,
  counts: Type.Object({
    accounts: Type.Integer(),
    services: Type.Integer(),
    people: Type.Integer({ description: 'people holding at least one grant at the customer' }),
    grants: Type.Integer(),
  }),
})

const NodeView = Type.Object({
  id: Type.String(),
  customer_id: Type.String(),
  parent: Nullable(Type.String()),
  kind: Type.String({ enum: ['customer', 'account', 'service'] }),
  name: Type.String(),
  service_type: Nullable(Type.String()),
  status: Nullable(Type.String({ enum: ['active', 'blocked', 'cancelled'] })),
  tariff: Nullable(Type.String()),
  add_ons: Type.Array(Type.String()),
  contract_number: Nullable(Type.String()),
  contact_email: Nullable(Type.String()),
  created_at: DateTime,
  child_count: Type.Optional(Type.Integer()),
})

const RowProblemView = Type.Object({
  field: Type.String({ description: 'body.services[17].parent, csv line 18: parent' }),
  detail: Type.String(),
})

/** The problem of a refused import or node batch: the usual fields, plus every bad row. */
const ImportProblem = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  code: Type.String(),
  instance: Type.String(),
  request_id: Type.String(),
  field: Type.Optional(Type.String()),
  errors: Type.Optional(Type.Array(RowProblemView, { description: `at most ${MAX_LISTED_PROBLEMS}` })),
  error_count: Type.Optional(Type.Integer()),
  job_id: Type.Optional(Type.String()),
})

const ImportJobView = Type.Object({
  job_id: Type.String(),
  customer_id: Type.String(),
  state: Type.String({ enum: ['validating', 'writing', 'done', 'failed'] }),
  processed: Type.Integer({ description: 'nodes written so far' }),
  total: Type.Integer({ description: 'nodes to write, known once validated' }),
  accounts: Type.Integer(),
  services: Type.Integer(),
  errors: Type.Optional(Type.Array(RowProblemView)),
  error_count: Type.Optional(Type.Integer()),
  error_code: Type.Optional(Type.String()),
  started_at: DateTime,
  finished_at: Nullable(DateTime),
})

const Added = Type.Object({
  accounts: Type.Integer(),
  services: Type.Integer(),
  ids: Type.Array(Type.String(), { description: 'the new nodes, parents first' }),
})

const NodeInputDoc =
  '{id, parent, kind: account|service, name, service_type?, tariff?, add_ons?, status?, contract_number?, contact_email?}'

const ImportJson = Type.Object(
  {
    customer: Type.Optional(Type.String({ description: 'must be the customer of the path when given' })),
    name: Type.Optional(Type.String()),
    accounts: Type.Optional(
      Type.Array(Type.Unknown(), {
        description:
          'accounts {id, name, parent?, contract_number?, contact_email?}; nested form: with accounts (sub-accounts) and services (objects or ids)',
      }),
    ),
    services: Type.Optional(
      Type.Array(Type.Unknown(), {
        description:
          'services {id, parent, name, service_type, tariff, add_ons, status, contract_number, contact_email}',
      }),
    ),
    nodes: Type.Optional(Type.Array(Type.Unknown(), { description: `nodes ${NodeInputDoc}` })),
  },
  {
    additionalProperties: true,
    description: 'Rows are checked one by one after parsing, so that every bad row is reported at once.',
  },
)

const ImportCsv = Type.String({
  description:
    'A header row, then one node a row: kind,id,parent,name,service_type,tariff,status,contract_number,contact_email (add_ons optional, ;-separated)',
})

const PersonRef = Type.Object({
  id: Type.String(),
  login: Type.String(),
  email: Nullable(Type.String()),
  display_name: Type.String(),
  status: Type.String({ enum: ['active', 'deactivated'] }),
})

const HolderView = Type.Object({
  person: PersonRef,
  grant: Type.Object({ id: Type.String(), granted_by: Nullable(Type.String()), granted_at: DateTime }),
})

const RoleRef = Type.Object({ id: Type.String(), name: Type.Record(Type.String(), Type.String()) })

const GrantView = Type.Object({
  id: Type.String(),
  role: Type.String(),
  scope: Type.String(),
  options: Type.Array(Type.String()),
  limited: Type.Boolean(),
  granted_by: Nullable(Type.String({ description: 'a person id or operator:<key name>' })),
  granted_at: DateTime,
  expires_at: Nullable(DateTime),
})

const PersonView = Type.Object({
  ...PersonRef.properties,
  created_at: DateTime,
  last_login_at: Nullable(DateTime),
  grants: Type.Array(GrantView),
})

const AuditEventView = Type.Object({
  id: Type.Integer(),
  at: DateTime,
  actor: Type.String(),
  on_behalf_of: Nullable(Type.String()),
  action: Type.String(),
  customer_id: Nullable(Type.String()),
  node_id: Nullable(Type.String()),
  subject: Nullable(Type.String()),
  before: Type.Unknown(),
  after: Type.Unknown(),
  ip: Nullable(Type.String()),
})

const AuditFilter = {
  customer: Type.Optional(Id),
  actor: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
  action: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 100,
      description: "an exact action, or a prefix ending in '.' (primary. for both appointment events)",
    }),
  ),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'inclusive' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'exclusive' })),
}

const ApiKeyView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  scope: Type.String({ enum: ['operator', 'decision'] }),
  created_at: DateTime,
  last_used_at: Nullable(DateTime),
  revoked_at: Nullable(DateTime),
})

const CustomerParams = Type.Object({ id: Id })
const Search = Type.String({ minLength: 1, maxLength: 200 })

// ------------------------------------------------------------------------------- views

const iso = (d: Date | null) => (d ? d.toISOString() : null)

const customerView = (c: Customer) => ({
  id: c.id,
  name: c.name,
  preset: c.preset,
  created_at: c.createdAt.toISOString(),
})

const nodeView = (n: NodeRow & { childCount?: number }) => ({
  id: n.id,
  customer_id: n.customerId,
  parent: n.parentId,
  kind: n.kind,
  name: n.name,
  service_type: n.serviceType,
  status: n.status,
  tariff: n.tariff,
  add_ons: n.addOns,
  contract_number: n.contractNumber,
  contact_email: n.contactEmail,
  created_at: n.createdAt.toISOString(),
  ...(n.childCount !== undefined ? { child_count: n.childCount } : {}),
})

const personRef = (p: Person) => ({
  id: p.id,
  login: p.login,
  email: p.email,
  display_name: p.displayName,
  status: p.status,
})

const holderView = (h: PrimaryHolder) => ({
  person: personRef(h.person),
  grant: { id: h.grant.id, granted_by: h.grant.grantedBy, granted_at: h.grant.grantedAt.toISOString() },
})

const grantView = (g: Grant) => ({
  id: g.id,
  role: g.role,
  scope: g.scopeNodeId,
  options: g.options,
  limited: g.limited,
  granted_by: g.grantedBy,
  granted_at: g.grantedAt.toISOString(),
  expires_at: iso(g.expiresAt),
})

function jobView(job: ImportJob) {
  return {
    job_id: job.id,
    customer_id: job.customerId,
    state: job.state,
    processed: job.processed,
    total: job.total,
    accounts: job.accounts,
    services: job.services,
    ...(job.errors ? { errors: job.errors, error_count: job.errorCount } : {}),
    ...(job.errorCode ? { error_code: job.errorCode } : {}),
    started_at: job.startedAt.toISOString(),
    finished_at: iso(job.finishedAt),
  }
}

const listed = (rows: RowProblem[]) =>
  rows.slice(0, MAX_LISTED_PROBLEMS).map(({ field, detail }) => ({ field, detail }))

/** A refused import as problem+json: the usual fields, every bad row (capped), the job. */
function sendRowProblems(
  request: FastifyRequest,
  reply: FastifyReply,
  error: ZonaError,
  rows: RowProblem[],
  jobId?: string,
) {
  const problem = {
    ...problemOf(error, request),
    errors: listed(rows),
    error_count: rows.length,
    ...(jobId ? { job_id: jobId } : {}),
  }
  return reply.status(problem.status).type('application/problem+json').send(problem)
}

/** Operator keys only: no credentials is 401; a decision key or a person's session is 403. */
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

function toDate(value: string | undefined): Date | undefined {
  return value === undefined ? undefined : new Date(value)
}

// ------------------------------------------------------------------------------- routes

export const operatorRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const zona: Zona = app.zona
  const jobs = new ImportJobs(zona.clock)
  app.addHook('preHandler', operatorOnly)
  // CSV arrives as text; the import route parses it itself to report line numbers.
  app.addContentTypeParser(['text/csv', 'application/csv'], { parseAs: 'string' }, (_request, body, done) =>
    done(null, body),
  )

  const security = [{ apiKey: [] }]
  const tags = ['operator']

  app.post(
    '/customers',
    {
      schema: {
        tags,
        security,
        operationId: 'createCustomer',
        summary: 'Create a customer (the root of its account/service tree)',
        body: Type.Object(
          {
            id: Type.Optional(Id),
            name: Type.String({ minLength: 1, maxLength: 300 }),
          },
          { additionalProperties: false },
        ),
        response: { 201: CustomerView, ...problems(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const customer = await createCustomer(zona, commandActor(request), request.body)
      return reply.status(201).send(customerView(customer))
    },
  )

  app.get(
    '/customers',
    {
      schema: {
        tags,
        security,
        operationId: 'listCustomers',
        summary: 'Customers by id, a page at a time; q searches the name and the id',
        querystring: Type.Object(
          { q: Type.Optional(Search), cursor: Type.Optional(Cursor), limit: Type.Optional(Limit) },
          { additionalProperties: false },
        ),
        response: { 200: Page(CustomerView), ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const page = await listCustomers(zona, { ...request.query, limit: request.query.limit ?? 100 })
      return { items: page.items.map(customerView), next_cursor: page.next_cursor }
    },
  )

  app.get(
    '/customers/:id',
    {
      schema: {
        tags,
        security,
        operationId: 'getCustomer',
        summary: 'A customer with the counts of its accounts, services, people and grants',
        params: CustomerParams,
        response: { 200: CustomerDetail, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const customer = await getCustomer(zona, request.params.id)
      return { ...customerView(customer), counts: customer.counts }
    },
  )

  app.post(
    '/customers/:id/nodes',
    {
      schema: {
        tags,
        security,
        operationId: 'addNodes',
        summary: 'Add accounts and services; all or nothing, every bad node reported',
        params: CustomerParams,
        body: Type.Object(
          { nodes: Type.Array(Type.Unknown(), { minItems: 1, maxItems: 5000, description: NodeInputDoc }) },
          { additionalProperties: false },
        ),
        response: { 201: Added, 400: ImportProblem, ...problems(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      try {
        const added = await addNodes(zona, commandActor(request), request.params.id, request.body.nodes)
        return reply.status(201).send({ accounts: added.accounts, services: added.services, ids: added.ids })
      } catch (e) {
        if (e instanceof ImportRejected) return sendRowProblems(request, reply, e, e.problems)
        throw e
      }
    },
  )

  app.get(
    '/customers/:id/tree',
    {
      schema: {
        tags,
        security,
        operationId: 'listTreeChildren',
        summary: 'The children of a node (the customer when parent is omitted), a page at a time',
        params: CustomerParams,
        querystring: Type.Object(
          { parent: Type.Optional(Id), cursor: Type.Optional(Cursor), limit: Type.Optional(Limit) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            parent: NodeView,
            items: Type.Array(NodeView),
            next_cursor: Nullable(Type.String()),
          }),
          ...problems(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const page = await listChildren(zona, request.params.id, {
        ...request.query,
        limit: request.query.limit ?? 100,
      })
      return { parent: nodeView(page.parent), items: page.items.map(nodeView), next_cursor: page.next_cursor }
    },
  )

  app.post(
    '/customers/:id/import',
    {
      bodyLimit: IMPORT_BODY_LIMIT,
      schema: {
        tags,
        security,
        operationId: 'importTree',
        summary: 'Import a whole account/service tree (JSON or CSV) as a job',
        description:
          'Validates every row first and writes nothing if any is bad; then writes in one transaction. Answers 202 with the job to poll at /imports/{job_id}; with wait=true, answers when the job is over.',
        params: CustomerParams,
        querystring: Type.Object(
          { wait: Type.Optional(Type.Boolean({ description: 'answer with the finished job' })) },
          { additionalProperties: false },
        ),
        body: {
          content: {
            'application/json': { schema: ImportJson },
            'text/csv': { schema: ImportCsv },
          },
        },
        response: {
          200: ImportJobView,
          202: Type.Object({ job_id: Type.String(), state: Type.String() }),
          400: ImportProblem,
          ...problems(401, 403, 404, 409, 413),
        },
      },
    },
    async (request, reply) => {
      const customerId = request.params.id
      const contentType = String(request.headers['content-type'] ?? '').toLowerCase()
      let input: ImportInput
      if (contentType.startsWith('application/json')) input = { format: 'json', body: request.body }
      else if (/^(text|application)\/csv/.test(contentType))
        input = { format: 'csv', text: String(request.body) }
      else
        throw new ZonaError('VALIDATION_FAILED', 'send the import as application/json or text/csv', {
          field: 'headers.content-type',
        })
      await requireCustomer(zona, customerId)
      const job = jobs.create(customerId)
      const run = importTree(zona, commandActor(request), customerId, input, (p) => jobs.update(job, p)).then(
        (result) =>
          jobs.update(job, {
            state: 'done',
            processed: result.ids.length,
            total: result.ids.length,
            accounts: result.accounts,
            services: result.services,
          }),
        (e: unknown) => {
          const error = classify(e as Error)
          if (error.code === 'INTERNAL') request.log.error({ err: e, job: job.id }, 'import failed')
          const rows =
            e instanceof ImportRejected
              ? e.problems
              : [{ field: error.details.field ?? 'body', detail: error.detail }]
          jobs.update(job, {
            state: 'failed',
            errors: listed(rows),
            errorCount: rows.length,
            errorCode: error.code,
          })
          return { error, rows }
        },
      )
      if (!request.query.wait) return reply.status(202).send({ job_id: job.id, state: job.state })
      const failure = await run
      if (failure) return sendRowProblems(request, reply, failure.error, failure.rows, job.id)
      return jobView(job)
    },
  )

  app.get(
    '/imports/:job_id',
    {
      schema: {
        tags,
        security,
        operationId: 'getImportJob',
        summary: 'The state and progress of an import job',
        params: Type.Object({ job_id: Type.String({ minLength: 1, maxLength: 100 }) }),
        response: { 200: ImportJobView, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const job = jobs.get(request.params.job_id)
      if (!job)
        throw new ZonaError('NOT_FOUND', `there is no import job ${request.params.job_id} on this server`, {
          field: 'params.job_id',
        })
      return jobView(job)
    },
  )

  app.post(
    '/customers/:id/primary',
    {
      schema: {
        tags,
        security,
        operationId: 'appointPrimary',
        summary:
          'Appoint or replace the holder of the operator-appointed role (primary admin, legal representative, account owner)',
        description:
          'Name a person by id, or by e-mail (created without a password when new). A current holder is replaced in the same transaction and keeps nothing from the role.',
        params: CustomerParams,
        body: Type.Object(
          {
            person: Type.Union([
              Type.Object({ id: Id }, { additionalProperties: false }),
              Type.Object(
                {
                  login: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
                  email: Type.String({ minLength: 3, maxLength: 254 }),
                  display_name: Type.String({ minLength: 1, maxLength: 300 }),
                  locale: Type.Optional(Type.String({ minLength: 2, maxLength: 10 })),
                },
                { additionalProperties: false },
              ),
            ]),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            outcome: Type.String({ enum: ['appointed', 'replaced', 'unchanged'] }),
            role: RoleRef,
            holder: HolderView,
            previous: Nullable(HolderView),
          }),
          ...problems(400, 401, 403, 404, 409),
        },
      },
    },
    async (request) => {
      const a = await appointPrimary(zona, commandActor(request), request.params.id, request.body.person)
      return {
        outcome: a.outcome,
        role: { id: a.holder.role.id, name: a.holder.role.name },
        holder: holderView(a.holder),
        previous: a.outcome === 'unchanged' || !a.previous ? null : holderView(a.previous),
      }
    },
  )

  app.get(
    '/customers/:id/primary',
    {
      schema: {
        tags,
        security,
        operationId: 'getPrimary',
        summary: 'The holder of the operator-appointed role, or null',
        params: CustomerParams,
        response: {
          200: Type.Object({ role: RoleRef, holder: Nullable(HolderView) }),
          ...problems(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const p = await getPrimary(zona, request.params.id)
      return { role: { id: p.role.id, name: p.role.name }, holder: p.holder && holderView(p.holder) }
    },
  )

  app.get(
    '/customers/:id/people',
    {
      schema: {
        tags,
        security,
        operationId: 'listCustomerPeople',
        summary: 'Everyone holding a grant at the customer, with their grants, status and last sign-in',
        params: CustomerParams,
        querystring: Type.Object(
          { q: Type.Optional(Search), cursor: Type.Optional(Cursor), limit: Type.Optional(Limit) },
          { additionalProperties: false },
        ),
        response: { 200: Page(PersonView), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const page = await listCustomerPeople(zona, request.params.id, {
        ...request.query,
        limit: request.query.limit ?? 100,
      })
      return {
        items: page.items.map((p) => ({
          ...personRef(p),
          created_at: p.createdAt.toISOString(),
          last_login_at: iso(p.lastLoginAt),
          grants: p.grants.map(grantView),
        })),
        next_cursor: page.next_cursor,
      }
    },
  )

  app.get(
    '/audit',
    {
      schema: {
        tags,
        security,
        operationId: 'listAuditEvents',
        summary: 'Audit events, newest first, filtered, a page at a time',
        querystring: Type.Object(
          { ...AuditFilter, cursor: Type.Optional(Cursor), limit: Type.Optional(Limit) },
          { additionalProperties: false },
        ),
        response: { 200: Page(AuditEventView), ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const q = request.query
      const page = await listAudit(zona, {
        ...q,
        from: toDate(q.from),
        to: toDate(q.to),
        limit: q.limit ?? 100,
      })
      return { items: page.items.map(auditEventView), next_cursor: page.next_cursor }
    },
  )

  app.get(
    '/audit/export',
    {
      schema: {
        tags,
        security,
        operationId: 'exportAuditEvents',
        summary:
          'Every matching audit event, newest first, streamed as CSV (with a header row) or JSON lines',
        querystring: Type.Object(
          {
            ...AuditFilter,
            format: Type.Optional(Type.String({ enum: ['csv', 'jsonl'], default: 'csv' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: {
            description: 'the events as a file (content-disposition: attachment)',
            content: {
              'text/csv': { schema: Type.String() },
              'application/x-ndjson': { schema: Type.String() },
            },
          },
          ...problems(400, 401, 403),
        },
      },
    },
    async (request, reply) => {
      const q = request.query
      const format = q.format === 'jsonl' ? 'jsonl' : 'csv'
      const stamp = zona.clock().toISOString().replaceAll(/[:.]/g, '-')
      const scope = q.customer ? `-${q.customer.replaceAll(/[^A-Za-z0-9_-]/g, '_')}` : ''
      const chunks = exportAudit(zona, { ...q, from: toDate(q.from), to: toDate(q.to) }, format)
      return (
        reply
          .header('content-disposition', `attachment; filename="zona-audit${scope}-${stamp}.${format}"`)
          .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
          // A stream is sent as it is; the string schema above only documents the body.
          .send(Readable.from(chunks) as unknown as string)
      )
    },
  )

  app.post(
    '/api-keys',
    {
      schema: {
        tags,
        security,
        operationId: 'createApiKey',
        summary: 'Create an API key; the key is shown in this answer only',
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\s\\u0000-\\u001f]+$' }),
            scope: Type.Union([Type.Literal('operator'), Type.Literal('decision')]),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            ...ApiKeyView.properties,
            key: Type.String({ description: 'the bearer token; store it now, it cannot be shown again' }),
          }),
          ...problems(400, 401, 403),
        },
      },
    },
    async (request, reply) => {
      const { apiKey, key } = await createApiKey(zona, commandActor(request), request.body)
      return reply.status(201).send({ ...apiKeyView(apiKey), key })
    },
  )

  app.get(
    '/api-keys',
    {
      schema: {
        tags,
        security,
        operationId: 'listApiKeys',
        summary: 'API keys (never their secrets), revoked ones included',
        querystring: Type.Object(
          { cursor: Type.Optional(Cursor), limit: Type.Optional(Limit) },
          { additionalProperties: false },
        ),
        response: { 200: Page(ApiKeyView), ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const page = await listApiKeys(zona, { ...request.query, limit: request.query.limit ?? 100 })
      return { items: page.items.map(apiKeyView), next_cursor: page.next_cursor }
    },
  )

  app.delete(
    '/api-keys/:id',
    {
      schema: {
        tags,
        security,
        operationId: 'revokeApiKey',
        summary: 'Revoke an API key: the next request with it is refused',
        params: Type.Object({ id: Id }),
        response: { 200: ApiKeyView, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => apiKeyView(await revokeApiKey(zona, commandActor(request), request.params.id)),
  )
}
