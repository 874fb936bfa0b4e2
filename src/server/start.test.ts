import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeEachBackend } from '../store/testing.ts'
import { startTestZona, type TestZona } from './testing.ts'

describeEachBackend('ZONA_OPERATOR_KEY', (backend) => {
  const key = 'zona-operator-key-for-the-first-login-0001'
  let z: TestZona
  beforeAll(async () => {
    z = await startTestZona(backend, { env: { ZONA_OPERATOR_KEY: key } })
  })
  afterAll(() => z.close())

  it('opens the back office with the key from the environment, stored only as a hash', async () => {
    const r = await z.app.inject({
      url: '/api/v1/operator/customers',
      headers: { authorization: `Bearer ${key}` },
    })
    expect(r.statusCode).toBe(200)
    const rows = await z.store.db.selectFrom('apiKeys').select(['keyHash', 'scope']).execute()
    expect(rows).toHaveLength(1)
    expect(rows[0]?.scope).toBe('operator')
    expect(rows[0]?.keyHash).not.toContain(key)
    const wrong = await z.app.inject({
      url: '/api/v1/operator/customers',
      headers: { authorization: 'Bearer nope' },
    })
    expect(wrong.statusCode).toBe(401)
  })
})
