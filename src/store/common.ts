/**
 * What every repository function shares: the executor type, transactions, JSON values.
 */
import { type Kysely, type RawBuilder, sql, type Transaction } from 'kysely'
import type { Database } from './schema.ts'

/** The database or an open transaction: every repository function takes either. */
export type Executor = Kysely<Database>

/**
 * Runs `fn` in a transaction: commits when it returns, rolls back when it throws (nothing
 * half-written, invariant I7). Called with a transaction already open, it joins it, so
 * commands compose.
 *
 * @example
 * await withTransaction(store.db, async (trx) => {
 *   await insertGrant(trx, grant)
 *   await insertAuditEvent(trx, { actor, action: 'grant.added', after: grant })
 * })
 */
export async function withTransaction<T>(
  db: Executor,
  fn: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  if (db.isTransaction) return fn(db as Transaction<Database>)
  return db.transaction().execute(fn)
}

/**
 * A value for a jsonb column. Sent as text and cast, because node-postgres would send a
 * JS array as a PostgreSQL array and PGlite would type the parameter from the column.
 */
export function json<T>(value: T): RawBuilder<T> {
  return sql<T>`cast(cast(${JSON.stringify(value ?? null)} as text) as jsonb)`
}

/** Splits rows for multi-row inserts; PostgreSQL allows 65 535 parameters a statement. */
export function* chunks<T>(rows: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size)
}
