import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nicHandlePattern } from '../../auth/nic-handle.ts'
import { startTestZona, type TestZona } from '../../server/testing.ts'
import { describeEachBackend } from '../../store/testing.ts'

/** A tiny RFC 4180 reader, independent of the code under test. */
function readCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"'
        i++
      } else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      row.push(cell)
      cell = ''
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell)
      rows.push(row)
      row = []
      cell = ''
      i++
    } else cell += c
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell])
  return rows
}

describeEachBackend('operator back office', (backend) => {
  let z: TestZona
  let op: string
  let decision: string

  beforeAll(async () => {
    z = await startTestZona(backend, { preset: 'o2-cz' })
    op = await z.apiKey('operator', 'back-office')
    decision = await z.apiKey('decision', 'crm')
  })
  afterAll(() => z.close())

  const call = (
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    body?: unknown,
    options: { key?: string | null; contentType?: string } = {},
  ) => {
    const key = options.key === undefined ? op : options.key
    const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {}
    if (options.contentType) headers['content-type'] = options.contentType
    return z.app.inject({
      method,
      url: `/api/v1/operator${url}`,
      headers,
      ...(body === undefined ? {} : { payload: body as string }),
    })
  }
  const check = async (person: string, permission: string, node: string) => {
    const r = await z.app.inject({
      method: 'POST',
      url: '/api/v1/check',
      headers: { authorization: `Bearer ${op}` },
      payload: { person, permission, node },
    })
    return r
  }
  const newCustomer = async (id: string, name = id) => {
    const r = await call('POST', '/customers', { id, name })
    expect(r.statusCode).toBe(201)
    return r.json()
  }
  const auditOf = async (query: string) => (await call('GET', `/audit?${query}`)).json().items

  describe('who may call', () => {
    it('refuses a call without a key (401) and a decision key or a person (403)', async () => {
      const none = await call('GET', '/customers', undefined, { key: null })
      expect(none.statusCode).toBe(401)
      expect(none.headers['content-type']).toContain('application/problem+json')
      expect(none.json().code).toBe('UNAUTHENTICATED')
      const wrong = await call('POST', '/customers', { name: 'X' }, { key: 'zk_not-a-key' })
      expect(wrong.statusCode).toBe(401)
      const dec = await call('POST', '/customers', { name: 'X' }, { key: decision })
      expect(dec.statusCode).toBe(403)
      expect(dec.json()).toMatchObject({ code: 'FORBIDDEN', reason: 'NOT_OPERATOR' })
      expect((await call('GET', '/audit', undefined, { key: decision })).statusCode).toBe(403)
      expect((await call('GET', '/api-keys', undefined, { key: decision })).statusCode).toBe(403)
      // Nothing was created by the refused calls.
      expect((await call('GET', '/customers?q=X')).json().items).toEqual([])
    })
  })

  describe('customers', () => {
    it('creates a customer with a given or generated id, refuses a duplicate id', async () => {
      const acme = await newCustomer('acme', 'Acme s.r.o.')
      expect(acme).toMatchObject({ id: 'acme', name: 'Acme s.r.o.', preset: 'o2-cz' })
      const generated = await call('POST', '/customers', { name: 'Beta Corp' })
      expect(generated.statusCode).toBe(201)
      expect(generated.json().id).toMatch(/^[0-9a-f-]{36}$/)
      const dup = await call('POST', '/customers', { id: 'acme', name: 'Another Acme' })
      expect(dup.statusCode).toBe(409)
      expect(dup.json()).toMatchObject({ code: 'CONFLICT', field: 'body.id' })
      const bad = await call('POST', '/customers', { id: 'has space', name: 'X' })
      expect(bad.json()).toMatchObject({ status: 400, field: 'body.id' })
      const noName = await call('POST', '/customers', { id: 'nameless' })
      expect(noName.json()).toMatchObject({ status: 400, field: 'body.name' })
      const [event] = await auditOf('action=customer.created&customer=acme')
      expect(event).toMatchObject({
        actor: 'operator:back-office',
        after: { id: 'acme', name: 'Acme s.r.o.' },
      })
    })

    it('lists customers a page at a time and searches by name', async () => {
      await newCustomer('list-1', 'Gamma Holding')
      await newCustomer('list-2', 'Gamma Services')
      await newCustomer('list-3', 'Delta 100% Ltd')
      const found = (await call('GET', '/customers?q=gamma')).json()
      expect(found.items.map((c: { id: string }) => c.id)).toEqual(['list-1', 'list-2'])
      // LIKE characters are taken literally.
      expect(
        (await call('GET', '/customers?q=100%25')).json().items.map((c: { id: string }) => c.id),
      ).toEqual(['list-3'])
      expect((await call('GET', '/customers?q=0_')).json().items).toEqual([])
      const first = (await call('GET', '/customers?q=gamma&limit=1')).json()
      expect(first.items).toHaveLength(1)
      expect(first.next_cursor).toEqual(expect.any(String))
      const second = (await call('GET', `/customers?q=gamma&limit=1&cursor=${first.next_cursor}`)).json()
      expect(second.items.map((c: { id: string }) => c.id)).toEqual(['list-2'])
      expect(second.next_cursor).toBeNull()
      const badCursor = await call('GET', '/customers?cursor=nonsense')
      expect(badCursor.json()).toMatchObject({ status: 400, field: 'query.cursor' })
    })

    it('shows a customer with its counts; a missing one is 404', async () => {
      const missing = await call('GET', '/customers/nobody')
      expect(missing.statusCode).toBe(404)
      expect(missing.json().code).toBe('NOT_FOUND')
    })
  })

  describe('tree', () => {
    it('adds accounts and services and browses the children of a node', async () => {
      await newCustomer('tree-co')
      const added = await call('POST', '/customers/tree-co/nodes', {
        nodes: [
          { id: 'tc-s1', parent: 'tc-a1', kind: 'service', name: '+420 601 000 001', service_type: 'mobile' },
          { id: 'tc-a1', parent: 'tree-co', kind: 'account', name: 'Head office', contract_number: 'K-1' },
          { id: 'tc-a2', parent: 'tc-a1', kind: 'account', name: 'Branch' },
        ],
      })
      expect(added.statusCode).toBe(201)
      expect(added.json()).toEqual({ accounts: 2, services: 1, ids: ['tc-a1', 'tc-s1', 'tc-a2'] })
      const root = (await call('GET', '/customers/tree-co/tree')).json()
      expect(root.parent).toMatchObject({ id: 'tree-co', kind: 'customer' })
      expect(root.items).toEqual([
        expect.objectContaining({ id: 'tc-a1', kind: 'account', contract_number: 'K-1', child_count: 2 }),
      ])
      const under = (await call('GET', '/customers/tree-co/tree?parent=tc-a1&limit=1')).json()
      expect(under.items.map((n: { id: string }) => n.id)).toEqual(['tc-a2'])
      const rest = (
        await call('GET', `/customers/tree-co/tree?parent=tc-a1&cursor=${under.next_cursor}`)
      ).json()
      expect(rest.items).toEqual([
        expect.objectContaining({ id: 'tc-s1', kind: 'service', status: 'active', service_type: 'mobile' }),
      ])
      const detail = (await call('GET', '/customers/tree-co')).json()
      expect(detail.counts).toEqual({ accounts: 2, services: 1, people: 0, grants: 0 })
      const [event] = await auditOf('customer=tree-co&action=tree.nodes_added')
      expect(event.after).toMatchObject({ accounts: 2, services: 1, ids: ['tc-a1', 'tc-s1', 'tc-a2'] })
    })

    it('reports every bad node by its place and adds none', async () => {
      await newCustomer('tree-bad')
      const r = await call('POST', '/customers/tree-bad/nodes', {
        nodes: [
          { id: 'tb-a1', parent: 'tree-bad', kind: 'account', name: 'OK' },
          { id: 'tb-s1', parent: 'nowhere', kind: 'service', name: 'Lost' },
          { id: 'tb-a2', parent: 'tree-bad', kind: 'branch', name: 'Unknown kind' },
          { id: 'tb-s2', parent: 'tb-a1', kind: 'service', name: 'Line', status: 'sleeping' },
        ],
      })
      expect(r.statusCode).toBe(400)
      expect(r.headers['content-type']).toContain('application/problem+json')
      const body = r.json()
      expect(body).toMatchObject({ code: 'VALIDATION_FAILED', field: 'body.nodes[1].parent', error_count: 3 })
      expect(body.errors.map((e: { field: string }) => e.field).sort()).toEqual(
        ['body.nodes[1].parent', 'body.nodes[2].kind', 'body.nodes[3].status'].sort(),
      )
      expect((await call('GET', '/customers/tree-bad')).json().counts).toMatchObject({
        accounts: 0,
        services: 0,
      })
    })
  })

  describe('import', () => {
    it('imports flat JSON; the decision API sees the new nodes', async () => {
      await newCustomer('imp-json')
      const r = await call('POST', '/customers/imp-json/import?wait=true', {
        accounts: [
          { id: 'ij-a1', name: 'Main' },
          { id: 'ij-a2', name: 'Sub', parent: 'ij-a1' },
        ],
        services: [
          {
            id: 'ij-s1',
            parent: 'ij-a2',
            name: '+420 601 111 111',
            service_type: 'mobile',
            tariff: 'Business M',
          },
          { id: 'ij-s2', parent: 'ij-a1', name: 'VoIP', service_type: 'voip', add_ons: ['recording', 'ivr'] },
        ],
      })
      expect(r.statusCode).toBe(200)
      expect(r.json()).toMatchObject({ state: 'done', processed: 4, total: 4, accounts: 2, services: 2 })
      const appointed = await call('POST', '/customers/imp-json/primary', {
        person: { email: 'jana@imp-json.example', display_name: 'Jana', login: 'jana-ij' },
      })
      expect(appointed.statusCode).toBe(200)
      const janaId = appointed.json().holder.person.id
      const answer = await check(janaId, 'service.order', 'ij-s1')
      expect(answer.statusCode).toBe(200)
      expect(answer.json()).toMatchObject({
        allowed: true,
        grant: { role: 'primary-admin', scope: 'imp-json' },
      })
      const voip = (await call('GET', '/customers/imp-json/tree?parent=ij-a1')).json()
      expect(voip.items.find((n: { id: string }) => n.id === 'ij-s2')).toMatchObject({
        add_ons: ['recording', 'ivr'],
        service_type: 'voip',
      })
      const [event] = await auditOf('customer=imp-json&action=tree.imported')
      expect(event).toMatchObject({ actor: 'operator:back-office', after: { accounts: 2, services: 2 } })
    })

    it('imports the nested form of the access-test files', async () => {
      await newCustomer('imp-nested')
      const r = await call('POST', '/customers/imp-nested/import?wait=true', {
        customer: 'imp-nested',
        name: 'Nested Co',
        accounts: [
          {
            id: 'in-hq',
            name: 'HQ',
            services: ['in-s1', { id: 'in-s2', type: 'voip', name: 'Switchboard' }],
            accounts: [{ id: 'in-br', services: [{ id: 'in-s3', type: 'mobile' }] }],
          },
        ],
        services: ['in-direct'],
      })
      expect(r.statusCode).toBe(200)
      expect(r.json()).toMatchObject({ state: 'done', accounts: 2, services: 4 })
      const br = (await call('GET', '/customers/imp-nested/tree?parent=in-br')).json()
      expect(br.items).toEqual([
        expect.objectContaining({ id: 'in-s3', service_type: 'mobile', parent: 'in-br' }),
      ])
      const root = (await call('GET', '/customers/imp-nested/tree')).json()
      expect(root.items.map((n: { id: string }) => n.id)).toEqual(['in-direct', 'in-hq'])
      const check1 = await check('nobody', 'node.view', 'in-s3')
      expect(check1.statusCode).toBe(200) // the engine knows the node (a 404 would mean it does not)
    })

    it('imports CSV, children before parents included, quoted cells kept', async () => {
      await newCustomer('imp-csv')
      const csv = [
        'kind,id,parent,name,service_type,tariff,status,contract_number,contact_email',
        'service,ic-s1,ic-a2,"+420 601 222 222",mobile,"Business, L",blocked,,',
        'account,ic-a2,ic-a1,"Branch ""Brno""",,,,K-2,brno@example.cz',
        'account,ic-a1,,Main,,,,K-1,',
        '',
      ].join('\r\n')
      const r = await call('POST', '/customers/imp-csv/import?wait=true', csv, { contentType: 'text/csv' })
      expect(r.statusCode).toBe(200)
      expect(r.json()).toMatchObject({ state: 'done', accounts: 2, services: 1 })
      const a1 = (await call('GET', '/customers/imp-csv/tree?parent=ic-a1')).json()
      expect(a1.items).toEqual([
        expect.objectContaining({ id: 'ic-a2', name: 'Branch "Brno"', contact_email: 'brno@example.cz' }),
      ])
      const a2 = (await call('GET', '/customers/imp-csv/tree?parent=ic-a2')).json()
      expect(a2.items).toEqual([
        expect.objectContaining({ id: 'ic-s1', tariff: 'Business, L', status: 'blocked' }),
      ])
      expect((await check('nobody', 'node.view', 'ic-s1')).statusCode).toBe(200)
    })

    it('reports a bad CSV line by its number and writes nothing', async () => {
      await newCustomer('imp-bad')
      const csv = [
        'kind,id,parent,name,service_type,tariff,status,contract_number,contact_email',
        'account,ib-a1,,Main,,,,,',
        'service,ib-s1,ib-a1,Line 1,mobile,,,,',
        'service,ib-s2,ib-missing,Line 2,mobile,,,,',
        'service,ib-s3,ib-s1,Line under a line,mobile,,,,',
        'device,ib-d1,ib-a1,Router,,,,,',
        'account,ib-a1,,Main again,,,,,',
        'service,ib-s4,ib-a1,Line 4,mobile,,,,not-an-email',
      ].join('\n')
      const r = await call('POST', '/customers/imp-bad/import?wait=true', csv, { contentType: 'text/csv' })
      expect(r.statusCode).toBe(400)
      expect(r.headers['content-type']).toContain('application/problem+json')
      const body = r.json()
      expect(body).toMatchObject({ code: 'VALIDATION_FAILED', job_id: expect.any(String) })
      const fields = body.errors.map((e: { field: string }) => e.field)
      expect(fields).toEqual(
        expect.arrayContaining([
          'csv line 4: parent',
          'csv line 5: parent',
          'csv line 6: kind',
          'csv line 7: id',
          'csv line 8: contact_email',
        ]),
      )
      expect(body.error_count).toBe(5)
      expect(body.errors.find((e: { field: string }) => e.field === 'csv line 5: parent').detail).toContain(
        'is a service',
      )
      // Nothing written: not the good rows either, and no audit event.
      expect((await call('GET', '/customers/imp-bad')).json().counts).toMatchObject({
        accounts: 0,
        services: 0,
      })
      expect((await check('nobody', 'node.view', 'ib-a1')).statusCode).toBe(404)
      expect(await auditOf('customer=imp-bad&action=tree.imported')).toEqual([])
      // The failed job keeps its errors for whoever polls it.
      const job = (await call('GET', `/imports/${body.job_id}`)).json()
      expect(job).toMatchObject({ state: 'failed', error_count: 5, error_code: 'VALIDATION_FAILED' })
    })

    it('names JSON rows as body.services[i].field', async () => {
      await newCustomer('imp-badjson')
      const r = await call('POST', '/customers/imp-badjson/import?wait=true', {
        accounts: [{ id: 'ibj-a1', name: 'Main' }],
        services: [
          { id: 'ibj-s1', parent: 'ibj-a1', name: 'ok' },
          { id: 'ibj-s1', parent: 'ibj-a1', name: 'twin' },
          { id: 'ibj-s3', parent: 'ibj-nope', name: 'lost' },
        ],
      })
      expect(r.statusCode).toBe(400)
      expect(r.json().errors).toEqual([
        { field: 'body.services[1].id', detail: expect.stringContaining('appears twice') },
        { field: 'body.services[2].parent', detail: 'unknown parent ibj-nope' },
      ])
    })

    it('runs as a job: 202, then the job reports done', async () => {
      await newCustomer('imp-job')
      const r = await call('POST', '/customers/imp-job/import', { accounts: [{ id: 'jb-a1', name: 'A' }] })
      expect(r.statusCode).toBe(202)
      const { job_id } = r.json()
      let job = (await call('GET', `/imports/${job_id}`)).json()
      for (let i = 0; i < 100 && job.state !== 'done' && job.state !== 'failed'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20))
        job = (await call('GET', `/imports/${job_id}`)).json()
      }
      expect(job).toMatchObject({ job_id, customer_id: 'imp-job', state: 'done', processed: 1, total: 1 })
      expect((await call('GET', '/imports/no-such-job')).statusCode).toBe(404)
      const unknownCustomer = await call('POST', '/customers/nobody/import', { accounts: [] })
      expect(unknownCustomer.statusCode).toBe(404)
      const wrongType = await call('POST', '/customers/imp-job/import', 'a,b', { contentType: 'text/plain' })
      expect(wrongType.statusCode).toBe(400)
    })

    it('accepts an import larger than the 1 MB default body limit', async () => {
      await newCustomer('imp-big')
      const rows = ['kind,id,parent,name,service_type']
      rows.push('account,big-a,,Big account,')
      for (let i = 0; i < 20_000; i++)
        rows.push(`service,big-s${i},big-a,Line number ${i} of the big account,mobile`)
      const csv = rows.join('\n')
      expect(csv.length).toBeGreaterThan(1024 * 1024)
      const r = await call('POST', '/customers/imp-big/import?wait=true', csv, { contentType: 'text/csv' })
      expect(r.statusCode).toBe(200)
      expect(r.json()).toMatchObject({ state: 'done', services: 20_000 })
      // Other routes keep the default limit.
      const big = await call('POST', '/customers', { name: 'x'.repeat(1024 * 1024 + 10) })
      expect(big.statusCode).toBe(413)
    })
  })

  describe('primary admin (W4)', () => {
    it('appoints, then replaces; the old holder loses every permission of the role at once', async () => {
      await newCustomer('w4')
      await call('POST', '/customers/w4/nodes', {
        nodes: [
          { id: 'w4-a', parent: 'w4', kind: 'account', name: 'A' },
          { id: 'w4-s', parent: 'w4-a', kind: 'service', name: 'S', service_type: 'mobile' },
        ],
      })
      expect((await call('GET', '/customers/w4/primary')).json()).toMatchObject({
        role: { id: 'primary-admin' },
        holder: null,
      })
      const first = await call('POST', '/customers/w4/primary', {
        person: { email: 'Petr@W4.example', display_name: 'Petr Novák', login: 'petr-w4' },
      })
      expect(first.statusCode).toBe(200)
      expect(first.json()).toMatchObject({ outcome: 'appointed', previous: null })
      const petr = first.json().holder.person.id
      expect((await check(petr, 'users.manage', 'w4')).json().allowed).toBe(true)
      expect((await check(petr, 'billing.invoices.view', 'w4-s')).json().allowed).toBe(true)

      // The same person found by e-mail (any case): no new login, nothing changes.
      const again = await call('POST', '/customers/w4/primary', {
        person: { email: 'petr@w4.example', display_name: 'Petr' },
      })
      expect(again.json()).toMatchObject({ outcome: 'unchanged', holder: { person: { id: petr } } })

      const second = await call('POST', '/customers/w4/primary', {
        person: { email: 'eva@w4.example', display_name: 'Eva Dvořáková', login: 'eva-w4' },
      })
      expect(second.statusCode).toBe(200)
      expect(second.json()).toMatchObject({ outcome: 'replaced', previous: { person: { id: petr } } })
      const eva = second.json().holder.person.id
      for (const permission of z.zona.catalog.permissions) {
        for (const node of ['w4', 'w4-a', 'w4-s']) {
          const a = (await check(petr, permission, node)).json()
          expect(a.allowed, `${permission} on ${node}`).toBe(false)
        }
      }
      expect((await check(eva, 'users.manage', 'w4')).json().allowed).toBe(true)
      expect((await call('GET', '/customers/w4/primary')).json().holder.person).toMatchObject({
        id: eva,
        login: 'eva-w4',
      })

      const events = await auditOf('customer=w4&action=primary.')
      expect(events.map((e: { action: string }) => e.action)).toEqual([
        'primary.replaced',
        'primary.appointed',
      ])
      expect(events[0]).toMatchObject({
        actor: 'operator:back-office',
        before: { person: petr, role: 'primary-admin' },
        after: { person: eva, role: 'primary-admin' },
      })
      expect(events[1]).toMatchObject({ before: null, after: { person: petr } })

      const people = (await call('GET', '/customers/w4/people')).json()
      expect(people.items).toEqual([
        expect.objectContaining({
          id: eva,
          login: 'eva-w4',
          status: 'active',
          last_login_at: null,
          grants: [
            expect.objectContaining({
              role: 'primary-admin',
              scope: 'w4',
              granted_by: 'operator:back-office',
            }),
          ],
        }),
      ])
      expect((await call('GET', '/customers/w4/people?q=petr')).json().items).toEqual([])
      expect((await call('GET', '/customers/w4')).json().counts).toMatchObject({ people: 1, grants: 1 })
    })

    it('names an existing person by id; unknown ids and bad bodies name the field', async () => {
      await newCustomer('w4-id')
      const made = await call('POST', '/customers/w4-id/primary', {
        person: { email: 'ivo@w4id.example', display_name: 'Ivo' },
      })
      const ivo = made.json().holder.person.id
      expect(made.json().holder.person.login).toBe('ivo@w4id.example')
      await newCustomer('w4-id2')
      const byId = await call('POST', '/customers/w4-id2/primary', { person: { id: ivo } })
      expect(byId.json()).toMatchObject({ outcome: 'appointed', holder: { person: { id: ivo } } })
      const unknown = await call('POST', '/customers/w4-id2/primary', { person: { id: 'ghost' } })
      expect(unknown.json()).toMatchObject({ status: 404, field: 'body.person.id' })
      const noPerson = await call('POST', '/customers/w4-id2/primary', {})
      expect(noPerson.json()).toMatchObject({ status: 400, field: 'body.person' })
      const otherLogin = await call('POST', '/customers/w4-id2/primary', {
        person: { email: 'ivo@w4id.example', display_name: 'Ivo', login: 'someone-else' },
      })
      expect(otherLogin.json()).toMatchObject({ status: 409, field: 'body.person.login' })
      expect((await call('POST', '/customers/nobody/primary', { person: { id: ivo } })).statusCode).toBe(404)
    })

    it('leaves exactly one holder when two appointments race, and never answers 500', async () => {
      await newCustomer('w4-race')
      const answers = await Promise.all(
        [1, 2, 3, 4].map((i) =>
          call('POST', '/customers/w4-race/primary', {
            person: { email: `racer${i}@race.example`, display_name: `Racer ${i}`, login: `racer-${i}` },
          }),
        ),
      )
      for (const a of answers) expect([200, 409]).toContain(a.statusCode)
      const holders = await z.store.db
        .selectFrom('grants')
        .select('personId')
        .where('customerId', '=', 'w4-race')
        .where('role', '=', 'primary-admin')
        .execute()
      expect(holders).toHaveLength(1)
      const engineHolders = z.zona.access.engine.grantsAt('w4-race').filter((g) => g.role === 'primary-admin')
      expect(engineHolders.map((g) => g.person)).toEqual(holders.map((h) => h.personId))
    })
  })

  describe('audit', () => {
    it('pages newest first and filters by customer, actor, action and time', async () => {
      await newCustomer('aud-1')
      await newCustomer('aud-2')
      const all = (await call('GET', '/audit?action=customer.created&limit=2')).json()
      expect(all.items).toHaveLength(2)
      expect(all.items[0].id).toBeGreaterThan(all.items[1].id)
      expect(all.items[0].customer_id).toBe('aud-2')
      const next = (
        await call('GET', `/audit?action=customer.created&limit=2&cursor=${all.next_cursor}`)
      ).json()
      expect(next.items[0].id).toBeLessThan(all.items[1].id)
      expect((await auditOf('customer=aud-1')).map((e: { action: string }) => e.action)).toEqual([
        'customer.created',
      ])
      expect(await auditOf('actor=operator:someone-else')).toEqual([])
      expect(await auditOf('from=2999-01-01T00:00:00Z')).toEqual([])
      const bad = await call('GET', '/audit?from=yesterday')
      expect(bad.json().status).toBe(400)
      // The shared mapper names schema failures by Fastify's context ('querystring'); accept both spellings.
      expect(bad.json().field).toMatch(/^query(string)?\.from$/)
    })

    it('exports CSV that parses back, and JSON lines', async () => {
      await newCustomer('aud-x', 'Quote "and", comma\nnewline')
      const csv = await call('GET', '/audit/export?format=csv&customer=aud-x')
      expect(csv.statusCode).toBe(200)
      expect(csv.headers['content-type']).toContain('text/csv')
      expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="zona-audit-aud-x-.*\.csv"$/)
      const rows = readCsv(csv.body)
      expect(rows[0]).toEqual([
        'id',
        'at',
        'actor',
        'on_behalf_of',
        'action',
        'customer_id',
        'node_id',
        'subject',
        'before',
        'after',
        'ip',
      ])
      expect(rows).toHaveLength(2)
      const row = rows[1] as string[]
      expect(row[2]).toBe('operator:back-office')
      expect(row[4]).toBe('customer.created')
      expect(JSON.parse(row[9] as string)).toMatchObject({ id: 'aud-x', name: 'Quote "and", comma\nnewline' })

      const jsonl = await call('GET', '/audit/export?format=jsonl&action=customer.')
      expect(jsonl.headers['content-type']).toContain('application/x-ndjson')
      const lines = jsonl.body.trimEnd().split('\n')
      const events = lines.map((l) => JSON.parse(l))
      expect(events.length).toBeGreaterThanOrEqual(5)
      for (const e of events) expect(e.action).toBe('customer.created')
      expect(events.map((e) => e.id)).toEqual([...events.map((e) => e.id)].sort((a, b) => b - a))
    })
  })

  describe('API keys', () => {
    it('creates a key shown once, lists it without the secret, revokes it', async () => {
      const made = await call('POST', '/api-keys', { name: 'billing-sync', scope: 'decision' })
      expect(made.statusCode).toBe(201)
      const { id, key } = made.json()
      expect(key).toMatch(/^zk_/)
      const works = await z.app.inject({
        method: 'POST',
        url: '/api/v1/check',
        headers: { authorization: `Bearer ${key}` },
        payload: { person: 'x', permission: 'node.view', node: 'acme' },
      })
      expect(works.statusCode).toBe(200)
      expect((await call('GET', '/customers', undefined, { key })).statusCode).toBe(403)
      const listed = (await call('GET', '/api-keys?limit=1000')).json()
      const entry = listed.items.find((k: { id: string }) => k.id === id)
      expect(entry).toMatchObject({ name: 'billing-sync', scope: 'decision', revoked_at: null })
      expect(JSON.stringify(listed)).not.toContain(key)
      const revoked = await call('DELETE', `/api-keys/${id}`)
      expect(revoked.statusCode).toBe(200)
      expect(revoked.json().revoked_at).toEqual(expect.any(String))
      const refused = await z.app.inject({
        method: 'POST',
        url: '/api/v1/check',
        headers: { authorization: `Bearer ${key}` },
        payload: { person: 'x', permission: 'node.view', node: 'acme' },
      })
      expect(refused.statusCode).toBe(401)
      expect((await call('DELETE', `/api-keys/${id}`)).statusCode).toBe(404)
      const events = await auditOf('action=api_key.')
      expect(events.map((e: { action: string; subject: string }) => [e.action, e.subject])).toEqual([
        ['api_key.revoked', id],
        ['api_key.created', id],
      ])
      expect(JSON.stringify(events)).not.toContain(key)
      const operatorKey = (await call('POST', '/api-keys', { name: 'staff-2', scope: 'operator' })).json().key
      expect((await call('GET', '/customers', undefined, { key: operatorKey })).statusCode).toBe(200)
      expect((await call('POST', '/api-keys', { name: 'x', scope: 'admin' })).json()).toMatchObject({
        status: 400,
        field: 'body.scope',
      })
    })
  })

  describe('isolation between customers', () => {
    it("never shows one customer's nodes through another's paths", async () => {
      await newCustomer('iso-a')
      await newCustomer('iso-b')
      await call('POST', '/customers/iso-b/nodes', {
        nodes: [{ id: 'iso-b-acc', parent: 'iso-b', kind: 'account', name: 'Secret' }],
      })
      const foreign = await call('GET', '/customers/iso-a/tree?parent=iso-b-acc')
      const missing = await call('GET', '/customers/iso-a/tree?parent=iso-nothing')
      expect(foreign.statusCode).toBe(404)
      expect(missing.statusCode).toBe(404)
      const shape = (r: typeof foreign, id: string) => {
        const { instance: _i, request_id: _r, ...rest } = r.json()
        return { ...rest, detail: rest.detail.replace(id, '<id>') }
      }
      expect(shape(foreign, 'iso-b-acc')).toEqual(shape(missing, 'iso-nothing'))
      // The customer's own root through another customer: also unknown.
      expect((await call('GET', '/customers/iso-a/tree?parent=iso-b')).statusCode).toBe(404)

      const underForeign = await call('POST', '/customers/iso-a/nodes', {
        nodes: [{ id: 'iso-a-x', parent: 'iso-b-acc', kind: 'service', name: 'X' }],
      })
      const underMissing = await call('POST', '/customers/iso-a/nodes', {
        nodes: [{ id: 'iso-a-x', parent: 'iso-nothing', kind: 'service', name: 'X' }],
      })
      expect(underForeign.json().errors[0].detail.replace('iso-b-acc', '<id>')).toBe(
        underMissing.json().errors[0].detail.replace('iso-nothing', '<id>'),
      )
      const imported = await call('POST', '/customers/iso-a/import?wait=true', {
        services: [{ id: 'iso-a-y', parent: 'iso-b-acc', name: 'Y' }],
      })
      expect(imported.json().errors).toEqual([
        { field: 'body.services[0].parent', detail: 'unknown parent iso-b-acc' },
      ])
    })
  })

  it('is described in the OpenAPI document', async () => {
    const doc = (await z.app.inject('/api/openapi.json')).json()
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/operator/customers',
        '/api/v1/operator/customers/{id}/import',
        '/api/v1/operator/imports/{job_id}',
        '/api/v1/operator/audit/export',
        '/api/v1/operator/api-keys/{id}',
      ]),
    )
    expect(Object.keys(doc.paths['/api/v1/operator/customers/{id}/import'].post.requestBody.content)).toEqual(
      ['application/json', 'text/csv'],
    )
  })
})

describeEachBackend('operator back office on the ovh preset', (backend) => {
  let z: TestZona
  let op: string
  beforeAll(async () => {
    z = await startTestZona(backend, { preset: 'ovh' })
    op = await z.apiKey('operator', 'staff')
  })
  afterAll(() => z.close())

  it('appoints the account owner, giving a new person a NIC handle as login', async () => {
    const headers = { authorization: `Bearer ${op}` }
    const made = await z.app.inject({
      method: 'POST',
      url: '/api/v1/operator/customers',
      headers,
      payload: { id: 'hosting-co', name: 'Hosting Co' },
    })
    expect(made.json()).toMatchObject({ preset: 'ovh' })
    const r = await z.app.inject({
      method: 'POST',
      url: '/api/v1/operator/customers/hosting-co/primary',
      headers,
      payload: { person: { email: 'owner@hosting.example', display_name: 'Owner' } },
    })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toMatchObject({ outcome: 'appointed', role: { id: 'owner' } })
    expect(r.json().holder.person.login).toMatch(nicHandlePattern(z.zona.catalog.features.loginSuffix))
  })
})
