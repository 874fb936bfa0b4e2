import { type Kysely, sql } from 'kysely'

/**
 * Runs DDL statements one by one. PGlite's query() takes one statement at a time (the
 * extended protocol), so a migration is a list rather than one script.
 */
export async function runStatements(db: Kysely<unknown>, statements: readonly string[]): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db)
}
