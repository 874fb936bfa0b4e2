/**
 * "My profile" (W6): who I am and my roles, grouped by customer, with role names as the
 * catalog writes them (in its own language and in English). Read-only.
 */
import { findCredentials, findPerson } from '../../store/people.ts'
import type { Person, PersonStatus } from '../../store/schema.ts'
import type { Zona } from '../context.ts'

export interface ProfileGrant {
  id: string
  role: string
  /** In the catalog's language. */
  role_name: string
  role_name_en: string
  scope: { id: string; kind: string; name: string }
  options: string[]
  expires_at: string | null
  /** False once the grant has expired: it is kept for review but gives nothing. */
  active: boolean
}

export interface ProfileCustomer {
  id: string
  name: string
  grants: ProfileGrant[]
}

export interface Profile {
  person: {
    id: string
    login: string
    email: string | null
    display_name: string
    locale: string | null
    status: PersonStatus
    last_login_at: string | null
    /** 'on' when sign-in asks for a code, 'pending' while being set up. */
    second_factor: 'on' | 'pending' | 'off'
  }
  customers: ProfileCustomer[]
}

export function personView(person: Person) {
  return { id: person.id, login: person.login, email: person.email, display_name: person.displayName }
}

/** The profile of a person, or undefined when there is no such person. */
export async function profileOf(zona: Zona, personId: string): Promise<Profile | undefined> {
  const db = zona.store.db
  const person = await findPerson(db, personId)
  if (!person) return undefined
  const credentials = await findCredentials(db, personId)
  const rows = await db
    .selectFrom('grants')
    .innerJoin('nodes', 'nodes.id', 'grants.scopeNodeId')
    .innerJoin('customers', 'customers.id', 'grants.customerId')
    .select([
      'grants.id',
      'grants.role',
      'grants.options',
      'grants.expiresAt',
      'grants.customerId',
      'customers.name as customerName',
      'nodes.id as scopeId',
      'nodes.kind as scopeKind',
      'nodes.name as scopeName',
    ])
    .where('grants.personId', '=', personId)
    .orderBy('customers.name')
    .orderBy('grants.customerId')
    .orderBy('grants.grantedAt')
    .orderBy('grants.id')
    .execute()
  const now = zona.clock()
  const catalog = zona.catalog
  const customers = new Map<string, ProfileCustomer>()
  for (const r of rows) {
    let c = customers.get(r.customerId)
    if (!c) {
      c = { id: r.customerId, name: r.customerName, grants: [] }
      customers.set(r.customerId, c)
    }
    const names = catalog.role(r.role)?.name ?? {}
    c.grants.push({
      id: r.id,
      role: r.role,
      role_name: names[catalog.language] ?? names.en ?? r.role,
      role_name_en: names.en ?? names[catalog.language] ?? r.role,
      scope: { id: r.scopeId, kind: r.scopeKind, name: r.scopeName },
      options: r.options,
      expires_at: r.expiresAt ? r.expiresAt.toISOString() : null,
      active: r.expiresAt === null || r.expiresAt > now,
    })
  }
  return {
    person: {
      ...personView(person),
      locale: person.locale,
      status: person.status,
      last_login_at: person.lastLoginAt ? person.lastLoginAt.toISOString() : null,
      second_factor: credentials?.totpSecret ? 'on' : credentials?.totpPendingSecret ? 'pending' : 'off',
    },
    customers: [...customers.values()],
  }
}
