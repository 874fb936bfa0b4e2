import { afterAll, beforeAll, expect, it } from 'vitest'
import { startTestZona, type TestZona } from '../server/testing.ts'
import { describeEachBackend } from '../store/testing.ts'
import { demoOperatorKey } from './operator-key.ts'

describeEachBackend('the demo operator key', (backend) => {
  let z: TestZona
  beforeAll(async () => {
    z = await startTestZona(backend)
  })
  afterAll(() => z.close())

  const customers = (key: string) =>
    z.app.inject({ url: '/api/v1/operator/customers', headers: { authorization: `Bearer ${key}` } })

  it('opens the back office, and the next start revokes the previous one', async () => {
    const first = await demoOperatorKey(z.zona)
    expect((await customers(first)).statusCode).toBe(200)
    const second = await demoOperatorKey(z.zona)
    expect(second).not.toBe(first)
    expect((await customers(second)).statusCode).toBe(200)
    expect((await customers(first)).statusCode).toBe(401)
  })
})
