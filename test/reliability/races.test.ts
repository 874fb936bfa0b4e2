/**
 * Races across workflows (issue 7, part 4), over real HTTP against a listening Zona, on PGlite
 * and on PostgreSQL when ZONA_TEST_PG_URL is set. Every request of a round leaves at the same
 * moment; several rounds run at once. Nothing may answer 5xx, and afterwards:
 *
 * (a) Two admins grant and revoke the same person at once while the first admin reduces the
 *     second's own role (o2-cz: the primary admin takes billing away from an account admin, who
 *     is at that moment giving the person a billing role). Each round's answers, final state and
 *     audit events must be those of one serial order of its six requests (all 720 are tried in a
 *     small model). After all rounds the audit log, replayed through the pure engine from the
 *     state before the rounds, must give exactly the grants table, and every change it records
 *     must have been allowed at the point where it was made (I2, I5); the server's in-memory
 *     model must equal the database, and the limited role still has exactly one holder (I3).
 * (b) A limited role changed twice at once through the portal (ovh: one technical contact per
 *     service, `limit_per_scope: 1`): the admin contact, the owner and the technical contact
 *     itself each name a different successor at the same moment. Exactly one is taken (201),
 *     the others get 409 problem+json; one change, one audit event, two mails. In the shipped
 *     presets every `limit_per_customer` role is operator-appointed (the portal answers 403
 *     OPERATOR_ONLY), so the contact roles are the limited roles a customer changes itself.
 * (c) Both parties approve that change at the same moment: it applies exactly once and leaves
 *     one technical contact; an invitation accepted twice at once: one login, one grant.
 *
 * ZONA_RACE_ROUNDS (default 30) rounds per race, ZONA_RACE_PARALLEL (default 3) at a time; the
 * order in which a round's requests leave is shuffled with ZONA_RACE_SEED (default 20261122).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashToken, newToken } from '../../src/auth/tokens.ts'
import { type MailCatcher, startMailCatcher } from '../../src/mail/catcher.ts'
import { startTestZona, type TestZona } from '../../src/server/testing.ts'
import { insertGrant } from '../../src/store/grants.ts'
import { insertPerson, insertSession } from '../../src/store/people.ts'
import { describeEachBackend } from '../../src/store/testing.ts'
import { insertCustomer, insertNodes } from '../../src/store/tree.ts'
import {
  type AuditRow,
  grantKey,
  grantsTable,
  lastAuditId,
  replayAudit,
  rows,
} from './support/audit-replay.ts'
import { type Answer, Loopback } from './support/loopback.ts'
import { shuffled } from './support/seeded.ts'

const ROUNDS = Number(process.env.ZONA_RACE_ROUNDS ?? 30)
const PARALLEL = Number(process.env.ZONA_RACE_PARALLEL ?? 3)
const DAY = 86_400_000
const SEED = Number(process.env.ZONA_RACE_SEED ?? 20261122)

/** Runs `round(0 … n-1)`, `parallel` rounds at a time. */
async function inBatches(n: number, parallel: number, round: (i: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < n; start += parallel)
    await Promise.all(Array.from({ length: Math.min(parallel, n - start) }, (_, k) => round(start + k)))
}

/** A person with a live session; returns the session token. */
async function personWithSession(z: TestZona, id: string, login = id): Promise<string> {
  await insertPerson(z.store.db, { id, login, email: `${id}@example.test`, displayName: id })
  const { token } = newToken('zs_')
  await insertSession(z.store.db, {
    idHash: hashToken(token),
    personId: id,
    expiresAt: new Date(Date.now() + 2 * DAY),
  })
  return token
}

/** No 5xx ever; every refusal is problem+json with a code. */
function sane(r: Answer, what: string): void {
  expect(r.status, `${what}: ${r.body}`).toBeLessThan(500)
  if (r.status >= 400) {
    expect(r.contentType, what).toContain('application/problem+json')
    expect(r.json().status, what).toBe(r.status)
    expect(r.json().code, what).toBeTruthy()
  }
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]]
  return items.flatMap((x, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]),
  )
}

// ------------------------------------------------------------------ (a): the model of one round

/**
 * One round's requests. `boss` is the primary admin; `sub` an account admin of hq (with
 * detailed statements); `p` the person both give and take roles, holding `account-viewer` on
 * hq (g0) at the start.
 */
const OPS = [
  'reduceSub',
  'subGivesBilling',
  'subRevokesG0',
  'bossRevokesG0',
  'bossGivesLine',
  'subGivesLine',
] as const
type Op = (typeof OPS)[number]

interface ModelState {
  subFull: boolean
  g0: boolean
  p: Set<string>
}

interface Outcome {
  statuses: Record<Op, number>
  /** p's grants at the end, sorted. */
  p: string[]
  sub: string
  g0: boolean
  /** The audit events of the round in commit order: 'action by actor role'. */
  audit: string[]
}

const ACCOUNTANT = 'account-accountant@hq[statements]'

function step(s: ModelState, op: Op): { status: number; audit?: string } {
  switch (op) {
    case 'reduceSub':
      s.subFull = false
      return { status: 200, audit: 'grant.changed by boss account-admin-no-billing' }
    case 'subGivesBilling':
      // The ceiling (6.1 c): without billing, sub cannot give a billing role.
      if (!s.subFull) return { status: 403 }
      s.p.add(ACCOUNTANT)
      return { status: 201, audit: 'grant.added by sub account-accountant' }
    case 'subRevokesG0':
    case 'bossRevokesG0': {
      if (!s.g0) return { status: 404 }
      s.g0 = false
      return {
        status: 204,
        audit: `grant.revoked by ${op === 'subRevokesG0' ? 'sub' : 'boss'} account-viewer`,
      }
    }
    case 'bossGivesLine':
      s.p.add('service-user@svc-1')
      return { status: 201, audit: 'grant.added by boss service-user' }
    case 'subGivesLine':
      s.p.add('service-viewer@svc-1')
      return { status: 201, audit: 'grant.added by sub service-viewer' }
  }
}

/** The outcome as a string, statuses in OPS order whatever order they were filled in. */
function outcomeKey(o: Outcome): string {
  return JSON.stringify({ ...o, statuses: OPS.map((op) => [op, o.statuses[op]]) })
}

/** Every outcome some serial order of the six requests gives, keyed by its JSON. */
const SERIAL_OUTCOMES: Map<string, Op[]> = (() => {
  const out = new Map<string, Op[]>()
  for (const order of permutations(OPS)) {
    const s: ModelState = { subFull: true, g0: true, p: new Set() }
    const statuses = {} as Record<Op, number>
    const audit: string[] = []
    for (const op of order) {
      const r = step(s, op)
      statuses[op] = r.status
      if (r.audit) audit.push(r.audit)
    }
    if (s.g0) s.p.add('account-viewer@hq')
    const outcome: Outcome = {
      statuses,
      p: [...s.p].sort(),
      sub: s.subFull ? 'account-admin' : 'account-admin-no-billing',
      g0: s.g0,
      audit,
    }
    const key = outcomeKey(outcome)
    if (!out.has(key)) out.set(key, order)
  }
  return out
})()

/** The server's in-memory engine, grant by grant, against the grants table. */
async function engineMatchesDatabase(z: TestZona): Promise<void> {
  const table = await grantsTable(z.store.db)
  const people = await z.store.db.selectFrom('people').select('id').execute()
  const engine = z.zona.access.engine
  const inMemory = new Map<string, string>()
  for (const p of people)
    for (const g of engine.grantsOf(p.id))
      inMemory.set(
        g.id,
        `${g.person} ${grantKey({ role: g.role, scopeNodeId: g.scope, options: g.options })}`,
      )
  expect(inMemory).toEqual(table)
}

// ------------------------------------------------------------------ the suites

describeEachBackend('races over HTTP', (backend) => {
  describe('o2-cz: grants and revokes at once, invitations accepted twice', () => {
    let z: TestZona
    let catcher: MailCatcher
    let http: Loopback
    let boss: string
    let decisionKey: string
    const subs: { session: string; grant: string }[] = []
    const g0: string[] = []

    beforeAll(async () => {
      catcher = await startMailCatcher()
      z = await startTestZona(backend, { preset: 'o2-cz', listen: true, env: { SMTP_URL: catcher.url } })
      http = new Loopback(z.url)
      const db = z.store.db
      await insertCustomer(db, { id: 'acme', name: 'Acme', preset: 'o2-cz' })
      await insertNodes(db, [
        { id: 'hq', customerId: 'acme', parentId: 'acme', kind: 'account', name: 'HQ' },
        { id: 'branch', customerId: 'acme', parentId: 'hq', kind: 'account', name: 'Branch' },
        {
          id: 'svc-1',
          customerId: 'acme',
          parentId: 'hq',
          kind: 'service',
          name: '+420 601 000 001',
          serviceType: 'mobile',
        },
      ])
      boss = await personWithSession(z, 'boss')
      await insertGrant(db, {
        customerId: 'acme',
        personId: 'boss',
        role: 'primary-admin',
        scopeNodeId: 'acme',
        limited: true,
        grantedBy: 'operator:fixture',
      })
      for (let i = 0; i < ROUNDS; i++) {
        const session = await personWithSession(z, `sub-${i}`)
        const grant = await insertGrant(db, {
          customerId: 'acme',
          personId: `sub-${i}`,
          role: 'account-admin',
          scopeNodeId: 'hq',
          options: ['statements'],
          grantedBy: 'operator:fixture',
        })
        subs.push({ session, grant: grant.id })
        await insertPerson(db, { id: `p-${i}`, login: `p-${i}`, displayName: `P ${i}` })
        const viewer = await insertGrant(db, {
          customerId: 'acme',
          personId: `p-${i}`,
          role: 'account-viewer',
          scopeNodeId: 'hq',
          grantedBy: 'operator:fixture',
        })
        g0.push(viewer.id)
      }
      await z.zona.access.refresh()
      decisionKey = await z.apiKey('decision')
    }, 120_000)
    afterAll(async () => {
      await z?.close()
      await catcher?.close()
    })

    it(`two admins grant and revoke one person at once (${ROUNDS} rounds, ${PARALLEL} at a time): each round is a serial order, the audit log replays to the grants table`, async () => {
      const start = await z.store.db.selectFrom('grants').selectAll().execute()
      const fromId = await lastAuditId(z.store.db)
      const orders = new Map<string, number>()
      const seen = new Set<string>()

      await inBatches(ROUNDS, PARALLEL, async (i) => {
        const sub = subs[i] as { session: string; grant: string }
        const p = `p-${i}`
        const requests: Record<Op, () => Promise<Answer>> = {
          reduceSub: () =>
            http.send('PATCH', `/grants/${sub.grant}`, {
              session: boss,
              body: { role: 'account-admin-no-billing', options: [] },
            }),
          subGivesBilling: () =>
            http.send('POST', '/grants', {
              session: sub.session,
              body: { person: p, role: 'account-accountant', scope: 'hq', options: ['statements'] },
            }),
          subRevokesG0: () => http.send('DELETE', `/grants/${g0[i]}`, { session: sub.session }),
          bossRevokesG0: () => http.send('DELETE', `/grants/${g0[i]}`, { session: boss }),
          bossGivesLine: () =>
            http.send('POST', '/grants', {
              session: boss,
              body: { person: p, role: 'service-user', scope: 'svc-1' },
            }),
          subGivesLine: () =>
            http.send('POST', '/grants', {
              session: sub.session,
              body: { person: p, role: 'service-viewer', scope: 'svc-1' },
            }),
        }
        // All six leave at once, in an order of their own each round.
        const sent = shuffled(OPS, SEED + i)
        const answers = await Promise.all(sent.map((op) => requests[op]()))
        const statuses = {} as Record<Op, number>
        sent.forEach((op, k) => {
          const a = answers[k] as Answer
          sane(a, `round ${i} ${op}`)
          statuses[op] = a.status
        })

        const db = z.store.db
        const pGrants = await db.selectFrom('grants').selectAll().where('personId', '=', p).execute()
        const subGrant = await db
          .selectFrom('grants')
          .select('role')
          .where('personId', '=', `sub-${i}`)
          .executeTakeFirst()
        const events = (await db
          .selectFrom('auditEvents')
          .select(['id', 'actor', 'action', 'before', 'after'])
          .where('id', '>', fromId)
          .where('actor', 'in', ['boss', `sub-${i}`])
          .orderBy('id')
          .execute()) as AuditRow[]
        const mine = events.filter((e) =>
          [...rows(e.before), ...rows(e.after)].some((g) => g.personId === p || g.personId === `sub-${i}`),
        )
        const actual: Outcome = {
          statuses,
          p: pGrants.map(grantKey).sort(),
          sub: subGrant?.role ?? 'none',
          g0: pGrants.some((g) => g.id === g0[i]),
          audit: mine.map((e) => {
            const g = rows(e.after)[0] ?? rows(e.before)[0]
            return `${e.action} by ${e.actor === 'boss' ? 'boss' : 'sub'} ${g?.role}`
          }),
        }
        const order = SERIAL_OUTCOMES.get(outcomeKey(actual))
        expect(order, `round ${i} matches no serial order: ${JSON.stringify(actual, null, 1)}`).toBeDefined()
        const shape = statuses.subGivesBilling === 201 ? 'billing given first' : 'billing refused'
        orders.set(shape, (orders.get(shape) ?? 0) + 1)
        seen.add(outcomeKey(actual))

        // The very next decision answers from the new state (I6, I2): sub lost billing, p holds what the log says.
        const checks = [
          { person: `sub-${i}`, permission: 'billing.invoices.view', node: 'hq' },
          { person: p, permission: 'billing.statements.view', node: 'branch' },
          { person: p, permission: 'node.view', node: 'branch' },
          { person: p, permission: 'service.block', node: 'svc-1' },
        ]
        const answer = await http.send('POST', '/check/batch', { bearer: decisionKey, body: { checks } })
        expect(answer.status, answer.body).toBe(200)
        expect(answer.json().results.map((r: { allowed: boolean }) => r.allowed)).toEqual([
          false,
          actual.p.includes(ACCOUNTANT),
          false,
          true,
        ])
      })

      // I5 and I2 over the whole run: the log replays to the table, and every change was allowed when made.
      const replay = await replayAudit(z.store.db, z.zona.catalog, start, fromId)
      expect(replay.refused).toEqual([])
      expect(replay.grants).toEqual(await grantsTable(z.store.db))
      expect(replay.events).toBeGreaterThanOrEqual(ROUNDS * 4)
      await engineMatchesDatabase(z)
      // I3: the limited role still has exactly one holder.
      const primaries = await z.store.db
        .selectFrom('grants')
        .select('personId')
        .where('role', '=', 'primary-admin')
        .execute()
      expect(primaries.map((g) => g.personId)).toEqual(['boss'])
      console.info(
        `[${backend.name}] grant/revoke races: ${ROUNDS} rounds, ${seen.size} distinct serial outcomes of ${SERIAL_OUTCOMES.size}, ${JSON.stringify(Object.fromEntries(orders))}`,
      )
    }, 600_000)

    it(`an invitation accepted twice at once (${ROUNDS} rounds): one login, one grant, one audit event; the other gets TOKEN_INVALID`, async () => {
      await inBatches(ROUNDS, PARALLEL, async (i) => {
        const email = `invitee-${i}@example.test`
        const invited = await http.send('POST', '/customers/acme/invitations', {
          session: boss,
          body: {
            email,
            display_name: `Invitee ${i}`,
            grants: [{ role: 'service-viewer', scope: 'svc-1' }],
          },
        })
        expect(invited.status, invited.body).toBe(201)
        await z.mail?.drain()
        const mail = await catcher.waitFor((m) => m.to === email, 30_000)
        const token = /\/invitation\?token=([A-Za-z0-9_-]+)/.exec(mail.text)?.[1]
        expect(token).toBeTruthy()
        const answers = await Promise.all(
          ['first', 'second'].map((who) =>
            http.send('POST', '/invitations/accept', {
              body: { token, password: `${who} password of invitee ${i}`, display_name: `Invitee ${i}` },
            }),
          ),
        )
        for (const a of answers) sane(a, `round ${i} accept`)
        expect(answers.map((a) => a.status).sort()).toEqual([200, 400])
        expect(answers.find((a) => a.status === 400)?.json().code).toBe('TOKEN_INVALID')
        const db = z.store.db
        const people = await db.selectFrom('people').select('id').where('email', '=', email).execute()
        expect(people).toHaveLength(1)
        const person = people[0]?.id as string
        const grants = await db.selectFrom('grants').selectAll().where('personId', '=', person).execute()
        expect(grants.map(grantKey)).toEqual(['service-viewer@svc-1'])
        const accepted = await db
          .selectFrom('auditEvents')
          .select('id')
          .where('action', '=', 'invitation.accepted')
          .where('subject', '=', invited.json().id)
          .execute()
        expect(accepted).toHaveLength(1)
        const added = await db
          .selectFrom('auditEvents')
          .select('id')
          .where('action', '=', 'grant.added')
          .where('subject', '=', grants[0]?.id as string)
          .execute()
        expect(added.length).toBeLessThanOrEqual(1)
      })
      await engineMatchesDatabase(z)
    }, 600_000)
  })

  describe('ovh: one technical contact per service, named three times at once, approved twice at once', () => {
    let z: TestZona
    let catcher: MailCatcher
    let http: Loopback
    const sessions = new Map<string, string>()
    const handles = new Map<string, string>()

    beforeAll(async () => {
      catcher = await startMailCatcher({ keep: 100_000 })
      z = await startTestZona(backend, { preset: 'ovh', listen: true, env: { SMTP_URL: catcher.url } })
      http = new Loopback(z.url)
      const db = z.store.db
      await insertCustomer(db, { id: 'acme', name: 'Acme', preset: 'ovh' })
      await insertNodes(db, [
        { id: 'acc', customerId: 'acme', parentId: 'acme', kind: 'account', name: 'Acme' },
      ])
      const keys = ['owner', 'adam', 'tomas', 'berta', 'nina', 'petr', 'zoe']
      for (const [n, key] of keys.entries()) {
        const handle = `${key.slice(0, 2).toUpperCase()}${10001 + n}-OVH`
        handles.set(key, handle)
        sessions.set(key, await personWithSession(z, key, handle))
      }
      await insertGrant(db, {
        customerId: 'acme',
        personId: 'owner',
        role: 'owner',
        scopeNodeId: 'acme',
        limited: true,
        grantedBy: 'operator:fixture',
      })
      for (let i = 0; i < ROUNDS; i++) {
        const svc = `svc-${i}`
        await insertNodes(db, [
          {
            id: svc,
            customerId: 'acme',
            parentId: 'acc',
            kind: 'service',
            name: `${svc}.example`,
            serviceType: 'hosting',
          },
        ])
        for (const [role, person] of [
          ['admin-contact', 'adam'],
          ['tech-contact', 'tomas'],
          ['billing-contact', 'berta'],
        ] as const)
          await insertGrant(db, {
            customerId: 'acme',
            personId: person,
            role,
            scopeNodeId: svc,
            grantedBy: 'operator:fixture',
          })
      }
      await z.zona.access.refresh()
    }, 120_000)
    afterAll(async () => {
      await z?.close()
      await catcher?.close()
    })

    /** The newest code mailed to `person` for the change. */
    async function tokenOf(change: string, person: string): Promise<string> {
      await z.mail?.drain()
      const link = new RegExp(`/contact-changes/${change}\\?token=([A-Za-z0-9_-]+)`)
      const mail = await catcher.waitFor(
        (m) => m.to === `${person}@example.test` && link.test(m.text),
        30_000,
      )
      return link.exec(mail.text)?.[1] as string
    }

    it(`three successors named at once: one 201, two 409 problem+json; both approvals at once apply it once (${ROUNDS} rounds)`, async () => {
      const winners = new Map<string, number>()
      await inBatches(ROUNDS, PARALLEL, async (i) => {
        const svc = `svc-${i}`
        const tries = shuffled(
          [
            { requester: 'adam', successor: 'nina' },
            { requester: 'owner', successor: 'petr' },
            { requester: 'tomas', successor: 'zoe' },
          ],
          SEED + i,
        )
        const answers = await Promise.all(
          tries.map((t) =>
            http.send('POST', `/services/${svc}/contact-changes`, {
              session: sessions.get(t.requester),
              body: { kind: 'technical', new_contact: handles.get(t.successor) },
            }),
          ),
        )
        for (const a of answers) sane(a, `round ${i} request`)
        expect(answers.map((a) => a.status).sort(), answers.map((a) => a.body).join('\n')).toEqual([
          201, 409, 409,
        ])
        for (const a of answers.filter((x) => x.status === 409)) expect(a.json().code).toBe('CONFLICT')
        const k = answers.findIndex((a) => a.status === 201)
        const won = tries[k] as { requester: string; successor: string }
        winners.set(won.requester, (winners.get(won.requester) ?? 0) + 1)
        const change = (answers[k] as Answer).json().id as string

        const db = z.store.db
        const changes = await db.selectFrom('contactChanges').selectAll().where('nodeId', '=', svc).execute()
        expect(changes.map((c) => [c.id, c.state, c.requestedBy, c.newPersonId])).toEqual([
          [change, 'pending', won.requester, won.successor],
        ])
        const requested = await db
          .selectFrom('auditEvents')
          .select('subject')
          .where('action', '=', 'contact_change.requested')
          .where('nodeId', '=', svc)
          .execute()
        expect(requested.map((e) => e.subject)).toEqual([change])

        // (c) both parties approve at the same moment, each with the code from their own mail.
        const [mine, theirs] = await Promise.all([
          tokenOf(change, won.requester),
          tokenOf(change, won.successor),
        ])
        const approvals = await Promise.all([
          http.send('POST', `/contact-changes/${change}/approve`, { body: { token: mine } }),
          http.send('POST', `/contact-changes/${change}/approve`, { body: { token: theirs } }),
        ])
        for (const a of approvals) sane(a, `round ${i} approve`)
        expect(approvals.map((a) => a.status)).toEqual([200, 200])
        expect(approvals.map((a) => a.json().state).sort()).toEqual(['applied', 'pending'])
        const holders = await db
          .selectFrom('grants')
          .select(['role', 'personId'])
          .where('scopeNodeId', '=', svc)
          .orderBy('role')
          .execute()
        expect(holders.map((g) => `${g.role} ${g.personId}`)).toEqual([
          'admin-contact adam',
          'billing-contact berta',
          `tech-contact ${won.successor}`,
        ])
        const applied = await db
          .selectFrom('auditEvents')
          .select('id')
          .where('action', '=', 'contact_change.applied')
          .where('subject', '=', change)
          .execute()
        expect(applied).toHaveLength(1)
        // Each party's code mail went out once: two requests lost and wrote no mail.
        const codeMails = catcher
          .messages()
          .filter((m) => m.text.includes(`/contact-changes/${change}?token=`))
        expect(codeMails.map((m) => m.to).sort()).toEqual(
          [`${won.requester}@example.test`, `${won.successor}@example.test`].sort(),
        )
        expect(
          z.zona.access.engine
            .grantsAt(svc)
            .filter((g) => g.role === 'tech-contact')
            .map((g) => g.person),
        ).toEqual([won.successor])
      })
      // Changes of the losing requests never existed: one change per service, all applied.
      const all = await z.store.db.selectFrom('contactChanges').select(['nodeId', 'state']).execute()
      expect(all).toHaveLength(ROUNDS)
      expect(new Set(all.map((c) => c.state))).toEqual(new Set(['applied']))
      // I3 per scope: one holder of each contact role on every service.
      const perScope = await z.store.db
        .selectFrom('grants')
        .select(['scopeNodeId', 'role', (eb) => eb.fn.countAll<number>().as('n')])
        .where('role', 'in', ['admin-contact', 'tech-contact', 'billing-contact'])
        .groupBy(['scopeNodeId', 'role'])
        .execute()
      expect(perScope).toHaveLength(ROUNDS * 3)
      expect(perScope.every((r) => Number(r.n) === 1)).toBe(true)
      await engineMatchesDatabase(z)
      console.info(
        `[${backend.name}] contact races: ${ROUNDS} rounds, winners ${JSON.stringify(Object.fromEntries(winners))}`,
      )
    }, 600_000)
  })
})
