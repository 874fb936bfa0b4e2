import { afterAll, beforeAll, expect, it } from 'vitest'
import { requestPasswordReset } from '../commands/auth/password.ts'
import { readConfig } from '../config.ts'
import { startMailCatcher } from '../mail/catcher.ts'
import { describeEachBackend } from '../store/testing.ts'
import { startZona } from './start.ts'
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

it('puts the real port into e-mail links when it listens on port 0', async () => {
  const read = readConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    ZONA_DATA_DIR: 'memory://',
    ZONA_LOG_LEVEL: 'silent',
  })
  if (!read.ok) throw new Error(read.errors.join('\n'))
  const catcher = await startMailCatcher({ port: 0 })
  const running = await startZona(read.config, { logger: false, mailCatcher: catcher })
  try {
    await running.zona.store.db
      .insertInto('people')
      .values({ id: 'eva', login: 'eva', displayName: 'Eva', email: 'eva@example.com' })
      .execute()
    await requestPasswordReset(running.zona, { loginOrEmail: 'eva', actor: { id: 'anonymous' } })
    const mail = await catcher.waitFor((m) => m.to === 'eva@example.com')
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/)
    expect(mail.text).toContain(`${running.url}/reset-password?token=`)
  } finally {
    await running.close()
    await catcher.close()
  }
})
