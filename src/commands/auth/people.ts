/**
 * Creating a person (a login). Invitations, account requests and the demo call this inside
 * their own transaction, so the person, the credentials and the audit event commit together
 * with whatever made the person.
 */
import { randomUUID } from 'node:crypto'
import { newNicHandle } from '../../auth/nic-handle.ts'
import { assertPasswordPolicy, hashPassword } from '../../auth/passwords.ts'
import { ZonaError } from '../../errors.ts'
import type { Executor } from '../../store/common.ts'
import { insertPerson, setPasswordHash } from '../../store/people.ts'
import type { Person } from '../../store/schema.ts'
import { type Actor, audit, type Zona } from '../context.ts'

export interface NewPersonInput {
  displayName: string
  email?: string | null
  /** Required unless the catalog's login format is 'nic-handle' (then it is generated, and ignored). */
  login?: string | null
  /** Checked against the policy and stored as argon2id; omit for a person who sets it later (invitation link). */
  password?: string | null
  locale?: string | null
  /** Who creates the person, for audit; 'system' when omitted. */
  actor?: Actor
  /** For tests: the random source of generated handles. */
  random?: (n: number) => number
}

/** Generated handles are checked before use; this many collisions in a row means something is wrong. */
const HANDLE_ATTEMPTS = 20

async function loginTaken(db: Executor, login: string): Promise<boolean> {
  const row = await db
    .selectFrom('people')
    .select('id')
    .where((eb) => eb(eb.fn('lower', ['login']), '=', login.toLowerCase()))
    .executeTakeFirst()
  return row !== undefined
}

async function emailTaken(db: Executor, email: string): Promise<boolean> {
  const row = await db
    .selectFrom('people')
    .select('id')
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
    .executeTakeFirst()
  return row !== undefined
}

/**
 * Creates a person with a login (a NIC handle such as AB12345-OVH where the catalog asks for
 * one), optional password, and the audit event 'person.created'. Fields at fault are named
 * as in the input: `login`, `email`, `password`, `displayName`.
 *
 * @example
 * const person = await withTransaction(zona.store.db, (trx) =>
 *   createPerson(trx, zona, { displayName: 'Jana Nováková', email: 'jana@acme.cz', login: 'jana' }))
 */
export async function createPerson(trx: Executor, zona: Zona, input: NewPersonInput): Promise<Person> {
  const displayName = input.displayName.trim()
  if (!displayName)
    throw new ZonaError('VALIDATION_FAILED', 'displayName must not be empty', { field: 'displayName' })
  const email = input.email?.trim() || null
  if (email && !/^[^\s@]+@[^\s@]+$/.test(email))
    throw new ZonaError('VALIDATION_FAILED', 'email is not an e-mail address', { field: 'email' })
  if (email && (await emailTaken(trx, email)))
    throw new ZonaError('CONFLICT', 'a person with this e-mail address already exists', { field: 'email' })

  let login: string
  const features = zona.catalog.features
  if (features.loginFormat === 'nic-handle') {
    let candidate: string | undefined
    for (let i = 0; i < HANDLE_ATTEMPTS && candidate === undefined; i++) {
      const handle = newNicHandle(features.loginSuffix, input.random)
      if (!(await loginTaken(trx, handle))) candidate = handle
    }
    if (candidate === undefined) throw new Error(`no free NIC handle after ${HANDLE_ATTEMPTS} attempts`)
    login = candidate
  } else {
    login = input.login?.trim() ?? ''
    if (!login) throw new ZonaError('VALIDATION_FAILED', 'login is required', { field: 'login' })
    if (login.length > 200 || /\s/.test(login) || [...login].some((c) => (c.codePointAt(0) ?? 0) < 0x20))
      throw new ZonaError('VALIDATION_FAILED', 'login must be at most 200 characters, without spaces', {
        field: 'login',
      })
    if (await loginTaken(trx, login))
      throw new ZonaError('CONFLICT', 'this login name is taken', { field: 'login' })
  }

  if (input.password != null) assertPasswordPolicy(input.password, { login, email }, 'password')

  const now = zona.clock()
  const person = await insertPerson(trx, {
    id: randomUUID(),
    login,
    email,
    displayName,
    locale: input.locale ?? null,
    createdAt: now,
  })
  if (input.password != null) await setPasswordHash(trx, person.id, await hashPassword(input.password), now)
  else await trx.insertInto('credentials').values({ personId: person.id }).execute()
  await audit(trx, input.actor ?? { id: 'system' }, {
    action: 'person.created',
    subject: person.id,
    after: { login, email, display_name: displayName, password_set: input.password != null },
  })
  return person
}
