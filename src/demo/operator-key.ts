/**
 * The demo's operator API key, so the printed output lets a person sign in to the back office
 * (/operator), which takes an operator key rather than a staff login. A new key on every start;
 * the one of the previous start is revoked, so a kept demo database does not collect live keys.
 */

import type { Zona } from '../commands/context.ts'
import { createApiKey, revokeApiKey } from '../commands/operator/api-keys.ts'

export const DEMO_KEY_NAME = 'demo-back-office'

export async function demoOperatorKey(zona: Zona): Promise<string> {
  const actor = { id: 'system' }
  const earlier = await zona.store.db
    .selectFrom('apiKeys')
    .select('id')
    .where('name', '=', DEMO_KEY_NAME)
    .where('revokedAt', 'is', null)
    .execute()
  for (const k of earlier) await revokeApiKey(zona, actor, k.id)
  const { key } = await createApiKey(zona, actor, { name: DEMO_KEY_NAME, scope: 'operator' })
  return key
}
