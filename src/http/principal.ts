/**
 * Who is calling: a person with a session cookie, or a system with an API key. Resolved once per
 * request; routes declare what they need with the guards below.
 */
import type {} from '@fastify/cookie'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { hashToken } from '../auth/tokens.ts'
import type { Actor, Zona } from '../commands/context.ts'
import { ZonaError } from '../errors.ts'
import { findSession } from '../store/people.ts'

export const SESSION_COOKIE = 'zona_session'

export type Principal =
  | { kind: 'person'; personId: string; sessionHash: string; onBehalfOf: string | null }
  | { kind: 'operator'; keyId: string; name: string }
  | { kind: 'decision'; keyId: string; name: string }

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null
  }
}

/**
 * Verified API keys, valid for one access version: revoking a key bumps the version (every
 * instance reads it per request), so a revoked key is refused by the very next request while a
 * decision client no longer pays a database lookup for its key on every call.
 */
interface KeyCache {
  version: number
  keys: Map<string, { id: string; name: string; scope: 'operator' | 'decision' }>
}
const keyCaches = new WeakMap<Zona, KeyCache>()
/** Bounded: a flood of distinct valid keys cannot grow memory (there are few keys in practice). */
const MAX_CACHED_KEYS = 1000

async function apiKeyOf(zona: Zona, token: string) {
  await zona.access.refresh()
  const version = zona.access.version
  let cache = keyCaches.get(zona)
  if (cache?.version !== version) {
    cache = { version, keys: new Map() }
    keyCaches.set(zona, cache)
  }
  const hash = hashToken(token)
  const hit = cache.keys.get(hash)
  if (hit) return hit
  const key = await zona.store.db
    .selectFrom('apiKeys')
    .select(['id', 'name', 'scope'])
    .where('keyHash', '=', hash)
    .where('revokedAt', 'is', null)
    .executeTakeFirst()
  // Only keys valid at the version we read are remembered (a revoke in between bumps it).
  if (key && cache.keys.size < MAX_CACHED_KEYS && zona.access.version === version) cache.keys.set(hash, key)
  return key
}

export async function resolvePrincipal(zona: Zona, request: FastifyRequest): Promise<Principal | null> {
  const auth = request.headers.authorization
  if (auth?.startsWith('Bearer ')) {
    const key = await apiKeyOf(zona, auth.slice(7).trim())
    if (!key) throw new ZonaError('UNAUTHENTICATED', 'the API key is not valid or was revoked')
    return { kind: key.scope, keyId: key.id, name: key.name }
  }
  const token = request.cookies?.[SESSION_COOKIE]
  if (!token) return null
  const session = await findSession(zona.store.db, hashToken(token), zona.clock())
  if (session?.personStatus !== 'active') return null
  return {
    kind: 'person',
    personId: session.personId,
    sessionHash: session.idHash,
    onBehalfOf: session.onBehalfOf,
  }
}

type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

export const requirePerson: Guard = async (request) => {
  if (request.principal?.kind !== 'person')
    throw new ZonaError('UNAUTHENTICATED', 'sign in to use the portal')
}

export const requireOperator: Guard = async (request) => {
  if (request.principal?.kind !== 'operator')
    throw new ZonaError('UNAUTHENTICATED', 'this is the operator back office: send an operator API key')
}

export const requireDecisionClient: Guard = async (request) => {
  const k = request.principal?.kind
  if (k !== 'decision' && k !== 'operator')
    throw new ZonaError(
      'UNAUTHENTICATED',
      'the decision API needs an API key with scope decision or operator',
    )
}

export function personOf(request: FastifyRequest): string {
  const p = request.principal
  if (p?.kind !== 'person') throw new ZonaError('UNAUTHENTICATED', 'sign in to use the portal')
  return p.personId
}

/** The audit actor: a person id, or operator:<key name>. */
export function actorOf(request: FastifyRequest): string {
  const p = request.principal
  if (!p) return 'anonymous'
  return p.kind === 'person' ? p.personId : `${p.kind}:${p.name}`
}

/** The command actor of this request, for audit. */
export function commandActor(request: FastifyRequest): Actor {
  const p = request.principal
  return { id: actorOf(request), onBehalfOf: p?.kind === 'person' ? p.onBehalfOf : null, ip: request.ip }
}
