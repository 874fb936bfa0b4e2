/**
 * The optional second factor (W6): set up (a pending secret), enable (prove the app has it
 * with a valid code), disable (with the password). Sign-in then asks for a code.
 */
import { verifyPasswordOrDummy } from '../../auth/passwords.ts'
import { newTotpSecret, totpUri, verifyTotp } from '../../auth/totp.ts'
import { ZonaError } from '../../errors.ts'
import { withTransaction } from '../../store/common.ts'
import { findCredentials, findPerson } from '../../store/people.ts'
import { type Actor, audit, type Zona } from '../context.ts'

export interface TotpSetup {
  /** Base32, for typing into the app by hand. */
  secret: string
  /** otpauth://totp/…, for a QR code. */
  uri: string
}

async function personOrThrow(zona: Zona, personId: string) {
  const person = await findPerson(zona.store.db, personId)
  if (!person) throw new ZonaError('UNAUTHENTICATED', 'sign in to use the portal')
  return person
}

/** Starts (or restarts) setting up a second factor; the secret waits until `enableTotp`. */
export async function setupTotp(zona: Zona, personId: string, actor: Actor): Promise<TotpSetup> {
  const person = await personOrThrow(zona, personId)
  const credentials = await findCredentials(zona.store.db, personId)
  if (credentials?.totpSecret)
    throw new ZonaError('CONFLICT', 'the second factor is already on; turn it off first to set up a new one')
  const secret = newTotpSecret()
  await withTransaction(zona.store.db, async (trx) => {
    await trx
      .insertInto('credentials')
      .values({ personId, totpPendingSecret: secret })
      .onConflict((oc) => oc.column('personId').doUpdateSet({ totpPendingSecret: secret }))
      .execute()
    // The secret itself never goes into the audit log.
    await audit(trx, actor, { action: 'totp.setup.started', subject: personId })
  })
  const issuer = zona.catalog.name[zona.catalog.language] ?? zona.catalog.name.en ?? 'Zona'
  return { secret, uri: totpUri(secret, issuer, person.login) }
}

/** Turns the pending secret on once `code` proves the app has it. */
export async function enableTotp(zona: Zona, personId: string, code: string, actor: Actor): Promise<void> {
  await personOrThrow(zona, personId)
  const credentials = await findCredentials(zona.store.db, personId)
  const pending = credentials?.totpPendingSecret
  if (!pending) throw new ZonaError('CONFLICT', 'start with POST /api/v1/auth/totp/setup')
  const step = await verifyTotp(pending, code, zona.clock())
  if (step === null)
    throw new ZonaError('TOKEN_INVALID', 'the code does not match; check the time on the device', {
      field: 'body.code',
    })
  await withTransaction(zona.store.db, async (trx) => {
    const updated = await trx
      .updateTable('credentials')
      .set({ totpSecret: pending, totpPendingSecret: null, totpLastStep: step })
      .where('personId', '=', personId)
      .where('totpPendingSecret', '=', pending)
      .executeTakeFirst()
    if (Number(updated.numUpdatedRows) !== 1)
      throw new ZonaError('CONFLICT', 'the setup changed meanwhile; start it again')
    await audit(trx, actor, { action: 'totp.enabled', subject: personId })
  })
}

/** Turns the second factor off; the password proves it is the person and not a borrowed session. */
export async function disableTotp(
  zona: Zona,
  personId: string,
  password: string,
  actor: Actor,
): Promise<void> {
  await personOrThrow(zona, personId)
  const credentials = await findCredentials(zona.store.db, personId)
  if (!(await verifyPasswordOrDummy(credentials?.passwordHash, password)))
    throw new ZonaError('VALIDATION_FAILED', 'body.password is not your password', { field: 'body.password' })
  if (!credentials?.totpSecret) throw new ZonaError('CONFLICT', 'the second factor is not on')
  await withTransaction(zona.store.db, async (trx) => {
    await trx
      .updateTable('credentials')
      .set({ totpSecret: null, totpPendingSecret: null, totpLastStep: null })
      .where('personId', '=', personId)
      .execute()
    await audit(trx, actor, { action: 'totp.disabled', subject: personId })
  })
}
