/**
 * A write-heavy workload killed at random moments (issue 7, part 5). A real server process
 * (server-entry.ts) on PostgreSQL takes grants, revokes, changes, invitations and their
 * acceptance (o2-cz), or contact changes requested, approved and refused (ovh), from four
 * clients over HTTP, and is SIGKILLed at a seeded random moment, several times; a new process
 * starts on the same database each time. Afterwards, with a last process up:
 *
 * - nothing is half-applied: the audit log, replayed through the engine from the seeded state,
 *   gives exactly the grants table, and every change it records was allowed when made (I5, I2);
 *   every invitation and contact change has its audit events, and each accepted invitation its
 *   person; access_version rose at least once per recorded grant change;
 * - the restarted server's in-memory model answers every (person, permission, node) exactly as
 *   a model loaded from the database in this process;
 * - every outbox mail was delivered (the mail catcher counts copies by Message-ID): once, or a
 *   second time with the same Message-ID only when a kill fell between the SMTP server's accept
 *   and the row being marked sent (the dispatcher's documented at-least-once window); no mail
 *   arrived that the outbox does not hold, and none is left pending.
 *
 * PostgreSQL only (PGlite is one process's embedded database, not shared across a crash of a
 * concurrent workload): the URL is ZONA_TEST_PG_URL, else postgres://postgres@127.0.0.1:5432/
 * postgres if it answers; with none the suite is skipped and says why.
 * ZONA_CRASH_COUNT (default 6) kills per scenario, ZONA_CRASH_SEED (default 20261122).
 */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { hashToken, newToken } from '../../src/auth/tokens.ts'
import { loadPreset } from '../../src/catalog/load.ts'
import { type CaughtMessage, type MailCatcher, startMailCatcher } from '../../src/mail/catcher.ts'
import { AccessModel } from '../../src/server/access-model.ts'
import type { Store } from '../../src/store/db.ts'
import { insertGrant } from '../../src/store/grants.ts'
import { insertPerson, insertSession } from '../../src/store/people.ts'
import type { Grant } from '../../src/store/schema.ts'
import { type TestStore, testBackends } from '../../src/store/testing.ts'
import { insertCustomer, insertNodes } from '../../src/store/tree.ts'
import { grantsTable, lastAuditId, replayAudit } from '../reliability/support/audit-replay.ts'
import { type Answer, Loopback } from '../reliability/support/loopback.ts'
import { pick, seeded } from '../reliability/support/seeded.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const ENTRY = fileURLToPath(new URL('./server-entry.ts', import.meta.url))
const CRASHES = Number(process.env.ZONA_CRASH_COUNT ?? 6)
const SEED = Number(process.env.ZONA_CRASH_SEED ?? 20261122)
const WORKERS = 4
const DAY = 86_400_000

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('select 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

const PG_URL = process.env.ZONA_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const postgres = (await reachable(PG_URL))
  ? testBackends({ ZONA_TEST_PG_URL: PG_URL }).find((b) => b.name === 'postgres')
  : undefined
if (!postgres)
  console.warn(
    `workload-crash.test.ts SKIPPED: no PostgreSQL answers at ${PG_URL.replace(/\/\/[^@]*@/, '//')} (set ZONA_TEST_PG_URL or start PostgreSQL); the crash workload needs a database shared by successive server processes`,
  )

/** Configuration the parent's environment must not leak into the child. */
const OWN = /^(DATABASE_URL|SMTP_URL|PORT|HOST|NODE_ENV|ZONA_)/
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** One `node --import tsx test/crash/server-entry.ts` process. */
class ServerProcess {
  url = ''
  output = ''
  readonly exited: Promise<void>
  private alive = true

  private constructor(private readonly child: ChildProcess) {
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-20_000)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        this.alive = false
        resolve()
      }),
    )
  }

  static async start(env: Record<string, string>): Promise<ServerProcess> {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !OWN.test(k)))
    const child = fork(ENTRY, [], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      env: { ...inherited, PORT: '0', HOST: '127.0.0.1', ZONA_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    })
    const server = new ServerProcess(child)
    running.add(server)
    server.url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ready within 120 s:\n${server.output}`)), 120_000)
      child.on('message', (m: { type?: string; url?: string }) => {
        if (m.type !== 'ready') return
        clearTimeout(timer)
        resolve(String(m.url))
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`the server exited (${code}) before it was ready:\n${server.output}`))
      })
    })
    return server
  }

  /** SIGKILL: no shutdown hook, nothing released or flushed. */
  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL')
    await this.exited
    running.delete(this)
  }
}

const running = new Set<ServerProcess>()

/** What a request cut off by the kill looks like from the client. */
const cutOff = (e: unknown) => /ECONNRESET|ECONNREFUSED|socket hang up|EPIPE/.test(String(e))

interface Ctx {
  db: Store['db']
  http: Loopback
  catcher: MailCatcher
  next: () => number
  sessions: Map<string, string>
}

/** One client's step: a request the workload makes; returns the answer (or throws when cut off). */
type Step = (ctx: Ctx) => Promise<Answer | undefined>

interface Scenario {
  preset: string
  /** Customer, tree, people with sessions and their starting grants, straight into the database. */
  seed(store: TestStore, sessions: Map<string, string>): Promise<void>
  steps: { weight: number; step: Step }[]
  /** Scenario-specific checks once everything has settled. */
  verify(store: TestStore, catcher: MailCatcher): Promise<void>
}

async function personWithSession(
  store: TestStore,
  sessions: Map<string, string>,
  id: string,
  login = id,
): Promise<void> {
  await insertPerson(store.db, { id, login, email: `${id}@example.test`, displayName: id })
  const { token } = newToken('zs_')
  await insertSession(store.db, {
    idHash: hashToken(token),
    personId: id,
    expiresAt: new Date(Date.now() + DAY),
  })
  sessions.set(id, token)
}

const grant = (
  store: TestStore,
  customerId: string,
  personId: string,
  role: string,
  scopeNodeId: string,
  extra: Partial<{ options: string[]; limited: boolean }> = {},
) =>
  insertGrant(store.db, { customerId, personId, role, scopeNodeId, grantedBy: 'operator:fixture', ...extra })

// ------------------------------------------------------------------ o2-cz: grants, revokes, invitations

const O2_SERVICES = ['s-1', 's-2', 's-3', 's-4', 's-5', 's-6']
const O2_ADMINS = ['boss', 'ada', 'sub']
const O2_POOL = Array.from({ length: 12 }, (_, i) => `w-${i}`)
let invited = 0

async function randomPoolGrant(ctx: Ctx): Promise<Grant | undefined> {
  const all = await ctx.db.selectFrom('grants').selectAll().where('personId', 'in', O2_POOL).execute()
  return all.length ? pick(ctx.next, all) : undefined
}

const o2: Scenario = {
  preset: 'o2-cz',
  async seed(store, sessions) {
    await insertCustomer(store.db, { id: 'acme', name: 'Acme', preset: 'o2-cz' })
    await insertNodes(store.db, [
      { id: 'hq', customerId: 'acme', parentId: 'acme', kind: 'account', name: 'HQ' },
      { id: 'branch', customerId: 'acme', parentId: 'hq', kind: 'account', name: 'Branch' },
      { id: 'other', customerId: 'acme', parentId: 'acme', kind: 'account', name: 'Ostrava' },
      ...O2_SERVICES.map((id, i) => ({
        id,
        customerId: 'acme',
        parentId: ['hq', 'branch', 'other'][Math.floor(i / 2)] as string,
        kind: 'service' as const,
        name: `+420 601 000 00${i + 1}`,
        serviceType: 'mobile',
      })),
    ])
    for (const id of O2_ADMINS) await personWithSession(store, sessions, id)
    for (const id of O2_POOL) await insertPerson(store.db, { id, login: id, displayName: id })
    await grant(store, 'acme', 'boss', 'primary-admin', 'acme', { limited: true })
    await grant(store, 'acme', 'ada', 'customer-admin', 'acme')
    await grant(store, 'acme', 'sub', 'account-admin', 'hq', { options: ['statements'] })
  },
  steps: [
    {
      weight: 35,
      async step({ http, next, sessions }) {
        const [role, scope, options] = pick(next, [
          ['account-viewer', pick(next, ['hq', 'branch', 'other'])],
          ['account-accountant', 'hq', ['statements']],
          ['account-admin-no-billing', 'branch'],
          ['customer-viewer', 'acme'],
          ['service-user', pick(next, O2_SERVICES)],
          ['service-viewer', pick(next, O2_SERVICES)],
        ] as [string, string, string[]?][])
        return http.send('POST', '/grants', {
          session: sessions.get(pick(next, O2_ADMINS)),
          body: { person: pick(next, O2_POOL), role, scope, ...(options ? { options } : {}) },
        })
      },
    },
    {
      weight: 25,
      async step(ctx) {
        const g = await randomPoolGrant(ctx)
        if (!g) return undefined
        return ctx.http.send('DELETE', `/grants/${g.id}`, {
          session: ctx.sessions.get(pick(ctx.next, O2_ADMINS)),
        })
      },
    },
    {
      weight: 15,
      async step(ctx) {
        const g = await randomPoolGrant(ctx)
        if (!g) return undefined
        const byLevel: Record<string, string[]> = {
          account: ['account-viewer', 'account-accountant', 'account-admin-no-billing'],
          service: ['service-user', 'service-viewer', 'service-admin'],
          customer: ['customer-viewer', 'customer-accountant'],
        }
        const level = g.scopeNodeId.startsWith('s-')
          ? 'service'
          : g.scopeNodeId === 'acme'
            ? 'customer'
            : 'account'
        return ctx.http.send('PATCH', `/grants/${g.id}`, {
          session: ctx.sessions.get(pick(ctx.next, O2_ADMINS)),
          body: { role: pick(ctx.next, byLevel[level] as string[]), options: [] },
        })
      },
    },
    {
      weight: 15,
      async step({ http, next, sessions }) {
        const n = ++invited
        return http.send('POST', '/customers/acme/invitations', {
          session: sessions.get(pick(next, ['boss', 'ada'])),
          body: {
            email: `invitee-${n}@example.test`,
            display_name: `Invitee ${n}`,
            grants: [{ role: 'service-viewer', scope: pick(next, O2_SERVICES) }],
          },
        })
      },
    },
    {
      weight: 10,
      async step({ http, next, catcher }) {
        const mails = catcher.messages().filter((m) => /\/invitation\?token=/.test(m.text))
        if (!mails.length) return undefined
        const mail = pick(next, mails)
        const token = /\/invitation\?token=([A-Za-z0-9_-]+)/.exec(mail.text)?.[1]
        return http.send('POST', '/invitations/accept', {
          body: { token, password: `password of ${mail.to}`, display_name: mail.to.split('@')[0] },
        })
      },
    },
  ],
  async verify(store) {
    const db = store.db
    const invitations = await db.selectFrom('invitations').selectAll().execute()
    expect(invitations.length).toBeGreaterThan(0)
    for (const inv of invitations) {
      const events = await db
        .selectFrom('auditEvents')
        .select('action')
        .where('subject', '=', inv.id)
        .execute()
      const actions = events.map((e) => e.action).sort()
      expect(actions, inv.id).toContain('invitation.created')
      const mails = await db.selectFrom('outbox').select('id').where('recipient', '=', inv.email).execute()
      expect(mails.length, `invitation mail to ${inv.email}`).toBeGreaterThanOrEqual(1)
      if (inv.state === 'accepted') {
        expect(actions, inv.id).toContain('invitation.accepted')
        const person = await db
          .selectFrom('people')
          .select('id')
          .where('id', '=', inv.acceptedPersonId as string)
          .executeTakeFirst()
        expect(person, inv.id).toBeDefined()
      } else expect(actions, inv.id).not.toContain('invitation.accepted')
    }
  },
}

// ------------------------------------------------------------------ ovh: contact changes

const OVH_SERVICES = Array.from({ length: 8 }, (_, i) => `svc-${i}`)
const OVH_PEOPLE = ['owner', 'adam', 'tomas', 'berta', 'nina', 'petr', 'zoe', 'ivan']
const handleOf = (id: string) => `${id.slice(0, 2).toUpperCase()}${10001 + OVH_PEOPLE.indexOf(id)}-OVH`

/** The newest code mailed to `person` for the change, if its mail arrived. */
function codeFor(catcher: MailCatcher, change: string, person: string): string | undefined {
  const link = new RegExp(`/contact-changes/${change}\\?token=([A-Za-z0-9_-]+)`)
  const mails = catcher.messages().filter((m) => m.to === `${person}@example.test` && link.test(m.text))
  const last = mails[mails.length - 1]
  return last ? link.exec(last.text)?.[1] : undefined
}

const ovh: Scenario = {
  preset: 'ovh',
  async seed(store, sessions) {
    await insertCustomer(store.db, { id: 'acme', name: 'Acme', preset: 'ovh' })
    await insertNodes(store.db, [
      { id: 'acc', customerId: 'acme', parentId: 'acme', kind: 'account', name: 'Acme' },
      ...OVH_SERVICES.map((id) => ({
        id,
        customerId: 'acme',
        parentId: 'acc',
        kind: 'service' as const,
        name: `${id}.example`,
        serviceType: 'hosting',
      })),
    ])
    for (const id of OVH_PEOPLE) await personWithSession(store, sessions, id, handleOf(id))
    await grant(store, 'acme', 'owner', 'owner', 'acme', { limited: true })
    for (const svc of OVH_SERVICES) {
      await grant(store, 'acme', 'adam', 'admin-contact', svc)
      await grant(store, 'acme', 'tomas', 'tech-contact', svc)
      await grant(store, 'acme', 'berta', 'billing-contact', svc)
    }
  },
  steps: [
    {
      weight: 40,
      async step({ http, next, sessions }) {
        const requester = pick(next, ['owner', 'adam', 'tomas', 'berta', 'nina', 'petr'])
        return http.send('POST', `/services/${pick(next, OVH_SERVICES)}/contact-changes`, {
          session: sessions.get(requester),
          body: {
            kind: pick(next, ['technical', 'billing']),
            new_contact: handleOf(pick(next, ['nina', 'petr', 'zoe', 'ivan', 'tomas', 'berta', 'adam'])),
          },
        })
      },
    },
    {
      weight: 50,
      async step({ http, next, db, catcher }) {
        const pending = await db
          .selectFrom('contactChanges')
          .selectAll()
          .where('state', '=', 'pending')
          .execute()
        if (!pending.length) return undefined
        const change = pick(next, pending)
        const who = pick(next, [change.requestedBy, change.newPersonId])
        const token = codeFor(catcher, change.id, who)
        if (!token) return undefined
        return http.send('POST', `/contact-changes/${change.id}/approve`, { body: { token } })
      },
    },
    {
      weight: 10,
      async step({ http, next, db, catcher }) {
        const pending = await db
          .selectFrom('contactChanges')
          .selectAll()
          .where('state', '=', 'pending')
          .execute()
        if (!pending.length) return undefined
        const change = pick(next, pending)
        const token = codeFor(catcher, change.id, change.newPersonId)
        if (!token) return undefined
        return http.send('POST', `/contact-changes/${change.id}/refuse`, {
          body: { token, reason: 'not me' },
        })
      },
    },
  ],
  async verify(store) {
    const db = store.db
    const changes = await db.selectFrom('contactChanges').selectAll().execute()
    expect(changes.length).toBeGreaterThan(0)
    for (const c of changes) {
      const actions = (
        await db.selectFrom('auditEvents').select('action').where('subject', '=', c.id).execute()
      ).map((e) => e.action)
      expect(actions, c.id).toContain('contact_change.requested')
      expect(actions.includes('contact_change.applied'), c.id).toBe(c.state === 'applied')
      expect(actions.includes('contact_change.refused'), c.id).toBe(c.state === 'refused')
    }
    // I3 per scope: one holder of each contact role on every service, whatever was cut off.
    const perScope = await db
      .selectFrom('grants')
      .select(['scopeNodeId', 'role', (eb) => eb.fn.countAll<number>().as('n')])
      .where('role', 'in', ['admin-contact', 'tech-contact', 'billing-contact'])
      .groupBy(['scopeNodeId', 'role'])
      .execute()
    expect(perScope).toHaveLength(OVH_SERVICES.length * 3)
    expect(perScope.filter((r) => Number(r.n) !== 1)).toEqual([])
  },
}

// ------------------------------------------------------------------ the crash loop

async function accessVersion(store: TestStore): Promise<number> {
  const r = await store.db.selectFrom('accessVersion').select('version').executeTakeFirst()
  return Number(r?.version ?? 0)
}

describe.skipIf(!postgres)('a write workload SIGKILLed at random moments [postgres]', () => {
  afterAll(async () => {
    for (const server of [...running]) await server.kill()
  })

  for (const scenario of [o2, ovh])
    it(`${scenario.preset}: ${CRASHES} kills, then nothing half-applied, the model as the database says, every mail once`, async () => {
      const store = await (postgres as NonNullable<typeof postgres>).open()
      const catcher = await startMailCatcher({ keep: 1_000_000 })
      try {
        const url = store.pgConfig?.connectionString as string
        const env = { DATABASE_URL: url, SMTP_URL: catcher.url, ZONA_PRESET: scenario.preset }
        const sessions = new Map<string, string>()
        await scenario.seed(store, sessions)
        const start = await store.db.selectFrom('grants').selectAll().execute()
        const fromId = await lastAuditId(store.db)
        const versionAtStart = await accessVersion(store)
        const next = seeded(SEED + scenario.preset.length)
        const weights = scenario.steps.reduce((n, s) => n + s.weight, 0)
        const stats = { answered: 0, cutOff: 0, refused: 0, done: 0 }
        const failures: string[] = []
        const kills: number[] = []

        for (let cycle = 0; cycle <= CRASHES; cycle++) {
          const server = await ServerProcess.start(env)
          const ctx: Ctx = { db: store.db, http: new Loopback(server.url), catcher, next, sessions }
          let dying = false
          const worker = async () => {
            while (!dying) {
              const chosen = choose(scenario.steps, next() * weights)
              try {
                const answer = await chosen.step(ctx)
                if (!answer) continue
                stats.answered++
                if (answer.status >= 500) failures.push(`${answer.status} ${answer.body.slice(0, 300)}`)
                else if (answer.status >= 400) stats.refused++
                else stats.done++
              } catch (e) {
                if (dying && cutOff(e)) stats.cutOff++
                else failures.push(`cycle ${cycle}: ${String(e)}`)
                if (dying) return
              }
            }
          }
          const workers = Array.from({ length: WORKERS }, worker)
          if (cycle < CRASHES) {
            // A random moment: 0.3 to 3 s into the workload.
            await sleep(300 + Math.floor(next() * 2700))
            dying = true
            kills.push(Date.now())
            await server.kill()
            await Promise.all(workers)
            continue
          }
          // The last process: a little more work, then everything must settle.
          await sleep(1500)
          dying = true
          await Promise.all(workers)
          await until('the outbox to drain', async () => {
            const pending = await store.db
              .selectFrom('outbox')
              .select('id')
              .where('status', '!=', 'sent')
              .execute()
            return pending.length === 0
          })
          await sleep(2000)

          expect(failures).toEqual([])
          // Nothing half-applied: the log replays to the table, each change allowed when made.
          const replay = await replayAudit(store.db, loadPreset(scenario.preset), start, fromId)
          expect(replay.refused).toEqual([])
          expect(replay.grants).toEqual(await grantsTable(store.db))
          expect(replay.events).toBeGreaterThan(0)
          expect((await accessVersion(store)) - versionAtStart).toBeGreaterThanOrEqual(replay.events)
          await scenario.verify(store, catcher)

          // The restarted process's model answers as one loaded from the database now.
          const fresh = await AccessModel.load(store, loadPreset(scenario.preset))
          const people = (await store.db.selectFrom('people').select('id').execute()).map((p) => p.id)
          const nodes = (await store.db.selectFrom('nodes').select('id').execute()).map((n) => n.id)
          const permissions = fresh.catalog.permissions
          const questions = people.flatMap((person) =>
            nodes.flatMap((node) => permissions.map((permission) => ({ person, permission, node }))),
          )
          const key = await apiKey(store)
          let compared = 0
          for (let i = 0; i < questions.length; i += 1000) {
            const checks = questions.slice(i, i + 1000)
            const r = await ctx.http.send('POST', '/check/batch', { bearer: key, body: { checks } })
            expect(r.status, r.body).toBe(200)
            const served = r.json().results.map((x: { allowed: boolean }) => x.allowed)
            expect(served).toEqual(checks.map((q) => fresh.engine.check(q.person, q.permission, q.node)))
            compared += checks.length
          }

          // Every mail of the outbox arrived; a second copy only across a kill in the at-least-once window.
          const outbox = await store.db.selectFrom('outbox').select(['id', 'recipient']).execute()
          const copies = new Map<number, CaughtMessage[]>()
          for (const m of catcher.messages()) {
            const id = Number(/<outbox-(\d+)-/.exec(m.headers['message-id'] ?? '')?.[1])
            expect(
              Number.isInteger(id),
              `a mail without an outbox Message-ID: ${m.headers['message-id']}`,
            ).toBe(true)
            copies.set(id, [...(copies.get(id) ?? []), m])
          }
          let duplicates = 0
          for (const row of outbox) {
            const got = copies.get(Number(row.id)) ?? []
            expect(got.length, `outbox ${row.id} to ${row.recipient}`).toBeGreaterThanOrEqual(1)
            for (let k = 1; k < got.length; k++) {
              const [a, b] = [got[k - 1] as CaughtMessage, got[k] as CaughtMessage]
              const killBetween = kills.some(
                (t) => t >= a.receivedAt.getTime() && t <= b.receivedAt.getTime(),
              )
              expect(killBetween, `outbox ${row.id} delivered twice with no kill in between`).toBe(true)
              duplicates++
            }
          }
          expect(copies.size).toBe(outbox.length)
          await server.kill()
          console.info(
            `[workload-crash ${scenario.preset}] ${CRASHES} kills survived; ${stats.answered} answers (${stats.done} done, ${stats.refused} refused 4xx), ${stats.cutOff} cut off by kills; ${replay.events} grant events replayed; ${compared} decisions compared; ${outbox.length} mails, ${duplicates} resent across a kill`,
          )
        }
      } finally {
        for (const server of [...running]) await server.kill()
        await catcher.close()
        await store.close()
      }
    }, 600_000)
})

/** The step a roll in [0, total weight) falls on. */
function choose(steps: Scenario['steps'], roll: number): Scenario['steps'][number] {
  let left = roll
  for (const s of steps) {
    left -= s.weight
    if (left < 0) return s
  }
  return steps[steps.length - 1] as Scenario['steps'][number]
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(200)
  }
}

/** A decision key, straight into the database (the server reads keys per request). */
async function apiKey(store: TestStore): Promise<string> {
  const { token, hash } = newToken('zk_')
  await store.db
    .insertInto('apiKeys')
    .values({ keyHash: hash, name: `crash-${Date.now()}`, scope: 'decision' })
    .execute()
  return token
}
