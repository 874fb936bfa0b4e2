/** Liveness, readiness and metrics: for the operator's load balancer and Prometheus. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@fastify/type-provider-typebox'
import { sql } from 'kysely'
import { pendingMigrations } from '../../store/migrate.ts'

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['health'],
        operationId: 'health',
        summary: 'The process is up',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        operationId: 'ready',
        summary: 'The database answers and is migrated; the access model is loaded',
        response: {
          200: Type.Object({
            status: Type.Literal('ready'),
            database: Type.String(),
            access_version: Type.Number(),
          }),
          503: Type.Ref('Problem'),
        },
      },
    },
    async (request, reply) => {
      const zona = app.zona
      try {
        await sql`select 1`.execute(zona.store.db)
        const pending = await pendingMigrations(zona.store.db)
        if (pending.length > 0) throw new Error(`pending migrations: ${pending.join(', ')}`)
      } catch (e) {
        request.log.warn({ err: e }, 'not ready')
        return reply
          .status(503)
          .type('application/problem+json')
          .send({
            type: 'https://zona.dev/errors/not-ready',
            title: 'Not ready',
            status: 503,
            detail: (e as Error).message,
            code: 'NOT_READY',
            instance: request.url,
            request_id: String(request.id),
          })
      }
      return { status: 'ready' as const, database: zona.store.dialect, access_version: zona.access.version }
    },
  )

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(app.metrics.registry.contentType)
    return app.metrics.registry.metrics()
  })
}
