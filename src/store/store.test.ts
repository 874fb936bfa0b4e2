/**
 * The storage conformance suite: written once, run on PGlite (always) and PostgreSQL
 * (when ZONA_TEST_PG_URL is set). Each backend gets a fresh database for this file.
 */
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  type AccessChange,
  bumpAccessVersion,
  claimDueMail,
  consumeOneTimeToken,
  countNodes,
  currentAccessVersion,
  databaseErrorInfo,
  deleteGrant,
  enqueueMail,
  findPersonByLoginOrEmail,
  findSession,
  insertAuditEvent,
  insertCustomer,
  insertGrant,
  insertInvitation,
  insertInvoices,
  insertNodes,
  insertOneTimeToken,
  insertPerson,
  insertSession,
  isCheckViolation,
  isForeignKeyViolation,
  isUniqueViolation,
  listAuditEvents,
  listOverdueInvoices,
  listUsageStats,
  loadGrants,
  loadTree,
  lockAccess,
  markMailSent,
  migrateToLatest,
  type NodeInput,
  pendingMigrations,
  recordFailedLogin,
  setPasswordHash,
  setPersonStatus,
  subscribeAccessChanges,
  transitionInvitation,
  updateGrant,
  upsertUsageStats,
  withTransaction,
} from './index.ts'
import { migrations } from './migrations/index.ts'
import { describeEachBackend, type TestStore } from './testing.ts'

describeEachBackend('store', (backend) => {
  let store: TestStore

  beforeAll(async () => {
    store = await backend.open({ migrate: false })
  })
  afterAll(async () => {
    await store?.close()
  })

  /** A customer with one account and one service, and a person, under unique ids. */
  async function seed(prefix: string) {
    await insertCustomer(store.db, { id: `${prefix}-C`, name: `${prefix} Ltd`, preset: 'tim-business' })
    await insertNodes(store.db, [
      {
        id: `${prefix}-A`,
        customerId: `${prefix}-C`,
        parentId: `${prefix}-C`,
        kind: 'account',
        name: 'Main',
      },
      {
        id: `${prefix}-S`,
        customerId: `${prefix}-C`,
        parentId: `${prefix}-A`,
        kind: 'service',
        name: '+39 333 000',
        serviceType: 'mobile',
      },
    ])
    await insertPerson(store.db, {
      id: `${prefix}-P`,
      login: `${prefix}-login`,
      displayName: `${prefix} Person`,
    })
    return {
      customerId: `${prefix}-C`,
      accountId: `${prefix}-A`,
      serviceId: `${prefix}-S`,
      personId: `${prefix}-P`,
    }
  }

  it('migrates an empty database, and a second run changes nothing', async () => {
    const first = await migrateToLatest(store.db)
    expect(first).toMatchObject({ ok: true })
    const names = Object.keys(migrations)
    expect(first.applied).toEqual(names)
    expect(names.slice(0, 5)).toEqual([
      '0001_customers_and_tree',
      '0002_people_and_grants',
      '0003_workflows',
      '0004_audit',
      '0005_access_version',
    ])
    const second = await migrateToLatest(store.db)
    expect(second).toEqual({ ok: true, applied: [], latest: names.at(-1) })
    expect(await pendingMigrations(store.db)).toEqual([])
  })

  it('reports a failing migration by name and keeps nothing of it', async () => {
    const broken = {
      ...migrations,
      '0099_broken': {
        async up(db: Kysely<unknown>) {
          await sql`create table half_made (id text)`.execute(db)
          await sql`select * from no_such_table`.execute(db)
        },
      },
    }
    const report = await migrateToLatest(store.db, { migrations: broken })
    expect(report).toMatchObject({ ok: false, applied: [], failed: '0099_broken' })
    expect(report.ok ? '' : report.error.message).toMatch(/^migration 0099_broken failed: .*no_such_table/)
    const leftover = await sql`select to_regclass('half_made') as t`.execute(store.db)
    expect(leftover.rows).toEqual([{ t: null }])
    expect(await pendingMigrations(store.db, { migrations: broken })).toEqual(['0099_broken'])
  })

  it('keeps a tree inside its customer and its services typed', async () => {
    const a = await seed('tree1')
    const b = await seed('tree2')
    // A node of customer b cannot hang under customer a's account.
    const crossing = insertNodes(store.db, [
      { id: 'tree-x', customerId: b.customerId, parentId: a.accountId, kind: 'account', name: 'X' },
    ])
    await expect(crossing).rejects.toSatisfy((e) => isForeignKeyViolation(e, 'nodes_parent_fk'))
    const untyped = store.db
      .insertInto('nodes')
      .values({
        id: 'tree-y',
        customerId: a.customerId,
        parentId: a.accountId,
        kind: 'service',
        name: 'Y',
        status: null,
      })
      .execute()
    await expect(untyped).rejects.toSatisfy((e) => isCheckViolation(e, 'nodes_status_on_services'))
  })

  it('loads a tree with parents before children, whatever the insert order', async () => {
    await insertCustomer(store.db, { id: 'deep-C', name: 'Deep', preset: 'o2-cz' })
    const nodes: NodeInput[] = []
    for (let depth = 1; depth <= 30; depth++) {
      nodes.push({
        id: `deep-A${depth}`,
        customerId: 'deep-C',
        parentId: depth === 1 ? 'deep-C' : `deep-A${depth - 1}`,
        kind: 'account',
        name: `Level ${depth}`,
      })
    }
    nodes.push({
      id: 'deep-S',
      customerId: 'deep-C',
      parentId: 'deep-A30',
      kind: 'service',
      name: 'VoIP',
      serviceType: 'voip',
      addOns: ['call-records'],
      attributes: { number: '+421 2 000', ips: ['10.0.0.1'] },
    })
    // Children first, and small chunks, so the store has to reorder across statements.
    expect(await insertNodes(store.db, nodes.reverse(), { chunkSize: 4 })).toBe(31)
    const tree = await loadTree(store.db, 'deep-C')
    expect(tree).toHaveLength(32)
    const position = new Map(tree.map((node, i) => [node.id, i]))
    for (const node of tree) {
      if (node.parentId) expect(position.get(node.parentId)).toBeLessThan(position.get(node.id) as number)
    }
    const service = tree.at(-1)
    expect(service).toMatchObject({
      id: 'deep-S',
      kind: 'service',
      status: 'active',
      addOns: ['call-records'],
      attributes: { number: '+421 2 000', ips: ['10.0.0.1'] },
    })
    expect(service?.createdAt).toBeInstanceOf(Date)
  })

  it('refuses a second holder of a limited role at one customer, allows one at another', async () => {
    const tim = await seed('lim1')
    const other = await seed('lim2')
    await insertPerson(store.db, { id: 'lim-Q', login: 'lim-q', displayName: 'Second' })
    const legalRep = { role: 'legal-representative', limited: true, grantedBy: 'operator:anna' }

    await insertGrant(store.db, {
      ...legalRep,
      customerId: tim.customerId,
      personId: tim.personId,
      scopeNodeId: tim.customerId,
    })
    const second = insertGrant(store.db, {
      ...legalRep,
      customerId: tim.customerId,
      personId: 'lim-Q',
      scopeNodeId: tim.customerId,
    })
    await expect(second).rejects.toSatisfy((e) => isUniqueViolation(e, 'grants_one_limited_holder'))
    // The same person may be the legal representative of another customer.
    await insertGrant(store.db, {
      ...legalRep,
      customerId: other.customerId,
      personId: 'lim-Q',
      scopeNodeId: other.customerId,
    })
    // Unlimited roles have as many holders as wanted.
    for (const personId of [tim.personId, 'lim-Q']) {
      await insertGrant(store.db, {
        customerId: tim.customerId,
        personId,
        role: 'admin-full',
        scopeNodeId: tim.customerId,
        grantedBy: tim.personId,
      })
    }
    // Replacing the holder is one transaction: at no moment are there two, or none visible.
    await withTransaction(store.db, async (trx) => {
      const [current] = await trx
        .selectFrom('grants')
        .selectAll()
        .where('customerId', '=', tim.customerId)
        .where('limited', '=', true)
        .execute()
      await deleteGrant(trx, current?.id as string)
      await insertGrant(trx, {
        ...legalRep,
        customerId: tim.customerId,
        personId: 'lim-Q',
        scopeNodeId: tim.customerId,
      })
    })
    const holders = (await loadGrants(store.db, { customerId: tim.customerId })).filter((g) => g.limited)
    expect(holders.map((g) => g.personId)).toEqual(['lim-Q'])
    // A grant's scope must be a node of its own customer.
    const foreignScope = insertGrant(store.db, {
      customerId: tim.customerId,
      personId: tim.personId,
      role: 'user',
      scopeNodeId: other.serviceId,
      grantedBy: null,
    })
    await expect(foreignScope).rejects.toSatisfy((e) => isForeignKeyViolation(e, 'grants_scope_fk'))
  })

  it('refuses to update, delete or truncate audit events', async () => {
    const event = await insertAuditEvent(store.db, {
      actor: 'operator:anna',
      action: 'customer.created',
      customerId: 'audit-C',
      after: { name: 'Audit Ltd', at: new Date('2024-01-02T03:04:05Z') },
    })
    expect(event.id).toBeTypeOf('number')
    expect(event.after).toEqual({ name: 'Audit Ltd', at: '2024-01-02T03:04:05.000Z' })
    expect(event.before).toBeNull()

    const update = store.db
      .updateTable('auditEvents')
      .set({ actor: 'someone-else' })
      .where('id', '=', event.id)
      .execute()
    await expect(update).rejects.toThrow(/append-only: UPDATE refused/)
    const remove = store.db.deleteFrom('auditEvents').where('id', '=', event.id).execute()
    await expect(remove).rejects.toThrow(/append-only: DELETE refused/)
    await expect(sql`truncate audit_events`.execute(store.db)).rejects.toThrow(
      /append-only: TRUNCATE refused/,
    )
    expect(databaseErrorInfo(await update.catch((e: unknown) => e))?.code).toBe('42501')

    const [stored] = await listAuditEvents(store.db, { customerId: 'audit-C' })
    expect(stored).toMatchObject({ id: event.id, actor: 'operator:anna', action: 'customer.created' })
    const badAction = insertAuditEvent(store.db, { actor: 'system', action: 'Not An Action' })
    await expect(badAction).rejects.toSatisfy((e) => isCheckViolation(e))
  })

  it('leaves nothing half-written when a transaction throws', async () => {
    const before = await countNodes(store.db)
    const auditBefore = (await listAuditEvents(store.db, { customerId: 'half-C' })).length
    const failing = withTransaction(store.db, async (trx) => {
      await insertCustomer(trx, { id: 'half-C', name: 'Half', preset: 'ovh' })
      await insertNodes(trx, [
        { id: 'half-A', customerId: 'half-C', parentId: 'half-C', kind: 'account', name: 'A' },
      ])
      await insertAuditEvent(trx, { actor: 'system', action: 'customer.created', customerId: 'half-C' })
      throw new Error('the command changed its mind')
    })
    await expect(failing).rejects.toThrow('the command changed its mind')
    expect(await countNodes(store.db)).toBe(before)
    expect(await store.db.selectFrom('customers').where('id', '=', 'half-C').selectAll().execute()).toEqual(
      [],
    )
    expect(await listAuditEvents(store.db, { customerId: 'half-C' })).toHaveLength(auditBefore)

    // A bulk insert whose last chunk fails keeps none of the earlier chunks either.
    await insertCustomer(store.db, { id: 'half2-C', name: 'Half 2', preset: 'ovh' })
    const nodes: NodeInput[] = Array.from({ length: 50 }, (_, i) => ({
      id: `half2-A${i}`,
      customerId: 'half2-C',
      parentId: 'half2-C',
      kind: 'account' as const,
      name: `A${i}`,
    }))
    nodes.push({
      id: 'half2-bad',
      customerId: 'half2-C',
      parentId: 'no-such-node',
      kind: 'account',
      name: 'Bad',
    })
    await expect(insertNodes(store.db, nodes, { chunkSize: 10 })).rejects.toSatisfy((e) =>
      isForeignKeyViolation(e),
    )
    expect(await countNodes(store.db, 'half2-C')).toBe(1)
  })

  it('runs concurrent transactions one after another where they conflict', async () => {
    await insertCustomer(store.db, { id: 'race-C', name: 'Race', preset: 'o2-cz' })
    await insertPerson(store.db, { id: 'race-P', login: 'race', displayName: 'Race' })
    // Twenty commands each read the grant count and write count+1 under the access lock:
    // without serialisation some would read the same count.
    await Promise.all(
      Array.from({ length: 20 }, () =>
        withTransaction(store.db, async (trx) => {
          await lockAccess(trx)
          const grants = await loadGrants(trx, { customerId: 'race-C' })
          await insertGrant(trx, {
            customerId: 'race-C',
            personId: 'race-P',
            role: `role-${grants.length}`,
            scopeNodeId: 'race-C',
            grantedBy: null,
          })
        }),
      ),
    )
    const roles = (await loadGrants(store.db, { customerId: 'race-C' })).map((g) => g.role).sort()
    expect(roles).toEqual(Array.from({ length: 20 }, (_, i) => `role-${i}`).sort())
  })

  it('imports 100 000 services in bulk', async () => {
    await insertCustomer(store.db, { id: 'bulk-C', name: 'Bulk', preset: 'o2-cz' })
    const nodes: NodeInput[] = []
    for (let a = 0; a < 100; a++) {
      nodes.push({
        id: `bulk-A${a}`,
        customerId: 'bulk-C',
        parentId: 'bulk-C',
        kind: 'account',
        name: `Account ${a}`,
      })
    }
    for (let s = 0; s < 100_000; s++) {
      nodes.push({
        id: `bulk-S${s}`,
        customerId: 'bulk-C',
        parentId: `bulk-A${s % 100}`,
        kind: 'service',
        name: `+420 601 ${String(s).padStart(6, '0')}`,
        serviceType: 'mobile',
        tariff: 'Business M',
        addOns: ['roaming'],
      })
    }
    const started = performance.now()
    const inserted = await insertNodes(store.db, nodes)
    const insertMs = performance.now() - started
    const tree = await loadTree(store.db, 'bulk-C')
    const loadMs = performance.now() - started - insertMs
    console.log(
      `[${backend.name}] inserted ${inserted} nodes in ${(insertMs / 1000).toFixed(1)} s, loaded the tree in ${(loadMs / 1000).toFixed(1)} s`,
    )
    expect(inserted).toBe(100_100)
    expect(await countNodes(store.db, 'bulk-C')).toBe(100_101)
    expect(tree).toHaveLength(100_101)
  }, 180_000) // seconds normally; generous for a busy CI machine, since the time is not what is tested

  it('notifies a subscriber on a second connection of committed access changes only', async () => {
    const { customerId, personId } = await seed('notify')
    const second = await store.openSecond()
    const received: AccessChange[] = []
    const subscription = await subscribeAccessChanges(second, (change) => received.push(change))
    try {
      expect(subscription.mode).toBe('listen')
      const grant = await withTransaction(store.db, (trx) =>
        insertGrant(trx, {
          customerId,
          personId,
          role: 'admin-light',
          scopeNodeId: customerId,
          grantedBy: null,
        }),
      )
      await waitFor(() => received.some((c) => c.kind === 'grant'))
      const version = await currentAccessVersion(second.db)
      expect(received.at(-1)).toEqual({
        version,
        kind: 'grant',
        customerIds: [customerId],
        personIds: [personId],
      })

      // A rolled-back change is never announced; the next committed one is.
      received.length = 0
      await expect(
        withTransaction(store.db, async (trx) => {
          await deleteGrant(trx, grant.id)
          throw new Error('rolled back')
        }),
      ).rejects.toThrow('rolled back')
      await updateGrant(store.db, grant.id, { options: ['invoices'] })
      await setPersonStatus(store.db, personId, 'deactivated')
      const bumped = await withTransaction(store.db, (trx) => bumpAccessVersion(trx, { kind: 'catalog' }))
      await waitFor(() => received.some((c) => c.kind === 'catalog'))
      expect(received.map((c) => c.kind)).toEqual(['grant', 'person', 'catalog'])
      expect(received.at(-1)?.version).toBe(bumped)
      expect(received[1]).toMatchObject({ customerIds: null, personIds: [personId] })
    } finally {
      await subscription.close()
      await second.close()
    }
  })

  it('finds people by login or e-mail regardless of case, and refuses twins', async () => {
    await insertPerson(store.db, {
      id: 'ppl-1',
      login: 'Maria.Silva',
      email: 'Maria@Example.PT',
      displayName: 'Maria',
    })
    expect((await findPersonByLoginOrEmail(store.db, 'maria.silva'))?.id).toBe('ppl-1')
    expect((await findPersonByLoginOrEmail(store.db, ' MARIA@example.pt '))?.id).toBe('ppl-1')
    expect(await findPersonByLoginOrEmail(store.db, 'nobody')).toBeUndefined()
    const twin = insertPerson(store.db, { id: 'ppl-2', login: 'MARIA.SILVA', displayName: 'Twin' })
    await expect(twin).rejects.toSatisfy((e) => isUniqueViolation(e, 'people_login_unique'))
    const sameMail = insertPerson(store.db, {
      id: 'ppl-3',
      login: 'other',
      email: 'maria@example.pt',
      displayName: 'M',
    })
    await expect(sameMail).rejects.toSatisfy((e) => isUniqueViolation(e, 'people_email_unique'))
  })

  it('ends every session of a person who is deactivated', async () => {
    await insertPerson(store.db, { id: 'sess-P', login: 'sess', displayName: 'Sess' })
    await setPasswordHash(store.db, 'sess-P', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA')
    expect(await recordFailedLogin(store.db, 'sess-P')).toBe(1)
    expect(await recordFailedLogin(store.db, 'sess-P', new Date(Date.now() + 60_000))).toBe(2)
    const expiresAt = new Date(Date.now() + 3_600_000)
    await insertSession(store.db, { idHash: 'hash-1', personId: 'sess-P', expiresAt })
    await insertSession(store.db, { idHash: 'hash-2', personId: 'sess-P', expiresAt })
    expect(await findSession(store.db, 'hash-1')).toMatchObject({
      personId: 'sess-P',
      personStatus: 'active',
    })
    const result = await setPersonStatus(store.db, 'sess-P', 'deactivated')
    expect(result?.sessionsEnded).toBe(2)
    expect(result?.after.deactivatedAt).toBeInstanceOf(Date)
    expect(await findSession(store.db, 'hash-1')).toBeUndefined()
  })

  it('lets a one-time token work once, and not after expiry', async () => {
    const { customerId } = await seed('token')
    const invitation = await insertInvitation(store.db, {
      customerId,
      invitedBy: 'operator:anna',
      email: 'new@example.it',
      grants: [{ role: 'user', scopeNodeId: 'token-S', options: [] }],
      expiresAt: new Date(Date.now() + 86_400_000),
    })
    expect(invitation.grants).toEqual([{ role: 'user', scopeNodeId: 'token-S', options: [] }])
    await insertOneTimeToken(store.db, {
      tokenHash: 'tok-1',
      purpose: 'invitation',
      subjectId: invitation.id,
      expiresAt: new Date(Date.now() + 86_400_000),
    })
    await insertOneTimeToken(store.db, {
      tokenHash: 'tok-old',
      purpose: 'invitation',
      subjectId: invitation.id,
      expiresAt: new Date(Date.now() - 1000),
    })
    const uses = await Promise.all([1, 2, 3].map(() => consumeOneTimeToken(store.db, 'tok-1', 'invitation')))
    expect(uses.filter(Boolean)).toHaveLength(1)
    expect(await consumeOneTimeToken(store.db, 'tok-old', 'invitation')).toBeUndefined()
    expect(await transitionInvitation(store.db, invitation.id, 'pending', 'accepted')).toMatchObject({
      state: 'accepted',
    })
    // A final state is never left, and a second acceptance loses.
    expect(await transitionInvitation(store.db, invitation.id, 'pending', 'cancelled')).toBeUndefined()
  })

  it('keeps the value types of both drivers the same', async () => {
    const { customerId, accountId, serviceId } = await seed('types')
    await insertInvoices(store.db, [
      {
        id: 'inv-1',
        customerId,
        nodeId: accountId,
        number: '2024/001',
        issuedOn: '2024-01-01',
        dueOn: '2024-01-15',
        amountCents: 12_345_678_901,
        currency: 'EUR',
      },
    ])
    const [overdue] = await listOverdueInvoices(store.db, { nodeIds: [accountId], today: '2024-02-01' })
    expect(overdue).toMatchObject({
      issuedOn: '2024-01-01',
      dueOn: '2024-01-15',
      amountCents: 12_345_678_901,
    })
    await upsertUsageStats(store.db, [
      { nodeId: serviceId, day: '2024-03-01', metric: 'traffic.in.bytes', ip: '10.0.0.1', value: 5 },
      { nodeId: serviceId, day: '2024-03-01', metric: 'traffic.in.bytes', value: 7 },
    ])
    await upsertUsageStats(store.db, [
      { nodeId: serviceId, day: '2024-03-01', metric: 'traffic.in.bytes', value: 9 },
    ])
    const stats = await listUsageStats(store.db, { nodeId: serviceId, from: '2024-03-01', to: '2024-03-31' })
    expect(stats.map((s) => [s.ip, s.value])).toEqual([
      ['10.0.0.1', 5],
      [null, 9],
    ])
    const mail = await enqueueMail(store.db, { recipient: 'a@example.com', subject: 'Hi', text: 'Hello' })
    expect(mail.id).toBeTypeOf('number')
    const claimed = await claimDueMail(store.db, { leaseUntil: new Date(Date.now() + 60_000) })
    expect(claimed.map((m) => m.id)).toContain(mail.id)
    expect(await claimDueMail(store.db, { leaseUntil: new Date(Date.now() + 60_000) })).toEqual([])
    await markMailSent(store.db, mail.id)
  })

  // On PostgreSQL, streaming needs pg-cursor, which is not a dependency.
  it.skipIf(backend.name === 'postgres')('streams query results', async () => {
    await seed('stream')
    let rows = 0
    for await (const row of store.db
      .selectFrom('nodes')
      .select('id')
      .where('customerId', '=', 'stream-C')
      .stream(2)) {
      expect(row.id).toMatch(/^stream-/)
      rows++
    }
    expect(rows).toBe(3)
  })
})

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now()
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out waiting for a notification')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
