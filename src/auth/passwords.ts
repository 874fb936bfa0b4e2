/**
 * Passwords: argon2id hashes (PHC strings, `$argon2id$…`) and the password policy.
 *
 * Parameters follow OWASP's Password Storage Cheat Sheet minimum for argon2id: 19 MiB of
 * memory (memoryCost 19456 KiB), 2 passes (timeCost 2), 1 lane. On a laptop a hash takes
 * some tens of milliseconds, which is the point: an offline guess costs the same.
 */
import { randomBytes } from 'node:crypto'
import { hash, type Options, verify } from '@node-rs/argon2'
import { ZonaError } from '../errors.ts'

/** argon2id is `Algorithm.Argon2id` (2), a const enum we cannot import under isolatedModules. */
const ARGON2ID = 2 as Options['algorithm']

export const PASSWORD_HASH_OPTIONS: Options = {
  algorithm: ARGON2ID,
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
  outputLen: 32,
}

export const PASSWORD_MIN_LENGTH = 10
/** Long enough for any passphrase, short enough that hashing it cannot be used to tie up the server. */
export const PASSWORD_MAX_LENGTH = 200

export async function hashPassword(password: string): Promise<string> {
  return hash(password, PASSWORD_HASH_OPTIONS)
}

/** True when `password` matches the PHC string; false (never a throw) for a malformed hash. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password)
  } catch {
    return false
  }
}

let dummyHash: Promise<string> | undefined

/**
 * Verifies against the stored hash, or – when there is none (unknown login, no password set
 * yet) – against a dummy hash made with the same parameters and then answers false, so the
 * time taken does not reveal whether the login exists.
 */
export async function verifyPasswordOrDummy(
  passwordHash: string | null | undefined,
  password: string,
): Promise<boolean> {
  if (passwordHash) return verifyPassword(passwordHash, password)
  dummyHash ??= hashPassword(randomBytes(24).toString('base64url'))
  await verifyPassword(await dummyHash, password)
  return false
}

export interface PasswordOwner {
  login?: string | null
  email?: string | null
}

/**
 * Why the password cannot be used, or null when it can: at least 10 characters, at most 200,
 * and not the person's own login or e-mail (ignoring case and surrounding spaces).
 */
export function passwordProblem(password: string, owner: PasswordOwner = {}): string | null {
  const length = [...password].length
  if (length < PASSWORD_MIN_LENGTH) return `must be at least ${PASSWORD_MIN_LENGTH} characters long`
  if (length > PASSWORD_MAX_LENGTH) return `must be at most ${PASSWORD_MAX_LENGTH} characters long`
  const p = password.trim().toLowerCase()
  if (owner.login && p === owner.login.trim().toLowerCase()) return 'must not be the login name'
  if (owner.email && p === owner.email.trim().toLowerCase()) return 'must not be the e-mail address'
  return null
}

/** Throws VALIDATION_FAILED naming `field` when the password breaks the policy. */
export function assertPasswordPolicy(password: string, owner: PasswordOwner, field: string): void {
  const problem = passwordProblem(password, owner)
  if (problem) throw new ZonaError('VALIDATION_FAILED', `${field} ${problem}`, { field })
}
