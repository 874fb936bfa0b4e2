/**
 * The typed shape of the database, for Kysely.
 *
 * Tables and columns are snake_case in SQL; here they are camelCase because `openDatabase`
 * installs Kysely's CamelCasePlugin (`customer_id` ⇄ `customerId`). Raw `sql` strings are
 * not translated: write snake_case there. JSON columns keep their inner keys as written.
 *
 * JSON columns take a `json(value)` expression on insert and update (see repositories):
 * node-postgres would send a JS array as a PostgreSQL array, not as JSON.
 */
import type { ColumnType, Generated, Insertable, RawBuilder, Selectable, Updateable } from 'kysely'

/** Read as a Date; written as a Date or an ISO string; the database fills it when omitted. */
export type CreatedAt = ColumnType<Date, Date | string | undefined, Date | string>
export type Timestamp = ColumnType<Date, Date | string, Date | string>
export type NullableTimestamp = ColumnType<
  Date | null,
  Date | string | null | undefined,
  Date | string | null
>
/** A calendar day, 'YYYY-MM-DD' both ways (the drivers are told not to make Dates of it). */
export type DateOnly = string
/** A jsonb column: read as T, written only through `json(value)`. */
export type JsonColumn<T> = ColumnType<T, RawBuilder<T>, RawBuilder<T>>
export type JsonColumnWithDefault<T> = ColumnType<T, RawBuilder<T> | undefined, RawBuilder<T>>
export type NullableJsonColumn<T> = ColumnType<
  T | null,
  RawBuilder<T> | null | undefined,
  RawBuilder<T> | null
>

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }
export type JsonObject = { [key: string]: JsonValue }

// ---------------------------------------------------------------------------------------
// Customers and their tree

export type NodeKind = 'customer' | 'account' | 'service'
export type ServiceStatus = 'active' | 'blocked' | 'cancelled'

export interface CustomersTable {
  id: string
  name: string
  /** The role catalog (preset) this customer's grants are read against, e.g. 'o2-cz'. */
  preset: string
  createdAt: CreatedAt
}

/**
 * One row per node of a customer's tree. The customer itself is a node (kind 'customer',
 * id = customerId, no parent), so a grant can point at any node.
 */
export interface NodesTable {
  id: string
  customerId: string
  parentId: string | null
  kind: NodeKind
  name: string
  /** Services only: 'mobile', 'voip', 'housing', … (free text, the catalog gives meaning). */
  serviceType: string | null
  /** Services only, required there. */
  status: ServiceStatus | null
  tariff: string | null
  addOns: ColumnType<string[], string[] | undefined, string[]>
  /** The billing system's reference, e.g. a contract number (sk-isp account requests). */
  contractNumber: string | null
  /** The e-mail on file for this account or service, if any. */
  contactEmail: string | null
  /** Anything else the billing system knows: phone number, IPs, location. */
  attributes: JsonColumnWithDefault<JsonObject>
  createdAt: CreatedAt
}

export interface InvoicesTable {
  id: string
  customerId: string
  /** An account or a service. */
  nodeId: string
  number: string
  issuedOn: DateOnly
  dueOn: DateOnly
  amountCents: number
  currency: string
  paidAt: NullableTimestamp
  paymentReference: string | null
  createdAt: CreatedAt
}

export interface StatementLine {
  at: string
  description: string
  quantity?: number
  unit?: string
  amountCents?: number
  [key: string]: JsonValue | undefined
}

/** A detailed statement (call records, CDR) of one node for one period. */
export interface StatementsTable {
  id: string
  customerId: string
  nodeId: string
  /** 'YYYY-MM' */
  period: string
  lines: JsonColumnWithDefault<StatementLine[]>
  createdAt: CreatedAt
}

export interface UsageStatsTable {
  nodeId: string
  day: DateOnly
  /** e.g. 'traffic.in.bytes', 'calls.minutes' */
  metric: string
  /** Per-IP statistics (server housing); null for the node as a whole. */
  ip: string | null
  value: number
}

// ---------------------------------------------------------------------------------------
// People, credentials, sessions, API keys

export type PersonStatus = 'active' | 'deactivated'

export interface PeopleTable {
  id: string
  /** Unique regardless of case. */
  login: string
  /** Unique regardless of case; null until known. */
  email: string | null
  displayName: string
  status: ColumnType<PersonStatus, PersonStatus | undefined, PersonStatus>
  locale: string | null
  createdAt: CreatedAt
  lastLoginAt: NullableTimestamp
  deactivatedAt: NullableTimestamp
}

export interface CredentialsTable {
  personId: string
  /** argon2id, PHC string. Null while an invited person has not yet set a password. */
  passwordHash: string | null
  totpSecret: string | null
  /** A second-factor secret being set up, not yet confirmed with a code (migration 0007). */
  totpPendingSecret: ColumnType<string | null, string | null | undefined, string | null>
  /** Time step of the last accepted code: a code works once (migration 0007). */
  totpLastStep: ColumnType<number | null, number | null | undefined, number | null>
  failedAttempts: ColumnType<number, number | undefined, number>
  lockedUntil: NullableTimestamp
  passwordChangedAt: NullableTimestamp
}

export interface SessionsTable {
  /** Hash of the session token; the token itself is never stored. */
  idHash: string
  personId: string
  /** Operator staff acting for the person, recorded in audit as on-behalf-of. */
  onBehalfOf: string | null
  csrfSecret: string | null
  ip: string | null
  userAgent: string | null
  createdAt: CreatedAt
  lastSeenAt: CreatedAt
  expiresAt: Timestamp
}

export type ApiKeyScope = 'operator' | 'decision'

export interface ApiKeysTable {
  id: Generated<string>
  keyHash: string
  name: string
  scope: ApiKeyScope
  createdAt: CreatedAt
  lastUsedAt: NullableTimestamp
  revokedAt: NullableTimestamp
}

// ---------------------------------------------------------------------------------------
// Grants

export interface GrantsTable {
  id: Generated<string>
  customerId: string
  personId: string
  /** A role id of the customer's catalog. */
  role: string
  scopeNodeId: string
  options: ColumnType<string[], string[] | undefined, string[]>
  /**
   * The role is limited (primary admin, legal representative, account owner): a partial
   * unique index lets at most one such grant per (customer, role) exist (invariant I3).
   */
  limited: ColumnType<boolean, boolean | undefined, boolean>
  /** A person id, or 'operator:<name>'. Kept when that person is gone (delegation rule 5). */
  grantedBy: string | null
  grantedAt: CreatedAt
  expiresAt: NullableTimestamp
}

/** OVH service contacts: grants of the catalog's admin-contact, tech-contact and billing-contact roles. */
export type ContactKind = 'admin' | 'technical' | 'billing'

// ---------------------------------------------------------------------------------------
// Workflows: each has an explicit state; final states are never left.

export type InvitationState = 'pending' | 'accepted' | 'cancelled' | 'expired'

export interface InvitedGrant {
  role: string
  scopeNodeId: string
  options: string[]
}

export interface InvitationsTable {
  id: Generated<string>
  customerId: string
  /** A person id or 'operator:<name>'. */
  invitedBy: string
  login: string | null
  email: string
  displayName: string | null
  grants: JsonColumn<InvitedGrant[]>
  state: ColumnType<InvitationState, InvitationState | undefined, InvitationState>
  createdAt: CreatedAt
  expiresAt: Timestamp
  lastSentAt: CreatedAt
  sendCount: ColumnType<number, number | undefined, number>
  /** The person who accepted: a new login, or one that already existed. */
  acceptedPersonId: string | null
  /** When the state became final. */
  closedAt: NullableTimestamp
}

export type ContactChangeState = 'pending' | 'applied' | 'refused' | 'cancelled' | 'expired'

export interface ContactChangesTable {
  id: Generated<string>
  customerId: string
  nodeId: string
  kind: ContactKind
  requestedBy: string
  oldPersonId: string
  newPersonId: string
  state: ColumnType<ContactChangeState, ContactChangeState | undefined, ContactChangeState>
  requesterApprovedAt: NullableTimestamp
  newContactApprovedAt: NullableTimestamp
  /** Who refused, when state is 'refused'. */
  refusedBy: string | null
  /** Why it could not apply, when Zona refused it at the second approval (migration 0008). */
  refusalReason: ColumnType<string | null, string | null | undefined, string | null>
  createdAt: CreatedAt
  expiresAt: Timestamp
  closedAt: NullableTimestamp
}

export type AccountRequestState =
  | 'pending'
  | 'link_sent'
  | 'waiting_for_operator'
  | 'completed'
  | 'rejected'
  | 'expired'

export interface AccountRequestsTable {
  id: Generated<string>
  contractNumber: string
  email: string
  state: ColumnType<AccountRequestState, AccountRequestState | undefined, AccountRequestState>
  /** Filled when the contract number matched; never shown to the requester. */
  customerId: string | null
  nodeId: string | null
  personId: string | null
  ip: string | null
  createdAt: CreatedAt
  decidedBy: string | null
  closedAt: NullableTimestamp
}

export type TokenPurpose =
  | 'invitation'
  | 'password_reset'
  | 'contact_change'
  | 'account_request'
  | 'email_change'

export interface OneTimeTokensTable {
  /** Hash of the token; the token itself is only ever in the e-mail. */
  tokenHash: string
  purpose: TokenPurpose
  /** The invitation, contact change, account request or person the token is for. */
  subjectId: string
  /** Which side holds it, when there are two (contact change: 'requester' | 'new_contact'). */
  party: string | null
  personId: string | null
  email: string | null
  createdAt: CreatedAt
  expiresAt: Timestamp
  usedAt: NullableTimestamp
  attempts: ColumnType<number, number | undefined, number>
}

export type OrderStatus = 'pending' | 'sent' | 'completed' | 'failed' | 'cancelled'

/** A request for the operator's systems (order, cancel, tariff change, block, …). */
export interface OrdersTable {
  id: Generated<string>
  customerId: string
  nodeId: string
  personId: string | null
  onBehalfOf: string | null
  kind: string
  payload: JsonColumnWithDefault<JsonObject>
  status: ColumnType<OrderStatus, OrderStatus | undefined, OrderStatus>
  createdAt: CreatedAt
  updatedAt: CreatedAt
}

export type OutboxStatus = 'pending' | 'sent' | 'failed'

export interface OutboxTable {
  id: Generated<number>
  recipient: string
  subject: string
  text: string
  html: string | null
  /** Template name, for tests and metrics. */
  template: string | null
  /** The customer the message concerns, if any (migration 0006). */
  customerId: ColumnType<string | null, string | null | undefined, string | null>
  status: ColumnType<OutboxStatus, OutboxStatus | undefined, OutboxStatus>
  attempts: ColumnType<number, number | undefined, number>
  nextAttemptAt: CreatedAt
  createdAt: CreatedAt
  sentAt: NullableTimestamp
  lastError: string | null
}

// ---------------------------------------------------------------------------------------
// Audit and change tracking

/** Append-only: the database refuses UPDATE, DELETE and TRUNCATE (invariant I5). */
export interface AuditEventsTable {
  id: Generated<number>
  at: CreatedAt
  /** A person id, 'operator:<name>', 'api-key:<id>' or 'system'. */
  actor: string
  onBehalfOf: string | null
  /** Past tense, dotted: 'grant.added', 'login.deactivated'. */
  action: string
  customerId: string | null
  nodeId: string | null
  /** What the event is about when it is not a node: a grant id, a person id, … */
  subject: string | null
  before: NullableJsonColumn<JsonValue>
  after: NullableJsonColumn<JsonValue>
  ip: string | null
}

/** One row; its version rises with every change to grants, people's status or the tree. */
export interface AccessVersionTable {
  id: ColumnType<true, never, never>
  version: number
  changedAt: CreatedAt
}

export interface Database {
  customers: CustomersTable
  nodes: NodesTable
  invoices: InvoicesTable
  statements: StatementsTable
  usageStats: UsageStatsTable
  people: PeopleTable
  credentials: CredentialsTable
  sessions: SessionsTable
  apiKeys: ApiKeysTable
  grants: GrantsTable
  invitations: InvitationsTable
  contactChanges: ContactChangesTable
  accountRequests: AccountRequestsTable
  oneTimeTokens: OneTimeTokensTable
  orders: OrdersTable
  outbox: OutboxTable
  auditEvents: AuditEventsTable
  accessVersion: AccessVersionTable
}

export type Customer = Selectable<CustomersTable>
export type NewCustomer = Insertable<CustomersTable>
export type NodeRow = Selectable<NodesTable>
export type NewNode = Insertable<NodesTable>
export type NodeUpdate = Updateable<NodesTable>
export type Invoice = Selectable<InvoicesTable>
export type NewInvoice = Insertable<InvoicesTable>
export type Statement = Selectable<StatementsTable>
export type NewStatement = Insertable<StatementsTable>
export type UsageStat = Selectable<UsageStatsTable>
export type NewUsageStat = Insertable<UsageStatsTable>
export type Person = Selectable<PeopleTable>
export type NewPerson = Insertable<PeopleTable>
export type PersonUpdate = Updateable<PeopleTable>
export type Credentials = Selectable<CredentialsTable>
export type Session = Selectable<SessionsTable>
export type NewSession = Insertable<SessionsTable>
export type ApiKey = Selectable<ApiKeysTable>
export type NewApiKey = Insertable<ApiKeysTable>
export type Grant = Selectable<GrantsTable>
export type NewGrant = Insertable<GrantsTable>
export type GrantUpdate = Updateable<GrantsTable>
export type Invitation = Selectable<InvitationsTable>
export type NewInvitation = Insertable<InvitationsTable>
export type InvitationUpdate = Updateable<InvitationsTable>
export type ContactChange = Selectable<ContactChangesTable>
export type NewContactChange = Insertable<ContactChangesTable>
export type ContactChangeUpdate = Updateable<ContactChangesTable>
export type AccountRequest = Selectable<AccountRequestsTable>
export type NewAccountRequest = Insertable<AccountRequestsTable>
export type AccountRequestUpdate = Updateable<AccountRequestsTable>
export type OneTimeToken = Selectable<OneTimeTokensTable>
export type NewOneTimeToken = Insertable<OneTimeTokensTable>
export type Order = Selectable<OrdersTable>
export type NewOrder = Insertable<OrdersTable>
export type OutboxMessage = Selectable<OutboxTable>
export type NewOutboxMessage = Insertable<OutboxTable>
export type AuditEvent = Selectable<AuditEventsTable>
export type NewAuditEvent = Insertable<AuditEventsTable>
