/**
 * Signing in and out (W6). A session is a random token in an HttpOnly cookie; the database
 * keeps only its SHA-256 hash. Wrong passwords, unknown logins and deactivated people all
 * get the same LOGIN_FAILED after the same argon2 work, so answers do not tell who exists.
 * Five failures in a row lock the credentials for 15 minutes.
 */

import { verifyPasswordOrDummy } from '../../auth/passwords.ts'
import { newToken } from '../../auth/tokens.ts'
import { verifyTotp } from '../../auth/totp.ts'
import { ZonaError } from '../../errors.ts'
import { type Executor, withTransaction } from '../../store/common.ts'
import {
  deleteSession,
  findCredentials,
  findPersonByLoginOrEmail,
  insertSession,
  recordFailedLogin,
  recordLogin,
} from '../../store/people.ts'
import type { Person } from '../../store/schema.ts'
import { type Actor, audit, type Zona } from '../context.ts'

export const MAX_FAILED_ATTEMPTS = 5
export const LOCK_MINUTES = 15

export interface LoginInput {
  /** A login name or an e-mail address, any case. */
  login: string
  password: string
  /** The code of the authenticator app, for people with a second factor. */
  totp?: string | null
  ip?: string | null
  userAgent?: string | null
}

export interface LoginResult {
  /** The session token for the cookie; shown once, stored only hashed. */
  token: string
  expiresAt: Date
  person: Person
}

type FailureReason = 'unknown_login' | 'wrong_password' | 'locked' | 'wrong_second_factor'

/** Records a failed sign-in; counts it against the person's credentials when `count`. */
async function fail(
  zona: Zona,
  input: LoginInput,
  person: Person | undefined,
  reason: FailureReason,
  count: boolean,
): Promise<void> {
  const now = zona.clock()
  await withTransaction(zona.store.db, async (trx) => {
    let attempts: number | undefined
    let lockedUntil: Date | undefined
    if (person && count) {
      attempts = await recordFailedLogin(trx, person.id)
      if (attempts >= MAX_FAILED_ATTEMPTS) {
        lockedUntil = new Date(now.getTime() + LOCK_MINUTES * 60_000)
        // The counter starts again, so after the lock another five tries are allowed.
        await trx
          .updateTable('credentials')
          .set({ lockedUntil, failedAttempts: 0 })
          .where('personId', '=', person.id)
          .execute()
      }
    }
    await audit(
      trx,
      { id: 'anonymous', ip: input.ip ?? null },
      {
        action: 'login.failed',
        subject: input.login,
        after: {
          reason,
          person_id: person?.id ?? null,
          ...(attempts !== undefined ? { failed_attempts: attempts } : {}),
          ...(lockedUntil ? { locked_until: lockedUntil.toISOString() } : {}),
        },
      },
    )
  })
}

/**
 * Checks the credentials and opens a session.
 *
 * @throws ZonaError LOGIN_FAILED (wrong or unknown login or password, deactivated person),
 *   LOGIN_LOCKED (with retryAfterSeconds), SECOND_FACTOR_REQUIRED (code missing or wrong)
 */
export async function login(zona: Zona, input: LoginInput): Promise<LoginResult> {
  const db = zona.store.db
  const found = await findPersonByLoginOrEmail(db, input.login)
  // A deactivated person is treated exactly as an unknown login.
  const person = found?.status === 'active' ? found : undefined
  const credentials = person ? await findCredentials(db, person.id) : undefined
  const now = zona.clock()

  if (person && credentials?.lockedUntil && credentials.lockedUntil > now) {
    await fail(zona, input, person, 'locked', false)
    const retryAfterSeconds = Math.ceil((credentials.lockedUntil.getTime() - now.getTime()) / 1000)
    throw new ZonaError('LOGIN_LOCKED', `too many failed sign-ins; try again in ${retryAfterSeconds} s`, {
      retryAfterSeconds,
    })
  }

  const passwordOk = await verifyPasswordOrDummy(credentials?.passwordHash, input.password)
  if (!person || !passwordOk) {
    await fail(zona, input, person, person ? 'wrong_password' : 'unknown_login', true)
    throw new ZonaError('LOGIN_FAILED', 'the login or the password is wrong')
  }

  let totpStep: number | null = null
  if (credentials?.totpSecret) {
    if (!input.totp)
      throw new ZonaError('SECOND_FACTOR_REQUIRED', 'send the code of your authenticator app as totp', {
        field: 'body.totp',
      })
    totpStep = await verifyTotp(credentials.totpSecret, input.totp, now, credentials.totpLastStep)
    if (totpStep === null) {
      await fail(zona, input, person, 'wrong_second_factor', true)
      throw new ZonaError('SECOND_FACTOR_REQUIRED', 'the code is wrong or was already used', {
        field: 'body.totp',
      })
    }
  }

  const { token, hash } = newToken()
  const expiresAt = new Date(now.getTime() + zona.config.ZONA_SESSION_HOURS * 3_600_000)
  await withTransaction(db, async (trx) => {
    await trx
      .updateTable('credentials')
      .set({ failedAttempts: 0, lockedUntil: null, ...(totpStep !== null ? { totpLastStep: totpStep } : {}) })
      .where('personId', '=', person.id)
      .execute()
    await recordLogin(trx, person.id, now)
    await insertSession(trx, {
      idHash: hash,
      personId: person.id,
      expiresAt,
      ip: input.ip ?? null,
      userAgent: input.userAgent?.slice(0, 500) ?? null,
      createdAt: now,
    })
    await audit(
      trx,
      { id: person.id, ip: input.ip ?? null },
      {
        action: 'login.succeeded',
        subject: person.id,
        after: { login: person.login, second_factor: totpStep !== null, expires_at: expiresAt.toISOString() },
      },
    )
  })
  return { token, expiresAt, person: { ...person, lastLoginAt: now } }
}

/** Ends one session (sign out). Returns false when there was none. */
export async function endSession(
  zona: Zona,
  session: { sessionHash: string; personId: string },
  actor: Actor,
): Promise<boolean> {
  return withTransaction(zona.store.db, async (trx: Executor) => {
    const ended = await deleteSession(trx, session.sessionHash)
    if (ended)
      await audit(trx, actor, {
        action: 'session.ended',
        subject: session.personId,
        after: { reason: 'logout' },
      })
    return ended
  })
}
