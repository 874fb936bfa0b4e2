/**
 * The one place that picks the database.
 *
 * - `url` set → PostgreSQL through a `pg` pool (production, several server processes).
 * - `url` unset → embedded PGlite, persisted in `dataDir` (default './data'), or kept in
 *   memory with 'memory://' (tests, demos). One process at a time may open a data dir.
 *
 * Both return the same `Kysely<Database>` with camelCase names (see schema.ts) and the
 * same value types: bigint columns as numbers, `date` columns as 'YYYY-MM-DD' strings,
 * timestamps as Dates, jsonb as parsed values.
 */
import { mkdir } from 'node:fs/promises'
import { PGlite } from '@electric-sql/pglite'
import { CamelCasePlugin, Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { PGliteDialect } from './pglite-dialect.ts'
import type { Database } from './schema.ts'

export type DialectName = 'pglite' | 'postgres'

export interface OpenDatabaseOptions {
  /** A PostgreSQL connection string, e.g. postgres://zona@db.example:5432/zona. */
  url?: string
  /** PGlite's data directory when `url` is unset; 'memory://' keeps nothing on disk. */
  dataDir?: string
  /** PostgreSQL pool size. Default 10. */
  maxConnections?: number
  /** An already open PGlite to use instead of opening `dataDir`; it is not closed by `close()`. */
  pglite?: PGlite
  /**
   * PGlite only: start from a dump of a data dir (`pglite.dumpDataDir('none')`) instead of an
   * empty database, for a new or in-memory dataDir. Tests use it to skip initdb and migrations.
   */
  snapshot?: Blob
}

export interface Store {
  db: Kysely<Database>
  dialect: DialectName
  /** Where the data lives, safe to log (no password). */
  location: string
  close(): Promise<void>
  /** Set on PGlite: the instance, for LISTEN (see changes.ts). */
  readonly pglite?: PGlite
  /** Set on PostgreSQL: how to open a dedicated connection, for LISTEN (see changes.ts). */
  readonly pgConfig?: pg.ClientConfig
}

/**
 * Opens the database (without migrating it; see `migrateToLatest`).
 *
 * @example
 * const store = await openDatabase({ url: process.env.ZONA_DATABASE_URL })
 * await migrateToLatest(store.db)
 */
export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<Store> {
  if (options.url) return openPostgres(options.url, options.maxConnections ?? 10)
  return openPGlite(options)
}

const INT8 = 20
const INT8_ARRAY = 1016
const DATE = 1082

/** bigint → number while it is exact; beyond 2^53 a BigInt rather than a silently wrong number. */
function parseInt8(value: string): number | bigint {
  const n = Number(value)
  return Number.isSafeInteger(n) ? n : BigInt(value)
}

/** '{1,2,NULL}' → [1, 2, null]; one-dimensional, which is all the schema has. */
function parseInt8Array(value: string): (number | bigint | null)[] {
  const inner = value.slice(1, -1)
  if (inner === '') return []
  return inner.split(',').map((item) => (item === 'NULL' ? null : parseInt8(item)))
}

async function openPostgres(url: string, max: number): Promise<Store> {
  const types: pg.CustomTypesConfig = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
      if (oid === INT8) return parseInt8
      if (oid === INT8_ARRAY) return parseInt8Array
      if (oid === DATE) return (value: string) => value
      return pg.types.getTypeParser(oid, format)
    }) as pg.CustomTypesConfig['getTypeParser'],
  }
  const pgConfig: pg.ClientConfig = { connectionString: url, types }
  const pool = new pg.Pool({ ...pgConfig, max })
  // An idle client that dies (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => {})
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    plugins: [camelCase()],
  })
  return {
    db,
    dialect: 'postgres',
    location: redactUrl(url),
    pgConfig,
    close: () => db.destroy(),
  }
}

async function openPGlite(options: OpenDatabaseOptions): Promise<Store> {
  const dataDir = options.dataDir ?? './data'
  let pglite = options.pglite
  if (!pglite) {
    const inMemory = dataDir.startsWith('memory://')
    if (!inMemory) await mkdir(dataDir, { recursive: true })
    pglite = await PGlite.create({
      ...(inMemory ? {} : { dataDir }),
      ...(options.snapshot ? { loadDataDir: options.snapshot } : {}),
      parsers: { [INT8]: parseInt8, [DATE]: (value: string) => value },
    })
  }
  const db = new Kysely<Database>({
    dialect: new PGliteDialect({ pglite, closeOnDestroy: !options.pglite }),
    plugins: [camelCase()],
  })
  return {
    db,
    dialect: 'pglite',
    location: options.pglite ? 'pglite (shared instance)' : `pglite:${dataDir}`,
    pglite,
    close: () => db.destroy(),
  }
}

/** Inner keys of jsonb values are the application's, not column names: leave them alone. */
function camelCase(): CamelCasePlugin {
  return new CamelCasePlugin({ maintainNestedObjectKeys: true })
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return 'postgres (unparsable url)'
  }
}
