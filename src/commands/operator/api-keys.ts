/**
 * API keys for operator staff and for systems asking for decisions. A key is a random token
 * shown once at creation; only its sha256 is stored (auth/tokens.ts).
 */
import { newToken } from '../../auth/tokens.ts'
import { ZonaError } from '../../errors.ts'
import { bumpAccessVersion } from '../../store/changes.ts'
import { withTransaction } from '../../store/common.ts'
import { insertApiKey, revokeApiKey as revokeKeyRow } from '../../store/people.ts'
import type { ApiKey, ApiKeyScope } from '../../store/schema.ts'
import { type Actor, audit, write, type Zona } from '../context.ts'
import { decodeCursor, pageOf } from './cursor.ts'

/** The stored key without its hash: what lists and audit show. */
export function apiKeyView(k: ApiKey) {
  return {
    id: k.id,
    name: k.name,
    scope: k.scope,
    created_at: k.createdAt.toISOString(),
    last_used_at: k.lastUsedAt ? k.lastUsedAt.toISOString() : null,
    revoked_at: k.revokedAt ? k.revokedAt.toISOString() : null,
  }
}

/**
 * Creates a key; returns it with the token, which is never shown again.
 *
 * @example
 * const { key } = await createApiKey(zona, actor, { name: 'crm', scope: 'decision' })
 */
export async function createApiKey(
  zona: Zona,
  actor: Actor,
  input: { name: string; scope: ApiKeyScope },
): Promise<{ apiKey: ApiKey; key: string }> {
  const { token, hash } = newToken('zk_')
  const apiKey = await withTransaction(zona.store.db, async (trx) => {
    const row = await insertApiKey(trx, { keyHash: hash, name: input.name, scope: input.scope })
    await audit(trx, actor, { action: 'api_key.created', subject: row.id, after: apiKeyView(row) })
    return row
  })
  return { apiKey, key: token }
}

/** Keys by id, revoked ones included (with revoked_at) so staff can review them. */
export async function listApiKeys(
  zona: Zona,
  query: { cursor?: string | undefined; limit: number },
): Promise<{ items: ApiKey[]; next_cursor: string | null }> {
  let select = zona.store.db.selectFrom('apiKeys').selectAll()
  if (query.cursor) select = select.where('id', '>', String(decodeCursor(query.cursor, 1)[0]))
  const rows = await select
    .orderBy('id')
    .limit(query.limit + 1)
    .execute()
  return pageOf(rows, query.limit, (k) => [k.id])
}

/** Revokes a key: the next request with it is refused. Unknown or already revoked keys are NOT_FOUND. */
export async function revokeApiKey(zona: Zona, actor: Actor, id: string): Promise<ApiKey> {
  return write(zona, async (trx) => {
    const before = await trx.selectFrom('apiKeys').selectAll().where('id', '=', id).executeTakeFirst()
    const after = before && (await revokeKeyRow(trx, id, zona.clock()))
    if (!before || !after)
      throw new ZonaError('NOT_FOUND', `there is no active API key ${id}`, { field: 'params.id' })
    await audit(trx, actor, {
      action: 'api_key.revoked',
      subject: id,
      before: apiKeyView(before),
      after: apiKeyView(after),
    })
    // Verified keys are cached per access version (http/principal.ts): moving it makes every
    // instance forget this key before its next request. Nothing changes in the engine.
    await bumpAccessVersion(trx, { kind: 'api_key' })
    return { result: after, apply: () => {} }
  })
}
