import { afterAll, beforeAll, expect, it } from 'vitest'
import { startTestZona, type TestZona } from '../../server/testing.ts'
import { insertGrant } from '../../store/grants.ts'
import { describeEachBackend } from '../../store/testing.ts'
import { insertCustomer, insertNodes } from '../../store/tree.ts'

describeEachBackend('decision API', (backend) => {
  let z: TestZona
  let key: string
  beforeAll(async () => {
    z = await startTestZona(backend)
    const db = z.store.db
    await insertCustomer(db, { id: 'acme', name: 'Acme', preset: 'o2-cz' })
    await insertNodes(db, [
      { id: 'acc-hq', customerId: 'acme', parentId: 'acme', kind: 'account', name: 'HQ' },
      { id: 'acc-br', customerId: 'acme', parentId: 'acc-hq', kind: 'account', name: 'Branch' },
      {
        id: 'svc-1',
        customerId: 'acme',
        parentId: 'acc-hq',
        kind: 'service',
        name: '+420 601 111 111',
        serviceType: 'mobile',
      },
      {
        id: 'svc-2',
        customerId: 'acme',
        parentId: 'acc-br',
        kind: 'service',
        name: '+420 601 222 222',
        serviceType: 'mobile',
      },
    ])
    await db.insertInto('people').values({ id: 'bob', login: 'bob', displayName: 'Bob' }).execute()
    await insertGrant(db, {
      customerId: 'acme',
      personId: 'bob',
      role: 'account-admin',
      scopeNodeId: 'acc-br',
      grantedBy: null,
    })
    await z.zona.access.refresh()
    key = await z.apiKey('decision')
  })
  afterAll(() => z.close())

  const post = (url: string, body: unknown, token: string | null = key) =>
    z.app.inject({
      method: 'POST',
      url,
      payload: body as object,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    })

  it('answers allow with the grant that allowed it', async () => {
    const r = await post('/api/v1/check', { person: 'bob', permission: 'service.order', node: 'svc-2' })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toMatchObject({ allowed: true, grant: { role: 'account-admin', scope: 'acc-br' } })
    expect(r.json().explanation).toBe('allowed by account-admin on acc-br, which contains svc-2')
  })

  it('sees a grant written straight to the database on the next request', async () => {
    // Not through a command, so nothing updates the engine in place: the model must notice.
    const ask = async () =>
      (await post('/api/v1/check', { person: 'bob', permission: 'node.view', node: 'svc-1' })).json()
    expect((await ask()).allowed).toBe(false)
    const g = await insertGrant(z.store.db, {
      customerId: 'acme',
      personId: 'bob',
      role: 'service-viewer',
      scopeNodeId: 'svc-1',
      grantedBy: null,
    })
    expect((await ask()).allowed).toBe(true)
    await z.store.db.deleteFrom('grants').where('id', '=', g.id).execute()
    expect((await ask()).allowed).toBe(false)
  })

  it('a refresh right after a direct write sees it, even while another refresh is under way', async () => {
    const model = z.zona.access
    expect(model.engine.check('bob', 'node.view', 'acc-hq')).toBe(false)
    const g = await insertGrant(z.store.db, {
      customerId: 'acme',
      personId: 'bob',
      role: 'account-viewer',
      scopeNodeId: 'acc-hq',
      grantedBy: null,
    })
    // As the server's own notification listener does, then a request at once.
    const underWay = model.refresh()
    await model.refresh()
    expect(model.engine.check('bob', 'node.view', 'acc-hq')).toBe(true)
    await underWay
    await z.store.db.deleteFrom('grants').where('id', '=', g.id).execute()
    const again = model.refresh()
    await model.refresh()
    expect(model.engine.check('bob', 'node.view', 'acc-hq')).toBe(false)
    await again
  })

  it('answers deny with the reason', async () => {
    const r = await post('/api/v1/check', { person: 'bob', permission: 'service.order', node: 'svc-1' })
    expect(r.json()).toEqual({
      allowed: false,
      code: 'NOT_IN_SCOPE',
      explanation: 'no grant of bob covers svc-1 (grants on: acc-br)',
    })
  })

  it('checks in batches, in order', async () => {
    const r = await post('/api/v1/check/batch', {
      checks: [
        { person: 'bob', permission: 'node.view', node: 'acc-br' },
        { person: 'bob', permission: 'node.view', node: 'acc-hq' },
      ],
    })
    expect(r.json().results.map((x: { allowed: boolean }) => x.allowed)).toEqual([true, false])
  })

  it('lists nodes with a cursor', async () => {
    const r = await post('/api/v1/list', {
      person: 'bob',
      permission: 'node.view',
      type: 'account',
      limit: 1,
    })
    expect(r.json()).toEqual({ nodes: ['acc-br'], next_cursor: null })
  })

  it('names the field at fault', async () => {
    const unknownPermission = await post('/api/v1/check', {
      person: 'bob',
      permission: 'fly.plane',
      node: 'svc-1',
    })
    expect(unknownPermission.statusCode).toBe(400)
    expect(unknownPermission.headers['content-type']).toContain('application/problem+json')
    expect(unknownPermission.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'body.permission' })
    const missing = await post('/api/v1/check', { person: 'bob', node: 'svc-1' })
    expect(missing.json()).toMatchObject({ status: 400, field: 'body.permission' })
    const extra = await post('/api/v1/check', {
      person: 'bob',
      permission: 'node.view',
      node: 'svc-1',
      admin: true,
    })
    expect(extra.json()).toMatchObject({ status: 400, field: 'body.admin' })
    const node = await post('/api/v1/check', { person: 'bob', permission: 'node.view', node: 'nope' })
    expect(node.json()).toMatchObject({ status: 404, field: 'body.node' })
    const cursor = await post('/api/v1/list', {
      person: 'bob',
      permission: 'node.view',
      type: 'account',
      cursor: 'nope',
    })
    expect(cursor.json()).toMatchObject({ status: 400, field: 'body.cursor' })
    const json = await z.app.inject({
      method: 'POST',
      url: '/api/v1/check',
      payload: '{"person":',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    })
    expect(json.json()).toMatchObject({ status: 400, field: 'body' })
    // Items of a list are named as the commands name them: body.checks[1].node, never body.checks.1.node.
    const ok = { person: 'bob', permission: 'node.view', node: 'svc-1' }
    const badShape = await post('/api/v1/check/batch', { checks: [ok, { ...ok, node: { id: 'svc-1' } }] })
    expect(badShape.json()).toMatchObject({ status: 400, field: 'body.checks[1].node' })
    const badNode = await post('/api/v1/check/batch', { checks: [ok, ok, { ...ok, node: 'nope' }] })
    expect(badNode.json()).toMatchObject({ status: 404, field: 'body.checks[2].node' })
    const nul = await post('/api/v1/check/batch', { checks: [ok, { ...ok, person: 'b\u0000b' }] })
    expect(nul.json()).toMatchObject({ status: 400, field: 'body.checks[1].person' })
  })

  it('refuses callers without a key, or with a wrong one', async () => {
    expect(
      (await post('/api/v1/check', { person: 'bob', permission: 'node.view', node: 'svc-1' }, null))
        .statusCode,
    ).toBe(401)
    expect(
      (await post('/api/v1/check', { person: 'bob', permission: 'node.view', node: 'svc-1' }, 'zk_wrong'))
        .statusCode,
    ).toBe(401)
  })

  it('serves the OpenAPI document and its reference page', async () => {
    const doc = (await z.app.inject('/api/openapi.json')).json()
    expect(doc.openapi).toBe('3.1.0')
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/check', '/api/v1/check/batch', '/api/v1/list']),
    )
    const page = await z.app.inject('/api/docs/')
    expect(page.statusCode).toBe(200)
    expect(page.body).toContain('swagger')
  })

  it('is healthy and ready', async () => {
    expect((await z.app.inject('/healthz')).json()).toEqual({ status: 'ok' })
    expect((await z.app.inject('/readyz')).json()).toMatchObject({ status: 'ready', database: backend.name })
    const metrics = await z.app.inject('/metrics')
    expect(metrics.body).toContain('zona_decisions_total')
  })
})
