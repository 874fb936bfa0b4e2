/**
 * Test backends: every storage test is written once and runs against each of them.
 *
 * - PGlite in memory, always.
 * - PostgreSQL when ZONA_TEST_PG_URL is set (e.g. postgres://postgres@127.0.0.1:5432/test).
 *   Each `open()` creates a fresh database `zona_test_<random>` through an admin
 *   connection to the server's 'postgres' database, and `close()` drops it, so test files
 *   running in parallel never see each other's rows.
 *
 * @example
 * describeEachBackend('grants', (backend) => {
 *   let store: TestStore
 *   beforeAll(async () => { store = await backend.open() })
 *   afterAll(() => store.close())
 *   it('…', async () => { … })
 * })
 */
import { randomBytes } from 'node:crypto'
import type { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import { describe } from 'vitest'
import { type DialectName, openDatabase, type Store } from './db.ts'
import { migrateToLatest } from './migrate.ts'

export const TEST_PG_URL_VARIABLE = 'ZONA_TEST_PG_URL'

export interface TestStore extends Store {
  /**
   * Another Store on the same database, as a second server process would have: on
   * PostgreSQL a separate pool; on PGlite the same instance (it has one connection).
   * Close it before the first.
   */
  openSecond(): Promise<Store>
}

export interface TestBackend {
  name: DialectName
  /** A fresh, empty database, migrated unless `migrate: false`; `close()` removes it. */
  open(options?: { migrate?: boolean }): Promise<TestStore>
}

/** The backends this run can test: PGlite always, PostgreSQL when its URL is set. */
export function testBackends(env: NodeJS.ProcessEnv = process.env): TestBackend[] {
  const backends: TestBackend[] = [pgliteBackend()]
  const url = env[TEST_PG_URL_VARIABLE]
  if (url) backends.push(postgresBackend(url))
  return backends
}

/** `describe(title [backend])` once per backend. */
export function describeEachBackend(title: string, suite: (backend: TestBackend) => void): void {
  for (const backend of testBackends()) describe(`${title} [${backend.name}]`, () => suite(backend))
}

/**
 * A migrated PGlite data dir, made once per test process: starting from it takes about
 * half a second, where initdb and the migrations take two to three.
 */
let migratedSnapshot: Promise<Blob> | undefined

async function snapshot(): Promise<Blob> {
  migratedSnapshot ??= (async () => {
    const store = await openDatabase({ dataDir: 'memory://' })
    try {
      await migrateOrThrow(store, true)
      return await (store.pglite as PGlite).dumpDataDir('none')
    } finally {
      await store.close()
    }
  })()
  return migratedSnapshot
}

function pgliteBackend(): TestBackend {
  return {
    name: 'pglite',
    async open(options = {}) {
      const migrate = options.migrate ?? true
      const store = await openDatabase({
        dataDir: 'memory://',
        ...(migrate ? { snapshot: await snapshot() } : {}),
      })
      // Nothing is pending on the snapshot, so this only checks; it keeps one path for both.
      await migrateOrThrow(store, migrate)
      const pglite = store.pglite as PGlite
      return { ...store, openSecond: () => openDatabase({ pglite }) }
    },
  }
}

function postgresBackend(url: string): TestBackend {
  return {
    name: 'postgres',
    async open(options = {}) {
      const name = `zona_test_${randomBytes(6).toString('hex')}`
      await admin(url, `create database ${name}`)
      const databaseUrl = withDatabase(url, name)
      let store: Store
      try {
        store = await openDatabase({ url: databaseUrl, maxConnections: 5 })
        await migrateOrThrow(store, options.migrate)
      } catch (error) {
        await admin(url, `drop database if exists ${name} with (force)`)
        throw error
      }
      return {
        ...store,
        openSecond: () => openDatabase({ url: databaseUrl, maxConnections: 5 }),
        async close() {
          await store.close()
          await admin(url, `drop database if exists ${name} with (force)`)
        },
      }
    },
  }
}

async function migrateOrThrow(store: Store, migrate = true): Promise<void> {
  if (!migrate) return
  const report = await migrateToLatest(store.db)
  if (!report.ok) {
    await store.close()
    throw report.error
  }
}

/** Runs one statement on the server's maintenance database ('postgres'). */
async function admin(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: withDatabase(url, 'postgres') })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}
