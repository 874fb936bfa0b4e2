/**
 * Zona for tests: a real app (no listening unless asked) on a fresh database of the given
 * backend, with helpers to create operator and decision keys. Used by route and e2e tests.
 */
import { newToken } from '../auth/tokens.ts'
import { type Config, readConfig } from '../config.ts'
import type { TestBackend, TestStore } from '../store/testing.ts'
import { type Running, startZona } from './start.ts'

export interface TestZona extends Running {
  store: TestStore
  config: Config
  /** A new API key of the scope; returns the bearer token. */
  apiKey(scope: 'operator' | 'decision', name?: string): Promise<string>
}

export async function startTestZona(
  backend: TestBackend,
  options: { preset?: string; listen?: boolean; env?: Record<string, string>; clock?: () => Date } = {},
): Promise<TestZona> {
  const store = await backend.open()
  const read = readConfig({
    ZONA_PRESET: options.preset ?? 'o2-cz',
    PORT: '0',
    ZONA_LOG_LEVEL: 'silent',
    ...options.env,
  })
  if (!read.ok) throw new Error(read.errors.join('\n'))
  const running = await startZona(read.config, {
    store,
    logger: false,
    listen: options.listen ?? false,
    ...(options.clock ? { clock: options.clock } : {}),
  })
  let keys = 0
  return {
    ...running,
    store,
    config: read.config,
    async apiKey(scope, name = `${scope}-${++keys}`) {
      const { token, hash } = newToken('zk_')
      await store.db.insertInto('apiKeys').values({ keyHash: hash, name, scope }).execute()
      return token
    },
    async close() {
      await running.close()
      await store.close()
    },
  }
}
