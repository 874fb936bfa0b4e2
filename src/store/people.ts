/**
 * People (logins), their credentials and sessions, and API keys. Secrets arrive here
 * already hashed: the store never sees a password, a session token or an API key.
 */
import { sql } from 'kysely'
import { type Executor, withTransaction } from './common.ts'
import type { ApiKey, ApiKeyScope, Credentials, Person, PersonStatus, Session } from './schema.ts'

// ---------------------------------------------------------------------------------------
// People

export interface PersonInput {
  id: string
  login: string
  email?: string | null
  displayName: string
  status?: PersonStatus
  locale?: string | null
  createdAt?: Date
}

/** Inserts a person; login and e-mail are unique regardless of case (the schema refuses twins). */
export async function insertPerson(db: Executor, person: PersonInput): Promise<Person> {
  return db
    .insertInto('people')
    .values({
      id: person.id,
      login: person.login,
      email: person.email ?? null,
      displayName: person.displayName,
      status: person.status,
      locale: person.locale ?? null,
      createdAt: person.createdAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function findPerson(db: Executor, id: string): Promise<Person | undefined> {
  return db.selectFrom('people').selectAll().where('id', '=', id).executeTakeFirst()
}

export async function findPeople(db: Executor, ids: readonly string[]): Promise<Person[]> {
  if (ids.length === 0) return []
  return db.selectFrom('people').selectAll().where('id', 'in', ids).orderBy('id').execute()
}

/**
 * The person whose login or e-mail is `loginOrEmail`, ignoring case. Login wins when one
 * person's login is another's e-mail.
 */
export async function findPersonByLoginOrEmail(
  db: Executor,
  loginOrEmail: string,
): Promise<Person | undefined> {
  const needle = loginOrEmail.trim().toLowerCase()
  const rows = await db
    .selectFrom('people')
    .selectAll()
    .where((eb) =>
      eb.or([eb(eb.fn('lower', ['login']), '=', needle), eb(eb.fn('lower', ['email']), '=', needle)]),
    )
    .execute()
  return rows.find((p) => p.login.toLowerCase() === needle) ?? rows[0]
}

export interface PersonChanges {
  login?: string
  email?: string | null
  displayName?: string
  locale?: string | null
  lastLoginAt?: Date | null
}

/** Updates profile fields; returns the row before and after, for the audit event. */
export async function updatePerson(
  db: Executor,
  id: string,
  changes: PersonChanges,
): Promise<{ before: Person; after: Person } | undefined> {
  return withTransaction(db, async (trx) => {
    const before = await trx
      .selectFrom('people')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst()
    if (!before) return undefined
    const after = await trx
      .updateTable('people')
      .set(changes)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow()
    return { before, after }
  })
}

/**
 * Deactivates or reactivates a login. Deactivating also ends all of the person's
 * sessions in the same transaction (delegation rule 4). Returns undefined when the
 * person does not exist, and the unchanged row when the status already was `status`.
 */
export async function setPersonStatus(
  db: Executor,
  id: string,
  status: PersonStatus,
  at: Date = new Date(),
): Promise<{ before: Person; after: Person; sessionsEnded: number } | undefined> {
  return withTransaction(db, async (trx) => {
    const before = await trx
      .selectFrom('people')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst()
    if (!before) return undefined
    const after = await trx
      .updateTable('people')
      .set({ status, deactivatedAt: status === 'deactivated' ? (before.deactivatedAt ?? at) : null })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow()
    const sessionsEnded = status === 'deactivated' ? await deleteSessionsOfPerson(trx, id) : 0
    return { before, after, sessionsEnded }
  })
}

export async function recordLogin(db: Executor, id: string, at: Date = new Date()): Promise<void> {
  await db.updateTable('people').set({ lastLoginAt: at }).where('id', '=', id).execute()
}

// ---------------------------------------------------------------------------------------
// Credentials

export async function findCredentials(db: Executor, personId: string): Promise<Credentials | undefined> {
  return db.selectFrom('credentials').selectAll().where('personId', '=', personId).executeTakeFirst()
}

/** Sets (or replaces) the password hash and clears failed attempts and the lock. */
export async function setPasswordHash(
  db: Executor,
  personId: string,
  passwordHash: string,
  at: Date = new Date(),
): Promise<void> {
  await db
    .insertInto('credentials')
    .values({ personId, passwordHash, passwordChangedAt: at, failedAttempts: 0, lockedUntil: null })
    .onConflict((oc) =>
      oc
        .column('personId')
        .doUpdateSet({ passwordHash, passwordChangedAt: at, failedAttempts: 0, lockedUntil: null }),
    )
    .execute()
}

/** Sets or clears the second factor's secret. */
export async function setTotpSecret(
  db: Executor,
  personId: string,
  totpSecret: string | null,
): Promise<void> {
  await db
    .insertInto('credentials')
    .values({ personId, totpSecret })
    .onConflict((oc) => oc.column('personId').doUpdateSet({ totpSecret }))
    .execute()
}

/**
 * Counts a failed login atomically and returns the new count; locks the login until
 * `lockUntil` when given (the caller decides the policy).
 */
export async function recordFailedLogin(
  db: Executor,
  personId: string,
  lockUntil: Date | null = null,
): Promise<number> {
  const row = await db
    .insertInto('credentials')
    .values({ personId, failedAttempts: 1, lockedUntil: lockUntil })
    .onConflict((oc) =>
      oc.column('personId').doUpdateSet({
        failedAttempts: sql`credentials.failed_attempts + 1`,
        lockedUntil: lockUntil === null ? sql`credentials.locked_until` : lockUntil,
      }),
    )
    .returning('failedAttempts')
    .executeTakeFirstOrThrow()
  return row.failedAttempts
}

export async function clearFailedLogins(db: Executor, personId: string): Promise<void> {
  await db
    .updateTable('credentials')
    .set({ failedAttempts: 0, lockedUntil: null })
    .where('personId', '=', personId)
    .execute()
}

// ---------------------------------------------------------------------------------------
// Sessions

export interface SessionInput {
  idHash: string
  personId: string
  expiresAt: Date
  onBehalfOf?: string | null
  csrfSecret?: string | null
  ip?: string | null
  userAgent?: string | null
  createdAt?: Date
}

export async function insertSession(db: Executor, session: SessionInput): Promise<Session> {
  return db
    .insertInto('sessions')
    .values({
      idHash: session.idHash,
      personId: session.personId,
      expiresAt: session.expiresAt,
      onBehalfOf: session.onBehalfOf ?? null,
      csrfSecret: session.csrfSecret ?? null,
      ip: session.ip ?? null,
      userAgent: session.userAgent ?? null,
      createdAt: session.createdAt,
      lastSeenAt: session.createdAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
}

/**
 * The live session with this token hash, together with its person's status, or undefined
 * when unknown or expired at `now`.
 */
export async function findSession(
  db: Executor,
  idHash: string,
  now: Date = new Date(),
): Promise<(Session & { personStatus: PersonStatus }) | undefined> {
  return db
    .selectFrom('sessions')
    .innerJoin('people', 'people.id', 'sessions.personId')
    .selectAll('sessions')
    .select('people.status as personStatus')
    .where('sessions.idHash', '=', idHash)
    .where('sessions.expiresAt', '>', now)
    .executeTakeFirst()
}

/** Slides the session: records activity and, when given, a new expiry. */
export async function touchSession(
  db: Executor,
  idHash: string,
  at: Date = new Date(),
  expiresAt?: Date,
): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ lastSeenAt: at, ...(expiresAt ? { expiresAt } : {}) })
    .where('idHash', '=', idHash)
    .execute()
}

export async function deleteSession(db: Executor, idHash: string): Promise<boolean> {
  const result = await db.deleteFrom('sessions').where('idHash', '=', idHash).executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

/** Ends every session of a person (deactivation, password change); returns how many. */
export async function deleteSessionsOfPerson(db: Executor, personId: string): Promise<number> {
  const result = await db.deleteFrom('sessions').where('personId', '=', personId).executeTakeFirst()
  return Number(result.numDeletedRows)
}

export async function deleteExpiredSessions(db: Executor, now: Date = new Date()): Promise<number> {
  const result = await db.deleteFrom('sessions').where('expiresAt', '<=', now).executeTakeFirst()
  return Number(result.numDeletedRows)
}

// ---------------------------------------------------------------------------------------
// API keys (operator staff and other systems asking for decisions)

export interface ApiKeyInput {
  id?: string
  keyHash: string
  name: string
  scope: ApiKeyScope
}

export async function insertApiKey(db: Executor, key: ApiKeyInput): Promise<ApiKey> {
  return db.insertInto('apiKeys').values(key).returningAll().executeTakeFirstOrThrow()
}

/** The unrevoked key with this hash. */
export async function findApiKeyByHash(db: Executor, keyHash: string): Promise<ApiKey | undefined> {
  return db
    .selectFrom('apiKeys')
    .selectAll()
    .where('keyHash', '=', keyHash)
    .where('revokedAt', 'is', null)
    .executeTakeFirst()
}

export async function listApiKeys(db: Executor): Promise<ApiKey[]> {
  return db.selectFrom('apiKeys').selectAll().orderBy('createdAt').orderBy('id').execute()
}

export async function touchApiKey(db: Executor, id: string, at: Date = new Date()): Promise<void> {
  await db.updateTable('apiKeys').set({ lastUsedAt: at }).where('id', '=', id).execute()
}

export async function revokeApiKey(
  db: Executor,
  id: string,
  at: Date = new Date(),
): Promise<ApiKey | undefined> {
  return db
    .updateTable('apiKeys')
    .set({ revokedAt: at })
    .where('id', '=', id)
    .where('revokedAt', 'is', null)
    .returningAll()
    .executeTakeFirst()
}
