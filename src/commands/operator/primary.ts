/**
 * W4: operator staff appoint and replace the holder of the customer's limited role – O2's
 * primary admin, TIM's legal representative, OVH's account owner (the catalog's role with
 * limit_per_customer and appointed_by: operator). Replacing is one transaction: the old
 * holder's grant is deleted (DOMAIN 6.3: they keep nothing from that role) and the new one
 * inserted. The partial unique index grants_one_limited_holder is the backstop for I3.
 */
import type { Role } from '../../domain/catalog.ts'
import { ZonaError } from '../../errors.ts'
import type { Executor } from '../../store/common.ts'
import { isUniqueViolation } from '../../store/errors.ts'
import { deleteGrant, insertGrant } from '../../store/grants.ts'
import type { Grant, Person } from '../../store/schema.ts'
import { createPerson } from '../auth/people.ts'
import { type Actor, audit, write, type Zona } from '../context.ts'
import { requireCustomer } from './customers.ts'

/** An existing person by id, or a person found by e-mail, or created (without a password) when new. */
export type PrimaryPersonInput =
  | { id: string }
  | { login?: string | undefined; email: string; display_name: string; locale?: string | undefined }

export interface PrimaryHolder {
  role: Role
  grant: Grant
  person: Person
}

export interface Appointment {
  outcome: 'appointed' | 'replaced' | 'unchanged'
  holder: PrimaryHolder
  previous: PrimaryHolder | null
}

/** The catalog's operator-appointed limited role, or undefined when the catalog has none. */
export function appointedRole(zona: Zona): Role | undefined {
  return zona.catalog.roles.find((r) => r.limitPerCustomer !== undefined && r.appointedByOperator)
}

function requireRole(zona: Zona): Role {
  const role = appointedRole(zona)
  if (!role)
    throw new ZonaError('NOT_FOUND', `the ${zona.catalog.id} catalog has no role appointed by the operator`)
  return role
}

/** The current holder at a customer, with their person row. */
async function holderOf(db: Executor, customerId: string, role: Role): Promise<PrimaryHolder | null> {
  const grant = await db
    .selectFrom('grants')
    .selectAll()
    .where('customerId', '=', customerId)
    .where('role', '=', role.id)
    .orderBy('grantedAt')
    .executeTakeFirst()
  if (!grant) return null
  const person = await db
    .selectFrom('people')
    .selectAll()
    .where('id', '=', grant.personId)
    .executeTakeFirstOrThrow()
  return { role, grant, person }
}

export async function getPrimary(
  zona: Zona,
  customerId: string,
): Promise<{ role: Role; holder: PrimaryHolder | null }> {
  await requireCustomer(zona, customerId)
  const role = requireRole(zona)
  return { role, holder: await holderOf(zona.store.db, customerId, role) }
}

/** The person the appointment names, creating them when new; problems name body.person.*. */
async function resolvePerson(
  trx: Executor,
  zona: Zona,
  actor: Actor,
  input: PrimaryPersonInput,
): Promise<Person> {
  if ('id' in input) {
    const person = await trx.selectFrom('people').selectAll().where('id', '=', input.id).executeTakeFirst()
    if (!person)
      throw new ZonaError('NOT_FOUND', `there is no person ${input.id}`, { field: 'body.person.id' })
    return person
  }
  const email = input.email.trim()
  const known = await trx
    .selectFrom('people')
    .selectAll()
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
    .executeTakeFirst()
  if (known) {
    if (input.login && known.login.toLowerCase() !== input.login.trim().toLowerCase())
      throw new ZonaError(
        'CONFLICT',
        `${email} belongs to the login ${known.login}, not ${input.login}; name the person by id or leave login out`,
        { field: 'body.person.login' },
      )
    return known
  }
  try {
    return await createPerson(trx, zona, {
      displayName: input.display_name,
      email,
      login: input.login ?? email,
      locale: input.locale ?? null,
      actor,
    })
  } catch (e) {
    if (e instanceof ZonaError && e.details.field) {
      const field = e.details.field === 'displayName' ? 'display_name' : e.details.field
      throw new ZonaError(e.code, e.detail, { ...e.details, field: `body.person.${field}` })
    }
    throw e
  }
}

/**
 * Appoints `person` as the holder of the limited role at the customer, replacing the current
 * holder in the same transaction. Appointing the current holder again changes nothing.
 * Concurrent appointments are serialised by the access lock; should the unique index still
 * refuse one (a writer outside the product), it is retried once, then reported as CONFLICT.
 *
 * @example
 * await appointPrimary(zona, { id: 'operator:back-office' }, 'acme', { email: 'jana@acme.cz', display_name: 'Jana' })
 */
export async function appointPrimary(
  zona: Zona,
  actor: Actor,
  customerId: string,
  input: PrimaryPersonInput,
): Promise<Appointment> {
  const role = requireRole(zona)
  for (let attempt = 1; ; attempt++) {
    try {
      return await appointOnce(zona, actor, customerId, role, input)
    } catch (e) {
      if (!isUniqueViolation(e, 'grants_one_limited_holder')) throw e
      if (attempt >= 2)
        throw new ZonaError(
          'CONFLICT',
          `another appointment of ${role.id} at ${customerId} happened meanwhile`,
          {
            field: 'body.person',
          },
        )
    }
  }
}

async function appointOnce(
  zona: Zona,
  actor: Actor,
  customerId: string,
  role: Role,
  input: PrimaryPersonInput,
): Promise<Appointment> {
  return write<Appointment>(zona, async (trx) => {
    const customer = await trx
      .selectFrom('customers')
      .select('id')
      .where('id', '=', customerId)
      .executeTakeFirst()
    if (!customer)
      throw new ZonaError('NOT_FOUND', `there is no customer ${customerId}`, { field: 'params.id' })
    const person = await resolvePerson(trx, zona, actor, input)
    if (person.status !== 'active')
      throw new ZonaError('CONFLICT', `${person.id} is deactivated; reactivate the login first`, {
        field: 'body.person',
      })
    const previous = await holderOf(trx, customerId, role)
    if (previous && previous.person.id === person.id)
      return { result: { outcome: 'unchanged', holder: previous, previous } }
    const scope = role.scope === 'customer' ? customerId : undefined
    if (scope === undefined)
      throw new ZonaError(
        'NOT_FOUND',
        `${role.id} is not scoped to the customer; it cannot be appointed here`,
      )
    if (previous) await deleteGrant(trx, previous.grant.id)
    const grant = await insertGrant(trx, {
      customerId,
      personId: person.id,
      role: role.id,
      scopeNodeId: customerId,
      limited: true,
      grantedBy: actor.id,
      grantedAt: zona.clock(),
    })
    const view = (h: { person: Person; grant: Grant } | null) =>
      h && { person: h.person.id, login: h.person.login, grant: h.grant.id, granted_at: h.grant.grantedAt }
    await audit(trx, actor, {
      action: previous ? 'primary.replaced' : 'primary.appointed',
      customerId,
      nodeId: customerId,
      subject: person.id,
      before: previous && { role: role.id, ...view(previous) },
      after: { role: role.id, ...view({ person, grant }) },
    })
    const holder = { role, grant, person }
    return {
      result: { outcome: previous ? 'replaced' : 'appointed', holder, previous },
      apply: (engine) => {
        if (previous) engine.removeGrant(previous.grant.id)
        engine.addGrant({
          id: grant.id,
          person: person.id,
          role: role.id,
          scope: customerId,
          options: grant.options,
          expiresAt: null,
          grantedBy: grant.grantedBy,
          grantedAt: grant.grantedAt.getTime(),
        })
      },
    }
  })
}
