/**
 * W3 registrations (DOMAIN.md section 7, TIM's "elenco di tutte le utenze registrate"): everyone
 * registered at a customer – holding a grant there, or invited with one – with their grants, who
 * granted them, last sign-in and status; and deactivating or reactivating a login.
 *
 * A login is one identity across customers (a person may hold grants at several). Deactivating it
 * is global, so it is allowed only to someone the engine lets revoke EVERY grant the person holds,
 * at every customer; the holder of a role only the operator appoints (primary admin, legal
 * representative) is deactivated only by the operator. Widening, reducing, expiry and revoke of
 * single grants are the grant commands (commands/portal/grants.ts).
 */
import { type Actor, audit, write, type Zona } from '../commands/context.ts'
import type { AccessEngine } from '../domain/engine.ts'
import { ZonaError } from '../errors.ts'
import { MANAGE } from '../queries/grants.ts'
import { decodeCursor, encodeCursor, type PageOf } from '../queries/paging.ts'
import { seeCustomer } from '../queries/visibility.ts'
import type { Executor } from '../store/common.ts'
import { findPeople, findPerson, setPersonStatus } from '../store/people.ts'
import type { Grant, Person, PersonStatus } from '../store/schema.ts'
import { listInvitations } from '../store/workflows.ts'
import { type InvitationView, invitationViews, managesInvitation, requireManager } from './invitations.ts'

export type RegistrationStatus = 'active' | 'deactivated' | 'invited'

export interface Verdict {
  allowed: boolean
  code: string
  reason: string
}

export interface RegistrationGrant {
  id: string
  role: string
  role_name: string
  role_name_en: string
  scope: { id: string; kind: string; name: string | null }
  options: string[]
  expires_at: string | null
  /** False once expired: kept for review, gives nothing. */
  active: boolean
  /** A person (kept when they are gone, delegation rule 5) or operator:<name>. */
  granted_by: { id: string; display_name: string | null } | null
  granted_at: string
  revoke: Verdict
}

export interface Registration {
  /** The person's id, or invitee:<e-mail> for someone invited who has no login yet. */
  key: string
  person: {
    id: string
    login: string
    email: string | null
    display_name: string
    status: PersonStatus
    last_login_at: string | null
  } | null
  email: string | null
  /** deactivated: the login is off; active: holds grants here; invited: only pending invitations. */
  status: RegistrationStatus
  grants: RegistrationGrant[]
  /** Pending invitations to this customer that the reviewer manages. */
  invitations: InvitationView[]
  /** Whether the reviewer may deactivate (or reactivate) the login, and why not. */
  deactivate: Verdict | null
}

export interface RegistrationQuery {
  customer: string
  status?: RegistrationStatus
  role?: string
  /** Part of a name, login or e-mail address, any case. */
  q?: string
  cursor?: string
  limit: number
}

// ---------------------------------------------------------------------------------------
// Deactivation rule

const OPERATOR_CODES = new Set(['OPERATOR_ONLY', 'NEEDS_SUCCESSOR'])

/**
 * May `actor` switch `person`'s login off (or on again), seen from `customer`? The engine decides
 * each grant (canRevoke); a refusal at another customer is told without naming it or its nodes.
 */
export function loginStatusDecision(
  engine: AccessEngine,
  actor: string,
  person: string,
  customer: string,
): Verdict {
  if (actor === person)
    return { allowed: false, code: 'SELF', reason: 'nobody deactivates or reactivates their own login' }
  const tree = engine.tree
  const c = tree.indexOf(customer)
  const all = engine.grantsOf(person)
  const here = all.filter((g) => tree.customerAt(tree.indexOf(g.scope)) === c)
  for (const g of here) {
    const d = engine.canRevoke(actor, g.id)
    if (d.allowed) continue
    if (OPERATOR_CODES.has(d.code))
      return {
        allowed: false,
        code: d.code,
        reason: `${person} holds ${g.role}, which only the operator's staff appoint and replace; only they can deactivate this login (${d.reason})`,
      }
    return { allowed: false, code: d.code, reason: d.reason }
  }
  const elsewhere = all.filter((g) => tree.customerAt(tree.indexOf(g.scope)) !== c)
  if (elsewhere.some((g) => !engine.canRevoke(actor, g.id).allowed))
    return {
      allowed: false,
      code: 'SHARED_LOGIN',
      reason: `${person}'s login also holds grants at another customer that you may not revoke, and deactivating a login ends them all; revoke this customer's grants instead (DELETE /api/v1/grants/:id)`,
    }
  return {
    allowed: true,
    code: 'ALLOWED',
    reason: `${actor} may revoke every grant ${person} holds, so may switch the login off and on`,
  }
}

export interface LoginStatusResult {
  person: Person
  /** False when the login already had that status (nothing written). */
  changed: boolean
  sessionsEnded: number
}

async function applyStatus(
  trx: Executor,
  zona: Zona,
  actor: Actor,
  person: string,
  active: boolean,
  customer: string | null,
) {
  const status: PersonStatus = active ? 'active' : 'deactivated'
  const res = await setPersonStatus(trx, person, status, zona.clock())
  if (!res) throw new ZonaError('NOT_FOUND', 'there is no person with this id', { field: 'params.id' })
  if (res.before.status === status) return { result: { person: res.after, changed: false, sessionsEnded: 0 } }
  await audit(trx, actor, {
    action: active ? 'person.reactivated' : 'person.deactivated',
    customerId: customer,
    subject: person,
    before: { status: res.before.status },
    after: { status, sessions_ended: res.sessionsEnded },
  })
  return {
    result: { person: res.after, changed: true, sessionsEnded: res.sessionsEnded },
    apply: (e: AccessEngine) => e.setPersonActive(person, active),
  }
}

/**
 * POST /people/:id/deactivate|reactivate {customer}: a person managing the customer switches a
 * login off (every session ends at once, I6) or on. The person must be registered there in the
 * actor's sight (a grant there the actor manages), else 404 as for a missing id.
 */
export async function setLoginStatus(
  zona: Zona,
  actor: Actor,
  input: { person: string; customer: string; active: boolean },
): Promise<LoginStatusResult> {
  return write(zona, async (trx, engine) => {
    seeCustomer(engine, actor.id, input.customer, 'body.customer')
    const tree = engine.tree
    const c = tree.indexOf(input.customer)
    const visible = engine
      .grantsOf(input.person)
      .some((g) => tree.customerAt(tree.indexOf(g.scope)) === c && engine.check(actor.id, MANAGE, g.scope))
    if (!visible) throw new ZonaError('NOT_FOUND', 'there is no person with this id', { field: 'params.id' })
    const d = loginStatusDecision(engine, actor.id, input.person, input.customer)
    if (!d.allowed) {
      if (d.code === 'SELF') throw new ZonaError('VALIDATION_FAILED', d.reason, { field: 'params.id' })
      const what = input.active ? 'reactivate' : 'deactivate'
      throw new ZonaError('FORBIDDEN', `you may not ${what} this login`, {
        explanation: d.reason,
        reason: d.code,
      })
    }
    return applyStatus(trx, zona, actor, input.person, input.active, input.customer)
  })
}

/** POST /operator/people/:id/deactivate|reactivate – operator staff, for any login (the only way for limited-role holders). */
export async function operatorSetLoginStatus(
  zona: Zona,
  actor: Actor,
  input: { person: string; active: boolean; customer?: string | null },
): Promise<LoginStatusResult> {
  return write(zona, async (trx) => {
    if (!(await findPerson(trx, input.person)))
      throw new ZonaError('NOT_FOUND', 'there is no person with this id', { field: 'params.id' })
    if (input.customer != null) {
      const customer = await trx
        .selectFrom('customers')
        .select('id')
        .where('id', '=', input.customer)
        .executeTakeFirst()
      if (!customer)
        throw new ZonaError('NOT_FOUND', 'there is no customer with this id', { field: 'body.customer' })
    }
    return applyStatus(trx, zona, actor, input.person, input.active, input.customer ?? null)
  })
}

// ---------------------------------------------------------------------------------------
// The list

const lower = (s: string | null | undefined) => (s ?? '').toLowerCase()

/**
 * GET /customers/:customer/registrations – people with grants the reviewer manages (users.manage
 * on the grant's scope: an account admin sees only their subtree, and only those grants) and
 * pending invitations the reviewer could have made, one entry per person (or invitee e-mail),
 * ordered by name.
 */
export async function listRegistrations(
  zona: Zona,
  reviewer: string,
  query: RegistrationQuery,
): Promise<PageOf<Registration>> {
  const engine = zona.access.engine
  requireManager(engine, reviewer, query.customer, 'params.customer')
  if (query.role !== undefined && !engine.catalog.role(query.role))
    throw new ZonaError('VALIDATION_FAILED', `query.role: ${query.role} is not a role of the catalog`, {
      field: 'query.role',
    })
  const after = decodeCursor(query.cursor, ['string', 'string'])
  const db = zona.store.db
  const now = zona.clock()

  const grants = (
    await db.selectFrom('grants').selectAll().where('customerId', '=', query.customer).execute()
  )
    .filter((g) => engine.check(reviewer, MANAGE, g.scopeNodeId))
    .sort((a, b) => a.grantedAt.getTime() - b.grantedAt.getTime() || (a.id < b.id ? -1 : 1))
  const invitations = (await listInvitations(db, { customerId: query.customer, state: 'pending' })).filter(
    (i) => managesInvitation(engine, reviewer, i),
  )
  const emails = [...new Set(invitations.map((i) => i.email.toLowerCase()))]
  const invitees =
    emails.length === 0
      ? []
      : await db
          .selectFrom('people')
          .selectAll()
          .where((eb) => eb(eb.fn('lower', ['email']), 'in', emails))
          .execute()
  const holders = await findPeople(db, [...new Set(grants.map((g) => g.personId))])
  const people = new Map([...holders, ...invitees].map((p) => [p.id, p]))
  const byEmail = new Map(invitees.map((p) => [lower(p.email), p]))
  const grantors = await findPeople(db, [
    ...new Set(grants.map((g) => g.grantedBy).filter((x): x is string => x !== null)),
  ])
  const grantorName = new Map(grantors.map((p) => [p.id, p.displayName]))
  const nodeRows = grants.length
    ? await db
        .selectFrom('nodes')
        .select(['id', 'name'])
        .where('id', 'in', [...new Set(grants.map((g) => g.scopeNodeId))])
        .execute()
    : []
  const nodeName = new Map(nodeRows.map((n) => [n.id, n.name]))

  interface Draft {
    key: string
    person: Person | null
    email: string | null
    grants: Grant[]
    invitations: typeof invitations
  }
  const drafts = new Map<string, Draft>()
  const draft = (key: string, person: Person | null, email: string | null): Draft => {
    let d = drafts.get(key)
    if (!d) {
      d = { key, person, email, grants: [], invitations: [] }
      drafts.set(key, d)
    }
    return d
  }
  for (const g of grants) {
    const p = people.get(g.personId) ?? null
    draft(g.personId, p, p?.email ?? null).grants.push(g)
  }
  for (const i of invitations) {
    const p = byEmail.get(i.email.toLowerCase())
    const d = p ? draft(p.id, p, p.email) : draft(`invitee:${i.email.toLowerCase()}`, null, i.email)
    d.invitations.push(i)
  }

  const statusOf = (d: Draft): RegistrationStatus =>
    d.person?.status === 'deactivated' ? 'deactivated' : d.grants.length > 0 ? 'active' : 'invited'
  const sortName = (d: Draft) => lower(d.person?.displayName ?? d.invitations[0]?.displayName ?? d.email)
  const needle = query.q?.trim().toLowerCase()
  const matches = (d: Draft) => {
    if (query.status !== undefined && statusOf(d) !== query.status) return false
    if (
      query.role !== undefined &&
      !d.grants.some((g) => g.role === query.role) &&
      !d.invitations.some((i) => (i.grants as { role: string }[]).some((g) => g.role === query.role))
    )
      return false
    if (needle) {
      const texts = [
        d.person?.displayName,
        d.person?.login,
        d.person?.email,
        d.email,
        ...d.invitations.flatMap((i) => [i.email, i.login, i.displayName]),
      ]
      if (!texts.some((t) => lower(t).includes(needle))) return false
    }
    return true
  }
  const ordered = [...drafts.values()]
    .filter(matches)
    .map((d) => ({ d, sort: sortName(d) }))
    .sort((x, y) => (x.sort < y.sort ? -1 : x.sort > y.sort ? 1 : x.d.key < y.d.key ? -1 : 1))
    .filter(({ d, sort }) => !after || sort > after[0] || (sort === after[0] && d.key > after[1]))
  const page = ordered.slice(0, query.limit)
  const more = ordered.length > query.limit

  const views = await invitationViews(
    zona,
    db,
    page.flatMap(({ d }) => d.invitations),
  )
  const viewById = new Map(views.map((v) => [v.id, v]))
  const lang = engine.catalog.language
  const items = page.map(({ d }): Registration => {
    const p = d.person
    return {
      key: d.key,
      person: p && {
        id: p.id,
        login: p.login,
        email: p.email,
        display_name: p.displayName,
        status: p.status,
        last_login_at: p.lastLoginAt ? p.lastLoginAt.toISOString() : null,
      },
      email: d.email,
      status: statusOf(d),
      grants: d.grants.map((g) => {
        const names = engine.catalog.role(g.role)?.name ?? {}
        const r = engine.canRevoke(reviewer, g.id)
        return {
          id: g.id,
          role: g.role,
          role_name: names[lang] ?? names.en ?? g.role,
          role_name_en: names.en ?? names[lang] ?? g.role,
          scope: {
            id: g.scopeNodeId,
            kind: engine.tree.info(g.scopeNodeId)?.kind ?? 'unknown',
            name: nodeName.get(g.scopeNodeId) ?? null,
          },
          options: [...g.options],
          expires_at: g.expiresAt ? g.expiresAt.toISOString() : null,
          active: g.expiresAt === null || g.expiresAt > now,
          granted_by: g.grantedBy
            ? { id: g.grantedBy, display_name: grantorName.get(g.grantedBy) ?? null }
            : null,
          granted_at: g.grantedAt.toISOString(),
          revoke: { allowed: r.allowed, code: r.code, reason: r.reason },
        }
      }),
      invitations: d.invitations.map((i) => viewById.get(i.id) as InvitationView),
      deactivate:
        p && d.grants.length > 0 ? loginStatusDecision(engine, reviewer, p.id, query.customer) : null,
    }
  })
  const last = page[page.length - 1]
  return { items, next_cursor: more && last ? encodeCursor([last.sort, last.d.key]) : null }
}
