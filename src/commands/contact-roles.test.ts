import { afterAll, beforeAll, expect, it } from 'vitest'
import { seedDemo } from '../demo/seed.ts'
import { startTestZona, type TestZona } from '../server/testing.ts'
import { describeEachBackend } from '../store/testing.ts'
import { grantRole } from './portal/grants.ts'

describeEachBackend('contact roles outside the contact-change workflow', (backend) => {
  let z: TestZona
  let owner: string
  let tech: string
  beforeAll(async () => {
    z = await startTestZona(backend, { preset: 'ovh' })
    const logins = await seedDemo(z.zona)
    const id = async (role: string) => {
      const login = logins.find((l) => l.role === role)?.login as string
      return (
        await z.store.db
          .selectFrom('people')
          .select('id')
          .where('login', '=', login)
          .executeTakeFirstOrThrow()
      ).id
    }
    owner = await id('owner')
    tech = await id('tech-contact')
  })
  afterAll(() => z.close())

  it('refuses to hand a contact role over by a plain grant, even to the owner', async () => {
    const service = z.zona.access.engine.grantsOf(tech)[0]?.scope as string
    const attempt = grantRole(z.zona, { id: owner }, { person: owner, role: 'tech-contact', scope: service })
    await expect(attempt).rejects.toMatchObject({
      code: 'FORBIDDEN',
      details: { reason: 'CONTACT_CHANGE_REQUIRED' },
    })
    expect(z.zona.access.engine.findGrant(tech, 'tech-contact', service)).toBeDefined()
  })
})
