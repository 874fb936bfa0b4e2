/**
 * Two customers of one operator that look alike – the same names, the same shape of tree, the
 * same phone numbers – each with its primary admin, an employee and a "victim" (a person whose
 * grant the suites may change), invoices, statements, usage, an order, a pending invitation, and
 * on presets that have them a pending contact change; plus a sandbox customer for the operator's
 * writes and a queued account request. Built through the product where it matters (sign-in,
 * invitations, orders, contact changes, account requests) and the store elsewhere.
 *
 * `send` is the one way the suites talk to Zona: it adds the credentials a route needs (operator
 * key, decision key, a session cookie with its CSRF token), and gives each request its own client
 * address so per-address rate limits never hide the answer under test.
 */
import { randomBytes } from 'node:crypto'
import { expect } from 'vitest'
import { createPerson } from '../../../src/commands/auth/people.ts'
import type { Catalog, Role } from '../../../src/domain/catalog.ts'
import { startTestZona, type TestZona } from '../../../src/server/testing.ts'
import { withTransaction } from '../../../src/store/common.ts'
import { insertGrant } from '../../../src/store/grants.ts'
import type { TestBackend } from '../../../src/store/testing.ts'
import {
  insertCustomer,
  insertInvoices,
  insertNodes,
  insertStatements,
  type NodeInput,
  upsertUsageStats,
} from '../../../src/store/tree.ts'

export const API = '/api/v1'
export const PASSWORD = 'correct horse battery 42'

export interface PersonRef {
  id: string
  login: string
  email: string
  displayName: string
}

export interface Side {
  key: 'a' | 'b'
  customer: string
  /** hq, branch (under hq), other. */
  accounts: string[]
  /** svc-1 (under hq), svc-2 and svc-3 (under branch). */
  services: string[]
  /** Where the world's narrow role sits: the victim's, the employee's and a free one. */
  scopes: string[]
  people: { admin: PersonRef; employee: PersonRef; victim: PersonRef }
  grants: { admin: string; employee: string; victim: string }
  invitations: string[]
  orders: string[]
  invoices: string[]
  statements: string[]
  contactChanges: string[]
  /** The admin's session token (cookie zona_session). */
  session: string
}

export interface Sent {
  statusCode: number
  headers: Record<string, string | string[] | number | undefined>
  body: string
  // biome-ignore lint/suspicious/noExplicitAny: answers are read loosely and checked field by field
  json(): any
  cookies: { name: string; value: string; [k: string]: unknown }[]
}

export type Auth = 'operator' | 'decision' | 'none' | { session: string }

export interface Request {
  method: string
  url: string
  auth: Auth
  /** An object is sent as JSON; a string or Buffer as it is, with `contentType`. */
  payload?: unknown
  contentType?: string
  /** CSRF for cookie writes: the right token (default), none, or a wrong one. */
  csrf?: 'good' | 'none' | 'wrong'
  headers?: Record<string, string>
  /** The client address; by default each request has its own. */
  ip?: string
}

export class World {
  private ips = 0
  constructor(
    readonly z: TestZona,
    readonly catalog: Catalog,
    readonly a: Side,
    readonly b: Side,
    readonly sandbox: { customer: string; account: string; person: PersonRef },
    readonly keys: { operator: string; decision: string; spareId: string },
    readonly accountRequests: string[],
    readonly csrf: { cookie: string; token: string },
    readonly roles: { primary: Role; service: Role },
  ) {}

  get db() {
    return this.z.store.db
  }

  /** A client address of its own for each request (rate limits are per address). */
  nextIp(): string {
    this.ips++
    return `10.${(this.ips >> 16) & 255}.${(this.ips >> 8) & 255}.${this.ips & 255}`
  }

  async send(r: Request): Promise<Sent> {
    const headers: Record<string, string> = { ...(r.headers ?? {}) }
    const cookies: string[] = []
    if (r.auth === 'operator') headers.authorization = `Bearer ${this.keys.operator}`
    else if (r.auth === 'decision') headers.authorization = `Bearer ${this.keys.decision}`
    else if (r.auth !== 'none') cookies.push(`zona_session=${r.auth.session}`)
    if (r.method !== 'GET' && r.method !== 'HEAD') {
      const csrf = r.csrf ?? 'good'
      if (csrf !== 'none') {
        cookies.push(this.csrf.cookie)
        headers['x-csrf-token'] = csrf === 'good' ? this.csrf.token : `${this.csrf.token.slice(0, -4)}AAAA`
      }
    }
    if (cookies.length) headers.cookie = [headers.cookie, ...cookies].filter(Boolean).join('; ')
    let payload: string | Buffer | undefined
    if (r.payload !== undefined) {
      if (typeof r.payload === 'string' || Buffer.isBuffer(r.payload)) {
        payload = r.payload
        if (r.contentType) headers['content-type'] = r.contentType
      } else {
        payload = JSON.stringify(r.payload)
        headers['content-type'] = r.contentType ?? 'application/json'
      }
    } else if (r.contentType) headers['content-type'] = r.contentType
    const res = await this.z.app.inject({
      method: r.method as 'GET',
      url: r.url,
      headers,
      remoteAddress: r.ip ?? this.nextIp(),
      ...(payload !== undefined ? { payload } : {}),
    })
    return res as unknown as Sent
  }

  /** Every id of one side, by kind: what another customer's admin must never reach. */
  idsOf(side: Side): Record<string, string[]> {
    return {
      customer: [side.customer],
      account: side.accounts,
      service: side.services,
      person: Object.values(side.people).map((p) => p.id),
      grant: Object.values(side.grants),
      invoice: side.invoices,
      statement: side.statements,
      order: side.orders,
      invitation: side.invitations,
      'contact-change': side.contactChanges,
    }
  }

  /** Strings only this side has (ids, logins, e-mails, invoice numbers): none may show up on the other side. */
  markersOf(side: Side): string[] {
    const people = Object.values(side.people)
    return [
      ...Object.values(this.idsOf(side)).flat(),
      ...people.map((p) => p.login),
      ...people.map((p) => p.email),
      `INV-${side.key.toUpperCase()}-`,
    ]
  }
}

const random = () => randomBytes(6).toString('hex')
export const randomId = () => `no-such-${random()}`

function roleFor(catalog: Catalog, test: (r: Role) => boolean, what: string): Role {
  const role = catalog.roles.find(test)
  if (!role) throw new Error(`the ${catalog.id} catalog has no ${what}`)
  return role
}

async function person(z: TestZona, key: string, displayName: string): Promise<PersonRef> {
  const p = await withTransaction(z.store.db, (trx) =>
    createPerson(trx, z.zona, {
      displayName,
      login: key,
      email: `${key}@example.test`,
      password: PASSWORD,
    }),
  )
  return { id: p.id, login: p.login, email: p.email as string, displayName: p.displayName }
}

/** The same-looking tree for each customer: only the ids differ. */
function tree(key: string, customer: string): NodeInput[] {
  const service = (n: number, parentId: string, name: string, serviceType: string): NodeInput => ({
    id: `${key}-svc-${n}`,
    customerId: customer,
    parentId,
    kind: 'service',
    name,
    serviceType,
    tariff: 'Business M',
    contractNumber: `${key.toUpperCase()}-CN-${n}`,
    contactEmail: `contract-${key}-${n}@example.test`,
  })
  return [
    { id: `${key}-hq`, customerId: customer, parentId: customer, kind: 'account', name: 'HQ' },
    { id: `${key}-branch`, customerId: customer, parentId: `${key}-hq`, kind: 'account', name: 'Branch' },
    { id: `${key}-other`, customerId: customer, parentId: customer, kind: 'account', name: 'Ostrava' },
    service(1, `${key}-hq`, '+420 601 000 001', 'mobile'),
    service(2, `${key}-branch`, '+420 601 000 002', 'mobile'),
    service(3, `${key}-branch`, 'Rack 12', 'housing'),
  ]
}

async function signIn(z: TestZona, csrf: { cookie: string; token: string }, login: string): Promise<string> {
  const r = await z.app.inject({
    method: 'POST',
    url: `${API}/auth/login`,
    headers: { cookie: csrf.cookie, 'x-csrf-token': csrf.token },
    payload: { login, password: PASSWORD },
    remoteAddress: `192.0.2.${Math.floor(Math.random() * 250) + 1}`,
  })
  expect(r.statusCode, r.body).toBe(200)
  const cookie = r.cookies.find((c) => c.name === 'zona_session')
  if (!cookie) throw new Error('no session cookie')
  return cookie.value
}

async function buildSide(
  z: TestZona,
  catalog: Catalog,
  roles: { primary: Role; service: Role },
  key: 'a' | 'b',
  customer: string,
  csrf: { cookie: string; token: string },
): Promise<Side> {
  const db = z.store.db
  // The same name for both customers: isolation must not lean on names.
  await insertCustomer(db, { id: customer, name: 'Nordic Telecom Group', preset: catalog.id })
  await insertNodes(db, tree(key, customer))
  const services = [1, 2, 3].map((n) => `${key}-svc-${n}`)
  const accounts = [`${key}-hq`, `${key}-branch`, `${key}-other`]
  const upper = key.toUpperCase()
  const people = {
    admin: await person(z, `admin-${key}`, `Admin ${upper}`),
    employee: await person(z, `employee-${key}`, `Employee ${upper}`),
    victim: await person(z, `victim-${key}`, `Victim ${upper}`),
  }
  const grant = (personId: string, role: Role, scope: string) =>
    insertGrant(db, {
      customerId: customer,
      personId,
      role: role.id,
      scopeNodeId: scope,
      limited: role.limitPerCustomer === 1,
      grantedBy: 'operator:fixture',
    }).then((g) => g.id)
  // Where the narrow role goes: the n-th service, account or the customer, as its scope kind asks.
  const scope = (n: number) =>
    roles.service.scope === 'service'
      ? (services[n] as string)
      : roles.service.scope === 'account'
        ? (accounts[n] as string)
        : customer
  const grants = {
    admin: await grant(people.admin.id, roles.primary, customer),
    victim: await grant(people.victim.id, roles.service, scope(0)),
    employee: await grant(people.employee.id, roles.service, scope(1)),
  }
  if (catalog.features.contactChanges)
    for (const role of ['tech-contact', 'billing-contact'])
      await insertGrant(db, {
        customerId: customer,
        personId: people.admin.id,
        role,
        scopeNodeId: services[0] as string,
        grantedBy: 'operator:fixture',
      })
  const invoices = [`${key}-inv-1`, `${key}-inv-2`]
  await insertInvoices(db, [
    {
      id: invoices[0] as string,
      customerId: customer,
      nodeId: accounts[0] as string,
      number: `INV-${upper}-0001`,
      issuedOn: '2025-02-01',
      dueOn: '2025-02-15',
      amountCents: 12_345,
      currency: 'CZK',
      paidAt: new Date('2025-02-10T00:00:00Z'),
      paymentReference: `VS-${upper}-1`,
    },
    {
      id: invoices[1] as string,
      customerId: customer,
      nodeId: services[0] as string,
      number: `INV-${upper}-0002`,
      issuedOn: '2025-03-01',
      dueOn: '2025-03-15',
      amountCents: 678,
      currency: 'CZK',
    },
  ])
  const statements = [`${key}-st-1`, `${key}-st-2`]
  const line = {
    at: '2025-03-02T10:00:00Z',
    description: 'call to +420 777 000 000',
    quantity: 3,
    unit: 'min',
  }
  await insertStatements(db, [
    {
      id: statements[0] as string,
      customerId: customer,
      nodeId: services[0] as string,
      period: '2025-03',
      lines: [line],
    },
    {
      id: statements[1] as string,
      customerId: customer,
      nodeId: accounts[0] as string,
      period: '2025-03',
      lines: [line],
    },
  ])
  await upsertUsageStats(db, [
    {
      nodeId: services[2] as string,
      day: '2025-03-01',
      metric: 'traffic.in.bytes',
      ip: '10.0.0.1',
      value: 100,
    },
    { nodeId: services[0] as string, day: '2025-03-01', metric: 'calls.minutes', ip: null, value: 7 },
  ])
  await z.zona.access.refresh()

  const session = await signIn(z, csrf, people.admin.login)
  const side: Side = {
    key,
    customer,
    accounts,
    services,
    scopes: [scope(0), scope(1), scope(2)],
    people,
    grants,
    invitations: [],
    orders: [],
    invoices,
    statements,
    contactChanges: [],
    session,
  }
  /** A request as this side's admin; `optional` steps may be refused where the preset does not offer them. */
  const as = async (method: string, url: string, payload?: object, optional = false) => {
    const r = await z.app.inject({
      method: method as 'POST',
      url: `${API}${url}`,
      headers: {
        cookie: `zona_session=${session}; ${csrf.cookie}`,
        'x-csrf-token': csrf.token,
      },
      remoteAddress: '192.0.2.200',
      ...(payload ? { payload } : {}),
    })
    if (optional && r.statusCode >= 400 && r.statusCode < 500) return undefined
    expect(r.statusCode, `${method} ${url}: ${r.body}`).toBeLessThan(300)
    return r.json()
  }
  // ovh's only roles a customer could give are the contact roles, which change hands by contact change only.
  const invitation = await as(
    'POST',
    `/customers/${customer}/invitations`,
    {
      email: `invitee-${key}@example.test`,
      login: `invitee-${key}`,
      display_name: `Invitee ${upper}`,
      grants: [{ role: roles.service.id, scope: scope(2) }],
    },
    true,
  )
  if (invitation) side.invitations.push(invitation.id)
  const order = await as('POST', `/services/${services[0]}/orders`, { kind: 'block', payload: {} })
  side.orders.push(order.id)
  if (catalog.features.contactChanges) {
    const change = await as('POST', `/services/${services[0]}/contact-changes`, {
      kind: 'technical',
      new_contact: people.employee.login,
    })
    side.contactChanges.push(change.id)
  }
  return side
}

/** Builds the world on a fresh database of the backend. Close it with `world.z.close()`. */
export async function buildWorld(
  backend: TestBackend,
  preset: string,
  options: { clock?: () => Date; env?: Record<string, string> } = {},
): Promise<World> {
  const z = await startTestZona(backend, { preset, ...options })
  const catalog = z.zona.catalog
  const roles = {
    primary: roleFor(
      catalog,
      (r) => r.appointedByOperator && r.limitPerCustomer === 1,
      'operator-appointed role',
    ),
    // The narrowest role the customer gives itself: a service role, else any (sk-isp has customer roles only).
    service:
      catalog.roles.find((r) => r.scope === 'service' && !r.appointedByOperator) ??
      roleFor(catalog, (r) => !r.appointedByOperator && !r.limitPerCustomer, 'role a customer gives'),
  }
  const c = await z.app.inject({ method: 'GET', url: `${API}/auth/csrf` })
  const cookie = c.cookies.find((x) => x.name === 'zona_csrf')
  if (c.statusCode !== 200 || !cookie) throw new Error(`no CSRF token: ${c.body}`)
  const csrf = { cookie: `zona_csrf=${cookie.value}`, token: c.json().token as string }

  const a = await buildSide(z, catalog, roles, 'a', 'acme', csrf)
  const b = await buildSide(z, catalog, roles, 'b', 'globex', csrf)

  const db = z.store.db
  await insertCustomer(db, { id: 'sandbox', name: 'Sandbox', preset: catalog.id })
  await insertNodes(db, [
    { id: 'sandbox-acc', customerId: 'sandbox', parentId: 'sandbox', kind: 'account', name: 'Sandbox' },
  ])
  const sandboxPerson = await person(z, 'sandbox-person', 'Sandbox Person')
  await insertGrant(db, {
    customerId: 'sandbox',
    personId: sandboxPerson.id,
    role: roles.primary.id,
    scopeNodeId: 'sandbox',
    limited: roles.primary.limitPerCustomer === 1,
    grantedBy: 'operator:fixture',
  })
  await z.zona.access.refresh()

  const operator = await z.apiKey('operator', 'reliability-operator')
  const decision = await z.apiKey('decision', 'reliability-decision')
  await z.apiKey('decision', 'spare')
  const spare = await db
    .selectFrom('apiKeys')
    .select('id')
    .where('name', '=', 'spare')
    .executeTakeFirstOrThrow()

  const accountRequests: string[] = []
  if (catalog.features.accountRequests) {
    const r = await z.app.inject({
      method: 'POST',
      url: `${API}/account-requests`,
      headers: { cookie: csrf.cookie, 'x-csrf-token': csrf.token },
      payload: { contract_number: 'NO-SUCH-CONTRACT-1', email: 'stranger@example.test' },
      remoteAddress: '192.0.2.201',
    })
    expect(r.statusCode, r.body).toBe(202)
    const rows = await db.selectFrom('accountRequests').select('id').execute()
    accountRequests.push(...rows.map((x) => x.id))
  }

  return new World(
    z,
    catalog,
    a,
    b,
    { customer: 'sandbox', account: 'sandbox-acc', person: sandboxPerson },
    { operator, decision, spareId: spare.id },
    accountRequests,
    csrf,
    roles,
  )
}
