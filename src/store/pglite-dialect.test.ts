/**
 * The PGlite dialect's own promises: one connection shared fairly, transactions that
 * nothing else slips into, savepoints, streaming, and a clear error instead of a hang.
 */
import { PGlite } from '@electric-sql/pglite'
import { Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PGliteDialect } from './pglite-dialect.ts'

interface TestDb {
  item: { id: number; label: string }
}

describe('PGlite dialect', () => {
  let pglite: PGlite
  let db: Kysely<TestDb>

  beforeAll(async () => {
    pglite = await PGlite.create()
    db = new Kysely<TestDb>({ dialect: new PGliteDialect({ pglite, acquireTimeoutMs: 1000 }) })
    await sql`create table item (id integer primary key, label text not null)`.execute(db)
  })
  afterAll(async () => {
    await db.destroy()
    expect(pglite.closed).toBe(true)
  })

  it('makes queries outside a transaction wait for it, so they never see it half-done', async () => {
    const events: string[] = []
    let outside: Promise<unknown> | undefined
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('item').values({ id: 1, label: 'one' }).execute()
      outside = db
        .selectFrom('item')
        .selectAll()
        .execute()
        .then((rows) => events.push(`outside saw ${rows.length}`))
      await new Promise((resolve) => setTimeout(resolve, 50))
      await trx.insertInto('item').values({ id: 2, label: 'two' }).execute()
      events.push('transaction done')
    })
    await outside
    expect(events).toEqual(['transaction done', 'outside saw 2'])
  })

  it('rolls back after a failed statement and stays usable', async () => {
    const failing = db.transaction().execute(async (trx) => {
      await trx.insertInto('item').values({ id: 3, label: 'three' }).execute()
      await trx.insertInto('item').values({ id: 1, label: 'duplicate' }).execute()
    })
    await expect(failing).rejects.toThrow(/duplicate key/)
    const ids = await db.selectFrom('item').select('id').orderBy('id').execute()
    expect(ids.map((r) => r.id)).toEqual([1, 2])
  })

  it('runs many concurrent transactions one at a time', async () => {
    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        db.transaction().execute(async (trx) => {
          const { max } = await trx
            .selectFrom('item')
            .select((eb) => eb.fn.max('id').as('max'))
            .executeTakeFirstOrThrow()
          await trx
            .insertInto('item')
            .values({ id: Number(max) + 1, label: `concurrent ${i}` })
            .execute()
        }),
      ),
    )
    const { count } = await db
      .selectFrom('item')
      .select((eb) => eb.fn.countAll().as('count'))
      .executeTakeFirstOrThrow()
    expect(Number(count)).toBe(27)
  })

  it('supports savepoints', async () => {
    const trx = await db.startTransaction().execute()
    await trx.insertInto('item').values({ id: 100, label: 'kept' }).execute()
    const withSavepoint = await trx.savepoint('before_mistake').execute()
    await withSavepoint.insertInto('item').values({ id: 101, label: 'undone' }).execute()
    const back = await withSavepoint.rollbackToSavepoint('before_mistake').execute()
    await back.commit().execute()
    const labels = await db.selectFrom('item').select('label').where('id', '>=', 100).execute()
    expect(labels).toEqual([{ label: 'kept' }])
  })

  it('streams by fetching all rows and handing them out in chunks', async () => {
    const seen: number[] = []
    for await (const row of db.selectFrom('item').select('id').orderBy('id').stream(10)) seen.push(row.id)
    expect(seen).toHaveLength(28)
  })

  it('fails clearly instead of hanging when the outer db is used inside a transaction', async () => {
    const deadlock = db.transaction().execute(async () => {
      await db.selectFrom('item').selectAll().execute()
    })
    await expect(deadlock).rejects.toThrow(/query through the transaction object instead/)
    // The connection is free again afterwards.
    expect((await db.selectFrom('item').select('id').execute()).length).toBe(28)
  })

  it('applies transaction settings, and recovers when they are refused', async () => {
    const readOnly = db
      .transaction()
      .setAccessMode('read only')
      .execute((trx) => trx.insertInto('item').values({ id: 500, label: 'refused' }).execute())
    await expect(readOnly).rejects.toThrow(/read-only transaction/)
    const serializable = await db
      .transaction()
      .setIsolationLevel('serializable')
      .execute(
        async (trx) =>
          (
            await sql<{ level: string }>`select current_setting('transaction_isolation') as level`.execute(
              trx,
            )
          ).rows[0]?.level,
      )
    expect(serializable).toBe('serializable')
    // A setting PostgreSQL refuses must not leave the transaction (and the connection) taken.
    const refused = db
      .transaction()
      .setIsolationLevel('snapshot')
      .execute(async () => {})
    await expect(refused).rejects.toThrow()
    expect((await db.selectFrom('item').select('id').execute()).length).toBe(28)
  })

  it('keeps LISTEN out of open transactions', async () => {
    const payloads: string[] = []
    const trx = await db.startTransaction().execute()
    const listening = pglite.listen('dialect_test', (payload) => payloads.push(payload))
    await trx.rollback().execute()
    const unlisten = await listening
    await sql`select pg_notify('dialect_test', 'after rollback')`.execute(db)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(payloads).toEqual(['after rollback'])
    await unlisten()
  })
})
