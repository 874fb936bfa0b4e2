/**
 * W1 Invite (DOMAIN.md section 7): a person with users.manage invites someone by e-mail (and
 * login) with one or more grants; the invitee opens the one-time link from the e-mail and either
 * sets a password (a new login) or accepts with the login they already have, possibly at another
 * customer (NOS: "pode já ser um utilizador registado").
 *
 * The engine decides twice: when the invitation is made (with the inviter as actor) and again when
 * it is accepted (still with the inviter as actor: they may have lost their rights meanwhile, and an
 * invitation must not give more than its inviter could give now). Nothing else decides.
 *
 * The invitation is a state machine (pending → accepted | cancelled | expired); its token is
 * random, stored only as a SHA-256 hash, works once, expires, and every wrong use is counted on
 * its row (I4). Unknown, used, expired and cancelled tokens get one and the same answer.
 */

import { assertPasswordPolicy } from '../auth/passwords.ts'
import { hashToken, newToken } from '../auth/tokens.ts'
import { type LoginResult, login } from '../commands/auth/login.ts'
import { createPerson } from '../commands/auth/people.ts'
import { refuseContactRole } from '../commands/contact-roles.ts'
import { type Actor, audit, write, type Zona } from '../commands/context.ts'
import { refusal } from '../commands/portal/grants.ts'
import type { Decision } from '../domain/decision.ts'
import type { AccessEngine, GrantInput } from '../domain/engine.ts'
import type { NodeKind } from '../domain/tree.ts'
import { ZonaError } from '../errors.ts'
import { enqueueMail } from '../mail/outbox.ts'
import { renderMail } from '../mail/templates.ts'
import { MANAGE } from '../queries/grants.ts'
import { type PageOf, pageOfArray } from '../queries/paging.ts'
import { explanationWithin, seeCustomer, seeNode } from '../queries/visibility.ts'
import { type Executor, withTransaction } from '../store/common.ts'
import { deleteGrant, insertGrant } from '../store/grants.ts'
import { deleteSession } from '../store/people.ts'
import type { Grant, Invitation, InvitedGrant, Person } from '../store/schema.ts'
import {
  consumeOneTimeToken,
  findInvitation,
  findOneTimeToken,
  insertInvitation,
  insertOneTimeToken,
  listInvitations,
  markInvitationResent,
  transitionInvitation,
  voidOneTimeTokens,
} from '../store/workflows.ts'

const ANY_NODE: readonly NodeKind[] = ['customer', 'account', 'service']

/** At most this many grants in one invitation. */
export const MAX_INVITED_GRANTS = 10
/** Wrong passwords sent with one link before the link stops working (login() also locks the login). */
export const MAX_TOKEN_ATTEMPTS = 5
/** The engine is asked about an invitee without a login as this id: it holds nothing. */
export const NEW_INVITEE = 'invitee:new'

/** A grant as the invitation stores it (jsonb): the expiry is an ISO string. */
export type StoredGrant = InvitedGrant & { expiresAt?: string | null }

export interface InvitedGrantInput {
  role: string
  scope: string
  options?: readonly string[]
  expiresAt?: Date | null
}

export interface InviteInput {
  customer: string
  /** The login name the invitee will have (ignored where the catalog generates NIC handles). */
  login?: string | null
  email: string
  displayName?: string | null
  grants: readonly InvitedGrantInput[]
}

export interface InvitationGrantView {
  role: string
  role_name: string
  role_name_en: string
  scope: { id: string; kind: string; name: string | null }
  options: string[]
  expires_at: string | null
}

export interface InvitationView {
  id: string
  customer: string
  login: string | null
  email: string
  display_name: string | null
  /** 'expired' for a pending invitation past its expiry (it can still be resent). */
  state: 'pending' | 'accepted' | 'cancelled' | 'expired'
  grants: InvitationGrantView[]
  invited_by: { id: string; display_name: string | null }
  created_at: string
  expires_at: string
  last_sent_at: string
  send_count: number
}

// ---------------------------------------------------------------------------------------
// Helpers

/** The one answer for every token that does not work: unknown, used, expired, cancelled (no oracle). */
export function tokenInvalid(field: string): ZonaError {
  return new ZonaError(
    'TOKEN_INVALID',
    'the invitation link is not valid: it may be used, expired or mistyped',
    {
      field,
    },
  )
}

function roleNames(engine: AccessEngine, role: string): { name: string; en: string } {
  const names = engine.catalog.role(role)?.name ?? {}
  return {
    name: names[engine.catalog.language] ?? names.en ?? role,
    en: names.en ?? names[engine.catalog.language] ?? role,
  }
}

async function nodeNames(db: Executor, ids: Iterable<string>): Promise<Map<string, string>> {
  const wanted = [...new Set(ids)]
  if (wanted.length === 0) return new Map()
  const rows = await db.selectFrom('nodes').select(['id', 'name']).where('id', 'in', wanted).execute()
  return new Map(rows.map((r) => [r.id, r.name]))
}

export function storedGrants(invitation: Invitation): StoredGrant[] {
  return invitation.grants as StoredGrant[]
}

function grantViews(engine: AccessEngine, grants: StoredGrant[], names: Map<string, string>) {
  return grants.map((g): InvitationGrantView => {
    const n = roleNames(engine, g.role)
    return {
      role: g.role,
      role_name: n.name,
      role_name_en: n.en,
      scope: {
        id: g.scopeNodeId,
        kind: engine.tree.info(g.scopeNodeId)?.kind ?? 'unknown',
        name: names.get(g.scopeNodeId) ?? null,
      },
      options: [...g.options],
      expires_at: g.expiresAt ?? null,
    }
  })
}

/** Invitations as the API shows them, with role and scope names. */
export async function invitationViews(
  zona: Zona,
  db: Executor,
  invitations: readonly Invitation[],
): Promise<InvitationView[]> {
  const engine = zona.access.engine
  const names = await nodeNames(
    db,
    invitations.flatMap((i) => storedGrants(i).map((g) => g.scopeNodeId)),
  )
  const inviterIds = [...new Set(invitations.map((i) => i.invitedBy))]
  const inviters =
    inviterIds.length === 0
      ? []
      : await db.selectFrom('people').select(['id', 'displayName']).where('id', 'in', inviterIds).execute()
  const inviterName = new Map(inviters.map((p) => [p.id, p.displayName]))
  const now = zona.clock()
  return invitations.map((i) => ({
    id: i.id,
    customer: i.customerId,
    login: i.login,
    email: i.email,
    display_name: i.displayName,
    state: i.state === 'pending' && i.expiresAt <= now ? 'expired' : i.state,
    grants: grantViews(engine, storedGrants(i), names),
    invited_by: { id: i.invitedBy, display_name: inviterName.get(i.invitedBy) ?? null },
    created_at: i.createdAt.toISOString(),
    expires_at: i.expiresAt.toISOString(),
    last_sent_at: i.lastSentAt.toISOString(),
    send_count: i.sendCount,
  }))
}

/** The person whose e-mail address this is, ignoring case. */
export async function personByEmail(db: Executor, email: string): Promise<Person | undefined> {
  return db
    .selectFrom('people')
    .selectAll()
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.trim().toLowerCase()))
    .executeTakeFirst()
}

async function loginOwner(db: Executor, login: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('people')
    .select('id')
    .where((eb) => eb(eb.fn('lower', ['login']), '=', login.toLowerCase()))
    .executeTakeFirst()
  return row?.id
}

/** A refusal of grant i, naming it: body.grants[i] (or its field, for input mistakes). */
function grantRefusal(d: Decision, i: number): ZonaError {
  const e = refusal(d)
  const at = `body.grants[${i}]`
  const field = e.details.field?.startsWith('body.') ? `${at}.${e.details.field.slice(5)}` : at
  return new ZonaError(e.code, `grants[${i}]: ${e.detail}`, { ...e.details, field })
}

function engineInput(row: Grant): GrantInput {
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

const invitationLink = (zona: Zona, token: string) =>
  `${zona.config.publicUrl}/invitation?token=${encodeURIComponent(token)}`

/** Writes a fresh token for the invitation and queues its e-mail, in the caller's transaction. */
async function sendLink(
  trx: Executor,
  zona: Zona,
  invitation: Invitation,
  person: Person | undefined,
): Promise<string> {
  const { token, hash } = newToken()
  await insertOneTimeToken(trx, {
    tokenHash: hash,
    purpose: 'invitation',
    subjectId: invitation.id,
    personId: person?.id ?? null,
    email: invitation.email,
    expiresAt: invitation.expiresAt,
    createdAt: zona.clock(),
  })
  const engine = zona.access.engine
  const catalog = engine.catalog
  const grants = storedGrants(invitation)
  const names = await nodeNames(
    trx,
    grants.map((g) => g.scopeNodeId),
  )
  const [inviter, customer] = await Promise.all([
    trx.selectFrom('people').select('displayName').where('id', '=', invitation.invitedBy).executeTakeFirst(),
    trx.selectFrom('customers').select('name').where('id', '=', invitation.customerId).executeTakeFirst(),
  ])
  const mail = renderMail('invitation', catalog.language, {
    inviterName: inviter?.displayName ?? invitation.invitedBy,
    customerName: customer?.name ?? invitation.customerId,
    roleNames: grants.map((g) => {
      const scope = names.get(g.scopeNodeId) ?? g.scopeNodeId
      return `${roleNames(engine, g.role).name} – ${scope}`
    }),
    link: invitationLink(zona, token),
    expiresAt: invitation.expiresAt,
    ...(catalog.name[catalog.language] ? { portalName: catalog.name[catalog.language] as string } : {}),
  })
  return enqueueMail(trx, {
    to: invitation.email,
    ...mail,
    kind: 'invitation',
    customerId: invitation.customerId,
  })
}

function normalOptions(options: readonly string[] | undefined): string[] {
  return [...new Set(options ?? [])].sort()
}

// ---------------------------------------------------------------------------------------
// Invite, list, resend, cancel (signed-in people with users.manage)

/**
 * POST /customers/:customer/invitations. Every grant is decided by the engine with the actor as
 * granter; the invitation, its token, its e-mail (outbox) and the audit event commit together.
 *
 * @example
 * const { invitation } = await invite(zona, { id: 'pam' }, {
 *   customer: 'acme', email: 'eva@acme.cz', login: 'eva',
 *   grants: [{ role: 'service-user', scope: 'svc-1' }],
 * })
 */
export async function invite(
  zona: Zona,
  actor: Actor,
  input: InviteInput,
): Promise<{ invitation: InvitationView; mailId: string }> {
  const email = input.email.trim()
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) || email.length > 320)
    throw new ZonaError('VALIDATION_FAILED', 'body.email is not an e-mail address', { field: 'body.email' })
  if (input.grants.length === 0 || input.grants.length > MAX_INVITED_GRANTS)
    throw new ZonaError('VALIDATION_FAILED', `body.grants must hold 1 to ${MAX_INVITED_GRANTS} grants`, {
      field: 'body.grants',
    })
  const nicHandles = zona.catalog.features.loginFormat === 'nic-handle'
  const login = nicHandles ? null : input.login?.trim() || null
  if (login !== null && (login.length > 200 || /[\s\p{Cc}]/u.test(login)))
    throw new ZonaError('VALIDATION_FAILED', 'body.login must be at most 200 characters, without spaces', {
      field: 'body.login',
    })

  const out = await write(zona, async (trx, engine) => {
    const now = zona.clock()
    seeCustomer(engine, actor.id, input.customer, 'params.customer')
    const existing = await personByEmail(trx, email)
    if (existing?.id === actor.id)
      throw new ZonaError('VALIDATION_FAILED', 'body.email is your own address: you cannot invite yourself', {
        field: 'body.email',
      })
    if (login !== null) {
      const owner = await loginOwner(trx, login)
      if (owner !== undefined && owner !== existing?.id)
        throw new ZonaError('CONFLICT', 'this login name is taken', { field: 'body.login' })
    }
    const pending = await trx
      .selectFrom('invitations')
      .select('id')
      .where('customerId', '=', input.customer)
      .where('state', '=', 'pending')
      .where('expiresAt', '>', now)
      .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
      .executeTakeFirst()
    if (pending)
      throw new ZonaError(
        'CONFLICT',
        'this e-mail address already has a pending invitation to this customer: resend or cancel it',
        { field: 'body.email' },
      )

    const grants: StoredGrant[] = []
    const seen = new Set<string>()
    for (const [i, g] of input.grants.entries()) {
      const info = seeNode(engine, actor.id, g.scope, ANY_NODE, `body.grants[${i}].scope`)
      if (info.customer !== input.customer)
        throw new ZonaError('NOT_FOUND', 'there is no node with this id', {
          field: `body.grants[${i}].scope`,
        })
      const key = `${g.role}\u0000${g.scope}`
      if (seen.has(key))
        throw new ZonaError('VALIDATION_FAILED', `grants[${i}] repeats an earlier grant's role and scope`, {
          field: `body.grants[${i}]`,
        })
      seen.add(key)
      refuseContactRole(engine.catalog, g.role, `body.grants[${i}].role`)
      const options = normalOptions(g.options)
      const d = engine.canGrant(actor.id, {
        person: existing?.id ?? NEW_INVITEE,
        role: g.role,
        scope: g.scope,
        options,
        expiresAt: g.expiresAt ? g.expiresAt.getTime() : null,
      })
      if (!d.allowed) throw grantRefusal(d, i)
      grants.push({
        role: g.role,
        scopeNodeId: g.scope,
        options,
        expiresAt: g.expiresAt ? g.expiresAt.toISOString() : null,
      })
    }

    const invitation = await insertInvitation(trx, {
      customerId: input.customer,
      invitedBy: actor.id,
      login,
      email,
      displayName: input.displayName?.trim() || null,
      grants,
      expiresAt: new Date(now.getTime() + zona.config.ZONA_INVITATION_DAYS * 86_400_000),
      createdAt: now,
    })
    const mailId = await sendLink(trx, zona, invitation, existing)
    await audit(trx, actor, {
      action: 'invitation.created',
      customerId: input.customer,
      subject: invitation.id,
      after: {
        email,
        login,
        display_name: invitation.displayName,
        grants,
        expires_at: invitation.expiresAt.toISOString(),
        mail: mailId,
      },
    })
    return { result: { invitation, mailId } }
  })
  const [view] = await invitationViews(zona, zona.store.db, [out.invitation])
  return { invitation: view as InvitationView, mailId: out.mailId }
}

/** Whether the reviewer manages (users.manage) every scope the invitation would grant on. */
export function managesInvitation(engine: AccessEngine, reviewer: string, invitation: Invitation): boolean {
  return storedGrants(invitation).every((g) => engine.check(reviewer, MANAGE, g.scopeNodeId))
}

export function managesSomething(engine: AccessEngine, reviewer: string, customer: string): boolean {
  const tree = engine.tree
  const c = tree.indexOf(customer)
  return engine
    .grantsOf(reviewer)
    .some((g) => tree.customerAt(tree.indexOf(g.scope)) === c && engine.check(reviewer, MANAGE, g.scope))
}

/**
 * The customer as a place the reviewer manages people in: 404 when they see nothing of it,
 * 403 with the engine's explanation when they see it but manage no one there.
 */
export function requireManager(engine: AccessEngine, reviewer: string, customer: string, field: string) {
  seeCustomer(engine, reviewer, customer, field)
  if (managesSomething(engine, reviewer, customer)) return
  const x = engine.explain(reviewer, MANAGE, customer)
  // Told within this customer: the engine would list the scopes of grants at other customers too.
  throw new ZonaError('FORBIDDEN', `your grants do not give ${MANAGE} anywhere at this customer`, {
    explanation: explanationWithin(engine, x, customer),
    reason: x.code,
  })
}

/**
 * GET /customers/:customer/invitations – the pending invitations the reviewer could have made
 * (users.manage on every scope they grant on), newest first.
 */
export async function listPendingInvitations(
  zona: Zona,
  reviewer: string,
  input: { customer: string; cursor?: string; limit: number },
): Promise<PageOf<InvitationView>> {
  const engine = zona.access.engine
  requireManager(engine, reviewer, input.customer, 'params.customer')
  const db = zona.store.db
  const pending = (await listInvitations(db, { customerId: input.customer, state: 'pending' })).filter((i) =>
    managesInvitation(engine, reviewer, i),
  )
  const page = pageOfArray(pending, input.cursor, input.limit, (i) => i.id)
  return { items: await invitationViews(zona, db, page.items), next_cursor: page.next_cursor }
}

/** The invitation when the actor manages it; the same 404 as a missing one otherwise. */
async function managedInvitation(
  trx: Executor,
  engine: AccessEngine,
  actor: string,
  id: string,
): Promise<Invitation> {
  const invitation = await findInvitation(trx, id)
  if (!invitation || !managesInvitation(engine, actor, invitation))
    throw new ZonaError('NOT_FOUND', 'there is no invitation with this id', { field: 'params.id' })
  return invitation
}

function notPending(): ZonaError {
  return new ZonaError('CONFLICT', 'the invitation is no longer pending (accepted, cancelled or expired)', {
    field: 'params.id',
  })
}

/**
 * POST /invitations/:id/resend – a new link (the old one stops working), a fresh expiry, a new
 * e-mail. The inviter stays who it was: acceptance is decided with their rights.
 */
export async function resendInvitation(zona: Zona, actor: Actor, id: string): Promise<InvitationView> {
  await zona.access.refresh()
  const engine = zona.access.engine
  const db = zona.store.db
  const updated = await withTransaction(db, async (trx) => {
    const now = zona.clock()
    const before = await managedInvitation(trx, engine, actor.id, id)
    if (before.state !== 'pending') throw notPending()
    await voidOneTimeTokens(trx, { purpose: 'invitation', subjectId: id }, now)
    const expiresAt = new Date(now.getTime() + zona.config.ZONA_INVITATION_DAYS * 86_400_000)
    const after = await markInvitationResent(trx, id, expiresAt, now)
    if (!after) throw notPending()
    const mailId = await sendLink(trx, zona, after, await personByEmail(trx, after.email))
    await audit(trx, actor, {
      action: 'invitation.resent',
      customerId: after.customerId,
      subject: id,
      before: { expires_at: before.expiresAt.toISOString(), send_count: before.sendCount },
      after: { expires_at: after.expiresAt.toISOString(), send_count: after.sendCount, mail: mailId },
    })
    return after
  })
  return (await invitationViews(zona, db, [updated]))[0] as InvitationView
}

/** DELETE /invitations/:id – cancels a pending invitation; its link stops working. */
export async function cancelInvitation(zona: Zona, actor: Actor, id: string): Promise<InvitationView> {
  await zona.access.refresh()
  const engine = zona.access.engine
  const db = zona.store.db
  const cancelled = await withTransaction(db, async (trx) => {
    const now = zona.clock()
    const before = await managedInvitation(trx, engine, actor.id, id)
    if (before.state !== 'pending') throw notPending()
    const after = await transitionInvitation(trx, id, 'pending', 'cancelled', { at: now })
    if (!after) throw notPending()
    await voidOneTimeTokens(trx, { purpose: 'invitation', subjectId: id }, now)
    await audit(trx, actor, {
      action: 'invitation.cancelled',
      customerId: after.customerId,
      subject: id,
      before: { state: 'pending' },
      after: { state: 'cancelled' },
    })
    return after
  })
  return (await invitationViews(zona, db, [cancelled]))[0] as InvitationView
}

// ---------------------------------------------------------------------------------------
// The invitee's side (public: whoever holds the link)

/** Counts a use of a token that did not work on its row; voids it after `voidAt` attempts. */
async function countAttempt(zona: Zona, tokenHash: string, voidAt?: number): Promise<void> {
  const row = await zona.store.db
    .updateTable('oneTimeTokens')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where('tokenHash', '=', tokenHash)
    .returning(['attempts', 'usedAt'])
    .executeTakeFirst()
  if (row && voidAt !== undefined && row.attempts >= voidAt && row.usedAt === null)
    await zona.store.db
      .updateTable('oneTimeTokens')
      .set({ usedAt: zona.clock() })
      .where('tokenHash', '=', tokenHash)
      .where('usedAt', 'is', null)
      .execute()
}

/** The pending invitation a token opens, or the one answer for any token that does not work. */
async function openToken(
  zona: Zona,
  token: string,
  field: string,
): Promise<{ invitation: Invitation; tokenHash: string }> {
  const tokenHash = hashToken(token)
  const db = zona.store.db
  const now = zona.clock()
  const row = await findOneTimeToken(db, tokenHash)
  const invitation = row?.purpose === 'invitation' ? await findInvitation(db, row.subjectId) : undefined
  if (
    !row ||
    !invitation ||
    row.usedAt !== null ||
    row.expiresAt <= now ||
    invitation.state !== 'pending' ||
    invitation.expiresAt <= now
  ) {
    if (row) await countAttempt(zona, tokenHash)
    throw tokenInvalid(field)
  }
  return { invitation, tokenHash }
}

export interface InvitationPreview {
  customer: { name: string }
  inviter: { display_name: string | null }
  roles: InvitationGrantView[]
  login: string | null
  email: string
  display_name: string | null
  /** A login with this e-mail exists: accept with its password instead of choosing one. */
  account_exists: boolean
  expires_at: string
}

/** GET /invitations/by-token – what the link offers, for the acceptance page. */
export async function previewInvitation(zona: Zona, token: string): Promise<InvitationPreview> {
  const { invitation } = await openToken(zona, token, 'query.token')
  const db = zona.store.db
  const [view] = await invitationViews(zona, db, [invitation])
  const customer = await db
    .selectFrom('customers')
    .select('name')
    .where('id', '=', invitation.customerId)
    .executeTakeFirst()
  const person = await personByEmail(db, invitation.email)
  const v = view as InvitationView
  return {
    customer: { name: customer?.name ?? invitation.customerId },
    inviter: { display_name: v.invited_by.display_name },
    roles: v.grants,
    login: person?.login ?? invitation.login,
    email: invitation.email,
    display_name: person?.displayName ?? invitation.displayName,
    account_exists: person !== undefined,
    expires_at: v.expires_at,
  }
}

export interface AcceptInput {
  token: string
  /** The new login's password, or the existing login's current one. */
  password?: string | null
  /** For a new login; the invitation's, or the e-mail's local part, when omitted. */
  displayName?: string | null
  /** The existing login's second-factor code, when it has one. */
  totp?: string | null
  /** The person signed in on the request, if any: an invitee signed in as themselves needs no password. */
  signedInAs?: string | null
  ip?: string | null
  userAgent?: string | null
}

export interface NotGiven {
  role: string
  scope: string
  code: string
  /** The engine's explanation, decided with the inviter's rights at acceptance. */
  reason: string
}

export interface AcceptResult {
  person: Person
  customer: { id: string; name: string }
  given: Grant[]
  notGiven: NotGiven[]
  /** A new session (cookie), or null when the invitee was already signed in. */
  session: Pick<LoginResult, 'token' | 'expiresAt'> | null
  created: boolean
}

/** createPerson names its fields bare; the accept body names them body.x. */
function acceptField(e: unknown): unknown {
  if (!(e instanceof ZonaError)) return e
  const field = e.details.field
  const to: Record<string, string> = {
    password: 'body.password',
    displayName: 'body.display_name',
    email: 'body.password',
    login: 'body.token',
  }
  if (field && to[field]) {
    const detail =
      field === 'email'
        ? 'a login with this e-mail address was made meanwhile: accept with its password'
        : field === 'login'
          ? 'the login name of this invitation was taken meanwhile: ask for a new invitation'
          : e.detail
    return new ZonaError(e.code, detail, { ...e.details, field: to[field] })
  }
  return e
}

/**
 * POST /invitations/accept. A new invitee gets a login with the password; one whose e-mail
 * already has a login proves it with that login's password (or by being signed in as it). Then
 * each grant is decided again with the inviter as actor, and what is allowed is given – together
 * with the token's use, the invitation's new state and the audit events, in one write. Of two
 * acceptances of one token at once exactly one gets through; the other changes nothing.
 *
 * @throws ZonaError TOKEN_INVALID (any token that does not work), VALIDATION_FAILED (password),
 *   LOGIN_FAILED / SECOND_FACTOR_REQUIRED / LOGIN_LOCKED (the existing login's credentials)
 */
export async function acceptInvitation(zona: Zona, input: AcceptInput): Promise<AcceptResult> {
  const { invitation, tokenHash } = await openToken(zona, input.token, 'body.token')
  const db = zona.store.db
  const existing = await personByEmail(db, invitation.email)
  let session: AcceptResult['session'] = null

  if (existing) {
    if (input.signedInAs !== existing.id) {
      if (!input.password)
        throw new ZonaError(
          'VALIDATION_FAILED',
          'this e-mail address already has a login: send its current password to accept',
          { field: 'body.password' },
        )
      try {
        const signedIn = await login(zona, {
          login: existing.login,
          password: input.password,
          totp: input.totp ?? null,
          ip: input.ip ?? null,
          userAgent: input.userAgent ?? null,
        })
        session = { token: signedIn.token, expiresAt: signedIn.expiresAt }
      } catch (e) {
        if (e instanceof ZonaError && (e.code === 'LOGIN_FAILED' || e.code === 'SECOND_FACTOR_REQUIRED')) {
          // A second acceptance of this very token, racing the first, finds the login the first
          // just made: for it the token is spent, and that is the answer (TOKEN_INVALID).
          await openToken(zona, input.token, 'body.token')
          await countAttempt(zona, tokenHash, MAX_TOKEN_ATTEMPTS)
        }
        throw e
      }
    }
  } else {
    if (!input.password)
      throw new ZonaError('VALIDATION_FAILED', 'choose a password for your new login', {
        field: 'body.password',
      })
    assertPasswordPolicy(
      input.password,
      { login: invitation.login, email: invitation.email },
      'body.password',
    )
  }

  let result: Omit<AcceptResult, 'session'>
  try {
    result = await write(zona, async (trx, engine) => {
      const now = zona.clock()
      // The atomic once-only use: of two racing acceptances, the second finds it used.
      if (!(await consumeOneTimeToken(trx, tokenHash, 'invitation', now))) throw tokenInvalid('body.token')
      const fresh = await findInvitation(trx, invitation.id)
      if (fresh?.state !== 'pending' || fresh.expiresAt <= now) throw tokenInvalid('body.token')

      let person: Person
      let created = false
      const holder = await personByEmail(trx, invitation.email)
      if (existing) {
        if (holder?.id !== existing.id) throw tokenInvalid('body.token')
        person = existing
      } else {
        const displayName =
          input.displayName?.trim() ||
          invitation.displayName ||
          invitation.email.split('@')[0] ||
          invitation.email
        person = await createPerson(trx, zona, {
          displayName,
          email: invitation.email,
          login: invitation.login ?? invitation.email,
          password: input.password ?? null,
          actor: { id: 'anonymous', ip: input.ip ?? null },
        }).catch((e: unknown) => {
          throw acceptField(e)
        })
        created = true
      }

      // Decided again, as the inviter: rights lost since the invitation are not handed on.
      const given: Grant[] = []
      const replaced: string[] = []
      const notGiven: NotGiven[] = []
      const inviter: Actor = { id: invitation.invitedBy }
      for (const g of storedGrants(fresh)) {
        const expiresAt = g.expiresAt ? new Date(g.expiresAt) : null
        const d = engine.canGrant(inviter.id, {
          person: person.id,
          role: g.role,
          scope: g.scopeNodeId,
          options: g.options,
          expiresAt: expiresAt ? expiresAt.getTime() : null,
        })
        if (!d.allowed) {
          notGiven.push({ role: g.role, scope: g.scopeNodeId, code: d.code, reason: d.reason })
          continue
        }
        const removed: Grant[] = []
        for (const r of d.replaces) {
          const row = await deleteGrant(trx, r.id)
          if (row) removed.push(row)
          replaced.push(r.id)
        }
        const row = await insertGrant(trx, {
          customerId: fresh.customerId,
          personId: person.id,
          role: g.role,
          scopeNodeId: g.scopeNodeId,
          options: g.options,
          limited: engine.catalog.role(g.role)?.limitPerCustomer === 1,
          grantedBy: inviter.id,
          grantedAt: now,
          expiresAt,
        })
        await audit(trx, inviter, {
          action: 'grant.added',
          customerId: fresh.customerId,
          nodeId: g.scopeNodeId,
          subject: row.id,
          before: removed.length ? removed : undefined,
          after: { ...row, invitation: fresh.id },
        })
        given.push(row)
      }

      const accepted = await transitionInvitation(trx, fresh.id, 'pending', 'accepted', {
        acceptedPersonId: person.id,
        at: now,
      })
      if (!accepted) throw tokenInvalid('body.token')
      await audit(
        trx,
        { id: person.id, ip: input.ip ?? null },
        {
          action: 'invitation.accepted',
          customerId: fresh.customerId,
          subject: fresh.id,
          before: { state: 'pending' },
          after: {
            state: 'accepted',
            person: person.id,
            new_login: created,
            given: given.map((r) => r.id),
            not_given: notGiven.map((n) => ({ ...n })),
          },
        },
      )
      const customer = await trx
        .selectFrom('customers')
        .select(['id', 'name'])
        .where('id', '=', fresh.customerId)
        .executeTakeFirstOrThrow()
      return {
        result: { person, customer, given, notGiven, created },
        apply: (e) => {
          for (const id of replaced) e.removeGrant(id)
          for (const row of given) e.addGrant(engineInput(row))
        },
      }
    })
  } catch (e) {
    // The session opened for an acceptance that did not go through is closed again.
    if (session) await deleteSession(db, hashToken(session.token))
    throw e
  }

  if (result.created) {
    const signedIn = await login(zona, {
      login: result.person.login,
      password: input.password as string,
      ip: input.ip ?? null,
      userAgent: input.userAgent ?? null,
    })
    session = { token: signedIn.token, expiresAt: signedIn.expiresAt }
    result.person = signedIn.person
  }
  return { ...result, session }
}
