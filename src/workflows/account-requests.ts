/**
 * W2, the account request ("žiadosť o konto", sk-isp and any catalog with
 * features.account_requests): someone without a login gives a contract number and an e-mail.
 *
 * - The e-mail is the one on file for that contract (nodes.contact_email, any case) and the
 *   customer has its primary account: the request goes to `link_sent` and a one-time link
 *   (hashed at rest, 24 h, single use) goes to that address – the address is the proof.
 * - Anything else – unknown contract, another e-mail, or a customer whose primary account the
 *   operator has not yet appointed – waits for operator staff (`waiting_for_operator`), who
 *   approve (the link goes to the e-mail given) or reject.
 *
 * Whoever asks learns nothing: the caller gets no outcome (the HTTP answer is one fixed body
 * after a fixed minimum time), and no mail goes to an address that is not on file. A
 * confirmation to arbitrary addresses would let anyone make Zona mail strangers, so a queued
 * request sends nothing until staff approve it.
 *
 * Completing the link creates the person – login from the e-mail's local part made unique, or
 * a NIC handle where the catalog asks – with an `account` grant at the customer and no options:
 * invoices and call records stay off until the primary account switches them on (seed 003:
 * "Môžete zakázať prístup do faktúr …"). An e-mail that already has a login completes with that
 * login's password instead, and the grant is added to it. The person is then signed in.
 *
 * States: pending → link_sent | waiting_for_operator; waiting_for_operator → link_sent
 * (approved) | rejected; link_sent → completed | expired (superseded by a newer link) |
 * rejected. completed, rejected and expired are final.
 */
import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { assertPasswordPolicy, hashPassword, verifyPasswordOrDummy } from '../auth/passwords.ts'
import { hashToken, newToken } from '../auth/tokens.ts'
import { createPerson } from '../commands/auth/people.ts'
import { type Actor, audit, write, type Zona } from '../commands/context.ts'
import { decodeCursor, pageOf } from '../commands/operator/cursor.ts'
import { appointedRole } from '../commands/operator/primary.ts'
import type { Catalog, Role } from '../domain/catalog.ts'
import { ZonaError } from '../errors.ts'
import { enqueueMail } from '../mail/outbox.ts'
import { renderMail } from '../mail/templates.ts'
import { type Executor, withTransaction } from '../store/common.ts'
import { insertGrant } from '../store/grants.ts'
import { findCredentials, insertSession, recordLogin, setPasswordHash } from '../store/people.ts'
import type { AccountRequest, AccountRequestState, Grant, NodeRow, Person } from '../store/schema.ts'
import { findNodesByContractNumber } from '../store/tree.ts'
import {
  consumeOneTimeToken,
  findAccountRequest,
  findOneTimeToken,
  insertAccountRequest,
  insertOneTimeToken,
  transitionAccountRequest,
  voidOneTimeTokens,
} from '../store/workflows.ts'

/** How long an account-request link works. */
export const ACCOUNT_REQUEST_LINK_HOURS = 24
/** Who `grantedBy` names on a grant made by a completed request that matched the records. */
export const ACCOUNT_REQUEST_GRANTOR = 'system:account-request'

const EMAIL = /^[^\s@]+@[^\s@]+$/

export type QueueReason = 'unknown_contract' | 'email_not_on_file' | 'no_primary_account'

/**
 * The role a completed request gives: the catalog's role `account`, or else, of the roles the
 * operator-appointed role may grant that are customer-wide and unlimited, the one giving the
 * fewest permissions (a stranger's mailbox should not open more than it must). Undefined when the
 * catalog has none; it should not enable account requests then.
 */
export function requestedAccountRole(catalog: Catalog): Role | undefined {
  const fits = (r: Role | undefined): r is Role =>
    r !== undefined && r.scope === 'customer' && r.limitPerCustomer === undefined && !r.appointedByOperator
  const named = catalog.role('account')
  if (fits(named)) return named
  const appointed = catalog.roles.find((r) => r.limitPerCustomer !== undefined && r.appointedByOperator)
  const bits = (mask: number) => mask.toString(2).replaceAll('0', '').length
  return [...(appointed?.mayGrant ?? [])]
    .map((id) => catalog.role(id))
    .filter(fits)
    .sort((a, b) => bits(a.maxMask) - bits(b.maxMask) || a.index - b.index)[0]
}

function accountRole(zona: Zona): Role {
  const role = requestedAccountRole(zona.catalog)
  if (!role)
    throw new Error(`the ${zona.catalog.id} catalog has no customer-wide role an account request could give`)
  return role
}

const sameEmail = (a: string | null | undefined, b: string) =>
  typeof a === 'string' && a.trim().toLowerCase() === b.trim().toLowerCase()

async function hasPrimary(db: Executor, zona: Zona, customerId: string): Promise<boolean> {
  const role = appointedRole(zona)
  if (!role) return false
  const row = await db
    .selectFrom('grants')
    .select('id')
    .where('customerId', '=', customerId)
    .where('role', '=', role.id)
    .executeTakeFirst()
  return row !== undefined
}

/** The nodes under the contract number that the request is about, and whether the e-mail is on file. */
function matchContract(nodes: readonly NodeRow[], email: string) {
  const onFile = nodes.find((n) => sameEmail(n.contactEmail, email))
  // Without a match, the account (rather than one of its services) is the better pointer for staff.
  const node =
    onFile ?? nodes.find((n) => n.kind === 'account') ?? nodes.find((n) => n.kind === 'customer') ?? nodes[0]
  return { node, emailOnFile: onFile !== undefined }
}

// ---------------------------------------------------------------------------------------
// Asking

export interface RequestAccountInput {
  contractNumber: string
  email: string
  ip?: string | null
}

export interface RequestAccountOutcome {
  id: string
  state: AccountRequestState
  /** Why it waits for staff; never shown to the requester. */
  queued?: QueueReason
}

/**
 * Records a request and either queues the link mail (e-mail on file, customer with a primary
 * account) or leaves it for staff. The outcome is for logs and tests; callers that answer the
 * requester must not let it show.
 *
 * @example
 * await requestAccount(zona, { contractNumber: 'ZML-1001', email: 'peter@firma.sk', ip })
 */
export async function requestAccount(zona: Zona, input: RequestAccountInput): Promise<RequestAccountOutcome> {
  const contractNumber = input.contractNumber.trim()
  const email = input.email.trim()
  if (!contractNumber)
    throw new ZonaError('VALIDATION_FAILED', 'body.contract_number must not be empty', {
      field: 'body.contract_number',
    })
  if (!EMAIL.test(email) || /[\r\n]/.test(email))
    throw new ZonaError('VALIDATION_FAILED', 'body.email is not an e-mail address', { field: 'body.email' })
  const actor: Actor = { id: 'anonymous', ip: input.ip ?? null }
  const now = zona.clock()

  return withTransaction(zona.store.db, async (trx) => {
    const { node, emailOnFile } = matchContract(await findNodesByContractNumber(trx, contractNumber), email)
    const customerId = node?.customerId ?? null
    const primary = customerId !== null && (await hasPrimary(trx, zona, customerId))
    const request = await insertAccountRequest(trx, {
      id: randomUUID(),
      contractNumber,
      email,
      customerId,
      nodeId: node?.id ?? null,
      ip: input.ip ?? null,
      createdAt: now,
    })
    await audit(trx, actor, {
      action: 'account_request.created',
      customerId,
      nodeId: node?.id ?? null,
      subject: request.id,
      after: { state: 'pending', contract_number: contractNumber, email },
    })

    if (customerId !== null && emailOnFile && primary) {
      await sendLink(trx, zona, actor, request, {
        customerId,
        from: 'pending',
        action: 'account_request.link_sent',
      })
      return { id: request.id, state: 'link_sent' as const }
    }
    const queued: QueueReason =
      customerId === null ? 'unknown_contract' : emailOnFile ? 'no_primary_account' : 'email_not_on_file'
    const moved = await transitionAccountRequest(trx, request.id, 'pending', 'waiting_for_operator', {
      at: now,
    })
    if (!moved) throw new Error(`account request ${request.id} left pending meanwhile`)
    await audit(trx, actor, {
      action: 'account_request.queued',
      customerId,
      nodeId: node?.id ?? null,
      subject: request.id,
      before: { state: 'pending' },
      after: { state: 'waiting_for_operator', reason: queued },
    })
    return { id: request.id, state: 'waiting_for_operator' as const, queued }
  })
}

/**
 * Moves the request to link_sent, makes its token and queues the mail, all in `trx`. Older open
 * links of the same e-mail at the same customer expire: only the newest mail works.
 */
async function sendLink(
  trx: Executor,
  zona: Zona,
  actor: Actor,
  request: AccountRequest,
  how: {
    customerId: string
    from: AccountRequestState
    action: 'account_request.link_sent' | 'account_request.approved'
    decidedBy?: string
  },
): Promise<AccountRequest> {
  const now = zona.clock()
  const older = await trx
    .selectFrom('accountRequests')
    .selectAll()
    .where('customerId', '=', how.customerId)
    .where('state', '=', 'link_sent')
    .where('id', '!=', request.id)
    .where((eb) => eb(eb.fn('lower', ['email']), '=', request.email.toLowerCase()))
    .execute()
  for (const old of older) {
    const expired = await transitionAccountRequest(trx, old.id, 'link_sent', 'expired', { at: now })
    if (!expired) continue
    await voidOneTimeTokens(trx, { purpose: 'account_request', subjectId: old.id }, now)
    await audit(trx, actor, {
      action: 'account_request.expired',
      customerId: how.customerId,
      subject: old.id,
      before: { state: 'link_sent' },
      after: { state: 'expired', superseded_by: request.id },
    })
  }

  const moved = await transitionAccountRequest(trx, request.id, how.from, 'link_sent', {
    customerId: how.customerId,
    ...(how.decidedBy ? { decidedBy: how.decidedBy } : {}),
    at: now,
  })
  if (!moved)
    throw new ZonaError('CONFLICT', `the account request is no longer ${how.from.replaceAll('_', ' ')}`, {
      field: 'params.id',
    })
  const { token, hash } = newToken()
  const expiresAt = new Date(now.getTime() + ACCOUNT_REQUEST_LINK_HOURS * 3_600_000)
  await insertOneTimeToken(trx, {
    tokenHash: hash,
    purpose: 'account_request',
    subjectId: request.id,
    email: request.email,
    expiresAt,
    createdAt: now,
  })
  const language = zona.catalog.language
  const mail = renderMail('account-request-link', language, {
    name: '',
    link: `${zona.config.publicUrl}/account-request?token=${encodeURIComponent(token)}`,
    expiresAt,
    portalName: zona.catalog.name[language] ?? zona.catalog.name.en ?? '',
  })
  await enqueueMail(trx, {
    to: request.email,
    ...mail,
    kind: 'account-request-link',
    customerId: how.customerId,
  })
  await audit(trx, actor, {
    action: how.action,
    customerId: how.customerId,
    nodeId: moved.nodeId,
    subject: request.id,
    before: { state: how.from },
    after: { state: 'link_sent', email: request.email, expires_at: expiresAt.toISOString() },
  })
  return moved
}

// ---------------------------------------------------------------------------------------
// The link

const tokenInvalid = (field: string) =>
  new ZonaError('TOKEN_INVALID', 'the link is not valid: it may be used, expired or mistyped', { field })

/** The open request a token belongs to, or TOKEN_INVALID – the same for unknown, used and expired. */
async function openRequestOf(
  db: Executor,
  zona: Zona,
  token: string,
  field: string,
): Promise<{ request: AccountRequest & { customerId: string }; tokenHash: string; expiresAt: Date }> {
  const tokenHash = hashToken(token)
  const row = await findOneTimeToken(db, tokenHash)
  if (row?.purpose !== 'account_request' || row.usedAt || row.expiresAt <= zona.clock())
    throw tokenInvalid(field)
  const request = await findAccountRequest(db, row.subjectId)
  if (request?.state !== 'link_sent' || request.customerId === null) throw tokenInvalid(field)
  return { request: request as AccountRequest & { customerId: string }, tokenHash, expiresAt: row.expiresAt }
}

async function personByEmail(db: Executor, email: string): Promise<Person | undefined> {
  return db
    .selectFrom('people')
    .selectAll()
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.trim().toLowerCase()))
    .executeTakeFirst()
}

export interface AccountRequestLink {
  email: string
  contractNumber: string
  customerName: string
  /** The e-mail already has a login: completing asks for its password, and display_name is not used. */
  existingLogin: boolean
  expiresAt: Date
}

/** What the completion page shows; does not use the token up. */
export async function accountRequestByToken(zona: Zona, token: string): Promise<AccountRequestLink> {
  const db = zona.store.db
  const { request, expiresAt } = await openRequestOf(db, zona, token, 'query.token')
  const customer = await db
    .selectFrom('customers')
    .select('name')
    .where('id', '=', request.customerId)
    .executeTakeFirstOrThrow()
  return {
    email: request.email,
    contractNumber: request.contractNumber,
    customerName: customer.name,
    existingLogin: (await personByEmail(db, request.email)) !== undefined,
    expiresAt,
  }
}

export interface CompleteAccountRequestInput {
  token: string
  /** The new password; for an e-mail that already has a login, that login's password. */
  password: string
  /** Required for a new login. */
  displayName?: string | null
  ip?: string | null
  userAgent?: string | null
}

export interface CompletedAccountRequest {
  person: Person
  customerId: string
  /** The grant made; null when the person already held a grant at the customer. */
  grant: Grant | null
  newLogin: boolean
  /** The session token for the cookie (shown once, stored hashed) and its end. */
  session: { token: string; expiresAt: Date }
}

/** A login from the e-mail's local part: lower case, safe characters, a number added while taken. */
async function loginFromEmail(db: Executor, email: string): Promise<string> {
  const local = email.slice(0, email.lastIndexOf('@')).toLowerCase()
  const base =
    local
      .replace(/[^a-z0-9._-]+/g, '')
      .replace(/^[._-]+|[._-]+$/g, '')
      .slice(0, 60) || 'user'
  const taken = new Set(
    (
      await db
        .selectFrom('people')
        .select(sql<string>`lower(login)`.as('login'))
        .where(sql<string>`lower(login)`, 'like', `${base.replaceAll(/[\\%_]/g, '\\$&')}%`)
        .execute()
    ).map((r) => r.login),
  )
  if (!taken.has(base)) return base
  for (let n = 2; ; n++) if (!taken.has(`${base}${n}`)) return `${base}${n}`
}

/** createPerson names fields as its input does; the HTTP body names them otherwise. */
function asBodyField(error: unknown): unknown {
  if (!(error instanceof ZonaError) || !error.details.field) return error
  const field = { displayName: 'display_name', password: 'password', login: 'token', email: 'token' }[
    error.details.field
  ]
  return field ? new ZonaError(error.code, error.detail, { ...error.details, field: `body.${field}` }) : error
}

/**
 * Uses the link: creates the person (or takes the existing login of that e-mail, checking its
 * password), gives the account role at the customer with no options, completes the request and
 * opens a session. A refused password leaves the link working; the token is used up only with
 * the rest, so of two racing completions exactly one wins.
 *
 * @throws ZonaError TOKEN_INVALID (unknown, used or expired link), VALIDATION_FAILED naming
 *   body.password or body.display_name, CONFLICT when the e-mail's login is deactivated
 */
export async function completeAccountRequest(
  zona: Zona,
  input: CompleteAccountRequestInput,
): Promise<CompletedAccountRequest> {
  const db = zona.store.db
  const { request, tokenHash } = await openRequestOf(db, zona, input.token, 'body.token')
  const customerId = request.customerId
  const existing = await personByEmail(db, request.email)
  let passwordHash: string | null = null
  if (existing) {
    if (existing.status !== 'active')
      throw new ZonaError('CONFLICT', 'the login of this e-mail is deactivated; ask the operator', {
        field: 'body.token',
      })
    const credentials = await findCredentials(db, existing.id)
    if (credentials?.passwordHash) {
      if (!(await verifyPasswordOrDummy(credentials.passwordHash, input.password)))
        throw new ZonaError(
          'VALIDATION_FAILED',
          `body.password is not the password of the login ${existing.login}, which this e-mail already has`,
          { field: 'body.password' },
        )
    } else {
      // A login that never got a password (an unfinished invitation): the mailbox proves it is theirs.
      assertPasswordPolicy(input.password, existing, 'body.password')
      passwordHash = await hashPassword(input.password)
    }
  } else {
    if (!input.displayName?.trim())
      throw new ZonaError('VALIDATION_FAILED', 'body.display_name is required for a new login', {
        field: 'body.display_name',
      })
    assertPasswordPolicy(input.password, { email: request.email }, 'body.password')
    passwordHash = await hashPassword(input.password)
  }

  const role = accountRole(zona)
  const actor: Actor = { id: existing?.id ?? 'anonymous', ip: input.ip ?? null }
  const now = zona.clock()
  try {
    return await write<CompletedAccountRequest>(zona, async (trx) => {
      if (!(await consumeOneTimeToken(trx, tokenHash, 'account_request', now)))
        throw tokenInvalid('body.token')
      let person = existing
      if (!person) {
        const login =
          zona.catalog.features.loginFormat === 'nic-handle' ? null : await loginFromEmail(trx, request.email)
        person = await createPerson(trx, zona, {
          displayName: input.displayName ?? '',
          email: request.email,
          login,
          password: null,
          locale: zona.catalog.language,
          actor,
        })
      }
      if (passwordHash) await setPasswordHash(trx, person.id, passwordHash, now)
      const completed = await transitionAccountRequest(trx, request.id, 'link_sent', 'completed', {
        personId: person.id,
        at: now,
      })
      if (!completed) throw tokenInvalid('body.token')
      const self: Actor = { id: person.id, ip: input.ip ?? null }

      const holds = await trx
        .selectFrom('grants')
        .select('id')
        .where('customerId', '=', customerId)
        .where('personId', '=', person.id)
        .executeTakeFirst()
      let grant: Grant | null = null
      if (!holds) {
        grant = await insertGrant(trx, {
          customerId,
          personId: person.id,
          role: role.id,
          scopeNodeId: customerId,
          options: [],
          grantedBy: request.decidedBy ?? ACCOUNT_REQUEST_GRANTOR,
          grantedAt: now,
        })
        await audit(trx, self, {
          action: 'grant.added',
          customerId,
          nodeId: customerId,
          subject: grant.id,
          after: grant,
        })
      }
      await audit(trx, self, {
        action: 'account_request.completed',
        customerId,
        nodeId: request.nodeId,
        subject: request.id,
        before: { state: 'link_sent' },
        after: {
          state: 'completed',
          person_id: person.id,
          login: person.login,
          new_login: !existing,
          grant_id: grant?.id ?? null,
        },
      })

      const session = newToken()
      const expiresAt = new Date(now.getTime() + zona.config.ZONA_SESSION_HOURS * 3_600_000)
      await recordLogin(trx, person.id, now)
      await insertSession(trx, {
        idHash: session.hash,
        personId: person.id,
        expiresAt,
        ip: input.ip ?? null,
        userAgent: input.userAgent?.slice(0, 500) ?? null,
        createdAt: now,
      })
      await audit(trx, self, {
        action: 'login.succeeded',
        subject: person.id,
        after: { login: person.login, via: 'account_request', expires_at: expiresAt.toISOString() },
      })
      const made = grant
      return {
        result: {
          person: { ...person, lastLoginAt: now },
          customerId,
          grant: made,
          newLogin: !existing,
          session: { token: session.token, expiresAt },
        },
        ...(made
          ? {
              apply: (engine) => {
                engine.addGrant({
                  id: made.id,
                  person: made.personId,
                  role: made.role,
                  scope: made.scopeNodeId,
                  options: made.options,
                  expiresAt: null,
                  grantedBy: made.grantedBy,
                  grantedAt: made.grantedAt.getTime(),
                })
              },
            }
          : {}),
      }
    })
  } catch (error) {
    throw asBodyField(error)
  }
}

// ---------------------------------------------------------------------------------------
// Operator staff

export interface AccountRequestItem extends AccountRequest {
  /** What the records say now, to decide by. */
  match: { contractFound: boolean; emailOnFile: boolean; primaryPresent: boolean }
}

/** The queue, newest first, a page at a time (keyset on created_at, id). */
export async function listAccountRequestQueue(
  zona: Zona,
  filter: { state?: AccountRequestState | undefined; cursor?: string | undefined; limit: number },
): Promise<{ items: AccountRequestItem[]; next_cursor: string | null }> {
  const db = zona.store.db
  let query = db.selectFrom('accountRequests').selectAll()
  if (filter.state) query = query.where('state', '=', filter.state)
  if (filter.cursor !== undefined) {
    const [at, id] = decodeCursor(filter.cursor, 2)
    const after = new Date(String(at))
    if (typeof at !== 'string' || Number.isNaN(after.getTime()) || typeof id !== 'string')
      throw new ZonaError('VALIDATION_FAILED', 'the cursor is not one this list gave out', {
        field: 'query.cursor',
      })
    // created_at is written from the clock in milliseconds, so the Date compares exactly.
    query = query.where((eb) =>
      eb.or([eb('createdAt', '<', after), eb.and([eb('createdAt', '=', after), eb('id', '<', id)])]),
    )
  }
  const rows = await query
    .orderBy('createdAt', 'desc')
    .orderBy('id', 'desc')
    .limit(filter.limit + 1)
    .execute()
  const page = pageOf(rows, filter.limit, (r) => [r.createdAt.toISOString(), r.id])

  const contracts = [...new Set(page.items.map((r) => r.contractNumber))]
  const nodes = contracts.length
    ? await db.selectFrom('nodes').selectAll().where('contractNumber', 'in', contracts).execute()
    : []
  const customers = [...new Set(page.items.flatMap((r) => (r.customerId ? [r.customerId] : [])))]
  const role = appointedRole(zona)
  const withPrimary = new Set(
    role && customers.length
      ? (
          await db
            .selectFrom('grants')
            .select('customerId')
            .where('role', '=', role.id)
            .where('customerId', 'in', customers)
            .execute()
        ).map((g) => g.customerId)
      : [],
  )
  return {
    items: page.items.map((r) => {
      const mine = nodes.filter((n) => n.contractNumber === r.contractNumber)
      return {
        ...r,
        match: {
          contractFound: mine.length > 0,
          emailOnFile: mine.some((n) => sameEmail(n.contactEmail, r.email)),
          primaryPresent: r.customerId !== null && withPrimary.has(r.customerId),
        },
      }
    }),
    next_cursor: page.next_cursor,
  }
}

async function requireRequest(db: Executor, id: string): Promise<AccountRequest> {
  const request = await findAccountRequest(db, id)
  if (!request)
    throw new ZonaError('NOT_FOUND', 'there is no account request with this id', { field: 'params.id' })
  return request
}

/**
 * Staff approve a queued request: the link goes to the e-mail given. A request whose contract
 * number matched no customer needs `customerId`; given, it also overrides the match.
 */
export async function approveAccountRequest(
  zona: Zona,
  actor: Actor,
  id: string,
  input: { customerId?: string | undefined } = {},
): Promise<AccountRequest> {
  return withTransaction(zona.store.db, async (trx) => {
    const request = await requireRequest(trx, id)
    if (request.state !== 'waiting_for_operator')
      throw new ZonaError(
        'CONFLICT',
        `the request is ${request.state.replaceAll('_', ' ')}; only one waiting for the operator can be approved`,
        { field: 'params.id' },
      )
    const customerId = input.customerId ?? request.customerId
    if (customerId === null)
      throw new ZonaError(
        'VALIDATION_FAILED',
        'the contract number matched no customer: name the customer in body.customer',
        { field: 'body.customer' },
      )
    const customer = await trx
      .selectFrom('customers')
      .select('id')
      .where('id', '=', customerId)
      .executeTakeFirst()
    if (!customer)
      throw new ZonaError('NOT_FOUND', 'there is no customer with this id', { field: 'body.customer' })
    return sendLink(trx, zona, actor, request, {
      customerId,
      from: 'waiting_for_operator',
      action: 'account_request.approved',
      decidedBy: actor.id,
    })
  })
}

/**
 * Staff reject a request that waits for them, or withdraw a link not yet used (its token dies).
 * No mail goes out: the address may not be the customer's, and mailing it would make Zona a
 * way to send staff's words to anyone. The reason stays in the audit log.
 */
export async function rejectAccountRequest(
  zona: Zona,
  actor: Actor,
  id: string,
  input: { reason: string },
): Promise<AccountRequest> {
  const now = zona.clock()
  return withTransaction(zona.store.db, async (trx) => {
    const request = await requireRequest(trx, id)
    const open: AccountRequestState[] = ['waiting_for_operator', 'link_sent']
    const rejected = open.includes(request.state)
      ? await transitionAccountRequest(trx, id, open, 'rejected', { decidedBy: actor.id, at: now })
      : undefined
    if (!rejected)
      throw new ZonaError(
        'CONFLICT',
        `the request is ${request.state.replaceAll('_', ' ')}; only an open request can be rejected`,
        { field: 'params.id' },
      )
    await voidOneTimeTokens(trx, { purpose: 'account_request', subjectId: id }, now)
    await audit(trx, actor, {
      action: 'account_request.rejected',
      customerId: rejected.customerId,
      nodeId: rejected.nodeId,
      subject: id,
      before: { state: request.state },
      after: { state: 'rejected', reason: input.reason },
    })
    return rejected
  })
}
