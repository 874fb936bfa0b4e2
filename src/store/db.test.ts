import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openDatabase } from './db.ts'
import { migrateToLatest } from './migrate.ts'
import { findCustomer, insertCustomer } from './tree.ts'

describe('openDatabase', () => {
  const dirs: string[] = []
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  })

  it('keeps PGlite data in its data dir across restarts', async () => {
    const dataDir = join(await mkdtemp(join(tmpdir(), 'zona-store-')), 'data')
    dirs.push(dataDir)
    const first = await openDatabase({ dataDir })
    expect(first).toMatchObject({ dialect: 'pglite', location: `pglite:${dataDir}` })
    expect((await migrateToLatest(first.db)).ok).toBe(true)
    await insertCustomer(first.db, { id: 'C1', name: 'Persisted', preset: 'sk-isp' })
    await first.close()

    const second = await openDatabase({ dataDir })
    expect(await migrateToLatest(second.db)).toMatchObject({ ok: true, applied: [] })
    expect(await findCustomer(second.db, 'C1')).toMatchObject({ name: 'Persisted', preset: 'sk-isp' })
    await second.close()
  })

  it('picks PostgreSQL for a URL, and never shows its password', async () => {
    const store = await openDatabase({ url: 'postgres://zona:secret@db.invalid:5432/zona' })
    expect(store.dialect).toBe('postgres')
    expect(store.location).toBe('postgres://zona:***@db.invalid:5432/zona')
    await store.close() // the pool connects lazily: nothing was opened
  })
})
