/**
 * Changing a password, and resetting a forgotten one by e-mail (W6).
 *
 * A reset link carries a one-time token (random, stored as its SHA-256 hash, one hour, single
 * use – invariant I4). Asking for a reset answers the same whether or not the login exists;
 * the mail is queued in the outbox in the same transaction as the token.
 */
import { assertPasswordPolicy, hashPassword, verifyPasswordOrDummy } from '../../auth/passwords.ts'
import { hashToken, newToken } from '../../auth/tokens.ts'
import { ZonaError } from '../../errors.ts'
import { enqueueMail } from '../../mail/outbox.ts'
import { renderMail } from '../../mail/templates.ts'
import { withTransaction } from '../../store/common.ts'
import {
  deleteSessionsOfPerson,
  findCredentials,
  findPerson,
  findPersonByLoginOrEmail,
  setPasswordHash,
} from '../../store/people.ts'
import {
  consumeOneTimeToken,
  findOneTimeToken,
  insertOneTimeToken,
  voidOneTimeTokens,
} from '../../store/workflows.ts'
import { type Actor, audit, type Zona } from '../context.ts'

export const RESET_TOKEN_MINUTES = 60
/** A person gets at most one reset mail this often, however often it is asked for. */
export const RESET_MAIL_INTERVAL_SECONDS = 60

export interface ChangePasswordInput {
  personId: string
  /** The session making the change: it stays, every other session of the person ends. */
  sessionHash: string
  currentPassword: string
  newPassword: string
  actor: Actor
}

/** @returns how many other sessions ended */
export async function changePassword(
  zona: Zona,
  input: ChangePasswordInput,
): Promise<{ sessionsEnded: number }> {
  const db = zona.store.db
  const person = await findPerson(db, input.personId)
  if (!person) throw new ZonaError('UNAUTHENTICATED', 'sign in to use the portal')
  const credentials = await findCredentials(db, person.id)
  if (!(await verifyPasswordOrDummy(credentials?.passwordHash, input.currentPassword)))
    throw new ZonaError('VALIDATION_FAILED', 'body.current_password is not your current password', {
      field: 'body.current_password',
    })
  assertPasswordPolicy(input.newPassword, person, 'body.new_password')
  if (input.newPassword === input.currentPassword)
    throw new ZonaError('VALIDATION_FAILED', 'body.new_password must differ from the current one', {
      field: 'body.new_password',
    })
  const passwordHash = await hashPassword(input.newPassword)
  const now = zona.clock()
  return withTransaction(db, async (trx) => {
    await setPasswordHash(trx, person.id, passwordHash, now)
    // Whoever else holds a session (a stolen cookie, a forgotten browser) is signed out.
    const ended = await trx
      .deleteFrom('sessions')
      .where('personId', '=', person.id)
      .where('idHash', '!=', input.sessionHash)
      .executeTakeFirst()
    const sessionsEnded = Number(ended.numDeletedRows)
    await audit(trx, input.actor, {
      action: 'password.changed',
      subject: person.id,
      after: { other_sessions_ended: sessionsEnded },
    })
    return { sessionsEnded }
  })
}

export interface RequestResetInput {
  loginOrEmail: string
  actor: Actor
}

/**
 * Queues a reset mail when the login or e-mail belongs to an active person with an e-mail
 * address; otherwise does nothing. Either way it returns nothing a caller could tell apart.
 */
export async function requestPasswordReset(zona: Zona, input: RequestResetInput): Promise<void> {
  const db = zona.store.db
  const now = zona.clock()
  const found = await findPersonByLoginOrEmail(db, input.loginOrEmail)
  const person = found?.status === 'active' && found.email ? found : undefined
  await withTransaction(db, async (trx) => {
    let sent = false
    if (person?.email) {
      const recent = await trx
        .selectFrom('oneTimeTokens')
        .select('createdAt')
        .where('purpose', '=', 'password_reset')
        .where('subjectId', '=', person.id)
        .where('createdAt', '>', new Date(now.getTime() - RESET_MAIL_INTERVAL_SECONDS * 1000))
        .executeTakeFirst()
      if (!recent) {
        // Only the newest link works: an older mail lying around is worth nothing.
        await voidOneTimeTokens(trx, { purpose: 'password_reset', subjectId: person.id }, now)
        const { token, hash } = newToken()
        const expiresAt = new Date(now.getTime() + RESET_TOKEN_MINUTES * 60_000)
        await insertOneTimeToken(trx, {
          tokenHash: hash,
          purpose: 'password_reset',
          subjectId: person.id,
          personId: person.id,
          email: person.email,
          expiresAt,
          createdAt: now,
        })
        const link = `${zona.config.publicUrl}/reset-password?token=${encodeURIComponent(token)}`
        const mail = renderMail('password-reset', person.locale ?? zona.catalog.language, {
          name: person.displayName,
          link,
          expiresAt,
        })
        await enqueueMail(trx, { to: person.email, ...mail, kind: 'password-reset' })
        sent = true
      }
    }
    await audit(trx, input.actor, {
      action: 'password.reset.requested',
      subject: person?.id ?? input.loginOrEmail,
      after: { known: person !== undefined, mail_queued: sent },
    })
  })
}

export interface ConfirmResetInput {
  token: string
  newPassword: string
  actor: Actor
}

/**
 * Sets a new password with a reset token: the token is used up, every session of the person
 * ends (whoever knew the old password is out) and the lock, if any, is lifted.
 *
 * @throws ZonaError TOKEN_INVALID for an unknown, used or expired token
 */
export async function confirmPasswordReset(
  zona: Zona,
  input: ConfirmResetInput,
): Promise<{ personId: string }> {
  const db = zona.store.db
  const now = zona.clock()
  const invalid = () =>
    new ZonaError('TOKEN_INVALID', 'the reset link is not valid: it may be used, expired or mistyped', {
      field: 'body.token',
    })
  const tokenHash = hashToken(input.token)
  const token = await findOneTimeToken(db, tokenHash)
  if (token?.purpose !== 'password_reset' || token.usedAt || token.expiresAt <= now || !token.personId)
    throw invalid()
  const person = await findPerson(db, token.personId)
  if (person?.status !== 'active') throw invalid()
  // Checked before the token is used, so a refused password leaves the link working.
  assertPasswordPolicy(input.newPassword, person, 'body.new_password')
  const passwordHash = await hashPassword(input.newPassword)
  return withTransaction(db, async (trx) => {
    // The check above may be stale: this is the atomic once-only use.
    if (!(await consumeOneTimeToken(trx, tokenHash, 'password_reset', now))) throw invalid()
    await setPasswordHash(trx, person.id, passwordHash, now)
    const sessionsEnded = await deleteSessionsOfPerson(trx, person.id)
    // Holding the link proves who it is: the event is recorded as the person's own.
    await audit(
      trx,
      { id: person.id, ip: input.actor.ip ?? null },
      {
        action: 'password.reset.completed',
        subject: person.id,
        after: { sessions_ended: sessionsEnded },
      },
    )
    return { personId: person.id }
  })
}
