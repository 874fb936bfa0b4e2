/**
 * The stored side of the workflows: invitations (W1), account requests (W2), contact
 * changes (W5), their one-time tokens, orders (W7) and the mail outbox.
 *
 * Lifecycles move only through `transition…` functions that name the state they expect:
 * the update matches `where state in (from)`, so of two racing requests exactly one wins
 * and the other gets undefined. Final states are never left.
 */
import { sql } from 'kysely'
import { type Executor, json } from './common.ts'
import type {
  AccountRequest,
  AccountRequestState,
  ContactChange,
  ContactChangeState,
  ContactKind,
  Invitation,
  InvitationState,
  InvitedGrant,
  JsonObject,
  OneTimeToken,
  Order,
  OrderStatus,
  OutboxMessage,
  TokenPurpose,
} from './schema.ts'

const FINAL_INVITATION_STATES: readonly InvitationState[] = ['accepted', 'cancelled', 'expired']
const FINAL_CONTACT_CHANGE_STATES: readonly ContactChangeState[] = [
  'applied',
  'refused',
  'cancelled',
  'expired',
]
const FINAL_ACCOUNT_REQUEST_STATES: readonly AccountRequestState[] = ['completed', 'rejected', 'expired']

// ---------------------------------------------------------------------------------------
// Invitations

export interface InvitationInput {
  id?: string
  customerId: string
  invitedBy: string
  login?: string | null
  email: string
  displayName?: string | null
  grants: InvitedGrant[]
  expiresAt: Date
  createdAt?: Date
}

export async function insertInvitation(db: Executor, invitation: InvitationInput): Promise<Invitation> {
  return db
    .insertInto('invitations')
    .values({
      id: invitation.id,
      customerId: invitation.customerId,
      invitedBy: invitation.invitedBy,
      login: invitation.login ?? null,
      email: invitation.email,
      displayName: invitation.displayName ?? null,
      grants: json(invitation.grants),
      expiresAt: invitation.expiresAt,
      createdAt: invitation.createdAt,
      lastSentAt: invitation.createdAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function findInvitation(db: Executor, id: string): Promise<Invitation | undefined> {
  return db.selectFrom('invitations').selectAll().where('id', '=', id).executeTakeFirst()
}

export async function listInvitations(
  db: Executor,
  filter: { customerId: string; state?: InvitationState },
): Promise<Invitation[]> {
  let query = db.selectFrom('invitations').selectAll().where('customerId', '=', filter.customerId)
  if (filter.state) query = query.where('state', '=', filter.state)
  return query.orderBy('createdAt', 'desc').orderBy('id').execute()
}

/** Records a resend of a pending invitation, with a fresh expiry. */
export async function markInvitationResent(
  db: Executor,
  id: string,
  expiresAt: Date,
  at: Date = new Date(),
): Promise<Invitation | undefined> {
  return db
    .updateTable('invitations')
    .set({ lastSentAt: at, expiresAt, sendCount: sql`send_count + 1` })
    .where('id', '=', id)
    .where('state', '=', 'pending')
    .returningAll()
    .executeTakeFirst()
}

/** Moves an invitation from `from` to `to`; undefined when it was not in `from` (lost a race). */
export async function transitionInvitation(
  db: Executor,
  id: string,
  from: InvitationState,
  to: InvitationState,
  extra: { acceptedPersonId?: string; at?: Date } = {},
): Promise<Invitation | undefined> {
  const at = extra.at ?? new Date()
  return db
    .updateTable('invitations')
    .set({
      state: to,
      closedAt: FINAL_INVITATION_STATES.includes(to) ? at : null,
      ...(extra.acceptedPersonId ? { acceptedPersonId: extra.acceptedPersonId } : {}),
    })
    .where('id', '=', id)
    .where('state', '=', from)
    .returningAll()
    .executeTakeFirst()
}

/** Marks pending invitations past their expiry as expired; returns them, for audit. */
export async function expireInvitations(db: Executor, now: Date = new Date()): Promise<Invitation[]> {
  return db
    .updateTable('invitations')
    .set({ state: 'expired', closedAt: now })
    .where('state', '=', 'pending')
    .where('expiresAt', '<=', now)
    .returningAll()
    .execute()
}

// ---------------------------------------------------------------------------------------
// Contact changes (ovh)

export interface ContactChangeInput {
  id?: string
  customerId: string
  nodeId: string
  kind: ContactKind
  requestedBy: string
  oldPersonId: string
  newPersonId: string
  expiresAt: Date
  createdAt?: Date
}

/** Fails with a unique violation (`contact_changes_one_pending`) while another change of that contact is pending. */
export async function insertContactChange(db: Executor, change: ContactChangeInput): Promise<ContactChange> {
  return db.insertInto('contactChanges').values(change).returningAll().executeTakeFirstOrThrow()
}

export async function findContactChange(db: Executor, id: string): Promise<ContactChange | undefined> {
  return db.selectFrom('contactChanges').selectAll().where('id', '=', id).executeTakeFirst()
}

export async function listContactChanges(
  db: Executor,
  filter: { customerId?: string; nodeId?: string; personId?: string; state?: ContactChangeState },
): Promise<ContactChange[]> {
  let query = db.selectFrom('contactChanges').selectAll()
  if (filter.customerId !== undefined) query = query.where('customerId', '=', filter.customerId)
  if (filter.nodeId !== undefined) query = query.where('nodeId', '=', filter.nodeId)
  if (filter.personId !== undefined) {
    const personId = filter.personId
    query = query.where((eb) =>
      eb.or([
        eb('requestedBy', '=', personId),
        eb('oldPersonId', '=', personId),
        eb('newPersonId', '=', personId),
      ]),
    )
  }
  if (filter.state) query = query.where('state', '=', filter.state)
  return query.orderBy('createdAt', 'desc').orderBy('id').execute()
}

/** Records one party's approval of a pending change; returns the row (both approvals visible). */
export async function approveContactChange(
  db: Executor,
  id: string,
  party: 'requester' | 'new_contact',
  at: Date = new Date(),
): Promise<ContactChange | undefined> {
  return db
    .updateTable('contactChanges')
    .set(party === 'requester' ? { requesterApprovedAt: at } : { newContactApprovedAt: at })
    .where('id', '=', id)
    .where('state', '=', 'pending')
    .returningAll()
    .executeTakeFirst()
}

export async function transitionContactChange(
  db: Executor,
  id: string,
  from: ContactChangeState,
  to: ContactChangeState,
  extra: { refusedBy?: string; refusalReason?: string; at?: Date } = {},
): Promise<ContactChange | undefined> {
  const at = extra.at ?? new Date()
  return db
    .updateTable('contactChanges')
    .set({
      state: to,
      closedAt: FINAL_CONTACT_CHANGE_STATES.includes(to) ? at : null,
      ...(extra.refusedBy ? { refusedBy: extra.refusedBy } : {}),
      ...(extra.refusalReason ? { refusalReason: extra.refusalReason } : {}),
    })
    .where('id', '=', id)
    .where('state', '=', from)
    .returningAll()
    .executeTakeFirst()
}

export async function expireContactChanges(db: Executor, now: Date = new Date()): Promise<ContactChange[]> {
  return db
    .updateTable('contactChanges')
    .set({ state: 'expired', closedAt: now })
    .where('state', '=', 'pending')
    .where('expiresAt', '<=', now)
    .returningAll()
    .execute()
}

// ---------------------------------------------------------------------------------------
// Account requests (sk-isp)

export interface AccountRequestInput {
  id?: string
  contractNumber: string
  email: string
  customerId?: string | null
  nodeId?: string | null
  ip?: string | null
  state?: AccountRequestState
  createdAt?: Date
}

export async function insertAccountRequest(
  db: Executor,
  request: AccountRequestInput,
): Promise<AccountRequest> {
  return db
    .insertInto('accountRequests')
    .values({
      ...request,
      customerId: request.customerId ?? null,
      nodeId: request.nodeId ?? null,
      ip: request.ip ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function findAccountRequest(db: Executor, id: string): Promise<AccountRequest | undefined> {
  return db.selectFrom('accountRequests').selectAll().where('id', '=', id).executeTakeFirst()
}

export async function listAccountRequests(
  db: Executor,
  filter: { state?: AccountRequestState; customerId?: string } = {},
): Promise<AccountRequest[]> {
  let query = db.selectFrom('accountRequests').selectAll()
  if (filter.state) query = query.where('state', '=', filter.state)
  if (filter.customerId !== undefined) query = query.where('customerId', '=', filter.customerId)
  return query.orderBy('createdAt', 'desc').orderBy('id').execute()
}

export async function transitionAccountRequest(
  db: Executor,
  id: string,
  from: AccountRequestState | readonly AccountRequestState[],
  to: AccountRequestState,
  extra: { personId?: string; decidedBy?: string; customerId?: string; nodeId?: string; at?: Date } = {},
): Promise<AccountRequest | undefined> {
  const { at = new Date(), ...fields } = extra
  const fromStates = typeof from === 'string' ? [from] : [...from]
  return db
    .updateTable('accountRequests')
    .set({ ...fields, state: to, closedAt: FINAL_ACCOUNT_REQUEST_STATES.includes(to) ? at : null })
    .where('id', '=', id)
    .where('state', 'in', fromStates)
    .returningAll()
    .executeTakeFirst()
}

// ---------------------------------------------------------------------------------------
// One-time tokens (invariant I4: once, expiring, hashed, one per party, rate-limited)

export interface OneTimeTokenInput {
  tokenHash: string
  purpose: TokenPurpose
  subjectId: string
  party?: string | null
  personId?: string | null
  email?: string | null
  expiresAt: Date
  createdAt?: Date
}

export async function insertOneTimeToken(db: Executor, token: OneTimeTokenInput): Promise<OneTimeToken> {
  return db
    .insertInto('oneTimeTokens')
    .values({
      ...token,
      party: token.party ?? null,
      personId: token.personId ?? null,
      email: token.email ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function findOneTimeToken(db: Executor, tokenHash: string): Promise<OneTimeToken | undefined> {
  return db.selectFrom('oneTimeTokens').selectAll().where('tokenHash', '=', tokenHash).executeTakeFirst()
}

/**
 * Uses a token: succeeds once, only before expiry and only for `purpose`. Atomic, so two
 * concurrent uses cannot both succeed. Returns the token, or undefined.
 */
export async function consumeOneTimeToken(
  db: Executor,
  tokenHash: string,
  purpose: TokenPurpose,
  now: Date = new Date(),
): Promise<OneTimeToken | undefined> {
  return db
    .updateTable('oneTimeTokens')
    .set({ usedAt: now })
    .where('tokenHash', '=', tokenHash)
    .where('purpose', '=', purpose)
    .where('usedAt', 'is', null)
    .where('expiresAt', '>', now)
    .returningAll()
    .executeTakeFirst()
}

/** Counts a wrong guess against the tokens of a subject (and party); returns the highest count. */
export async function recordTokenAttempt(
  db: Executor,
  subject: { purpose: TokenPurpose; subjectId: string; party?: string | null },
): Promise<number> {
  let query = db
    .updateTable('oneTimeTokens')
    .set({ attempts: sql`attempts + 1` })
    .where('purpose', '=', subject.purpose)
    .where('subjectId', '=', subject.subjectId)
    .where('usedAt', 'is', null)
  if (subject.party != null) query = query.where('party', '=', subject.party)
  const rows = await query.returning('attempts').execute()
  return Math.max(0, ...rows.map((r) => r.attempts))
}

/** Voids the unused tokens of a subject (on resend, cancel, or too many attempts). */
export async function voidOneTimeTokens(
  db: Executor,
  subject: { purpose: TokenPurpose; subjectId: string; party?: string | null },
  at: Date = new Date(),
): Promise<number> {
  let query = db
    .updateTable('oneTimeTokens')
    .set({ usedAt: at })
    .where('purpose', '=', subject.purpose)
    .where('subjectId', '=', subject.subjectId)
    .where('usedAt', 'is', null)
  if (subject.party != null) query = query.where('party', '=', subject.party)
  const result = await query.executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/** Deletes tokens used or expired before `before` (housekeeping). */
export async function deleteStaleOneTimeTokens(db: Executor, before: Date): Promise<number> {
  const result = await db
    .deleteFrom('oneTimeTokens')
    .where((eb) => eb.or([eb('usedAt', '<', before), eb('expiresAt', '<', before)]))
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

// ---------------------------------------------------------------------------------------
// Orders (requests for the operator's systems)

export interface OrderInput {
  id?: string
  customerId: string
  nodeId: string
  personId: string | null
  onBehalfOf?: string | null
  kind: string
  payload?: JsonObject
  createdAt?: Date
}

export async function insertOrder(db: Executor, order: OrderInput): Promise<Order> {
  return db
    .insertInto('orders')
    .values({
      ...order,
      onBehalfOf: order.onBehalfOf ?? null,
      payload: json(order.payload ?? {}),
      updatedAt: order.createdAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function findOrder(db: Executor, id: string): Promise<Order | undefined> {
  return db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst()
}

export async function listOrders(
  db: Executor,
  filter: {
    customerId: string
    nodeIds?: readonly string[]
    status?: OrderStatus
    limit?: number
    offset?: number
  },
): Promise<Order[]> {
  let query = db.selectFrom('orders').selectAll().where('customerId', '=', filter.customerId)
  if (filter.nodeIds) {
    if (filter.nodeIds.length === 0) return []
    query = query.where('nodeId', 'in', filter.nodeIds)
  }
  if (filter.status) query = query.where('status', '=', filter.status)
  return query
    .orderBy('createdAt', 'desc')
    .orderBy('id')
    .limit(filter.limit ?? 100)
    .offset(filter.offset ?? 0)
    .execute()
}

export async function setOrderStatus(
  db: Executor,
  id: string,
  status: OrderStatus,
  at: Date = new Date(),
): Promise<Order | undefined> {
  return db
    .updateTable('orders')
    .set({ status, updatedAt: at })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst()
}

// ---------------------------------------------------------------------------------------
// Mail outbox: written in the same transaction as the change that sends it

export interface MailInput {
  recipient: string
  /** The customer the message concerns, if any. */
  customerId?: string | null
  subject: string
  text: string
  html?: string | null
  template?: string | null
  nextAttemptAt?: Date
}

export async function enqueueMail(db: Executor, mail: MailInput): Promise<OutboxMessage> {
  return db
    .insertInto('outbox')
    .values({
      ...mail,
      customerId: mail.customerId ?? null,
      html: mail.html ?? null,
      template: mail.template ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
}

/**
 * Takes up to `limit` due messages for sending and leases them until `leaseUntil`: a
 * sender that dies leaves them to be retried then. `skip locked` lets several server
 * processes share the outbox without sending a message twice.
 */
export async function claimDueMail(
  db: Executor,
  options: { now?: Date; leaseUntil: Date; limit?: number },
): Promise<OutboxMessage[]> {
  const now = options.now ?? new Date()
  return db
    .updateTable('outbox')
    .set({ attempts: sql`attempts + 1`, nextAttemptAt: options.leaseUntil })
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('outbox')
        .select('id')
        .where('status', '=', 'pending')
        .where('nextAttemptAt', '<=', now)
        .orderBy('id')
        .limit(options.limit ?? 20)
        .forUpdate()
        .skipLocked(),
    )
    .returningAll()
    .execute()
}

export async function markMailSent(db: Executor, id: number, at: Date = new Date()): Promise<void> {
  await db
    .updateTable('outbox')
    .set({ status: 'sent', sentAt: at, lastError: null })
    .where('id', '=', id)
    .execute()
}

/** Records a failed attempt: retried at `retryAt`, or given up when it is null. */
export async function markMailFailed(
  db: Executor,
  id: number,
  error: string,
  retryAt: Date | null,
): Promise<void> {
  await db
    .updateTable('outbox')
    .set(retryAt ? { lastError: error, nextAttemptAt: retryAt } : { lastError: error, status: 'failed' })
    .where('id', '=', id)
    .execute()
}

export async function listOutbox(
  db: Executor,
  filter: { status?: 'pending' | 'sent' | 'failed'; recipient?: string; limit?: number } = {},
): Promise<OutboxMessage[]> {
  let query = db.selectFrom('outbox').selectAll()
  if (filter.status) query = query.where('status', '=', filter.status)
  if (filter.recipient) query = query.where('recipient', '=', filter.recipient)
  return query
    .orderBy('id', 'desc')
    .limit(filter.limit ?? 100)
    .execute()
}
