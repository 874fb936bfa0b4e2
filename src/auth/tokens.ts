/**
 * Secrets handed to people and systems: 32 random bytes, shown once, stored only as a SHA-256
 * hash. They are long and random, so a fast hash is enough; passwords use argon2id instead.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

export function newToken(prefix = ''): { token: string; hash: string } {
  const token = `${prefix}${randomBytes(32).toString('base64url')}`
  return { token, hash: hashToken(token) }
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex')
  const y = Buffer.from(b, 'hex')
  return x.length === y.length && timingSafeEqual(x, y)
}
