import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashToken, newToken } from '../../auth/tokens.ts'
import { startTestZona, type TestZona } from '../../server/testing.ts'
import { listAuditEvents } from '../../store/audit.ts'
import { insertGrant } from '../../store/grants.ts'
import { insertPerson, insertSession } from '../../store/people.ts'
import { describeEachBackend, type TestBackend } from '../../store/testing.ts'
import {
  insertCustomer,
  insertInvoices,
  insertNodes,
  insertStatements,
  type NodeInput,
  upsertUsageStats,
} from '../../store/tree.ts'

const API = '/api/v1'

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'

/** A test Zona with people signed in by session rows, and a CSRF token for their writes. */
class Portal {
  private readonly sessions = new Map<string, string>()
  private csrf: { token: string; cookie: string } | undefined

  constructor(readonly z: TestZona) {}

  static async start(backend: TestBackend, preset: string): Promise<Portal> {
    return new Portal(await startTestZona(backend, { preset }))
  }

  /** A person with a live session and the given grants (written as the operator would). */
  async person(
    id: string,
    customer: string | null,
    grants: [role: string, scope: string, options?: string[]][],
  ) {
    const db = this.z.store.db
    await insertPerson(db, { id, login: id, email: `${id}@example.test`, displayName: id.toUpperCase() })
    const { token } = newToken('zs_')
    await insertSession(db, {
      idHash: hashToken(token),
      personId: id,
      expiresAt: new Date(Date.now() + 3_600_000),
    })
    this.sessions.set(id, token)
    for (const [role, scope, options] of grants)
      await insertGrant(db, {
        customerId: customer as string,
        personId: id,
        role,
        scopeNodeId: scope,
        options: options ?? [],
        limited: role === 'primary-admin' || role === 'legal-rep',
        grantedBy: 'operator:test',
      })
  }

  async request(as: string | null, method: Method, url: string, body?: object, csrf = true) {
    if (!this.csrf) {
      const r = await this.z.app.inject({ method: 'GET', url: `${API}/auth/csrf` })
      const cookie = r.cookies.find((c) => c.name === 'zona_csrf')
      if (r.statusCode !== 200 || !cookie) throw new Error(`no CSRF token: ${r.body}`)
      this.csrf = { token: r.json().token, cookie: `zona_csrf=${cookie.value}` }
    }
    const cookies = [this.csrf.cookie]
    if (as) cookies.push(`zona_session=${this.sessions.get(as)}`)
    const headers: Record<string, string> = { cookie: cookies.join('; ') }
    if (csrf && method !== 'GET') headers['x-csrf-token'] = this.csrf.token
    return this.z.app.inject({ method, url: `${API}${url}`, headers, ...(body ? { payload: body } : {}) })
  }

  get = (as: string, url: string) => this.request(as, 'GET', url)
  post = (as: string, url: string, body: object) => this.request(as, 'POST', url, body)
  patch = (as: string, url: string, body: object) => this.request(as, 'PATCH', url, body)
  delete = (as: string, url: string) => this.request(as, 'DELETE', url)
}

/** A problem body without the parts that name the request (to compare two 404s). */
function sameProblem(body: Record<string, unknown>) {
  const { request_id: _r, instance: _i, ...rest } = body
  return rest
}

const ids = (page: { items: { id: string }[] }) => page.items.map((x) => x.id)

const service = (
  id: string,
  customerId: string,
  parentId: string,
  name: string,
  more: Partial<NodeInput> = {},
): NodeInput => ({ id, customerId, parentId, kind: 'service', name, serviceType: 'mobile', ...more })

describeEachBackend('portal API (o2-cz)', (backend) => {
  let p: Portal
  beforeAll(async () => {
    p = await Portal.start(backend, 'o2-cz')
    const db = p.z.store.db
    await insertCustomer(db, { id: 'acme', name: 'Acme', preset: 'o2-cz' })
    await insertCustomer(db, { id: 'globex', name: 'Globex', preset: 'o2-cz' })
    await insertNodes(db, [
      { id: 'acc-hq', customerId: 'acme', parentId: 'acme', kind: 'account', name: 'Headquarters' },
      { id: 'acc-br', customerId: 'acme', parentId: 'acc-hq', kind: 'account', name: 'Branch Brno' },
      { id: 'acc-other', customerId: 'acme', parentId: 'acme', kind: 'account', name: 'Ostrava' },
      service('svc-hq-1', 'acme', 'acc-hq', '+420 601 000 001', { tariff: 'Business M' }),
      service('svc-br-1', 'acme', 'acc-br', '+420 601 000 002', {
        tariff: 'Business S',
        addOns: ['roaming'],
      }),
      service('svc-br-2', 'acme', 'acc-br', 'Rack 12', { serviceType: 'housing', tariff: 'Housing 1U' }),
      service('svc-br-3', 'acme', 'acc-br', '+420 601 000 004', { status: 'blocked' }),
      service('svc-ot-1', 'acme', 'acc-other', '+420 601 000 003'),
      { id: 'acc-gx', customerId: 'globex', parentId: 'globex', kind: 'account', name: 'Globex main' },
      service('svc-gx-1', 'globex', 'acc-gx', '+420 601 999 999'),
    ])
    const invoice = (id: string, customerId: string, nodeId: string, issuedOn: string, paid: boolean) => ({
      id,
      customerId,
      nodeId,
      number: id.toUpperCase(),
      issuedOn,
      dueOn: issuedOn.replace(/-\d\d$/, '-28'),
      amountCents: 12_345,
      currency: 'CZK',
      paidAt: paid ? new Date(`${issuedOn}T12:00:00Z`) : null,
      paymentReference: paid ? `VS-${id}` : null,
    })
    await insertInvoices(db, [
      invoice('inv-1', 'acme', 'acc-hq', '2025-01-01', true),
      invoice('inv-2', 'acme', 'acc-hq', '2025-02-01', true),
      invoice('inv-3', 'acme', 'acc-hq', '2025-03-01', false),
      invoice('inv-4', 'acme', 'svc-br-1', '2025-03-01', false),
      invoice('inv-gx', 'globex', 'acc-gx', '2025-03-01', false),
    ])
    const call = {
      at: '2025-03-02T10:00:00Z',
      description: 'call to +420 777 000 000',
      quantity: 3,
      unit: 'min',
    }
    await insertStatements(db, [
      { id: 'st-1', customerId: 'acme', nodeId: 'svc-br-1', period: '2025-02', lines: [call] },
      { id: 'st-2', customerId: 'acme', nodeId: 'svc-br-1', period: '2025-03', lines: [call, call] },
      { id: 'st-hq', customerId: 'acme', nodeId: 'acc-hq', period: '2025-03', lines: [call] },
    ])
    await upsertUsageStats(db, [
      { nodeId: 'svc-br-2', day: '2025-03-01', metric: 'traffic.in.bytes', ip: '10.0.0.1', value: 100 },
      { nodeId: 'svc-br-2', day: '2025-03-02', metric: 'traffic.in.bytes', ip: '10.0.0.1', value: 50 },
      { nodeId: 'svc-br-2', day: '2025-03-01', metric: 'traffic.in.bytes', ip: '10.0.0.2', value: 7 },
      { nodeId: 'svc-br-2', day: '2025-03-01', metric: 'traffic.in.bytes', value: 107 },
      { nodeId: 'svc-br-1', day: '2025-03-01', metric: 'calls.minutes', value: 42 },
    ])
    await p.person('pam', 'acme', [['primary-admin', 'acme']])
    await p.person('carl', 'acme', [['customer-admin', 'acme']])
    await p.person('cora', 'acme', [['customer-admin', 'acme']])
    await p.person('ann', 'acme', [['account-admin', 'acc-hq']])
    await p.person('anna', 'acme', [['account-admin', 'acc-hq', ['statements']]])
    await p.person('nora', 'acme', [['account-admin-no-billing', 'acc-hq']])
    await p.person('sam', 'acme', [['service-admin', 'svc-br-1']])
    await p.person('sue', 'acme', [['service-user', 'svc-br-1']])
    await p.person('watt', 'acme', [['smartwatch', 'svc-br-1']])
    await p.person('acct', 'acme', [['customer-accountant', 'acme']])
    await p.person('gina', 'globex', [['primary-admin', 'globex']])
    await p.person('vic', null, [])
    await p.z.zona.access.refresh()
  })
  afterAll(() => p.z.close())

  describe('the tree', () => {
    it('starts each person at the top of what their grants cover (I1)', async () => {
      const roots = async (who: string) => ids((await p.get(who, '/customers/acme/roots')).json())
      expect(await roots('pam')).toEqual(['acme'])
      expect(await roots('ann')).toEqual(['acc-hq'])
      expect(await roots('sue')).toEqual(['svc-br-1'])
      expect(await roots('acct')).toEqual(['acme'])
      expect((await p.get('gina', '/customers/acme/roots')).statusCode).toBe(404)
      expect((await p.get('vic', '/customers/acme/roots')).statusCode).toBe(404)
    })

    it("lists a node's children with what the person may do on each", async () => {
      const r = await p.get('ann', '/customers/acme/tree?parent=acc-hq')
      expect(r.statusCode).toBe(200)
      const page = r.json()
      expect(ids(page)).toEqual(['acc-br', 'svc-hq-1'])
      const line = page.items.find((x: { id: string }) => x.id === 'svc-hq-1')
      expect(line).toMatchObject({
        kind: 'service',
        name: '+420 601 000 001',
        tariff: 'Business M',
        status: 'active',
      })
      expect(line.permissions).toContain('service.order')
      expect(line.permissions).toContain('billing.invoices.view')
      expect(line.permissions).not.toContain('billing.statements.view')
      expect(page.items.find((x: { id: string }) => x.id === 'acc-br').has_children).toBe(true)
      expect(ids((await p.get('ann', '/customers/acme/tree')).json())).toEqual(['acc-hq'])
      expect(ids((await p.get('pam', '/customers/acme/tree?parent=acme')).json())).toEqual([
        'acc-hq',
        'acc-other',
      ])
    })

    it('shows only the name to grants without node.view (smart watch, accountant)', async () => {
      const watch = (await p.get('watt', '/customers/acme/roots')).json().items[0]
      expect(watch).toMatchObject({
        id: 'svc-br-1',
        name: '+420 601 000 002',
        tariff: null,
        status: null,
        permissions: ['service.watch.activate'],
      })
      const account = (await p.get('acct', '/customers/acme/tree?parent=acme')).json().items[0]
      expect(account.permissions).toEqual(['billing.invoices.view', 'billing.payments.view'])
    })

    it('pages children with a cursor and refuses a made-up cursor naming the field', async () => {
      const first = (await p.get('pam', '/customers/acme/tree?parent=acme&limit=1')).json()
      expect(ids(first)).toEqual(['acc-hq'])
      const second = (
        await p.get('pam', `/customers/acme/tree?parent=acme&limit=1&cursor=${first.next_cursor}`)
      ).json()
      expect(ids(second)).toEqual(['acc-other'])
      expect(second.next_cursor).toBeNull()
      const bad = await p.get('pam', '/customers/acme/tree?parent=acme&cursor=bm9wZQ')
      expect(bad.statusCode).toBe(400)
      expect(bad.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'query.cursor' })
    })

    it('searches names and ids only within what the person sees', async () => {
      // Tree order: acc-br's lines come before svc-hq-1, its sibling.
      expect(ids((await p.get('ann', '/customers/acme/tree?q=601')).json())).toEqual([
        'svc-br-1',
        'svc-br-3',
        'svc-hq-1',
      ])
      const all = ids((await p.get('pam', '/customers/acme/tree?q=601')).json())
      expect(all).toContain('svc-ot-1')
      expect(all).not.toContain('svc-gx-1')
      expect(ids((await p.get('ann', '/customers/acme/tree?q=RACK')).json())).toEqual(['svc-br-2'])
      expect(ids((await p.get('ann', '/customers/acme/tree?q=%25')).json())).toEqual([])
      const first = (await p.get('pam', '/customers/acme/tree?q=601&limit=2')).json()
      const rest = (
        await p.get('pam', `/customers/acme/tree?q=601&limit=2&cursor=${first.next_cursor}`)
      ).json()
      expect([...ids(first), ...ids(rest)]).toEqual(all)
      expect(rest.next_cursor).toBeNull()
    })

    it('answers 404 for nodes out of sight exactly as for missing ones (no existence leak)', async () => {
      const pairs = [
        ['/customers/acme/tree?parent=acc-other', '/customers/acme/tree?parent=nope'],
        ['/customers/acme/tree?parent=svc-gx-1', '/customers/acme/tree?parent=nope'],
        ['/services/svc-gx-1', '/services/nope'],
        ['/services/svc-ot-1', '/services/nope'],
        ['/accounts/acc-gx/invoices', '/accounts/nope/invoices'],
        ['/customers/globex/roots', '/customers/nope/roots'],
      ]
      for (const [foreign, missing] of pairs) {
        const a = await p.get('ann', foreign as string)
        const b = await p.get('ann', missing as string)
        expect(a.statusCode).toBe(404)
        expect(sameProblem(a.json())).toEqual(sameProblem(b.json()))
        expect(JSON.stringify(sameProblem(a.json()))).not.toMatch(/gx|other/)
      }
    })

    it('documents every portal route in the OpenAPI document', async () => {
      const doc = (await p.z.app.inject('/api/openapi.json')).json()
      for (const path of [
        '/customers/{customer}/roots',
        '/customers/{customer}/tree',
        '/services/{id}',
        '/services/{id}/usage',
        '/accounts/{id}/invoices',
        '/services/{id}/statements',
        '/services/{id}/orders',
        '/accounts/{id}/orders',
        '/customers/{customer}/grants',
        '/grants',
        '/grants/{id}',
        '/people/{id}/access',
        '/nodes/{id}/access',
      ])
        expect(doc.paths[`${API}${path}`], path).toBeDefined()
      expect(doc.paths[`${API}/grants/{id}`].delete.operationId).toBe('revokeGrant')
    })

    it('asks for a session', async () => {
      const r = await p.request(null, 'GET', '/customers/acme/roots')
      expect(r.statusCode).toBe(401)
      expect(r.json().code).toBe('UNAUTHENTICATED')
    })
  })

  describe('a service page', () => {
    it('lists each action with whether the person may and why', async () => {
      const r = await p.get('sue', '/services/svc-br-1')
      expect(r.statusCode).toBe(200)
      const page = r.json()
      expect(page).toMatchObject({
        id: 'svc-br-1',
        account: 'acc-br',
        tariff: 'Business S',
        add_ons: ['roaming'],
      })
      const action = (name: string) => page.actions.find((a: { action: string }) => a.action === name)
      expect(action('block')).toMatchObject({ allowed: true, code: 'ALLOWED', permission: 'service.block' })
      expect(action('block').reason).toBe('allowed by service-user on svc-br-1 itself')
      expect(action('cancel')).toMatchObject({ allowed: false, code: 'NOT_IN_ROLE' })
      expect(action('cancel').reason).toContain('service-user on svc-br-1 does not give service.cancel')
    })

    it('shows a smart-watch holder the watch and not the settings', async () => {
      const page = (await p.get('watt', '/services/svc-br-1')).json()
      expect(page).toMatchObject({ tariff: null, add_ons: null, status: null })
      const allowed = page.actions
        .filter((a: { allowed: boolean }) => a.allowed)
        .map((a: { action: string }) => a.action)
      expect(allowed).toEqual(['smart-watch'])
    })
  })

  describe('invoices, statements and usage', () => {
    it('shows invoices to whoever has billing.invoices.view, with payment status', async () => {
      for (const who of ['acct', 'ann', 'pam']) {
        const r = await p.get(who, '/accounts/acc-hq/invoices')
        expect(r.statusCode, who).toBe(200)
        expect(ids(r.json())).toEqual(['inv-3', 'inv-2', 'inv-1'])
      }
      const page = (await p.get('acct', '/accounts/acc-hq/invoices')).json()
      expect(page.payments_visible).toBe(true)
      expect(page.items[2]).toMatchObject({
        number: 'INV-1',
        amount_cents: 12_345,
        currency: 'CZK',
        payment: { status: 'paid', reference: 'VS-inv-1' },
      })
      expect(page.items[0].payment.status).toBe('overdue')
      const first = (await p.get('acct', '/accounts/acc-hq/invoices?limit=2')).json()
      const rest = (
        await p.get('acct', `/accounts/acc-hq/invoices?limit=2&cursor=${first.next_cursor}`)
      ).json()
      expect([...ids(first), ...ids(rest)]).toEqual(['inv-3', 'inv-2', 'inv-1'])
      expect(ids((await p.get('ann', '/services/svc-br-1/invoices')).json())).toEqual(['inv-4'])
    })

    it('refuses invoices with the engine explanation to those without billing.invoices.view', async () => {
      const nora = await p.get('nora', '/accounts/acc-hq/invoices')
      expect(nora.statusCode).toBe(403)
      expect(nora.json()).toMatchObject({
        code: 'FORBIDDEN',
        reason: 'NOT_IN_ROLE',
        explanation: 'account-admin-no-billing on acc-hq does not give billing.invoices.view',
      })
      for (const who of ['sue', 'watt', 'sam']) {
        const r = await p.get(who, '/services/svc-br-1/invoices')
        expect(r.statusCode, who).toBe(403)
        expect(r.json().explanation).toContain('does not give billing.invoices.view')
      }
      expect((await p.get('sue', '/accounts/acc-br/invoices')).statusCode).toBe(404)
      expect((await p.get('gina', '/accounts/acc-hq/invoices')).statusCode).toBe(404)
      expect((await p.get('ann', '/accounts/svc-br-1/invoices')).statusCode).toBe(404)
    })

    it('shows detailed statements only with billing.statements.view (the O2 option)', async () => {
      const anna = await p.get('anna', '/services/svc-br-1/statements')
      expect(anna.statusCode).toBe(200)
      expect(anna.json().items.map((s: { period: string }) => s.period)).toEqual(['2025-03', '2025-02'])
      expect(anna.json().items[0].lines).toHaveLength(2)
      expect(ids((await p.get('anna', '/accounts/acc-hq/statements')).json())).toEqual(['st-hq'])
      const page = (await p.get('anna', '/services/svc-br-1/statements?limit=1')).json()
      const next = (
        await p.get('anna', `/services/svc-br-1/statements?limit=1&cursor=${page.next_cursor}`)
      ).json()
      expect(ids(next)).toEqual(['st-1'])
      for (const [who, url] of [
        ['ann', '/services/svc-br-1/statements'],
        ['acct', '/accounts/acc-hq/statements'],
      ] as const) {
        const r = await p.get(who, url)
        expect(r.statusCode, who).toBe(403)
        expect(r.json()).toMatchObject({ code: 'FORBIDDEN', reason: 'OPTION_OFF' })
        expect(r.json().explanation).toContain(
          'gives billing.statements.view only with the option statements',
        )
      }
      expect((await p.get('sue', '/services/svc-br-1/statements')).statusCode).toBe(403)
    })

    it('shows usage statistics by day and per IP (server housing) with usage.stats.view', async () => {
      const byIp = await p.get('nora', '/services/svc-br-2/usage?from=2025-03-01&to=2025-03-31&by=ip')
      expect(byIp.statusCode).toBe(200)
      expect(byIp.json().items).toEqual([
        { day: null, metric: 'traffic.in.bytes', ip: '10.0.0.1', value: 150 },
        { day: null, metric: 'traffic.in.bytes', ip: '10.0.0.2', value: 7 },
      ])
      const first = (
        await p.get('ann', '/services/svc-br-2/usage?from=2025-03-01&to=2025-03-31&limit=2')
      ).json()
      expect(first.items).toHaveLength(2)
      const rest = (
        await p.get(
          'ann',
          `/services/svc-br-2/usage?from=2025-03-01&to=2025-03-31&limit=2&cursor=${first.next_cursor}`,
        )
      ).json()
      expect(
        [...first.items, ...rest.items].map((u: { ip: string | null; day: string }) => `${u.day} ${u.ip}`),
      ).toEqual(['2025-03-01 null', '2025-03-01 10.0.0.1', '2025-03-01 10.0.0.2', '2025-03-02 10.0.0.1'])
      const sue = await p.get('sue', '/services/svc-br-1/usage')
      expect(sue.statusCode).toBe(403)
      expect(sue.json().explanation).toBe('service-user on svc-br-1 does not give usage.stats.view')
      const bad = await p.get('ann', '/services/svc-br-2/usage?from=2025-04-01&to=2025-03-01')
      expect(bad.json()).toMatchObject({ status: 400, field: 'query.from' })
      const month13 = (await p.get('ann', '/services/svc-br-2/usage?from=2025-13-01')).json()
      expect(month13.status).toBe(400)
      expect(month13.field).toMatch(/^query(string)?\.from$/)
    })
  })

  describe('orders', () => {
    const cases: [kind: string, payload: object, node: string, allowed: string, refused: string][] = [
      ['cancel', { reason: 'moving out' }, 'svc-br-1', 'ann', 'sue'],
      ['tariff-change', { tariff: 'Business L' }, 'svc-br-1', 'ann', 'sam'],
      ['addon-activate', { addon: 'data-10gb' }, 'svc-br-1', 'sam', 'sue'],
      ['addon-cancel', { addon: 'roaming' }, 'svc-br-1', 'sam', 'watt'],
      ['block', { reason: 'theft' }, 'svc-br-1', 'sue', 'watt'],
      ['unblock', {}, 'svc-br-3', 'ann', 'acct'],
      ['premium-blacklist', { block: ['sms-premium'] }, 'svc-br-1', 'ann', 'sam'],
      ['offer-activate', { offer: 'summer-2025' }, 'svc-br-1', 'ann', 'sam'],
      ['watch-activate', { imei: '356938035643809' }, 'svc-br-1', 'watt', 'sue'],
      ['settings-change', { settings: { voicemail: true } }, 'svc-br-1', 'nora', 'sue'],
    ]
    for (const [kind, payload, node, allowed, refused] of cases) {
      it(`${kind}: ${allowed} may, ${refused} may not`, async () => {
        const ok = await p.post(allowed, `/services/${node}/orders`, { kind, payload })
        expect(ok.statusCode, ok.body).toBe(201)
        expect(ok.json()).toMatchObject({ node, kind, payload, status: 'pending', person: allowed })
        const no = await p.post(refused, `/services/${node}/orders`, { kind, payload })
        expect(no.statusCode).toBe(403)
        expect(no.json().code).toBe('FORBIDDEN')
        expect(no.json().explanation).toMatch(/does not give|only with the option/)
      })
    }

    it('new-service on an account: service.order there', async () => {
      const body = { kind: 'new-service', payload: { service_type: 'mobile', tariff: 'Business S' } }
      expect((await p.post('ann', '/accounts/acc-br/orders', body)).statusCode).toBe(201)
      const acct = await p.post('acct', '/accounts/acc-br/orders', body)
      expect(acct.statusCode).toBe(403)
      expect(acct.json().explanation).toBe('customer-accountant on acme does not give service.order')
      expect((await p.post('ann', '/accounts/acc-other/orders', body)).statusCode).toBe(404)
    })

    it('records each order with its audit event', async () => {
      const events = await listAuditEvents(p.z.store.db, { action: 'order.placed', customerId: 'acme' })
      const orders = await p.z.store.db.selectFrom('orders').select(['id']).execute()
      expect(events.map((e) => e.subject).sort()).toEqual(orders.map((o) => o.id).sort())
      expect(events.length).toBeGreaterThanOrEqual(11)
    })

    it('validates the payload of each kind, naming the field', async () => {
      const check = async (body: object, status: number, field: string) => {
        const r = await p.post('ann', '/services/svc-br-1/orders', body)
        expect(r.statusCode, r.body).toBe(status)
        expect(r.json().field).toBe(field)
      }
      await check({ kind: 'tariff-change', payload: {} }, 400, 'body.payload.tariff')
      await check({ kind: 'tariff-change', payload: { tariff: 'x', extra: 1 } }, 400, 'body.payload.extra')
      await check({ kind: 'teleport', payload: {} }, 400, 'body.kind')
      await check({ kind: 'watch-activate', payload: { imei: '12' } }, 400, 'body.payload.imei')
      await check({ kind: 'premium-blacklist', payload: {} }, 400, 'body.payload.block')
      await check({ kind: 'addon-cancel', payload: { addon: 'nothing-active' } }, 409, 'body.payload.addon')
      await check({ kind: 'unblock', payload: {} }, 409, 'body.kind')
      expect((await p.post('ann', '/services/svc-ot-1/orders', { kind: 'block' })).statusCode).toBe(404)
    })

    it('needs the CSRF token', async () => {
      const r = await p.request('ann', 'POST', '/services/svc-br-1/orders', { kind: 'block' }, false)
      expect(r.statusCode).toBe(403)
      expect(r.json().code).toBe('CSRF_INVALID')
    })

    it("lists my orders, and everyone's to those with users.manage on the customer", async () => {
      const mine = (await p.get('sue', '/customers/acme/orders')).json()
      expect(mine.showing).toBe('mine')
      expect(mine.items.map((o: { kind: string }) => o.kind)).toEqual(['block'])
      const all = (await p.get('pam', '/customers/acme/orders')).json()
      expect(all.showing).toBe('all')
      expect(new Set(all.items.map((o: { person: string }) => o.person))).toEqual(
        new Set(['ann', 'sam', 'sue', 'watt', 'nora']),
      )
      expect((await p.get('ann', '/customers/acme/orders')).json().showing).toBe('mine')
      const seen: string[] = []
      let cursor: string | null = null
      do {
        const page: { items: { id: string }[]; next_cursor: string | null } = (
          await p.get('pam', `/customers/acme/orders?limit=3${cursor ? `&cursor=${cursor}` : ''}`)
        ).json()
        seen.push(...ids(page))
        cursor = page.next_cursor
      } while (cursor)
      expect(seen).toEqual(ids(all))
      expect((await p.get('gina', '/customers/acme/orders')).statusCode).toBe(404)
    })
  })

  describe('grants (delegation)', () => {
    let vicGrant: string

    it('lets an account admin grant inside its subtree', async () => {
      const r = await p.post('ann', '/grants', { person: 'vic', role: 'service-viewer', scope: 'svc-br-2' })
      expect(r.statusCode, r.body).toBe(201)
      expect(r.json()).toMatchObject({
        person: 'vic',
        role: 'service-viewer',
        scope: 'svc-br-2',
        granted_by: 'ann',
      })
      vicGrant = r.json().id
      expect(ids((await p.get('vic', '/customers/acme/roots')).json())).toEqual(['svc-br-2'])
      const [event] = await listAuditEvents(p.z.store.db, { action: 'grant.added', subject: vicGrant })
      expect(event).toMatchObject({ actor: 'ann', customerId: 'acme', nodeId: 'svc-br-2', before: null })
      expect(event?.after).toMatchObject({ personId: 'vic', role: 'service-viewer' })
    })

    it('refuses a grant outside the subtree like a missing node', async () => {
      const outside = await p.post('ann', '/grants', {
        person: 'vic',
        role: 'account-viewer',
        scope: 'acc-other',
      })
      const missing = await p.post('ann', '/grants', { person: 'vic', role: 'account-viewer', scope: 'nope' })
      expect(outside.statusCode).toBe(404)
      expect(outside.json().field).toBe('body.scope')
      expect(sameProblem(outside.json())).toEqual(sameProblem(missing.json()))
    })

    it('refuses a grant above the granter’s ceiling (statements), and allows it to one who has them', async () => {
      const draft = { person: 'vic', role: 'account-admin', scope: 'acc-br', options: ['statements'] }
      const ann = await p.post('ann', '/grants', draft)
      expect(ann.statusCode).toBe(403)
      expect(ann.json()).toMatchObject({ code: 'FORBIDDEN', reason: 'ABOVE_CEILING' })
      expect(ann.json().explanation).toContain('billing.statements.view')
      const nora = await p.post('nora', '/grants', {
        person: 'vic',
        role: 'account-accountant',
        scope: 'acc-br',
      })
      expect(nora.json()).toMatchObject({ status: 403, reason: 'NOT_IN_MAY_GRANT' })
      const anna = await p.post('anna', '/grants', draft)
      expect(anna.statusCode, anna.body).toBe(201)
      expect((await p.delete('anna', `/grants/${anna.json().id}`)).statusCode).toBe(204)
    })

    it('keeps customer admins from granting, or revoking, customer admins (the peer rule)', async () => {
      const grant = await p.post('carl', '/grants', { person: 'vic', role: 'customer-admin', scope: 'acme' })
      expect(grant.json()).toMatchObject({ status: 403, reason: 'NOT_IN_MAY_GRANT' })
      const cora = (await p.get('carl', '/customers/acme/grants?person=cora')).json().items[0]
      expect(cora.revoke).toMatchObject({ allowed: false, code: 'NOT_IN_MAY_GRANT' })
      const revoke = await p.delete('carl', `/grants/${cora.id}`)
      expect(revoke.statusCode).toBe(403)
      expect(revoke.json().reason).toBe('NOT_IN_MAY_GRANT')
      const pam = (await p.get('pam', '/customers/acme/grants?person=pam')).json().items[0]
      const primary = await p.delete('carl', `/grants/${pam.id}`)
      expect(primary.json()).toMatchObject({ status: 403, reason: 'OPERATOR_ONLY' })
    })

    it('names the field of a bad grant', async () => {
      const check = async (body: object, status: number, field: string) => {
        const r = await p.post('ann', '/grants', body)
        expect(r.statusCode, r.body).toBe(status)
        expect(r.json().field).toBe(field)
      }
      await check({ person: 'vic', role: 'pilot', scope: 'acc-br' }, 400, 'body.role')
      await check(
        { person: 'vic', role: 'account-viewer', scope: 'acc-br', options: ['x'] },
        400,
        'body.options',
      )
      await check({ person: 'vic', role: 'service-viewer', scope: 'acc-br' }, 400, 'body.scope')
      await check({ person: 'nobody', role: 'account-viewer', scope: 'acc-br' }, 404, 'body.person')
      const past = {
        person: 'vic',
        role: 'account-viewer',
        scope: 'acc-br',
        expires_at: '2000-01-01T00:00:00Z',
      }
      await check(past, 400, 'body.expires_at')
      await check({ person: 'vic', role: 'account-viewer' }, 400, 'body.scope')
    })

    it('lists the grants a person manages, with who granted them', async () => {
      const ann = (await p.get('ann', '/customers/acme/grants')).json()
      const people = ann.items.map((g: { person: { id: string } }) => g.person.id)
      expect(new Set(people)).toEqual(new Set(['ann', 'anna', 'nora', 'sam', 'sue', 'watt', 'vic']))
      const vic = ann.items.find((g: { id: string }) => g.id === vicGrant)
      expect(vic).toMatchObject({
        person: { id: 'vic', display_name: 'VIC' },
        scope: { id: 'svc-br-2', kind: 'service', name: 'Rack 12' },
        granted_by: { id: 'ann', display_name: 'ANN' },
        revoke: { allowed: true },
      })
      const all = (await p.get('pam', '/customers/acme/grants')).json().items
      expect(all.length).toBe(ann.items.length + 4) // pam, carl, cora, acct
      const first = (await p.get('pam', '/customers/acme/grants?limit=4')).json()
      const rest = (await p.get('pam', `/customers/acme/grants?cursor=${first.next_cursor}`)).json()
      expect([...ids(first), ...ids(rest)]).toEqual(ids({ items: all }))
      expect((await p.get('sue', '/customers/acme/grants')).json().items).toEqual([])
      expect((await p.get('gina', '/customers/acme/grants')).statusCode).toBe(404)
    })

    it('changes a grant within the rules', async () => {
      const r = await p.patch('ann', `/grants/${vicGrant}`, { role: 'service-user' })
      expect(r.statusCode, r.body).toBe(200)
      expect(r.json()).toMatchObject({ id: vicGrant, role: 'service-user', scope: 'svc-br-2' })
      expect((await p.get('vic', '/customers/acme/roots')).json().items[0].permissions).toEqual([
        'node.view',
        'service.block',
      ])
      const [event] = await listAuditEvents(p.z.store.db, { action: 'grant.changed', subject: vicGrant })
      expect(event?.before).toMatchObject({ role: 'service-viewer' })
      expect(event?.after).toMatchObject({ role: 'service-user' })
      const out = await p.patch('ann', `/grants/${vicGrant}`, { scope: 'svc-ot-1' })
      expect(out.json()).toMatchObject({ status: 404, field: 'body.scope' })
      const up = await p.patch('sue', `/grants/${vicGrant}`, { role: 'service-viewer' })
      expect(up.statusCode).toBe(404)
      const empty = await p.patch('ann', `/grants/${vicGrant}`, {})
      expect(empty.statusCode).toBe(400)
    })

    it('reviews who can do what on a node, and one person’s access with the reasons', async () => {
      const node = await p.get('ann', '/nodes/svc-br-1/access')
      expect(node.statusCode).toBe(200)
      const holders = node
        .json()
        .items.map(
          (a: { grant: { person: { id: string }; role: string } }) => `${a.grant.person.id}:${a.grant.role}`,
        )
      expect(holders).toEqual(
        expect.arrayContaining(['sue:service-user', 'watt:smartwatch', 'ann:account-admin']),
      )
      const watt = node.json().items.find((a: { grant: { role: string } }) => a.grant.role === 'smartwatch')
      expect(watt.permissions).toEqual(['service.watch.activate'])
      expect((await p.get('sue', '/nodes/svc-br-1/access')).json()).toMatchObject({
        status: 403,
        reason: 'NOT_IN_ROLE',
      })
      expect((await p.get('ann', '/nodes/svc-gx-1/access')).statusCode).toBe(404)

      const review = await p.get('ann', '/people/sue/access?customer=acme&node=svc-br-1')
      expect(review.statusCode).toBe(200)
      const verdict = (perm: string) =>
        review.json().node.permissions.find((x: { permission: string }) => x.permission === perm)
      expect(verdict('service.block')).toMatchObject({
        allowed: true,
        reason: 'allowed by service-user on svc-br-1 itself',
      })
      expect(verdict('billing.invoices.view')).toMatchObject({ allowed: false, code: 'NOT_IN_ROLE' })
      expect(review.json().grants.map((g: { role: string }) => g.role)).toEqual(['service-user'])
      expect((await p.get('sue', '/people/sue/access?customer=acme&node=svc-br-1')).statusCode).toBe(200)
      expect((await p.get('sue', '/people/watt/access?customer=acme&node=svc-br-1')).json()).toMatchObject({
        status: 403,
      })
      expect((await p.get('sue', '/people/watt/access?customer=acme')).statusCode).toBe(403)
      expect((await p.get('gina', '/people/sue/access?customer=acme')).statusCode).toBe(404)
    })

    it('refuses a revoked person on their very next request (I6)', async () => {
      expect((await p.get('vic', '/services/svc-br-2')).statusCode).toBe(200)
      const r = await p.delete('ann', `/grants/${vicGrant}`)
      expect(r.statusCode, r.body).toBe(204)
      expect((await p.get('vic', '/services/svc-br-2')).statusCode).toBe(404)
      expect((await p.post('vic', '/services/svc-br-2/orders', { kind: 'block' })).statusCode).toBe(404)
      const [event] = await listAuditEvents(p.z.store.db, { action: 'grant.revoked', subject: vicGrant })
      expect(event).toMatchObject({
        actor: 'ann',
        before: { personId: 'vic', role: 'service-user' },
        after: null,
      })
      expect((await p.delete('ann', `/grants/${vicGrant}`)).statusCode).toBe(404)
    })
  })
})

describeEachBackend('portal API (tim-business)', (backend) => {
  let p: Portal
  beforeAll(async () => {
    p = await Portal.start(backend, 'tim-business')
    const db = p.z.store.db
    await insertCustomer(db, { id: 'tim-co', name: 'Pasta Srl', preset: 'tim-business' })
    await insertNodes(db, [
      { id: 'tim-acc', customerId: 'tim-co', parentId: 'tim-co', kind: 'account', name: 'Conto principale' },
      service('line-1', 'tim-co', 'tim-acc', '+39 333 000 0001'),
      service('line-2', 'tim-co', 'tim-acc', '+39 333 000 0002'),
    ])
    await insertInvoices(db, [
      {
        id: 'fat-1',
        customerId: 'tim-co',
        nodeId: 'tim-acc',
        number: 'F-1',
        issuedOn: '2025-03-01',
        dueOn: '2025-03-31',
        amountCents: 9900,
        currency: 'EUR',
      },
    ])
    await p.person('lr', 'tim-co', [['legal-rep', 'tim-co']])
    await p.person('af', 'tim-co', [['admin-full', 'tim-co']])
    await p.person('al', 'tim-co', [['admin-light', 'tim-co']])
    await p.z.zona.access.refresh()
  })
  afterAll(() => p.z.close())

  it('Admin Light sees invoices; reduced to User on a line, it no longer does', async () => {
    expect(ids((await p.get('al', '/accounts/tim-acc/invoices')).json())).toEqual(['fat-1'])
    const grant = (await p.get('af', '/customers/tim-co/grants?person=al')).json().items[0]
    const r = await p.patch('af', `/grants/${grant.id}`, { role: 'user', scope: 'line-1' })
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json()).toMatchObject({ person: 'al', role: 'user', scope: 'line-1', granted_by: 'af' })
    expect((await p.get('al', '/accounts/tim-acc/invoices')).statusCode).toBe(404)
    const line = await p.get('al', '/services/line-1/invoices')
    expect(line.statusCode).toBe(403)
    expect(line.json().explanation).toBe('user on line-1 does not give billing.invoices.view')
    expect(ids((await p.get('al', '/customers/tim-co/roots')).json())).toEqual(['line-1'])
    expect((await p.get('al', '/services/line-2')).statusCode).toBe(404)
    const block = await p.post('al', '/services/line-1/orders', {
      kind: 'block',
      payload: { reason: 'loss' },
    })
    expect(block.statusCode).toBe(201)
  })

  it('keeps the legal representative out of the portal’s hands', async () => {
    const lr = (await p.get('af', '/customers/tim-co/grants?person=lr')).json().items[0]
    expect(lr.revoke).toMatchObject({ allowed: false, code: 'OPERATOR_ONLY' })
    const r = await p.post('af', '/grants', { person: 'al', role: 'legal-rep', scope: 'tim-co' })
    expect(r.json()).toMatchObject({ status: 403, reason: 'OPERATOR_ONLY' })
  })
})
