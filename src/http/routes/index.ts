/** Feature route plugins and where they are mounted. Each feature owns one file. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

export const featureRoutes: [string, FastifyPluginAsyncTypebox][] = []
