/**
 * The web app's side of the server: a public description of the portal (preset, languages, the
 * role catalog in its languages) that the sign-in page needs before anyone is signed in, and the
 * built single-page app (dist/web, `npm run build:web`) with a fallback to index.html for the
 * app's own paths. /api and /dev stay the API's: an unknown path there is a problem+json 404.
 *
 * Static files are served only when dist/web/index.html exists, so the API runs without a build.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@fastify/type-provider-typebox'
import type { Localized } from '../../domain/catalog.ts'
import { ZonaError } from '../../errors.ts'
import { seeNode } from '../../queries/visibility.ts'
import { personOf, requirePerson } from '../principal.ts'
import { Id, problems } from '../schemas.ts'

/** Where `npm run build:web` writes the app. */
export const WEB_ROOT = fileURLToPath(new URL('../../../dist/web', import.meta.url))

/** The languages the web app speaks; role names fall back to English outside the catalog's own. */
export const UI_LANGUAGES = ['cs', 'sk', 'pt', 'it', 'en'] as const

const Texts = Type.Record(Type.String(), Type.String(), {
  description: 'language code → text; the catalog has its own language and English',
})

const PortalInfo = Type.Object({
  preset: Type.String(),
  name: Type.String({ description: "the portal's name in the catalog's language" }),
  names: Texts,
  operator: Type.String(),
  language: Type.String({ description: "the catalog's language: the app's default" }),
  languages: Type.Array(Type.String(), { description: 'languages the catalog has texts in' }),
  ui_languages: Type.Array(Type.String(), { description: 'languages the web app speaks' }),
  features: Type.Object({
    account_requests: Type.Boolean(),
    contact_changes: Type.Boolean(),
    login_format: Type.String(),
  }),
  roles: Type.Array(
    Type.Object({
      id: Type.String(),
      scope: Type.String({ description: 'the node kind the role is granted on' }),
      name: Texts,
      description: Type.Union([Texts, Type.Null()]),
      options: Type.Array(Type.Object({ id: Type.String(), name: Texts })),
      appointed_by_operator: Type.Boolean(),
      limit_per_customer: Type.Union([Type.Integer(), Type.Null()]),
    }),
  ),
})

const RoleOption = Type.Object({
  role: Type.String(),
  allowed: Type.Boolean(),
  code: Type.String({ description: 'ALLOWED, or the engine decision code' }),
  reason: Type.String({ description: "the engine's explanation" }),
})

/** Stands for someone not yet holding anything (an invitee) when the picker has no person. */
const NOBODY = '~invitee'

const texts = (l: Localized | undefined) => (l ? { ...l } : null)

export function webRoutes(options: { root?: string } = {}): FastifyPluginAsyncTypebox {
  const root = options.root ?? WEB_ROOT
  return async (app) => {
    const catalog = app.zona.catalog

    app.get(
      '/api/v1/portal-info',
      {
        schema: {
          tags: ['portal'],
          operationId: 'getPortalInfo',
          summary: "The portal's preset, languages and role catalog (public: the sign-in page needs it)",
          response: { 200: PortalInfo },
        },
      },
      async () => ({
        preset: catalog.id,
        name: catalog.name[catalog.language] ?? catalog.id,
        names: { ...catalog.name },
        operator: catalog.operator,
        language: catalog.language,
        languages: [...catalog.languages],
        ui_languages: [...UI_LANGUAGES],
        features: {
          account_requests: catalog.features.accountRequests,
          contact_changes: catalog.features.contactChanges,
          login_format: catalog.features.loginFormat,
        },
        roles: catalog.roles.map((r) => ({
          id: r.id,
          scope: r.scope,
          name: { ...r.name },
          description: texts(r.description),
          options: [...r.optionNames].map(([id, name]) => ({ id, name: { ...name } })),
          appointed_by_operator: r.appointedByOperator,
          limit_per_customer: r.limitPerCustomer ?? null,
        })),
      }),
    )

    app.get(
      '/api/v1/customers/:customer/role-options',
      {
        onRequest: requirePerson,
        preHandler: async () => {
          await app.zona.access.refresh()
        },
        schema: {
          tags: ['grants'],
          operationId: 'listRoleOptions',
          summary:
            "For a role picker: each role of the catalog, whether I may give it on the scope (or change the grant to it) and the engine's reason",
          security: [{ session: [] }],
          params: Type.Object({ customer: Id }),
          querystring: Type.Object(
            {
              scope: Id,
              person: Type.Optional(Id),
              grant: Type.Optional(Id),
            },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ items: Type.Array(RoleOption) }), ...problems(400, 401, 404) },
        },
      },
      async (request) => {
        const engine = app.zona.access.engine
        const me = personOf(request)
        const { scope, person, grant } = request.query
        const info = seeNode(engine, me, scope, ['customer', 'account', 'service'], 'query.scope')
        if (info.customer !== request.params.customer)
          throw new ZonaError('NOT_FOUND', 'there is no node with this id', { field: 'query.scope' })
        const changing = grant === undefined ? undefined : engine.grant(grant)
        if (grant !== undefined) {
          // The same 404 for a grant of another customer, one out of my sight, or none at all.
          const at = changing ? engine.tree.info(changing.scope) : undefined
          if (
            !changing ||
            at?.customer !== info.customer ||
            engine.permissionsOn(me, changing.scope).length === 0
          )
            throw new ZonaError('NOT_FOUND', 'there is no grant with this id', { field: 'query.grant' })
        }
        return {
          items: catalog.roles.map((r) => {
            const d = changing
              ? engine.canChange(me, changing.id, { role: r.id, scope, options: [] })
              : engine.canGrant(me, { person: person ?? NOBODY, role: r.id, scope, options: [] })
            return { role: r.id, allowed: d.allowed, code: d.code, reason: d.reason }
          }),
        }
      },
    )

    if (!existsSync(join(root, 'index.html'))) return

    await app.register(fastifyStatic, {
      root,
      prefix: '/',
      // Routes for the files present at start; everything else falls to the handler below.
      wildcard: false,
      setHeaders: (reply, path) => {
        // Vite names built assets by content hash: they never change under one name.
        if (path.includes(`${join(root, 'assets')}`))
          reply.header('cache-control', 'public, max-age=31536000, immutable')
        else reply.header('cache-control', 'no-cache')
      },
    })

    app.get('/*', { schema: { hide: true } }, async (request, reply) => {
      const path = request.url.split('?')[0] ?? '/'
      if (/^\/(api|dev)(\/|$)/.test(path) || /\.[a-z0-9]+$/i.test(path)) return reply.callNotFound()
      return reply.header('cache-control', 'no-cache').sendFile('index.html')
    })
  }
}
