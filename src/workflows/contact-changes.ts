/**
 * W5 Contact change (ovh; DOMAIN.md section 7, seed 002): every service has one administrative,
 * one technical and one billing contact, and they change hands only when both the requester and
 * the new contact confirm with their own one-time code.
 *
 * Service contacts are grants of the catalog's contact roles (admin-contact, tech-contact,
 * billing-contact; one holder per service). So the engine alone decides who may start a change:
 * exactly `canGrant(requester, {person: new contact, role, scope: service})` – the admin contact
 * and the owner may name anyone (themselves too: the seed's "reset" of the technical or billing
 * contact), a technical or billing contact only its own successor. The decision is asked again,
 * under the access lock, when the second approval applies the change.
 *
 * A change is a state machine: pending → applied | refused | expired (final states are never
 * left). Each party gets its own random token, stored only as a SHA-256 hash, single use, expiring
 * with the change; a requester naming themselves gets one. An unknown, used, expired or other
 * party's token gets one and the same answer (TOKEN_INVALID), and every wrong token is counted
 * on the change's unused token rows: after MAX_TOKEN_ATTEMPTS the change takes no more codes
 * until it expires or new codes are sent (I4).
 *
 * Approving or refusing needs the token; a session is optional (the e-mail link works in any
 * browser). With a session, the token must be the signed-in person's own.
 */
import { hashToken, newToken } from '../auth/tokens.ts'
import { type Actor, audit, write, type Zona } from '../commands/context.ts'
import type { AccessEngine, GrantInput } from '../domain/engine.ts'
import { ZonaError } from '../errors.ts'
import { enqueueMail } from '../mail/outbox.ts'
import { renderMail } from '../mail/templates.ts'
import { badCursor, decodeCursor, encodeCursor, type PageOf, pageOfArray } from '../queries/paging.ts'
import { noSuchNode, seeCustomer, seeNode } from '../queries/visibility.ts'
import type { Executor } from '../store/common.ts'
import { isUniqueViolation } from '../store/errors.ts'
import { deleteGrant, insertGrant } from '../store/grants.ts'
import { findPeople, findPerson, findPersonByLoginOrEmail } from '../store/people.ts'
import type { ContactChange, ContactChangeState, ContactKind, Grant, Person } from '../store/schema.ts'
import { listOverdueInvoices } from '../store/tree.ts'
import {
  approveContactChange,
  consumeOneTimeToken,
  expireContactChanges,
  findContactChange,
  findOneTimeToken,
  insertContactChange,
  insertOneTimeToken,
  listContactChanges,
  recordTokenAttempt,
  transitionContactChange,
  voidOneTimeTokens,
} from '../store/workflows.ts'

/** The catalog role that makes a person the contact of each kind. */
export const CONTACT_ROLES: Readonly<Record<ContactKind, string>> = {
  admin: 'admin-contact',
  technical: 'tech-contact',
  billing: 'billing-contact',
}
export const CONTACT_KINDS: readonly ContactKind[] = ['admin', 'technical', 'billing']

/** How long a change waits for its approvals when the configuration does not say. */
export const CONTACT_CHANGE_DAYS = 7
/** Wrong codes sent for one change before it takes no more (until it expires or codes are resent). */
export const MAX_TOKEN_ATTEMPTS = 5
/** New codes for a change at most this often, so nobody can flood the other party's mailbox. */
export const RESEND_INTERVAL_SECONDS = 60

const PURPOSE = 'contact_change'

export type Party = 'requester' | 'new_contact'
/** A token's party; 'both' when the requester names themselves (one person, one code). */
type TokenParty = Party | 'both'

export interface PersonRef {
  id: string
  login: string | null
  display_name: string | null
}

export interface ContactChangeView {
  id: string
  customer: string
  service: { id: string; name: string | null }
  kind: ContactKind
  role: string
  /** pending, applied, refused, expired (a pending change past its expiry reads as expired). */
  state: ContactChangeState
  requester: PersonRef
  old_contact: PersonRef
  new_contact: PersonRef
  parties: { party: Party; person: PersonRef; approved_at: string | null }[]
  /** While pending: the parties whose approval is still missing ("waiting for the other party"). */
  waiting_for: Party[]
  /** The viewer's own parties in this change (empty for an onlooker). */
  my_parties: Party[]
  refused_by: PersonRef | null
  refusal_reason: string | null
  created_at: string
  expires_at: string
  closed_at: string | null
}

export interface ServiceContactsView {
  service: { id: string; name: string; status: string | null }
  contacts: Record<ContactKind, PersonRef | null>
  /** Whether I may start a change of each contact (the engine's canGrant, asked with me as the new contact). */
  may_request: Record<ContactKind, boolean>
  /** Kinds with a change waiting for approval. */
  pending: ContactKind[]
}

// ---------------------------------------------------------------------------------------
// Helpers

function requireFeature(zona: Zona): void {
  const c = zona.catalog
  if (!c.features.contactChanges || CONTACT_KINDS.some((k) => !c.role(CONTACT_ROLES[k])))
    throw new ZonaError('NOT_FOUND', 'this portal has no service contacts')
}

function expiryDays(zona: Zona): number {
  return zona.config.ZONA_CONTACT_CHANGE_DAYS ?? CONTACT_CHANGE_DAYS
}

function kindOfRole(role: string): ContactKind | undefined {
  return CONTACT_KINDS.find((k) => CONTACT_ROLES[k] === role)
}

function personRef(p: Person | undefined, id: string): PersonRef {
  return { id, login: p?.login ?? null, display_name: p?.displayName ?? null }
}

/** 'Jana Nováková (AB12345-OVH)': how people are named in mail and messages. */
function label(p: Person): string {
  return `${p.displayName} (${p.login})`
}

function languageOf(zona: Zona, p: Person): string {
  return p.locale ?? zona.catalog.language
}

function portalName(zona: Zona, language: string): string | undefined {
  const name = zona.catalog.name
  return name[language] ?? name[zona.catalog.language]
}

function today(zona: Zona): string {
  return zona.clock().toISOString().slice(0, 10)
}

/** A pending change past its expiry is expired, whether or not the sweep has run yet. */
function effectiveState(change: ContactChange, now: Date): ContactChangeState {
  return change.state === 'pending' && change.expiresAt <= now ? 'expired' : change.state
}

function tokenParties(change: ContactChange, who: readonly Party[]): TokenParty[] {
  if (change.requestedBy === change.newPersonId) return who.length > 0 ? ['both'] : []
  return [...who]
}

function partiesOf(change: ContactChange, person: string): Party[] {
  const out: Party[] = []
  if (change.requestedBy === person) out.push('requester')
  if (change.newPersonId === person) out.push('new_contact')
  return out
}

function noSuchChange(): ZonaError {
  return new ZonaError('NOT_FOUND', 'there is no contact change with this id', { field: 'params.id' })
}

function invalidToken(): ZonaError {
  return new ZonaError(
    'TOKEN_INVALID',
    'the confirmation code is not valid: it may be used, expired, mistyped or not yours',
    { field: 'body.token' },
  )
}

async function serviceNames(db: Executor, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map()
  const rows = await db.selectFrom('nodes').select(['id', 'name']).where('id', 'in', ids).execute()
  return new Map(rows.map((r) => [r.id, r.name]))
}

/** Views of changes, with their people and service names loaded in two queries. */
async function viewsOf(
  db: Executor,
  changes: readonly ContactChange[],
  viewer: { person: string | null; parties?: Party[] },
  now: Date,
): Promise<ContactChangeView[]> {
  const ids = new Set<string>()
  for (const c of changes) {
    ids.add(c.requestedBy)
    ids.add(c.oldPersonId)
    ids.add(c.newPersonId)
    if (c.refusedBy) ids.add(c.refusedBy)
  }
  const people = new Map((await findPeople(db, [...ids])).map((p) => [p.id, p]))
  const names = await serviceNames(db, [...new Set(changes.map((c) => c.nodeId))])
  const ref = (id: string) => personRef(people.get(id), id)
  return changes.map((c) => {
    const state = effectiveState(c, now)
    const approvals: [Party, string, Date | null][] = [
      ['requester', c.requestedBy, c.requesterApprovedAt],
      ['new_contact', c.newPersonId, c.newContactApprovedAt],
    ]
    return {
      id: c.id,
      customer: c.customerId,
      service: { id: c.nodeId, name: names.get(c.nodeId) ?? null },
      kind: c.kind,
      role: CONTACT_ROLES[c.kind],
      state,
      requester: ref(c.requestedBy),
      old_contact: ref(c.oldPersonId),
      new_contact: ref(c.newPersonId),
      parties: approvals.map(([party, id, at]) => ({
        party,
        person: ref(id),
        approved_at: at ? at.toISOString() : null,
      })),
      waiting_for: state === 'pending' ? approvals.filter(([, , at]) => !at).map(([party]) => party) : [],
      my_parties: viewer.parties ?? (viewer.person ? partiesOf(c, viewer.person) : []),
      refused_by: c.refusedBy ? ref(c.refusedBy) : null,
      refusal_reason: c.refusalReason,
      created_at: c.createdAt.toISOString(),
      expires_at: c.expiresAt.toISOString(),
      closed_at: c.closedAt ? c.closedAt.toISOString() : null,
    }
  })
}

async function viewOf(
  db: Executor,
  change: ContactChange,
  viewer: { person: string | null; parties?: Party[] },
  now: Date,
): Promise<ContactChangeView> {
  return (await viewsOf(db, [change], viewer, now))[0] as ContactChangeView
}

/** The person whose login (the NIC handle, AB12345-OVH) is `handle`, any case. */
async function findByHandle(db: Executor, handle: string): Promise<Person | undefined> {
  const p = await findPersonByLoginOrEmail(db, handle)
  return p && p.login.toLowerCase() === handle.trim().toLowerCase() ? p : undefined
}

/** Those of the people who are billing contacts of a service with an unpaid invoice past its due day. */
async function inArrears(
  db: Executor,
  engine: AccessEngine,
  people: readonly Person[],
  day: string,
): Promise<Person[]> {
  const late: Person[] = []
  for (const p of people) {
    const services = engine
      .grantsOf(p.id)
      .filter((g) => g.role === CONTACT_ROLES.billing)
      .map((g) => g.scope)
    if ((await listOverdueInvoices(db, { nodeIds: services, today: day })).length > 0) late.push(p)
  }
  return late
}

/** The seed: "Původní ani nový fakturační kontakt nesmí být pozadu s platbami" – named, never with amounts. */
async function assertNoArrears(
  db: Executor,
  engine: AccessEngine,
  people: readonly Person[],
  day: string,
): Promise<void> {
  const unique = [...new Map(people.map((p) => [p.id, p])).values()]
  const late = await inArrears(db, engine, unique, day)
  if (late.length > 0)
    throw new ZonaError(
      'CONFLICT',
      `the billing contact cannot change while ${late.map(label).join(' and ')} ${late.length > 1 ? 'have' : 'has'} overdue payments`,
      { reason: 'IN_ARREARS' },
    )
}

/** Issues a fresh code to each party and queues its e-mail, in the caller's transaction. */
async function sendConfirmations(
  trx: Executor,
  zona: Zona,
  change: ContactChange,
  who: readonly Party[],
  people: { requester: Person; newContact: Person },
  serviceName: string,
): Promise<void> {
  const now = zona.clock()
  for (const party of tokenParties(change, who)) {
    const person = party === 'new_contact' ? people.newContact : people.requester
    if (!person.email) throw new Error(`contact change ${change.id}: ${person.id} has no e-mail`)
    const { token, hash } = newToken()
    await insertOneTimeToken(trx, {
      tokenHash: hash,
      purpose: PURPOSE,
      subjectId: change.id,
      party,
      personId: person.id,
      email: person.email,
      expiresAt: change.expiresAt,
      createdAt: now,
    })
    const language = languageOf(zona, person)
    const link = `${zona.config.publicUrl}/contact-changes/${encodeURIComponent(change.id)}?token=${encodeURIComponent(token)}`
    const mail = renderMail('contact-change-confirm', language, {
      name: person.displayName,
      serviceName,
      contactKind: change.kind,
      newContactName: label(people.newContact),
      requesterName: label(people.requester),
      token,
      link,
      portalName: portalName(zona, language),
    })
    await enqueueMail(trx, {
      to: person.email,
      ...mail,
      kind: 'contact-change-confirm',
      customerId: change.customerId,
    })
  }
}

/**
 * Marks pending changes past their expiry as expired, voids their codes, one audit event each.
 * Runs before a new request (so an expired change does not block its contact) and from a sweep.
 */
export async function expireStaleContactChanges(zona: Zona, trx?: Executor): Promise<ContactChange[]> {
  const run = async (db: Executor) => {
    const now = zona.clock()
    const expired = await expireContactChanges(db, now)
    for (const c of expired) {
      await voidOneTimeTokens(db, { purpose: PURPOSE, subjectId: c.id }, now)
      await audit(
        db,
        { id: 'system' },
        {
          action: 'contact_change.expired',
          customerId: c.customerId,
          nodeId: c.nodeId,
          subject: c.id,
          before: { state: 'pending' },
          after: { state: 'expired' },
        },
      )
    }
    return expired
  }
  if (trx) return run(trx)
  return write(zona, async (db) => ({ result: await run(db) }))
}

// ---------------------------------------------------------------------------------------
// Reading: the contacts of services, one change, my requests

async function contactsView(
  db: Executor,
  engine: AccessEngine,
  person: string,
  services: readonly string[],
  now: Date,
): Promise<ServiceContactsView[]> {
  if (services.length === 0) return []
  const holders = new Map<string, Map<ContactKind, string>>()
  const ids = new Set<string>()
  for (const s of services) {
    const byKind = new Map<ContactKind, string>()
    for (const g of engine.grantsAt(s)) {
      const kind = kindOfRole(g.role)
      if (kind) {
        byKind.set(kind, g.person)
        ids.add(g.person)
      }
    }
    holders.set(s, byKind)
  }
  const people = new Map((await findPeople(db, [...ids])).map((p) => [p.id, p]))
  const rows = await db
    .selectFrom('nodes')
    .select(['id', 'name', 'status'])
    .where('id', 'in', services)
    .execute()
  const nodes = new Map(rows.map((r) => [r.id, r]))
  const pending = await db
    .selectFrom('contactChanges')
    .select(['nodeId', 'kind', 'expiresAt'])
    .where('nodeId', 'in', services)
    .where('state', '=', 'pending')
    .execute()
  const out: ServiceContactsView[] = []
  for (const s of services) {
    const node = nodes.get(s)
    if (!node) continue // in the engine but not committed where we read: it comes next time
    const byKind = holders.get(s) as Map<ContactKind, string>
    const contact = (k: ContactKind) => {
      const id = byKind.get(k)
      return id ? personRef(people.get(id), id) : null
    }
    const may = (k: ContactKind) =>
      engine.canGrant(person, { person, role: CONTACT_ROLES[k], scope: s }).allowed
    out.push({
      service: { id: s, name: node.name, status: node.status },
      contacts: { admin: contact('admin'), technical: contact('technical'), billing: contact('billing') },
      may_request: { admin: may('admin'), technical: may('technical'), billing: may('billing') },
      pending: CONTACT_KINDS.filter((k) =>
        pending.some((p) => p.nodeId === s && p.kind === k && p.expiresAt > now),
      ),
    })
  }
  return out
}

/** GET /services/:id/contacts – the service's three contacts, for anyone who sees the service. */
export async function serviceContacts(
  zona: Zona,
  person: string,
  service: string,
): Promise<ServiceContactsView> {
  requireFeature(zona)
  const engine = zona.access.engine
  seeNode(engine, person, service, ['service'], 'params.id')
  const [view] = await contactsView(zona.store.db, engine, person, [service], zona.clock())
  if (!view) throw noSuchNode('service', 'params.id')
  return view
}

/**
 * GET /customers/:customer/contacts – per service of the customer I may see (tree order), its
 * contacts; `mine` keeps the services where I am one of them (the seed's "Moje kontakty" table).
 */
export async function listCustomerContacts(
  zona: Zona,
  person: string,
  input: { customer: string; mine?: boolean; cursor?: string; limit: number },
): Promise<PageOf<ServiceContactsView>> {
  requireFeature(zona)
  const engine = zona.access.engine
  seeCustomer(engine, person, input.customer, 'params.customer')
  const tree = engine.tree
  const c = tree.indexOf(input.customer)
  const after = decodeCursor(input.cursor, ['string'])
  let from = -1
  if (after) {
    const a = tree.indexOf(after[0])
    if (a < 0 || tree.customerAt(a) !== c) throw badCursor()
    tree.ensureIndexed()
    from = tree.pre(a)
  }
  const mine = input.mine
    ? new Set(
        engine
          .grantsOf(person)
          .filter((g) => kindOfRole(g.role))
          .map((g) => g.scope),
      )
    : undefined
  const ids: string[] = []
  for (const id of engine.listAll(person, 'node.view', 'service')) {
    const n = tree.indexOf(id)
    if (tree.customerAt(n) !== c || tree.pre(n) <= from) continue
    if (mine && !mine.has(id)) continue
    ids.push(id)
    if (ids.length > input.limit) break
  }
  const page = ids.slice(0, input.limit)
  const items = await contactsView(zona.store.db, engine, person, page, zona.clock())
  const last = page[page.length - 1]
  return { items, next_cursor: ids.length > input.limit && last ? encodeCursor([last]) : null }
}

/** May the person see this change: a party, the old contact, or one who manages the service's contacts. */
function maySee(engine: AccessEngine, change: ContactChange, person: string): boolean {
  return (
    change.requestedBy === person ||
    change.oldPersonId === person ||
    change.newPersonId === person ||
    engine.check(person, 'contacts.manage', change.nodeId)
  )
}

/** GET /contact-changes/:id */
export async function getContactChange(zona: Zona, person: string, id: string): Promise<ContactChangeView> {
  requireFeature(zona)
  const change = await findContactChange(zona.store.db, id)
  if (!change || !maySee(zona.access.engine, change, person)) throw noSuchChange()
  return viewOf(zona.store.db, change, { person }, zona.clock())
}

/** GET /contact-changes?mine=true – "Mé požadavky": changes where I am requester, old or new contact. */
export async function listMyContactChanges(
  zona: Zona,
  person: string,
  input: { state?: ContactChangeState; cursor?: string; limit: number },
): Promise<PageOf<ContactChangeView>> {
  requireFeature(zona)
  const now = zona.clock()
  const changes = await listContactChanges(zona.store.db, { personId: person })
  const wanted = input.state ? changes.filter((c) => effectiveState(c, now) === input.state) : changes
  const page = pageOfArray(wanted, input.cursor, input.limit, (c) => c.id)
  return { ...page, items: await viewsOf(zona.store.db, page.items, { person }, now) }
}

// ---------------------------------------------------------------------------------------
// Writing: request, approve or refuse, resend

export interface ContactChangeRequest {
  service: string
  kind: ContactKind
  /** The new contact's NIC handle (login). */
  newContact: string
}

/**
 * POST /services/:id/contact-changes – `actor` asks that `newContact` become the service's
 * contact of `kind`. The engine decides (canGrant); the change waits for both parties' codes.
 *
 * @throws ZonaError NOT_FOUND (service not visible, no such NIC handle), FORBIDDEN (the engine's
 *   refusal), CONFLICT (already the contact, a change already pending, arrears), VALIDATION_FAILED
 */
export async function requestContactChange(
  zona: Zona,
  actor: Actor,
  input: ContactChangeRequest,
): Promise<ContactChangeView> {
  requireFeature(zona)
  return write(zona, async (trx, engine) => {
    const now = zona.clock()
    const info = seeNode(engine, actor.id, input.service, ['service'], 'params.id')
    const role = CONTACT_ROLES[input.kind]
    const newContact = await findByHandle(trx, input.newContact)
    if (!newContact)
      throw new ZonaError('NOT_FOUND', 'there is no person with this customer identifier', {
        field: 'body.new_contact',
      })
    const d = engine.canGrant(actor.id, { person: newContact.id, role, scope: input.service })
    if (!d.allowed)
      throw new ZonaError('FORBIDDEN', `you may not name the ${input.kind} contact of this service`, {
        explanation: d.reason,
        reason: d.code,
      })
    const old = d.replaces.find((g) => g.role === role)
    if (!old)
      throw new ZonaError(
        'CONFLICT',
        `the service has no ${input.kind} contact to replace; the operator appoints the first one`,
      )
    if (old.person === newContact.id)
      throw new ZonaError('CONFLICT', `${label(newContact)} already is the ${input.kind} contact`, {
        field: 'body.new_contact',
      })
    if (newContact.status !== 'active')
      throw new ZonaError('VALIDATION_FAILED', 'body.new_contact is a deactivated login', {
        field: 'body.new_contact',
      })
    if (!newContact.email)
      throw new ZonaError(
        'VALIDATION_FAILED',
        'body.new_contact has no e-mail address to confirm with; they must add one to their profile first',
        { field: 'body.new_contact' },
      )
    const requester = await findPerson(trx, actor.id)
    if (!requester?.email)
      throw new ZonaError(
        'CONFLICT',
        'your profile has no e-mail address to send your confirmation code to; add one first',
      )
    if (input.kind === 'billing') {
      const oldContact = await findPerson(trx, old.person)
      await assertNoArrears(trx, engine, oldContact ? [oldContact, newContact] : [newContact], today(zona))
    }

    await expireStaleContactChanges(zona, trx)
    const duplicate = (await listContactChanges(trx, { nodeId: input.service, state: 'pending' })).some(
      (c) => c.kind === input.kind,
    )
    const busy = () =>
      new ZonaError(
        'CONFLICT',
        `a change of the ${input.kind} contact of this service is already waiting for approval`,
      )
    if (duplicate) throw busy()
    let change: ContactChange
    try {
      change = await insertContactChange(trx, {
        customerId: info.customer,
        nodeId: input.service,
        kind: input.kind,
        requestedBy: actor.id,
        oldPersonId: old.person,
        newPersonId: newContact.id,
        expiresAt: new Date(now.getTime() + expiryDays(zona) * 86_400_000),
        createdAt: now,
      })
    } catch (e) {
      if (isUniqueViolation(e, 'contact_changes_one_pending')) throw busy()
      throw e
    }
    const names = await serviceNames(trx, [input.service])
    await sendConfirmations(
      trx,
      zona,
      change,
      ['requester', 'new_contact'],
      { requester, newContact },
      names.get(input.service) ?? input.service,
    )
    await audit(trx, actor, {
      action: 'contact_change.requested',
      customerId: info.customer,
      nodeId: input.service,
      subject: change.id,
      after: {
        kind: change.kind,
        role,
        requested_by: actor.id,
        old_contact: old.person,
        new_contact: newContact.id,
        expires_at: change.expiresAt.toISOString(),
      },
    })
    return { result: await viewOf(trx, change, { person: actor.id }, now) }
  })
}

export interface TokenDecision {
  id: string
  token: string
  /** The signed-in person, when the call has a session: the token must be theirs. */
  sessionPerson: string | null
  /** For audit: the session's actor; without a session the token's holder is recorded. */
  actor: Actor
}

/** Seconds until the change's codes expire, for retry-after. */
function secondsUntil(at: Date, now: Date): number {
  return Math.max(1, Math.ceil((at.getTime() - now.getTime()) / 1000))
}

/**
 * Checks a code before any write: the change must be pending and take codes, the token must be
 * this change's, unused, unexpired, and (with a session) the signed-in person's. A wrong code is
 * counted (in its own statement, so it stays counted though the request fails).
 */
async function checkToken(zona: Zona, input: TokenDecision) {
  const db = zona.store.db
  const now = zona.clock()
  const change = await findContactChange(db, input.id)
  if (change) {
    const row = await db
      .selectFrom('oneTimeTokens')
      .select((eb) => eb.fn.max('attempts').as('attempts'))
      .where('purpose', '=', PURPOSE)
      .where('subjectId', '=', change.id)
      .where('usedAt', 'is', null)
      .executeTakeFirst()
    if (Number(row?.attempts ?? 0) >= MAX_TOKEN_ATTEMPTS)
      throw new ZonaError(
        'RATE_LIMITED',
        'too many wrong codes for this change: it takes none until it expires or new codes are sent',
        { retryAfterSeconds: secondsUntil(change.expiresAt, now) },
      )
  }
  const hash = hashToken(input.token)
  const token = await findOneTimeToken(db, hash)
  const valid =
    change !== undefined &&
    token !== undefined &&
    token.purpose === PURPOSE &&
    token.subjectId === change.id &&
    token.usedAt === null &&
    token.expiresAt > now &&
    token.personId !== null &&
    effectiveState(change, now) === 'pending' &&
    (input.sessionPerson === null || token.personId === input.sessionPerson)
  if (!valid || !change || !token) {
    if (change) await recordTokenAttempt(db, { purpose: PURPOSE, subjectId: change.id })
    throw invalidToken()
  }
  return { hash, party: token.party as TokenParty, personId: token.personId as string }
}

/**
 * POST /contact-changes/:id/approve – records the token holder's approval. The first approval
 * leaves the change pending ("waiting for the other party"); the second applies it in the same
 * transaction, under the access lock: the engine is asked again whether the requester may give
 * the role, and if not, the change ends refused with the reason. Two approvals racing each other
 * are serialised by that lock, so exactly one of them applies the change.
 */
export async function approveContactChangeWithToken(
  zona: Zona,
  input: TokenDecision,
): Promise<ContactChangeView> {
  requireFeature(zona)
  const checked = await checkToken(zona, input)
  return write(zona, async (trx, engine) => {
    const now = zona.clock()
    const actor = input.sessionPerson ? input.actor : { id: checked.personId, ip: input.actor.ip ?? null }
    // The check above may be stale: this is the atomic once-only use.
    if (!(await consumeOneTimeToken(trx, checked.hash, PURPOSE, now))) throw invalidToken()
    const current = await findContactChange(trx, input.id)
    if (!current || effectiveState(current, now) !== 'pending') throw invalidToken()
    const holder = await findPerson(trx, checked.personId)
    if (holder?.status !== 'active') throw invalidToken()
    const parties: Party[] = checked.party === 'both' ? ['requester', 'new_contact'] : [checked.party]
    let change: ContactChange | undefined = current
    for (const p of parties) change = await approveContactChange(trx, input.id, p, now)
    if (!change) throw invalidToken()
    await audit(trx, actor, {
      action: 'contact_change.approved',
      customerId: change.customerId,
      nodeId: change.nodeId,
      subject: change.id,
      after: { parties },
    })
    const viewer = { person: checked.personId, parties }
    if (!change.requesterApprovedAt || !change.newContactApprovedAt)
      return { result: await viewOf(trx, change, viewer, now) }
    return applyChange(trx, zona, engine, change, actor, viewer)
  })
}

/** The second approval: the contact grant changes hands, or the change ends refused with the engine's reason. */
async function applyChange(
  trx: Executor,
  zona: Zona,
  engine: AccessEngine,
  change: ContactChange,
  actor: Actor,
  viewer: { person: string; parties: Party[] },
) {
  const now = zona.clock()
  const role = CONTACT_ROLES[change.kind]
  const requester = await findPerson(trx, change.requestedBy)
  const newContact = await findPerson(trx, change.newPersonId)
  const d = engine.canGrant(change.requestedBy, { person: change.newPersonId, role, scope: change.nodeId })
  const why = !d.allowed
    ? `the requester may no longer name this contact: ${d.reason}`
    : newContact?.status !== 'active'
      ? 'the new contact is deactivated'
      : undefined
  if (why || !requester || !newContact) {
    const refused = await transitionContactChange(trx, change.id, 'pending', 'refused', {
      refusalReason: why ?? 'a party no longer exists',
      at: now,
    })
    if (!refused) throw invalidToken()
    await voidOneTimeTokens(trx, { purpose: PURPOSE, subjectId: change.id }, now)
    await audit(trx, actor, {
      action: 'contact_change.refused',
      customerId: change.customerId,
      nodeId: change.nodeId,
      subject: change.id,
      before: { state: 'pending' },
      after: { state: 'refused', reason: refused.refusalReason },
    })
    return { result: await viewOf(trx, refused, viewer, now) }
  }
  const replaced = d.replaces.filter((g) => g.role === role)
  const oldIds = [...new Set(replaced.map((g) => g.person))]
  const oldPeople = await findPeople(trx, oldIds)
  // The arrears rule holds at the moment of change too; refusing here rolls the approval back
  // (nothing half-applied), so the party can approve again once the payments are made.
  if (change.kind === 'billing') await assertNoArrears(trx, engine, [...oldPeople, newContact], today(zona))
  const removed: Grant[] = []
  for (const g of d.replaces) {
    const row = await deleteGrant(trx, g.id)
    if (row) removed.push(row)
  }
  const grant = await insertGrant(trx, {
    customerId: change.customerId,
    personId: change.newPersonId,
    role,
    scopeNodeId: change.nodeId,
    grantedBy: change.requestedBy,
    grantedAt: now,
  })
  const applied = await transitionContactChange(trx, change.id, 'pending', 'applied', { at: now })
  if (!applied) throw invalidToken()
  await voidOneTimeTokens(trx, { purpose: PURPOSE, subjectId: change.id }, now)
  const serviceName = (await serviceNames(trx, [change.nodeId])).get(change.nodeId) ?? change.nodeId
  const oldName = oldPeople.map(label).join(', ') || '–'
  const recipients = new Map<string, Person>()
  for (const p of [requester, newContact, ...oldPeople]) if (p.email) recipients.set(p.email.toLowerCase(), p)
  for (const p of recipients.values()) {
    const language = languageOf(zona, p)
    const mail = renderMail('contact-change-applied', language, {
      serviceName,
      contactKind: change.kind,
      oldContactName: oldName,
      newContactName: label(newContact),
      portalName: portalName(zona, language),
    })
    await enqueueMail(trx, {
      to: p.email as string,
      ...mail,
      kind: 'contact-change-applied',
      customerId: change.customerId,
    })
  }
  await audit(trx, actor, {
    action: 'contact_change.applied',
    customerId: change.customerId,
    nodeId: change.nodeId,
    subject: change.id,
    before: removed,
    after: grant,
  })
  return {
    result: await viewOf(trx, applied, viewer, now),
    apply: (e: AccessEngine) => {
      for (const g of d.replaces) e.removeGrant(g.id)
      e.addGrant(engineGrant(grant))
    },
  }
}

function engineGrant(row: Grant): GrantInput {
  return {
    id: row.id,
    person: row.personId,
    role: row.role,
    scope: row.scopeNodeId,
    options: row.options,
    expiresAt: row.expiresAt ? row.expiresAt.getTime() : null,
    grantedBy: row.grantedBy,
    grantedAt: row.grantedAt.getTime(),
  }
}

/** POST /contact-changes/:id/refuse – either party ends the change; nothing changes hands. */
export async function refuseContactChangeWithToken(
  zona: Zona,
  input: TokenDecision,
): Promise<ContactChangeView> {
  requireFeature(zona)
  const checked = await checkToken(zona, input)
  return write(zona, async (trx) => {
    const now = zona.clock()
    const actor = input.sessionPerson ? input.actor : { id: checked.personId, ip: input.actor.ip ?? null }
    if (!(await consumeOneTimeToken(trx, checked.hash, PURPOSE, now))) throw invalidToken()
    const refused = await transitionContactChange(trx, input.id, 'pending', 'refused', {
      refusedBy: checked.personId,
      at: now,
    })
    if (!refused) throw invalidToken()
    await voidOneTimeTokens(trx, { purpose: PURPOSE, subjectId: refused.id }, now)
    await audit(trx, actor, {
      action: 'contact_change.refused',
      customerId: refused.customerId,
      nodeId: refused.nodeId,
      subject: refused.id,
      before: { state: 'pending' },
      after: { state: 'refused', refused_by: checked.personId },
    })
    const parties: Party[] = checked.party === 'both' ? ['requester', 'new_contact'] : [checked.party]
    return { result: await viewOf(trx, refused, { person: checked.personId, parties }, now) }
  })
}

/**
 * POST /contact-changes/:id/resend – by the requester or the new contact: new codes for the
 * parties that have not approved yet (their old codes stop working, and the count of wrong
 * codes starts again), mailed again to the addresses on file now.
 */
export async function resendContactChange(zona: Zona, actor: Actor, id: string): Promise<ContactChangeView> {
  requireFeature(zona)
  return write(zona, async (trx, engine) => {
    const now = zona.clock()
    const change = await findContactChange(trx, id)
    if (!change || !maySee(engine, change, actor.id)) throw noSuchChange()
    if (partiesOf(change, actor.id).length === 0)
      throw new ZonaError('FORBIDDEN', 'only the requester or the new contact may send the codes again')
    if (effectiveState(change, now) !== 'pending')
      throw new ZonaError('CONFLICT', `the change is ${effectiveState(change, now)}, no longer pending`)
    const recent = await trx
      .selectFrom('oneTimeTokens')
      .select('createdAt')
      .where('purpose', '=', PURPOSE)
      .where('subjectId', '=', id)
      .orderBy('createdAt', 'desc')
      .executeTakeFirst()
    const wait = recent
      ? RESEND_INTERVAL_SECONDS - Math.floor((now.getTime() - recent.createdAt.getTime()) / 1000)
      : 0
    if (wait > 0)
      throw new ZonaError('RATE_LIMITED', `the codes were sent moments ago; try again in ${wait} s`, {
        retryAfterSeconds: wait,
      })
    const who: Party[] = []
    if (!change.requesterApprovedAt) who.push('requester')
    if (!change.newContactApprovedAt) who.push('new_contact')
    for (const party of tokenParties(change, who))
      await voidOneTimeTokens(trx, { purpose: PURPOSE, subjectId: id, party }, now)
    const requester = await findPerson(trx, change.requestedBy)
    const newContact = await findPerson(trx, change.newPersonId)
    if (!requester?.email || !newContact?.email)
      throw new ZonaError('CONFLICT', 'a party has no e-mail address on file; add one to the profile first')
    const serviceName = (await serviceNames(trx, [change.nodeId])).get(change.nodeId) ?? change.nodeId
    await sendConfirmations(trx, zona, change, who, { requester, newContact }, serviceName)
    await audit(trx, actor, {
      action: 'contact_change.resent',
      customerId: change.customerId,
      nodeId: change.nodeId,
      subject: change.id,
      after: { parties: who },
    })
    return { result: await viewOf(trx, change, { person: actor.id }, now) }
  })
}
