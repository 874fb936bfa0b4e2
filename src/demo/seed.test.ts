import { afterEach, describe, expect, it } from 'vitest'
import { presetIds } from '../catalog/load.ts'
import { startTestZona, type TestZona } from '../server/testing.ts'
import { testBackends } from '../store/testing.ts'
import { seedDemo } from './seed.ts'

const pglite = testBackends().find((b) => b.name === 'pglite') as NonNullable<
  ReturnType<typeof testBackends>[number]
>

describe('demo data', () => {
  let z: TestZona | undefined
  afterEach(async () => {
    await z?.close()
    z = undefined
  })

  for (const preset of presetIds()) {
    it(`${preset}: a realistic customer with someone in every role, seeded once`, async () => {
      z = await startTestZona(pglite, { preset })
      const logins = await seedDemo(z.zona)
      const roles = new Set(logins.map((l) => l.role))
      for (const role of z.zona.catalog.roles) expect(roles, `nobody holds ${role.id}`).toContain(role.id)
      const db = z.store.db
      const services = await db.selectFrom('nodes').select('id').where('kind', '=', 'service').execute()
      expect(services.length).toBeGreaterThanOrEqual(200)
      const invoices = await db.selectFrom('invoices').select(['amountCents']).execute()
      expect(invoices.length).toBeGreaterThan(0)
      expect(invoices.every((i) => i.amountCents > 0)).toBe(true)
      // The engine sees the seeded grants: the limited role's holder may view the whole customer.
      const holder = logins.find((l) => z?.zona.catalog.role(l.role)?.appointedByOperator)
      const person = await db
        .selectFrom('people')
        .select('id')
        .where('login', '=', holder?.login ?? '')
        .executeTakeFirstOrThrow()
      expect(z.zona.access.engine.check(person.id, 'node.view', services[0]?.id ?? '')).toBe(true)
      // Seeding again changes nothing.
      const again = await seedDemo(z.zona)
      expect(again).toEqual(logins)
      if (z.zona.catalog.features.loginFormat === 'nic-handle')
        for (const l of logins) expect(l.login).toMatch(/^[A-Z]{2}\d{5}-OVH$/)
    })
  }
})
