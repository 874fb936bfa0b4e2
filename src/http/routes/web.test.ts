import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashToken, newToken } from '../../auth/tokens.ts'
import { loadPreset } from '../../catalog/load.ts'
import type { Zona } from '../../commands/context.ts'
import { seedDemo } from '../../demo/seed.ts'
import { startTestZona, type TestZona } from '../../server/testing.ts'
import { findPersonByLoginOrEmail, insertSession } from '../../store/people.ts'
import { describeEachBackend } from '../../store/testing.ts'
import { ProblemSchema } from '../schemas.ts'
import { webRoutes } from './web.ts'

describeEachBackend('web app routes', (backend) => {
  let z: TestZona
  const cookie: Record<string, string> = {}

  beforeAll(async () => {
    z = await startTestZona(backend, { preset: 'o2-cz' })
    await seedDemo(z.zona)
    for (const login of ['jana', 'jiri']) {
      const person = await findPersonByLoginOrEmail(z.store.db, login)
      if (!person) throw new Error(`no demo person ${login}`)
      const { token } = newToken('zs_')
      await insertSession(z.store.db, {
        idHash: hashToken(token),
        personId: person.id,
        expiresAt: new Date(Date.now() + 3_600_000),
      })
      cookie[login] = `zona_session=${token}`
    }
  })
  afterAll(() => z.close())

  const get = (url: string, as?: string) =>
    z.app.inject({ method: 'GET', url, headers: as ? { cookie: cookie[as] as string } : {} })

  it('describes the portal to anyone: preset, language, and the role catalog in its languages', async () => {
    const r = await get('/api/v1/portal-info')
    expect(r.statusCode).toBe(200)
    const info = r.json()
    expect(info).toMatchObject({ preset: 'o2-cz', language: 'cs', name: 'Moje O2' })
    expect(info.ui_languages).toEqual(['cs', 'sk', 'pt', 'it', 'en'])
    const primary = info.roles.find((x: { id: string }) => x.id === 'primary-admin')
    expect(primary).toMatchObject({
      scope: 'customer',
      appointed_by_operator: true,
      limit_per_customer: 1,
      name: { cs: 'Primární správce zákazníka', en: 'Primary customer administrator' },
    })
    const accountant = info.roles.find((x: { id: string }) => x.id === 'customer-accountant')
    expect(accountant.options.map((o: { id: string }) => o.id)).toEqual(['statements'])
  })

  it('offers the primary admin the roles the engine lets them give, with the reason for the others', async () => {
    const r = await get('/api/v1/customers/stavby-novak/role-options?scope=stavby-novak', 'jana')
    expect(r.statusCode).toBe(200)
    const byRole = new Map(r.json().items.map((i: { role: string }) => [i.role, i]))
    expect(byRole.get('customer-admin')).toMatchObject({ allowed: true, code: 'ALLOWED' })
    expect(byRole.get('primary-admin')).toMatchObject({ allowed: false, code: 'OPERATOR_ONLY' })
    expect(byRole.get('account-admin')).toMatchObject({ allowed: false, code: 'WRONG_SCOPE_KIND' })
  })

  it('gives a service user nothing to grant on their line, and a 404 for nodes out of their sight', async () => {
    const roots = await get('/api/v1/customers/stavby-novak/roots', 'jiri')
    const line = roots.json().items[0].id as string
    const r = await get(`/api/v1/customers/stavby-novak/role-options?scope=${line}`, 'jiri')
    expect(r.statusCode).toBe(200)
    expect(r.json().items.every((i: { allowed: boolean }) => !i.allowed)).toBe(true)
    const hidden = await get('/api/v1/customers/stavby-novak/role-options?scope=stavby-novak', 'jiri')
    const missing = await get('/api/v1/customers/stavby-novak/role-options?scope=no-such-node', 'jiri')
    expect(hidden.statusCode).toBe(404)
    expect(hidden.json().detail).toBe(missing.json().detail)
    expect(hidden.json().field).toBe('query.scope')
  })

  it('answers a grant id that is not there with a 404 naming the field, and a visitor with a 401', async () => {
    const r = await get('/api/v1/customers/stavby-novak/role-options?scope=stavby-novak&grant=nope', 'jana')
    expect(r.statusCode).toBe(404)
    expect(r.json().field).toBe('query.grant')
    expect((await get('/api/v1/customers/stavby-novak/role-options?scope=stavby-novak')).statusCode).toBe(401)
    const noScope = await get('/api/v1/customers/stavby-novak/role-options', 'jana')
    expect(noScope.statusCode).toBe(400)
    expect(noScope.json().field).toBe('query.scope')
  })
})

describe('serving the built app', () => {
  const root = mkdtempSync(join(tmpdir(), 'zona-web-'))
  const app = Fastify()
  beforeAll(async () => {
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>app</title>')
    mkdirSync(join(root, 'assets'))
    writeFileSync(join(root, 'assets', 'index-abc.js'), 'console.log(1)')
    app.decorate('zona', { catalog: loadPreset('o2-cz') } as unknown as Zona)
    app.addSchema(ProblemSchema)
    app.setNotFoundHandler((_request, reply) => reply.status(404).send({ code: 'NOT_FOUND' }))
    await app.register(webRoutes({ root }))
  })
  afterAll(() => app.close())

  it('sends index.html for the app’s own paths, never cached, and hashed assets for a year', async () => {
    for (const url of ['/', '/c/stavby-novak/tree', '/reset-password?token=x']) {
      const r = await app.inject({ method: 'GET', url })
      expect(r.statusCode, url).toBe(200)
      expect(r.body).toContain('<title>app</title>')
      expect(r.headers['cache-control']).toBe('no-cache')
    }
    const asset = await app.inject({ method: 'GET', url: '/assets/index-abc.js' })
    expect(asset.statusCode).toBe(200)
    expect(asset.headers['cache-control']).toContain('immutable')
  })

  it('leaves /api and /dev to the API: an unknown path there is a 404, as is a missing file', async () => {
    for (const url of ['/api/v1/nope', '/api', '/dev/nope', '/assets/missing.js'])
      expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(404)
  })
})
