import { describe, expect, it } from 'vitest'
import { newTotpSecret, totpCode, totpUri, verifyTotp } from './totp.ts'

describe('second-factor codes', () => {
  const secret = newTotpSecret()
  const at = new Date('2030-05-01T10:00:10Z')

  it('are accepted at their time and one period either side, not beyond', async () => {
    const code = await totpCode(secret, at)
    expect(code).toMatch(/^[0-9]{6}$/)
    expect(await verifyTotp(secret, code, at)).toBeTypeOf('number')
    expect(await verifyTotp(secret, code, new Date(at.getTime() + 30_000))).not.toBeNull()
    expect(await verifyTotp(secret, code, new Date(at.getTime() - 30_000))).not.toBeNull()
    expect(await verifyTotp(secret, code, new Date(at.getTime() + 90_000))).toBeNull()
  })

  it('work once: a step at or before the last accepted one is refused', async () => {
    const code = await totpCode(secret, at)
    const step = (await verifyTotp(secret, code, at)) as number
    expect(await verifyTotp(secret, code, at, step)).toBeNull()
    const next = await totpCode(secret, new Date(at.getTime() + 30_000))
    expect(await verifyTotp(secret, next, new Date(at.getTime() + 30_000), step)).toBe(step + 1)
  })

  it('refuse malformed input without throwing', async () => {
    expect(await verifyTotp(secret, '12345', at)).toBeNull()
    expect(await verifyTotp(secret, 'abcdef', at)).toBeNull()
    expect(await verifyTotp('not base32 !', '123456', at)).toBeNull()
  })

  it('come with an otpauth URI an authenticator app reads', () => {
    const uri = totpUri(secret, 'Moje O2', 'jana')
    expect(uri).toMatch(/^otpauth:\/\/totp\/Moje%20O2:jana\?/)
    expect(uri).toContain(`secret=${secret}`)
    expect(uri).toContain('issuer=Moje%20O2')
  })
})
