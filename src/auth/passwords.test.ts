import { describe, expect, it } from 'vitest'
import {
  assertPasswordPolicy,
  hashPassword,
  PASSWORD_HASH_OPTIONS,
  passwordProblem,
  verifyPassword,
  verifyPasswordOrDummy,
} from './passwords.ts'

describe('passwords', () => {
  it('are stored as argon2id with the OWASP parameters, never in plain text', async () => {
    const hash = await hashPassword('correct horse battery')
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    expect(hash).not.toContain('correct horse battery')
    expect(PASSWORD_HASH_OPTIONS).toMatchObject({ memoryCost: 19456, timeCost: 2 })
    // Salted: the same password never gives the same hash twice.
    expect(await hashPassword('correct horse battery')).not.toBe(hash)
  })

  it('verify the right password only, and never throw on a damaged hash', async () => {
    const hash = await hashPassword('correct horse battery')
    expect(await verifyPassword(hash, 'correct horse battery')).toBe(true)
    expect(await verifyPassword(hash, 'Correct horse battery')).toBe(false)
    expect(await verifyPassword('not a hash', 'correct horse battery')).toBe(false)
  })

  it('do the same work for an unknown login as for a known one, and say no', async () => {
    const hash = await hashPassword('correct horse battery')
    expect(await verifyPasswordOrDummy(hash, 'correct horse battery')).toBe(true)
    expect(await verifyPasswordOrDummy(null, 'correct horse battery')).toBe(false)
    expect(await verifyPasswordOrDummy(undefined, '')).toBe(false)
    // Warm, the dummy takes about as long as a real verification (same parameters).
    const time = async (fn: () => Promise<unknown>) => {
      const start = performance.now()
      for (let i = 0; i < 5; i++) await fn()
      return performance.now() - start
    }
    const known = await time(() => verifyPasswordOrDummy(hash, 'wrong password'))
    const unknown = await time(() => verifyPasswordOrDummy(null, 'wrong password'))
    expect(unknown).toBeGreaterThan(known / 3)
  })

  it('follow the policy: 10 to 200 characters, not the login or the e-mail', () => {
    expect(passwordProblem('short')).toMatch(/at least 10/)
    expect(passwordProblem('x'.repeat(201))).toMatch(/at most 200/)
    expect(passwordProblem('x'.repeat(200))).toBeNull()
    expect(passwordProblem('ten chars!')).toBeNull()
    // Characters, not UTF-16 units: ten emoji are ten characters.
    expect(passwordProblem('🔑'.repeat(10))).toBeNull()
    expect(passwordProblem('Jana.Novakova', { login: 'jana.novakova' })).toMatch(/login/)
    expect(passwordProblem('jana@acme.example', { login: 'jana', email: 'JANA@acme.example' })).toMatch(
      /e-mail/,
    )
    expect(() => assertPasswordPolicy('short', {}, 'body.new_password')).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED', details: { field: 'body.new_password' } }),
    )
  })
})
