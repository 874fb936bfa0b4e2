/**
 * A fingerprint of the whole database: per table, the row count and an md5 of its rows in a
 * stable order, taken in one statement. Two fingerprints are compared to show that a refused
 * request wrote nothing (DOMAIN.md I7: nothing is half-written).
 *
 * A few things a refused request legitimately writes are left out, each for a stated reason
 * (IGNORED_COLUMNS, IGNORED_AUDIT_ACTIONS); everything else counts.
 */
import { type Kysely, sql } from 'kysely'
import type { Database } from '../../../src/store/schema.ts'

/**
 * Columns that change on refused requests by design: counting wrong codes is what makes guessing
 * them useless (I4), so a wrong contact-change code bumps `attempts` on that change's tokens.
 */
export const IGNORED_COLUMNS: Record<string, readonly string[]> = {
  one_time_tokens: ['attempts'],
}

/** A failed sign-in is refused and audited: that audit row is the point (brute-force evidence). */
export const IGNORED_AUDIT_ACTIONS: readonly string[] = ['login.failed']

export type Fingerprint = Map<string, { rows: number; hash: string }>

const tablesOf = new WeakMap<object, Promise<string[]>>()

async function listTables(db: Kysely<Database>): Promise<string[]> {
  let t = tablesOf.get(db)
  if (!t) {
    t = sql<{ name: string }>`select table_name as name from information_schema.tables
      where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`
      .execute(db)
      .then((r) => r.rows.map((x) => x.name))
    tablesOf.set(db, t)
  }
  return t
}

/** Row counts and row hashes of every table of the current schema. */
export async function fingerprint(db: Kysely<Database>): Promise<Fingerprint> {
  const names = await listTables(db)
  const parts = names.map((name) => {
    const ignored = IGNORED_COLUMNS[name] ?? []
    const row = ignored.length
      ? sql`(to_jsonb(x) - ${sql.raw(`array[${ignored.map((c) => `'${c}'`).join(',')}]`)}::text[])::text`
      : sql`to_jsonb(x)::text`
    const where =
      name === 'audit_events'
        ? sql.raw(`where x.action not in (${IGNORED_AUDIT_ACTIONS.map((a) => `'${a}'`).join(',')})`)
        : sql.raw('')
    return sql`select ${name}::text as name, count(*)::int as rows,
      md5(coalesce(string_agg(${row}, E'\n' order by ${row}), '')) as hash
      from ${sql.table(name)} x ${where}`
  })
  const r = await sql<{
    name: string
    rows: number
    hash: string
  }>`${sql.join(parts, sql` union all `)}`.execute(db)
  return new Map(r.rows.map((x) => [x.name, { rows: Number(x.rows), hash: x.hash }]))
}

/** The tables whose rows differ, as 'table: 3 → 4 rows' or 'table: rows changed'. */
export function differences(before: Fingerprint, after: Fingerprint): string[] {
  const out: string[] = []
  for (const [name, b] of before) {
    const a = after.get(name)
    if (!a) out.push(`${name}: gone`)
    else if (a.rows !== b.rows) out.push(`${name}: ${b.rows} → ${a.rows} rows`)
    else if (a.hash !== b.hash) out.push(`${name}: rows changed`)
  }
  for (const name of after.keys()) if (!before.has(name)) out.push(`${name}: new table`)
  return out
}
