/**
 * I6 across processes: two Zona instances on one PostgreSQL database. A revoke committed through
 * one is refused by the other on the very next request, every time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { audit, write } from '../../src/commands/context.ts'
import { revokeApiKey } from '../../src/commands/operator/api-keys.ts'
import { type Running, startZona } from '../../src/server/start.ts'
import { startTestZona, type TestZona } from '../../src/server/testing.ts'
import { deleteGrant, insertGrant } from '../../src/store/grants.ts'
import { testBackends } from '../../src/store/testing.ts'
import { insertCustomer, insertNodes } from '../../src/store/tree.ts'

const postgres = testBackends().find((b) => b.name === 'postgres')

describe.runIf(postgres)('two server instances on one PostgreSQL', () => {
  let a: TestZona
  let b: Running
  let key: string
  beforeAll(async () => {
    a = await startTestZona(postgres as NonNullable<typeof postgres>)
    const db = a.store.db
    await insertCustomer(db, { id: 'acme', name: 'Acme', preset: 'o2-cz' })
    await insertNodes(db, [
      { id: 'acc', customerId: 'acme', parentId: 'acme', kind: 'account', name: 'HQ' },
      {
        id: 'line',
        customerId: 'acme',
        parentId: 'acc',
        kind: 'service',
        name: '+420 601 000 001',
        serviceType: 'mobile',
      },
    ])
    await db.insertInto('people').values({ id: 'eve', login: 'eve', displayName: 'Eve' }).execute()
    key = await a.apiKey('decision')
    b = await startZona(a.config, { store: await a.store.openSecond(), logger: false, listen: false })
  })
  afterAll(async () => {
    await b?.close()
    await a?.close()
  })

  const checkOn = async (instance: Running) => {
    const r = await instance.app.inject({
      method: 'POST',
      url: '/api/v1/check',
      headers: { authorization: `Bearer ${key}` },
      payload: { person: 'eve', permission: 'node.view', node: 'line' },
    })
    expect(r.statusCode).toBe(200)
    return r.json().allowed as boolean
  }

  it('a grant or revoke through A is seen by B on the next request, 25 times in a row', async () => {
    for (let round = 0; round < 25; round++) {
      const grantId = await write(a.zona, async (trx) => {
        const g = await insertGrant(trx, {
          customerId: 'acme',
          personId: 'eve',
          role: 'service-viewer',
          scopeNodeId: 'line',
          grantedBy: 'test',
        })
        await audit(
          trx,
          { id: 'test' },
          { action: 'grant.added', customerId: 'acme', subject: g.id, after: g },
        )
        return {
          result: g.id,
          apply: (engine) =>
            engine.addGrant({ id: g.id, person: 'eve', role: 'service-viewer', scope: 'line' }),
        }
      })
      expect(await checkOn(b)).toBe(true)
      await write(a.zona, async (trx) => {
        const before = await deleteGrant(trx, grantId)
        await audit(
          trx,
          { id: 'test' },
          { action: 'grant.revoked', customerId: 'acme', subject: grantId, before },
        )
        return { result: null, apply: (engine) => void engine.removeGrant(grantId) }
      })
      expect(await checkOn(b)).toBe(false)
      expect(await checkOn(a)).toBe(false)
    }
  })

  it('a deactivation through A refuses the person on B at once', async () => {
    await write(a.zona, async (trx) => {
      await insertGrant(trx, {
        customerId: 'acme',
        personId: 'eve',
        role: 'account-viewer',
        scopeNodeId: 'acc',
        grantedBy: 'test',
      })
      return { result: null }
    })
    expect(await checkOn(b)).toBe(true)
    await write(a.zona, async (trx) => {
      await trx.updateTable('people').set({ status: 'deactivated' }).where('id', '=', 'eve').execute()
      await audit(trx, { id: 'test' }, { action: 'person.deactivated', subject: 'eve' })
      return { result: null, apply: (engine) => engine.setPersonActive('eve', false) }
    })
    expect(await checkOn(b)).toBe(false)
  })

  it('an API key revoked through A is refused by B on its next request', async () => {
    const made = await a.apiKey('decision')
    const askB = (token: string) =>
      b.app.inject({
        method: 'POST',
        url: '/api/v1/check',
        headers: { authorization: `Bearer ${token}` },
        payload: { person: 'eve', permission: 'node.view', node: 'line' },
      })
    // B has verified (and cached) the key before the revoke.
    expect((await askB(made)).statusCode).toBe(200)
    const row = await a.store.db
      .selectFrom('apiKeys')
      .select('id')
      .orderBy('createdAt', 'desc')
      .executeTakeFirstOrThrow()
    await revokeApiKey(a.zona, { id: 'test' }, row.id)
    expect((await askB(made)).statusCode).toBe(401)
  })
})
