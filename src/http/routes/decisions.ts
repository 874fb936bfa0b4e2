/**
 * The decision API (W8) for the operator's other systems: "may P do X on N?" and "on which
 * nodes of type T may P do X?", with the engine's explanation. Needs a decision or operator key.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@fastify/type-provider-typebox'
import type { AccessEngine } from '../../domain/engine.ts'
import { EngineError } from '../../domain/engine.ts'
import { ZonaError } from '../../errors.ts'
import { requireDecisionClient } from '../principal.ts'
import { Cursor, Id, Limit, problems } from '../schemas.ts'

const Question = Type.Object(
  {
    person: Id,
    permission: Type.String({
      minLength: 3,
      maxLength: 100,
      description: 'a permission of the catalog, e.g. billing.invoices.view',
    }),
    node: Id,
  },
  { additionalProperties: false },
)

const Answer = Type.Object({
  allowed: Type.Boolean(),
  code: Type.String({
    description:
      'ALLOWED, or why not: NO_GRANTS, NOT_IN_SCOPE, NOT_IN_ROLE, OPTION_OFF, WRONG_SERVICE_TYPE, GRANT_EXPIRED, DEACTIVATED',
  }),
  explanation: Type.String({ description: 'which grant on which node allowed it, or why nothing did' }),
  grant: Type.Optional(
    Type.Object({
      id: Type.String(),
      role: Type.String(),
      scope: Type.String(),
      options: Type.Array(Type.String()),
    }),
  ),
})

function decide(
  engine: AccessEngine,
  q: { person: string; permission: string; node: string },
  field = 'body',
) {
  if (engine.catalog.bit(q.permission) === 0)
    throw new ZonaError(
      'VALIDATION_FAILED',
      `${q.permission} is not a permission of the ${engine.catalog.id} catalog`,
      {
        field: `${field}.permission`,
      },
    )
  if (!engine.tree.has(q.node))
    throw new ZonaError('NOT_FOUND', `there is no node ${q.node}`, { field: `${field}.node` })
  const x = engine.explain(q.person, q.permission, q.node)
  const answer: {
    allowed: boolean
    code: string
    explanation: string
    grant?: { id: string; role: string; scope: string; options: string[] }
  } = { allowed: x.allowed, code: x.code, explanation: x.reason }
  if (x.grant)
    answer.grant = { id: x.grant.id, role: x.grant.role, scope: x.grant.scope, options: x.grant.options }
  return answer
}

export const decisionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Resolving the API key brought the access model up to date (http/principal.ts).
  app.addHook('preHandler', requireDecisionClient)

  app.post(
    '/check',
    {
      schema: {
        tags: ['decisions'],
        operationId: 'check',
        summary: 'May this person do this on this node?',
        security: [{ apiKey: [] }],
        body: Question,
        response: { 200: Answer, ...problems(400, 401, 404) },
      },
    },
    async (request) => {
      const answer = decide(app.zona.access.engine, request.body)
      app.metrics.decisions.inc({ outcome: answer.allowed ? 'allow' : 'deny', source: 'api' })
      return answer
    },
  )

  app.post(
    '/check/batch',
    {
      schema: {
        tags: ['decisions'],
        operationId: 'checkBatch',
        summary: 'Many checks in one call, answered in order from one consistent state',
        security: [{ apiKey: [] }],
        body: Type.Object(
          { checks: Type.Array(Question, { minItems: 1, maxItems: 1000 }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ results: Type.Array(Answer) }), ...problems(400, 401, 404) },
      },
    },
    async (request) => {
      const engine = app.zona.access.engine
      const results = request.body.checks.map((q, i) => decide(engine, q, `body.checks[${i}]`))
      for (const r of results)
        app.metrics.decisions.inc({ outcome: r.allowed ? 'allow' : 'deny', source: 'api' })
      return { results }
    },
  )

  app.post(
    '/list',
    {
      schema: {
        tags: ['decisions'],
        operationId: 'list',
        summary:
          'The nodes of a type on which the person has the permission, in tree order, a page at a time',
        security: [{ apiKey: [] }],
        body: Type.Object(
          {
            person: Id,
            permission: Type.String({ minLength: 3, maxLength: 100 }),
            type: Type.Union([Type.Literal('customer'), Type.Literal('account'), Type.Literal('service')]),
            cursor: Type.Optional(Cursor),
            limit: Type.Optional(Limit),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            nodes: Type.Array(Type.String()),
            next_cursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...problems(400, 401),
        },
      },
    },
    async (request) => {
      const { person, permission, type, cursor, limit } = request.body
      const engine = app.zona.access.engine
      if (engine.catalog.bit(permission) === 0)
        throw new ZonaError(
          'VALIDATION_FAILED',
          `${permission} is not a permission of the ${engine.catalog.id} catalog`,
          {
            field: 'body.permission',
          },
        )
      try {
        const page = engine.list(person, permission, type, { after: cursor ?? null, limit: limit ?? 100 })
        return { nodes: page.nodes, next_cursor: page.next }
      } catch (e) {
        if (e instanceof EngineError && e.code === 'BAD_CURSOR')
          throw new ZonaError('VALIDATION_FAILED', e.message, { field: 'body.cursor' })
        throw e
      }
    },
  )
}
