/**
 * Schema migrations: Kysely's Migrator over the static list in migrations/index.ts.
 * Safe to run at every start and from several processes at once (an advisory lock; the
 * pending migrations of a run apply in one transaction).
 */
import { type Kysely, type Migration, type MigrationResult, Migrator } from 'kysely'
import { migrations } from './migrations/index.ts'
import type { Database } from './schema.ts'

export type MigrationReport =
  | { ok: true; applied: string[]; latest: string | undefined }
  | { ok: false; applied: []; failed: string | undefined; error: Error }

const MIGRATION_TABLE = 'zona_migration'
const MIGRATION_LOCK_TABLE = 'zona_migration_lock'

export interface MigrateOptions {
  /** The migrations to apply; tests pass their own. Default: the schema's. */
  migrations?: Record<string, Migration>
}

function migrator(db: Kysely<Database>, list: Record<string, Migration>): Migrator {
  return new Migrator({
    // Migrations write raw snake_case SQL; the camelCase plugin must not touch Kysely's own tables.
    db: db.withoutPlugins(),
    provider: { getMigrations: async () => list },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  })
}

/**
 * Brings the schema to the latest version. Never throws: the report says what was
 * applied, or which migration failed and why. A run is one transaction on both backends
 * (transactional DDL), so after a failure nothing of that run remains: `applied` is empty.
 *
 * @example
 * const report = await migrateToLatest(store.db)
 * if (!report.ok) throw report.error
 */
export async function migrateToLatest(
  db: Kysely<Database>,
  options: MigrateOptions = {},
): Promise<MigrationReport> {
  const list = options.migrations ?? migrations
  const names = Object.keys(list)
  let results: readonly MigrationResult[] | undefined
  let error: unknown
  try {
    const resultSet = await migrator(db, list).migrateToLatest()
    results = resultSet.results
    error = resultSet.error
  } catch (thrown) {
    error = thrown
  }
  if (error === undefined) {
    const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
    return { ok: true, applied, latest: names.at(-1) }
  }
  const failed = results?.find((r) => r.status === 'Error')?.migrationName
  const cause = error instanceof Error ? error.message : String(error)
  return {
    ok: false,
    applied: [],
    failed,
    error: new Error(failed ? `migration ${failed} failed: ${cause}` : `migrations could not run: ${cause}`, {
      cause: error,
    }),
  }
}

/** Names of migrations not yet applied (for `zona migrate --dry-run` and health checks). */
export async function pendingMigrations(
  db: Kysely<Database>,
  options: MigrateOptions = {},
): Promise<string[]> {
  const infos = await migrator(db, options.migrations ?? migrations).getMigrations()
  return infos.filter((info) => info.executedAt === undefined).map((info) => info.name)
}
