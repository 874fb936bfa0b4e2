/**
 * The HTTP application: security plugins, the OpenAPI document, one error mapper, and one plugin
 * per feature under routes/. Built from a `Zona` context so tests can run it without listening.
 */
import cookie from '@fastify/cookie'
import csrf from '@fastify/csrf-protection'
import helmet from '@fastify/helmet'
import rateLimit from '@fastify/rate-limit'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Zona } from '../commands/context.ts'
import { createMetrics, type Metrics } from './metrics.ts'
import { resolvePrincipal } from './principal.ts'
import { sendProblem } from './problem.ts'
import { decisionRoutes } from './routes/decisions.ts'
import { healthRoutes } from './routes/health.ts'
import { ProblemSchema } from './schemas.ts'
import { refuseUnstorableText } from './storable-text.ts'

declare module 'fastify' {
  interface FastifyInstance {
    zona: Zona
    metrics: Metrics
  }
}

export interface AppOptions {
  /** Log requests (pino); tests turn it off. */
  logger?: boolean
  /** Extra route plugins, registered under /api/v1 (features add themselves in routes/index.ts). */
}

export async function buildApp(zona: Zona, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger === false ? false : { level: zona.config.ZONA_LOG_LEVEL },
    bodyLimit: 1024 * 1024,
    trustProxy: zona.config.production,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
    genReqId: () => crypto.randomUUID(),
    // Bad URLs and over-long path parameters are answered by the router: as problem+json too.
    frameworkErrors: (error, request, reply) => sendProblem(error, request, reply),
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.decorate('zona', zona)
  app.decorate('metrics', createMetrics())
  app.decorateRequest('principal', null)
  app.addSchema(ProblemSchema)

  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        // Only behind TLS: on plain http (demo, an internal address) it would break every asset.
        upgradeInsecureRequests: zona.config.publicUrl.startsWith('https:') ? [] : null,
      },
    },
    // HSTS only where Zona is reached over TLS; on plain http it would lock browsers out.
    hsts: zona.config.publicUrl.startsWith('https:') ? { maxAge: 31536000, includeSubDomains: true } : false,
  })
  await app.register(cookie)
  await app.register(csrf, {
    cookieKey: 'zona_csrf',
    cookieOpts: {
      httpOnly: true,
      sameSite: 'strict',
      path: '/',
      secure: zona.config.publicUrl.startsWith('https:'),
    },
    getToken: (request) => request.headers['x-csrf-token'] as string | undefined,
  })
  await app.register(rateLimit, { global: false })
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Zona API',
        version: '1',
        description:
          'Delegated access for business customers: the customer portal, the operator back office and the decision API. Errors are RFC 9457 problem+json naming the field at fault.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'An operator or decision API key' },
          session: { type: 'apiKey', in: 'cookie', name: 'zona_session' },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  })
  await app.register(swaggerUi, {
    routePrefix: '/api/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true },
  })

  app.addHook('onRequest', async (request) => {
    request.principal = await resolvePrincipal(zona, request)
  })
  app.addHook('preValidation', refuseUnstorableText)
  app.addHook('onResponse', async (request, reply) => {
    app.metrics.requests.observe(
      {
        route: request.routeOptions.url ?? 'unknown',
        method: request.method,
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    )
  })
  app.setErrorHandler((error, request, reply) => sendProblem(error as Error, request, reply))
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .type('application/problem+json')
      .send({
        type: 'https://zona.dev/errors/not-found',
        title: 'Not found',
        status: 404,
        detail: `no route ${request.method} ${request.url.split('?')[0]}`,
        code: 'NOT_FOUND',
        instance: request.url,
        request_id: String(request.id),
      }),
  )

  await app.register(healthRoutes)
  await app.register(decisionRoutes, { prefix: '/api/v1' })
  const { featureRoutes } = await import('./routes/index.ts')
  for (const [prefix, plugin] of featureRoutes) await app.register(plugin, { prefix })
  await app.register((await import('./routes/web.ts')).webRoutes()) // portal-info; the built app when dist/web exists

  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  return app
}
