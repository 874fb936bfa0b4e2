/**
 * Schema migrations: Kysely's Migrator over the static list in migrations/index.ts.
 * Safe to run at every start and from several processes at once (PostgreSQL: an
 * advisory lock; each migration runs in its own transaction).
 */
import { type Kysely, type MigrationResult, Migrator } from 'kysely'
import { migrations } from './migrations/index.ts'
import type { Database } from './schema.ts'

export type MigrationReport =
  | { ok: true; applied: string[]; latest: string | undefined }
  | { ok: false; applied: string[]; failed: string | undefined; error: Error }

const MIGRATION_TABLE = 'zona_migration'
const MIGRATION_LOCK_TABLE = 'zona_migration_lock'

function migrator(db: Kysely<Database>): Migrator {
  return new Migrator({
    // Migrations write raw snake_case SQL; the camelCase plugin must not touch Kysely's own tables.
    db: db.withoutPlugins(),
    provider: { getMigrations: async () => migrations },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  })
}

/**
 * Brings the schema to the latest version. Never throws: the report says what was
 * applied, or which migration failed and why (nothing of a failed migration remains).
 *
 * @example
 * const report = await migrateToLatest(store.db)
 * if (!report.ok) throw report.error
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<MigrationReport> {
  const names = Object.keys(migrations)
  let results: readonly MigrationResult[] | undefined
  let error: unknown
  try {
    const resultSet = await migrator(db).migrateToLatest()
    results = resultSet.results
    error = resultSet.error
  } catch (thrown) {
    error = thrown
  }
  const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
  if (error === undefined) return { ok: true, applied, latest: names.at(-1) }
  const failed = results?.find((r) => r.status === 'Error')?.migrationName
  const cause = error instanceof Error ? error.message : String(error)
  return {
    ok: false,
    applied,
    failed,
    error: new Error(failed ? `migration ${failed} failed: ${cause}` : `migrations could not run: ${cause}`, {
      cause: error,
    }),
  }
}

/** Names of migrations not yet applied (for `zona migrate --dry-run` and health checks). */
export async function pendingMigrations(db: Kysely<Database>): Promise<string[]> {
  const infos = await migrator(db).getMigrations()
  return infos.filter((info) => info.executedAt === undefined).map((info) => info.name)
}
