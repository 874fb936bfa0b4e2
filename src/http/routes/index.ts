/** Feature route plugins and where they are mounted. Each feature owns one file. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { accountRequestRoutes } from './account-requests.ts'
import { authRoutes } from './auth.ts'
import { contactRoutes } from './contacts.ts'
import { invitationRoutes } from './invitations.ts'
import { operatorRoutes } from './operator.ts'
import { portalRoutes } from './portal.ts'
import { operatorPeopleRoutes, registrationRoutes } from './registrations.ts'

export const featureRoutes: [string, FastifyPluginAsyncTypebox][] = [
  ['/api/v1/auth', authRoutes],
  ['/api/v1/operator', operatorRoutes],
  ['/api/v1', portalRoutes],
  ['/api/v1', contactRoutes],
  ['/api/v1', invitationRoutes],
  ['/api/v1', registrationRoutes],
  ['/api/v1/operator', operatorPeopleRoutes],
  ['/api/v1', accountRequestRoutes],
]
