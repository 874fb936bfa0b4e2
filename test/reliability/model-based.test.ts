/**
 * Model-based API test (issue 7, part 1): fast-check draws random sequences of real HTTP calls –
 * invite, accept, grant, reduce (other role, fewer options, narrower scope, an expiry), revoke,
 * deactivate, reactivate, read pages (service page, invoices, tree) and place orders – made by
 * random people of a fresh customer of a random-looking preset, and after every call compares the
 * answer with a simple model kept beside the server.
 *
 * The model is written without the engine (src/domain is imported for types only):
 * - the role catalog is read from presets/<id>.yaml here, with the `yaml` package;
 * - grants per person and the questions "may P do X on N" and "may P grant R at S" are the naive
 *   reference of test/invariants/reference.ts (a walk up the tree over a flat array of grants,
 *   DOMAIN.md sections 3 and 6);
 * - the rules the HTTP layer adds are written out below, as its doc comments state them: a node the
 *   person holds no permission on answers 404 like a missing id (I1), a refusal on a node they see
 *   403; contact roles (ovh) change hands only through a contact change; a login is switched off or
 *   on by someone who may revoke every grant it holds (never one's own); a deactivated person's
 *   sessions end at once (I6); an invitation's grants are decided again, as the inviter, when it is
 *   accepted.
 *
 * Any answer the model does not expect fails the run – above all a 2xx the model forbids, or a 403
 * the model allows – and fast-check shrinks the sequence; the message shows the shrunk sequence and
 * the log of every call of the failing run.
 *
 * Size: by default sequences are drawn for ZONA_MODEL_SECONDS (10) per preset and backend, in
 * batches of four, each batch with its own seed, each sequence up to ZONA_MODEL_STEPS steps (40);
 * ZONA_MODEL_RUNS=500 asks for an exact number of sequences instead (to scale the run up);
 * ZONA_MODEL_SEED=<seed> replays a failing batch; ZONA_MODEL_PRESETS=o2-cz,ovh runs some presets only.
 * The line printed per preset gives the sequences and calls checked and the statuses met.
 */
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { hashPassword } from '../../src/auth/passwords.ts'
import { newToken } from '../../src/auth/tokens.ts'
import { createPerson } from '../../src/commands/auth/people.ts'
import type { CatalogDefinition, RoleDefinition } from '../../src/domain/catalog.ts'
import { readVersion } from '../../src/server/access-model.ts'
import { startTestZona, type TestZona } from '../../src/server/testing.ts'
import { withTransaction } from '../../src/store/common.ts'
import { insertGrant } from '../../src/store/grants.ts'
import { insertSession } from '../../src/store/people.ts'
import { describeEachBackend } from '../../src/store/testing.ts'
import { insertCustomer, insertInvoices, insertNodes, type NodeInput } from '../../src/store/tree.ts'
import { type Kind, Reference, type RefGrant, type RefNode } from '../invariants/reference.ts'

const API = '/api/v1'
const PASSWORD = 'correct horse battery 42'
const ALL_PRESETS = ['o2-cz', 'nos-pt', 'ovh', 'sk-isp', 'tim-business']
const PRESETS = process.env.ZONA_MODEL_PRESETS?.split(',').filter(Boolean) ?? ALL_PRESETS
/** An exact number of sequences per preset; without it, batches of BATCH until the time budget is spent. */
const RUNS = process.env.ZONA_MODEL_RUNS ? Number(process.env.ZONA_MODEL_RUNS) : undefined
const BUDGET_MS = Number(process.env.ZONA_MODEL_SECONDS ?? 10) * 1000
const BATCH = 4
const STEPS = Number(process.env.ZONA_MODEL_STEPS ?? 40)
const SEED = process.env.ZONA_MODEL_SEED ? Number(process.env.ZONA_MODEL_SEED) : undefined

/** Far enough ahead never to pass during a run; two of them, so the ceiling's "for as long" counts. */
const EXPIRIES = [null, null, '2031-01-01T00:00:00.000Z', '2030-01-01T00:00:00.000Z'] as const

// ------------------------------------------------------------------------------ the catalog, read here

function readCatalog(preset: string): CatalogDefinition {
  return parse(readFileSync(new URL(`../../presets/${preset}.yaml`, import.meta.url), 'utf8'))
}

const operatorRole = (def: CatalogDefinition) =>
  def.roles.find((r) => r.appointed_by === 'operator') as RoleDefinition
/** Contact roles (ovh) change hands through a contact change only (DOMAIN.md W5). */
const isContactRole = (def: CatalogDefinition, role: string) =>
  def.features?.contact_changes === true && def.roles.find((r) => r.id === role)?.limit_per_scope === 1
const optionsOf = (role: RoleDefinition, mask: number) =>
  Object.keys(role.options ?? {})
    .filter((_, i) => mask & (1 << i))
    .sort()

// ------------------------------------------------------------------------------ the customer of a run

/** The tree of every run: nested accounts, services of three types (TIM's Admin Light manages mobile lines only). */
const TREE: { id: string; kind: Kind; parent: string | null; serviceType?: string }[] = [
  { id: 'C', kind: 'customer', parent: null },
  { id: 'A1', kind: 'account', parent: 'C' },
  { id: 'B1', kind: 'account', parent: 'A1' },
  { id: 'A2', kind: 'account', parent: 'C' },
  { id: 'S1', kind: 'service', parent: 'A1', serviceType: 'mobile' },
  { id: 'S2', kind: 'service', parent: 'B1', serviceType: 'mobile' },
  { id: 'S3', kind: 'service', parent: 'B1', serviceType: 'housing' },
  { id: 'S4', kind: 'service', parent: 'A2', serviceType: 'voip' },
]
/** P0 holds the operator-appointed role; P1-P3 start with random grants; N1-N3 exist once they accept an invitation. */
const SLOTS = ['P0', 'P1', 'P2', 'P3', 'N1', 'N2', 'N3']

interface FixtureGrant {
  slot: number
  role: number
  node: number
  options: number
  expiry: number
}

interface Slot {
  label: string
  email: string
  /** The login an invitation asks for (free-form presets). */
  login: string
  id?: string
  /** A live session token, once opened. */
  session?: string
  /** A session that deactivation must have ended: tried once, must answer 401. */
  stale?: string
}

interface Invitation {
  id: string
  token: string
  inviter: string
  slot: number
  grants: { role: string; scope: string; options: string[]; expiresAt: string | null }[]
  state: 'pending' | 'accepted'
}

interface Model {
  /** The actor is deactivated: whatever the call, the answer must be 401 (see expectStatus). */
  deactivatedCall?: boolean
  def: CatalogDefinition
  ref: Reference
  slots: Slot[]
  invitations: Invitation[]
  log: string[]
}

interface Real {
  z: TestZona
  run: number
  csrf: { cookie: string; token: string }
  ips: { n: number }
}

let runs = 0
const idOf = (run: number, node: string) => `m${run}-${node.toLowerCase()}`
const labelOf = (id: string) => id.replace(/^m\d+-/, '').toUpperCase()

// ------------------------------------------------------------------------------ talking to Zona

interface Answer {
  status: number
  // biome-ignore lint/suspicious/noExplicitAny: answers are read loosely and checked field by field
  body: any
  text: string
}

async function send(
  r: Real,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  session: string | null,
  payload?: object,
): Promise<Answer> {
  const cookies = [session ? `zona_session=${session}` : '', method === 'GET' ? '' : r.csrf.cookie]
  const headers: Record<string, string> = { cookie: cookies.filter(Boolean).join('; ') }
  if (method !== 'GET') headers['x-csrf-token'] = r.csrf.token
  r.ips.n++
  const res = await r.z.app.inject({
    method,
    url: `${API}${url}`,
    headers,
    // Each call its own address: per-address rate limits must never hide the answer under test.
    remoteAddress: `10.${(r.ips.n >> 16) & 255}.${(r.ips.n >> 8) & 255}.${r.ips.n & 255}`,
    ...(payload ? { payload } : {}),
  })
  let body: unknown
  try {
    body = res.body ? JSON.parse(res.body) : undefined
  } catch {
    body = undefined
  }
  return { status: res.statusCode, body, text: res.body }
}

async function openSession(r: Real, personId: string): Promise<string> {
  const { token, hash } = newToken()
  const now = new Date()
  await insertSession(r.z.store.db, {
    idHash: hash,
    personId,
    expiresAt: new Date(now.getTime() + 8 * 3_600_000),
    createdAt: now,
  })
  return token
}

// ------------------------------------------------------------------------------ the model's questions

/** People are named by slot label in the reference; these map them to and from ids. */
const personId = (m: Model, label: string) => m.slots.find((s) => s.label === label)?.id as string
const labelOfPerson = (m: Model, id: string) => m.slots.find((s) => s.id === id)?.label ?? id

function perms(m: Model, person: string, node: string): string[] {
  m.ref.now = Date.now()
  return [...m.ref.permissionsOn(person, node)].sort()
}
const sees = (m: Model, person: string, node: string) => perms(m, person, node).length > 0

/** The top-most nodes the person sees: their grants' scopes that give anything, minus those inside another. */
function roots(m: Model, person: string): string[] {
  const scopes = new Set(
    m.ref.grants.filter((g) => g.person === person && sees(m, person, g.scope)).map((g) => g.scope),
  )
  return [...scopes].filter((s) => !m.ref.upToRoot(s).some((a) => a !== s && scopes.has(a))).sort()
}

/** Status of a refusal by the reference's words: limits 409, shape 400, anything else 403. */
function refusalStatus(why: string): number {
  if (/limit per/.test(why)) return 409
  if (/no such (role|option)|wrong scope kind|already expired/.test(why)) return 400
  if (/no such (node|grant)/.test(why)) return 404
  return 403
}

const showGrant = (
  m: Model,
  g: { person: string; role: string; scope: string; options: readonly string[] },
) =>
  `${g.person.length > 4 ? labelOfPerson(m, g.person) : g.person}:${g.role}${g.options.length ? `[${g.options.join(',')}]` : ''}@${labelOf(g.scope)}`

class Mismatch extends Error {}
/** Ends a deactivated person's call once its 401 was checked: nothing of it may reach the model. */
class RefusedAsDeactivated extends Error {}

function fail(m: Model, what: string): never {
  throw new Mismatch(
    `${what}\n\ngrants now: ${m.ref.grants.map((g) => showGrant(m, g)).join(' ') || '(none)'}; deactivated: ${
      Object.keys(m.ref.inactive)
        .filter((k) => m.ref.inactive[k])
        .join(', ') || '(none)'
    }\ncalls of this run:\n  ${m.log.join('\n  ')}`,
  )
}

/** Compares the status; on a mismatch the whole run's log goes into the message. */
function expectStatus(m: Model, step: string, res: Answer, expected: number, why: string): void {
  if (m.deactivatedCall) {
    step = `${step} (deactivated, with the old session)`
    expected = 401
    why = 'deactivated'
  }
  m.log.push(`${step} → ${res.status}${res.status === expected ? '' : ` (model: ${expected}, ${why})`}`)
  if (res.status !== expected) {
    const kind =
      res.status < 300 && expected >= 400
        ? 'the model FORBIDS this but Zona allowed it'
        : res.status === 403 && expected < 300
          ? 'the model ALLOWS this but Zona refused it'
          : 'Zona answered otherwise than the model'
    fail(m, `${step}: ${kind}: expected ${expected} (${why}), got ${res.status} ${res.text.slice(0, 300)}`)
  }
  if (m.deactivatedCall) throw new RefusedAsDeactivated()
}

function expectSame(m: Model, step: string, what: string, got: unknown, want: unknown): void {
  const a = JSON.stringify(got)
  const b = JSON.stringify(want)
  if (a !== b) {
    m.log.push(`${step}: ${what} differs`)
    fail(m, `${step}: ${what}: Zona ${a}, model ${b}`)
  }
}

// ------------------------------------------------------------------------------ steps

/**
 * The n-th of `pool`; three times in four (n % 4 > 0) among those `aimed` keeps, when there are any,
 * so that most calls are ones the actor could sensibly make and the rest anything at all.
 */
function choose<T>(pool: readonly T[], n: number, aimed: (x: T) => boolean): T {
  const near = pool.filter(aimed)
  const from = n % 4 > 0 && near.length > 0 ? near : pool
  return from[(n >> 2) % from.length] as T
}

type Action =
  | {
      do: 'grant'
      actor: number
      target: number
      role: number
      node: number
      options: number
      expiry: number
    }
  | {
      do: 'change'
      actor: number
      grant: number
      what: 'role' | 'options' | 'scope' | 'expiry'
      role: number
      node: number
      options: number
      expiry: number
    }
  | { do: 'revoke'; actor: number; grant: number }
  | { do: 'status'; actor: number; target: number; active: boolean }
  | { do: 'invite'; actor: number; target: number; grants: Omit<FixtureGrant, 'slot'>[] }
  | { do: 'accept'; invitation: number }
  | { do: 'service'; actor: number; node: number }
  | { do: 'invoices'; actor: number; node: number }
  | { do: 'tree'; actor: number; node: number; roots: boolean }
  | { do: 'order'; actor: number; node: number; kind: number }

/** Service orders and the permission each needs (src/commands/portal/orders.ts), with payloads that never conflict. */
const ORDERS: [string, string, object][] = [
  ['cancel', 'service.cancel', {}],
  ['tariff-change', 'service.tariff.change', { tariff: 'Business XL' }],
  ['addon-activate', 'service.addons.manage', { addon: 'roaming' }],
  ['block', 'service.block', { reason: 'theft' }],
  ['premium-blacklist', 'service.premium.manage', { block: ['900 123 456'] }],
  ['offer-activate', 'service.offers.activate', { offer: 'summer' }],
  ['watch-activate', 'service.watch.activate', {}],
  ['settings-change', 'service.settings.change', { settings: { voicemail: true } }],
  ['new-service', 'service.order', { service_type: 'mobile' }],
]

class Step implements fc.AsyncCommand<Model, Real> {
  /** What the step does in the current run, in the model's words (the run's log shows it). */
  private done = ''
  constructor(readonly a: Action) {}

  check(m: Readonly<Model>): boolean {
    const a = this.a
    if ((a.do === 'grant' || a.do === 'status') && !m.slots[a.target]?.id) return false
    if (a.do === 'accept') return m.invitations.some((i) => i.state === 'pending')
    return true
  }

  /**
   * The drawn numbers: one Step object runs in many shrinking attempts, so what it did is told by the
   * failing run's log (in the error), not here.
   */
  toString(): string {
    const { do: what, ...rest } = this.a
    return `${what}(${Object.entries(rest)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(' ')})`
  }

  async run(m: Model, r: Real): Promise<void> {
    const a = this.a
    if (a.do === 'accept') return this.accept(m, r, a.invitation)
    // Who acts: anyone who has a login; for delegation aimed at people whose roles may grant something.
    const delegates =
      a.do === 'grant' || a.do === 'change' || a.do === 'revoke' || a.do === 'invite' || a.do === 'status'
    const slot = choose(
      m.slots.filter((s) => s.id),
      a.actor,
      (s) =>
        !delegates ||
        m.ref.grants.some(
          (g) =>
            g.person === s.label && (m.def.roles.find((x) => x.id === g.role)?.may_grant ?? []).length > 0,
        ),
    )
    const actor = slot.label
    // A deactivated person makes the same call with their old session: 401, and nothing changes (I6).
    if (m.ref.inactive[actor]) {
      m.deactivatedCall = true
      try {
        await this.act(m, r, actor, slot.stale ?? 'no-session', a)
      } catch (e) {
        if (!(e instanceof RefusedAsDeactivated)) throw e
      } finally {
        m.deactivatedCall = false
      }
      return
    }
    if (slot.stale) {
      const res = await send(r, 'GET', '/auth/me', slot.stale)
      expectStatus(m, `${actor}'s session from before deactivation, after reactivation`, res, 401, 'ended')
      slot.stale = undefined
    }
    slot.session ??= await openSession(r, slot.id as string)
    return this.act(m, r, actor, slot.session, a)
  }

  private async act(m: Model, r: Real, actor: string, session: string, a: Exclude<Action, { do: 'accept' }>) {
    switch (a.do) {
      case 'grant':
        return this.grant(m, r, actor, session, a)
      case 'change':
        return this.change(m, r, actor, session, a)
      case 'revoke':
        return this.revoke(m, r, actor, session, a.grant)
      case 'status':
        return this.status(m, r, actor, session, a.target, a.active)
      case 'invite':
        return this.invite(m, r, actor, session, a)
      case 'service':
        return this.service(m, r, actor, session, a.node)
      case 'invoices':
        return this.invoices(m, r, actor, session, a.node)
      case 'tree':
        return this.tree(m, r, actor, session, a)
      case 'order':
        return this.order(m, r, actor, session, a)
    }
  }

  /** A node of the kind (any kind: null); aimed at those the actor sees. */
  private nodeOf(m: Model, r: Real, actor: string, kind: Kind | null, n: number): string {
    const pool = TREE.filter((x) => kind === null || x.kind === kind).map((x) => idOf(r.run, x.id))
    return choose(pool, n, (id) => sees(m, actor, id))
  }

  /** A role of the catalog (of a scope kind, when given); aimed at those the actor's roles may grant. */
  private roleOf(m: Model, actor: string, n: number, kind?: Kind): RoleDefinition {
    const may = new Set(
      m.ref.grants
        .filter((g) => g.person === actor)
        .flatMap((g) => m.def.roles.find((x) => x.id === g.role)?.may_grant ?? []),
    )
    const pool = m.def.roles.filter((x) => kind === undefined || x.scope === kind)
    return choose(pool, n, (x) => may.has(x.id))
  }

  private async grant(m: Model, r: Real, actor: string, session: string, a: Action & { do: 'grant' }) {
    const role = this.roleOf(m, actor, a.role)
    const target = m.slots[a.target] as Slot
    const scope = this.nodeOf(m, r, actor, role.scope, a.node)
    const options = optionsOf(role, a.options)
    const expiresAt = EXPIRIES[a.expiry % EXPIRIES.length] ?? null
    this.done = `${actor} grants ${showGrant(m, { person: target.label, role: role.id, scope, options })}${expiresAt ? ` until ${expiresAt.slice(0, 4)}` : ''}`
    const res = await send(r, 'POST', '/grants', session, {
      person: target.id,
      role: role.id,
      scope,
      options,
      expires_at: expiresAt,
    })
    m.ref.now = Date.now()
    if (!sees(m, actor, scope)) return expectStatus(m, this.done, res, 404, 'scope out of sight')
    if (isContactRole(m.def, role.id)) return expectStatus(m, this.done, res, 403, 'contact role')
    const d = m.ref.canGrant(actor, {
      person: target.label,
      role: role.id,
      scope,
      options,
      expiresAt: expiresAt ? Date.parse(expiresAt) : null,
    })
    if (!d.allowed) return expectStatus(m, this.done, res, refusalStatus(d.why), d.why)
    expectStatus(m, this.done, res, 201, d.why)
    expectSame(
      m,
      this.done,
      'the grant',
      [res.body.person, res.body.role, res.body.scope, res.body.options],
      [target.id, role.id, scope, options],
    )
    m.ref.apply(
      d.replaces,
      this.refGrant(res.body.id, target.label, role.id, scope, options, expiresAt, actor),
    )
  }

  private refGrant(
    id: string,
    person: string,
    role: string,
    scope: string,
    options: string[],
    expiresAt: string | null,
    by: string,
  ): RefGrant {
    return {
      id,
      person,
      role,
      scope,
      options,
      expiresAt: expiresAt ? Date.parse(expiresAt) : null,
      grantedBy: by,
      grantedAt: Date.now(),
    }
  }

  /** A grant of the customer; aimed at those the actor sees (their own too: widening oneself is the escalation to catch). */
  private pickGrant(m: Model, actor: string, n: number): RefGrant | undefined {
    return m.ref.grants.length ? choose(m.ref.grants, n, (g) => sees(m, actor, g.scope)) : undefined
  }

  /** The grant is found when the actor sees its scope or it is their own; otherwise 404 like a missing id. */
  private seesGrant(m: Model, actor: string, g: RefGrant): boolean {
    return g.person === actor || sees(m, actor, g.scope)
  }

  private async change(m: Model, r: Real, actor: string, session: string, a: Action & { do: 'change' }) {
    const g = this.pickGrant(m, actor, a.grant)
    if (!g) {
      this.done = `${actor} changes a grant (there is none)`
      return
    }
    const current = m.def.roles.find((x) => x.id === g.role) as RoleDefinition
    const body: Record<string, unknown> = {}
    let role = current
    let scope = g.scope
    let options = g.options
    let expiresAt: string | null = g.expiresAt === null ? null : new Date(g.expiresAt).toISOString()
    const kind = (m.ref.nodes[g.scope] as RefNode).kind
    if (a.what === 'role') {
      // Another role of the same scope kind: a reduce or a widen (e.g. Admin Light to User).
      role = this.roleOf(m, actor, a.role, kind)
      options = optionsOf(role, a.options)
      body.role = role.id
      body.options = options
    } else if (a.what === 'options') {
      options = optionsOf(role, a.options)
      body.options = options
    } else if (a.what === 'scope') {
      scope = this.nodeOf(m, r, actor, kind, a.node)
      body.scope = scope
    } else {
      expiresAt = EXPIRIES[a.expiry % EXPIRIES.length] ?? null
      body.expires_at = expiresAt
    }
    this.done = `${actor} changes ${showGrant(m, g)} to ${showGrant(m, { person: g.person, role: role.id, scope, options })}${expiresAt ? ` until ${expiresAt.slice(0, 4)}` : ''}`
    const res = await send(r, 'PATCH', `/grants/${g.id}`, session, body)
    m.ref.now = Date.now()
    if (!this.seesGrant(m, actor, g)) return expectStatus(m, this.done, res, 404, 'grant out of sight')
    if (scope !== g.scope && !sees(m, actor, scope))
      return expectStatus(m, this.done, res, 404, 'new scope out of sight')
    if (isContactRole(m.def, g.role) || isContactRole(m.def, role.id))
      return expectStatus(m, this.done, res, 403, 'contact role')
    const d = m.ref.canChange(actor, g.id, {
      role: role.id,
      scope,
      options,
      expiresAt: expiresAt ? Date.parse(expiresAt) : null,
    })
    if (!d.allowed) return expectStatus(m, this.done, res, refusalStatus(d.why), d.why)
    expectStatus(m, this.done, res, 200, d.why)
    expectSame(
      m,
      this.done,
      'the grant',
      [res.body.role, res.body.scope, res.body.options],
      [role.id, scope, options],
    )
    m.ref.apply(
      [...new Set([...d.replaces, g.id])],
      this.refGrant(res.body.id, g.person, role.id, scope, options, expiresAt, actor),
    )
  }

  private async revoke(m: Model, r: Real, actor: string, session: string, n: number) {
    const g = this.pickGrant(m, actor, n)
    if (!g) {
      this.done = `${actor} revokes a grant (there is none)`
      return
    }
    this.done = `${actor} revokes ${showGrant(m, g)}`
    const res = await send(r, 'DELETE', `/grants/${g.id}`, session)
    if (!this.seesGrant(m, actor, g)) return expectStatus(m, this.done, res, 404, 'grant out of sight')
    const d = m.ref.canRevoke(actor, g.id)
    if (!d.allowed) return expectStatus(m, this.done, res, refusalStatus(d.why), d.why)
    expectStatus(m, this.done, res, 204, d.why)
    m.ref.apply([g.id])
  }

  /** Deactivate or reactivate a login (W3): by someone who may revoke every grant it holds, never oneself. */
  private async status(m: Model, r: Real, actor: string, session: string, t: number, active: boolean) {
    const target = m.slots[t] as Slot
    const customer = idOf(r.run, 'C')
    this.done = `${actor} ${active ? 'reactivates' : 'deactivates'} ${target.label}`
    const res = await send(
      r,
      'POST',
      `/people/${target.id}/${active ? 'reactivate' : 'deactivate'}`,
      session,
      {
        customer,
      },
    )
    m.ref.now = Date.now()
    if (roots(m, actor).length === 0) return expectStatus(m, this.done, res, 404, 'customer out of sight')
    const theirs = m.ref.grants.filter((g) => g.person === target.label)
    if (!theirs.some((g) => m.ref.check(actor, 'users.manage', g.scope)))
      return expectStatus(m, this.done, res, 404, 'no grant of theirs the actor manages')
    if (target.label === actor) return expectStatus(m, this.done, res, 400, 'oneself')
    for (const g of theirs) {
      const d = m.ref.canRevoke(actor, g.id)
      if (!d.allowed)
        return expectStatus(m, this.done, res, 403, `may not revoke ${showGrant(m, g)}: ${d.why}`)
    }
    expectStatus(m, this.done, res, 200, 'may revoke every grant')
    if (!active && !m.ref.inactive[target.label]) {
      target.stale = target.session ?? target.stale
      target.session = undefined
    }
    m.ref.inactive[target.label] = !active
  }

  private async invite(m: Model, r: Real, actor: string, session: string, a: Action & { do: 'invite' }) {
    const target = m.slots[a.target] as Slot
    const seen = new Set<string>()
    const grants: Invitation['grants'] = []
    for (const x of a.grants) {
      const role = this.roleOf(m, actor, x.role)
      const scope = this.nodeOf(m, r, actor, role.scope, x.node)
      if (seen.has(`${role.id} ${scope}`)) continue
      seen.add(`${role.id} ${scope}`)
      grants.push({
        role: role.id,
        scope,
        options: optionsOf(role, x.options),
        expiresAt: EXPIRIES[x.expiry % EXPIRIES.length] ?? null,
      })
    }
    this.done = `${actor} invites ${target.label}${target.id ? '' : ' (new)'} with ${grants.map((g) => showGrant(m, { person: target.label, ...g })).join(' + ')}`
    const res = await send(r, 'POST', `/customers/${idOf(r.run, 'C')}/invitations`, session, {
      email: target.email,
      ...(target.id ? {} : { login: target.login, display_name: `Invitee ${target.label}` }),
      grants: grants.map((g) => ({
        role: g.role,
        scope: g.scope,
        options: g.options,
        expires_at: g.expiresAt,
      })),
    })
    m.ref.now = Date.now()
    if (roots(m, actor).length === 0) return expectStatus(m, this.done, res, 404, 'customer out of sight')
    if (target.label === actor) return expectStatus(m, this.done, res, 400, 'oneself')
    if (m.invitations.some((i) => i.slot === a.target && i.state === 'pending'))
      return expectStatus(m, this.done, res, 409, 'a pending invitation to this address')
    for (const g of grants) {
      if (!sees(m, actor, g.scope)) return expectStatus(m, this.done, res, 404, 'scope out of sight')
      if (isContactRole(m.def, g.role)) return expectStatus(m, this.done, res, 403, 'contact role')
      const d = m.ref.canGrant(actor, {
        person: target.id ? target.label : 'invitee:new',
        role: g.role,
        scope: g.scope,
        options: g.options,
        expiresAt: g.expiresAt ? Date.parse(g.expiresAt) : null,
      })
      if (!d.allowed) return expectStatus(m, this.done, res, refusalStatus(d.why), d.why)
    }
    expectStatus(m, this.done, res, 201, 'may grant each')
    const mail = await r.z.store.db
      .selectFrom('outbox')
      .select('text')
      .where('recipient', '=', target.email)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow()
    const token = /\/invitation\?token=([A-Za-z0-9_%-]+)/.exec(mail.text)?.[1]
    if (!token) fail(m, `${this.done}: no invitation link in the mail: ${mail.text}`)
    m.invitations.push({
      id: res.body.id,
      token: decodeURIComponent(token),
      inviter: actor,
      slot: a.target,
      grants,
      state: 'pending',
    })
  }

  /** The invitee accepts (with the password of their login, or a new one); each grant is decided again as the inviter. */
  private async accept(m: Model, r: Real, n: number) {
    const pending = m.invitations.filter((i) => i.state === 'pending')
    const inv = pending[n % pending.length] as Invitation
    const target = m.slots[inv.slot] as Slot
    this.done = `${target.label} accepts ${inv.inviter}'s invitation (${inv.grants.map((g) => `${g.role}@${labelOf(g.scope)}`).join(' + ')})`
    const res = await send(r, 'POST', '/invitations/accept', null, { token: inv.token, password: PASSWORD })
    if (target.id && m.ref.inactive[target.label])
      return expectStatus(m, this.done, res, 401, 'the login is deactivated')
    expectStatus(m, this.done, res, 200, 'a pending invitation')
    inv.state = 'accepted'
    if (!target.id) {
      target.id = res.body.person.id as string
      target.login = res.body.person.login as string
    }
    expectSame(m, this.done, 'the person', res.body.person.id, target.id)
    const given: string[] = []
    const notGiven: string[] = []
    // biome-ignore lint/suspicious/noExplicitAny: answer items
    const rows = new Map<string, any>((res.body.given ?? []).map((g: any) => [`${g.role} ${g.scope}`, g]))
    m.ref.now = Date.now()
    for (const g of inv.grants) {
      const d = m.ref.canGrant(inv.inviter, {
        person: target.label,
        role: g.role,
        scope: g.scope,
        options: g.options,
        expiresAt: g.expiresAt ? Date.parse(g.expiresAt) : null,
      })
      const key = `${g.role} ${g.scope}`
      if (!d.allowed) {
        notGiven.push(key)
        continue
      }
      given.push(key)
      const row = rows.get(key)
      if (row)
        m.ref.apply(
          d.replaces,
          this.refGrant(row.id, target.label, g.role, g.scope, g.options, g.expiresAt, inv.inviter),
        )
    }
    expectSame(
      m,
      this.done,
      'given / not given',
      {
        given: [...rows.keys()].sort(),
        // biome-ignore lint/suspicious/noExplicitAny: answer items
        not_given: (res.body.not_given ?? []).map((x: any) => `${x.role} ${x.scope}`).sort(),
      },
      { given: given.sort(), not_given: notGiven.sort() },
    )
  }

  private async service(m: Model, r: Real, actor: string, session: string, n: number) {
    const node = this.nodeOf(m, r, actor, 'service', n)
    this.done = `${actor} reads the page of ${labelOf(node)}`
    const res = await send(r, 'GET', `/services/${node}`, session)
    const want = perms(m, actor, node)
    if (want.length === 0) return expectStatus(m, this.done, res, 404, 'out of sight')
    expectStatus(m, this.done, res, 200, `may ${want.join(' ')}`)
    expectSame(m, this.done, 'permissions', [...res.body.permissions].sort(), want)
    // biome-ignore lint/suspicious/noExplicitAny: answer items
    const actions = (res.body.actions as any[]).filter((x) => x.allowed !== want.includes(x.permission))
    if (actions.length) expectSame(m, this.done, 'actions allowed', actions, [])
  }

  private async invoices(m: Model, r: Real, actor: string, session: string, n: number) {
    const node = this.nodeOf(m, r, actor, null, n)
    const on = m.ref.nodes[node]?.kind === 'service' ? 'services' : 'accounts'
    this.done = `${actor} reads the invoices of ${labelOf(node)}`
    const res = await send(r, 'GET', `/${on}/${node}/invoices`, session)
    if (!sees(m, actor, node)) return expectStatus(m, this.done, res, 404, 'out of sight')
    if (!m.ref.check(actor, 'billing.invoices.view', node))
      return expectStatus(m, this.done, res, 403, 'no billing.invoices.view')
    expectStatus(m, this.done, res, 200, 'billing.invoices.view')
    expectSame(
      m,
      this.done,
      'payments_visible',
      res.body.payments_visible,
      m.ref.check(actor, 'billing.payments.view', node),
    )
  }

  private async tree(m: Model, r: Real, actor: string, session: string, a: Action & { do: 'tree' }) {
    const customer = idOf(r.run, 'C')
    const parent = this.nodeOf(m, r, actor, null, a.node)
    this.done = a.roots ? `${actor} reads their roots` : `${actor} reads the children of ${labelOf(parent)}`
    const res = await send(
      r,
      'GET',
      a.roots ? `/customers/${customer}/roots` : `/customers/${customer}/tree?parent=${parent}`,
      session,
    )
    const mine = roots(m, actor)
    if (mine.length === 0) return expectStatus(m, this.done, res, 404, 'customer out of sight')
    let want: string[]
    if (a.roots) want = mine
    else {
      if (!sees(m, actor, parent)) return expectStatus(m, this.done, res, 404, 'parent out of sight')
      want = (m.ref.children[parent] ?? []).filter((c) => sees(m, actor, c))
    }
    expectStatus(m, this.done, res, 200, 'in sight')
    // biome-ignore lint/suspicious/noExplicitAny: answer items
    const got = (res.body.items as any[]).map(
      (i) => `${labelOf(i.id)}: ${[...i.permissions].sort().join(' ')}`,
    )
    expectSame(
      m,
      this.done,
      'nodes and their permissions',
      got.sort(),
      want.map((n) => `${labelOf(n)}: ${perms(m, actor, n).join(' ')}`).sort(),
    )
  }

  private async order(m: Model, r: Real, actor: string, session: string, a: Action & { do: 'order' }) {
    const [kind, permission, payload] = ORDERS[a.kind % ORDERS.length] as [string, string, object]
    const onAccount = kind === 'new-service'
    const pool = TREE.filter((n) => (n.kind === 'service') !== onAccount).map((n) => idOf(r.run, n.id))
    const node = choose(pool, a.node, (id) => sees(m, actor, id))
    this.done = `${actor} orders ${kind} on ${labelOf(node)}`
    const res = await send(r, 'POST', `/${onAccount ? 'accounts' : 'services'}/${node}/orders`, session, {
      kind,
      payload,
    })
    if (!sees(m, actor, node)) return expectStatus(m, this.done, res, 404, 'out of sight')
    if (!m.ref.check(actor, permission, node)) return expectStatus(m, this.done, res, 403, `no ${permission}`)
    expectStatus(m, this.done, res, 201, permission)
  }
}

// ------------------------------------------------------------------------------ arbitraries

const slot = fc.nat({ max: SLOTS.length - 1 })
const pick = fc.nat({ max: 99 })
/** Who acts: resolved among the people with a login when the step runs (see `choose`). */
const actor = pick
const grantShape = fc.record({ role: pick, node: pick, options: fc.nat({ max: 7 }), expiry: pick })

/** Delegation (grant, change, invite) drawn three times as often as each other step. */
const delegation = (arb: fc.Arbitrary<Step>) => [arb, arb, arb]

const steps = [
  ...delegation(
    fc
      .record({ actor, target: slot, role: pick, node: pick, options: fc.nat({ max: 7 }), expiry: pick })
      .map((a) => new Step({ do: 'grant', ...a })),
  ),
  ...delegation(
    fc
      .record({
        actor,
        grant: pick,
        what: fc.constantFrom<'role' | 'options' | 'scope' | 'expiry'>('role', 'options', 'scope', 'expiry'),
        role: pick,
        node: pick,
        options: fc.nat({ max: 7 }),
        expiry: pick,
      })
      .map((a) => new Step({ do: 'change', ...a })),
  ),
  fc.record({ actor, grant: pick }).map((a) => new Step({ do: 'revoke', ...a })),
  fc.record({ actor, target: slot, active: fc.boolean() }).map((a) => new Step({ do: 'status', ...a })),
  ...delegation(
    fc
      .record({ actor, target: slot, grants: fc.array(grantShape, { minLength: 1, maxLength: 2 }) })
      .map((a) => new Step({ do: 'invite', ...a })),
  ),
  fc.record({ invitation: pick }).map((a) => new Step({ do: 'accept', ...a })),
  fc.record({ actor, node: pick }).map((a) => new Step({ do: 'service', ...a })),
  fc.record({ actor, node: pick }).map((a) => new Step({ do: 'invoices', ...a })),
  fc.record({ actor, node: pick, roots: fc.boolean() }).map((a) => new Step({ do: 'tree', ...a })),
  fc.record({ actor, node: pick, kind: pick }).map((a) => new Step({ do: 'order', ...a })),
]

/** The starting grants of P1-P3 (P0 holds the operator-appointed role). */
const fixture = fc.array(
  fc.record({
    slot: fc.integer({ min: 1, max: 3 }),
    role: pick,
    node: pick,
    options: fc.nat({ max: 7 }),
    expiry: pick,
  }),
  { minLength: 1, maxLength: 6 },
)

// ------------------------------------------------------------------------------ one run's customer

async function setUp(
  z: TestZona,
  def: CatalogDefinition,
  csrf: Real['csrf'],
  passwordHash: string,
  start: FixtureGrant[],
): Promise<{ model: Model; real: Real }> {
  const run = ++runs
  const db = z.store.db
  const customer = idOf(run, 'C')
  await insertCustomer(db, { id: customer, name: `Model run ${run}`, preset: def.id })
  await insertNodes(
    db,
    TREE.filter((n) => n.parent !== null).map(
      (n): NodeInput => ({
        id: idOf(run, n.id),
        customerId: customer,
        parentId: idOf(run, n.parent as string),
        kind: n.kind as 'account' | 'service',
        name: n.id,
        ...(n.serviceType ? { serviceType: n.serviceType, tariff: 'Business M' } : {}),
      }),
    ),
  )
  await insertInvoices(db, [
    {
      id: `${idOf(run, 'inv')}-1`,
      customerId: customer,
      nodeId: idOf(run, 'A1'),
      number: `M${run}-1`,
      issuedOn: '2026-01-01',
      dueOn: '2026-01-15',
      amountCents: 1000,
      currency: 'EUR',
    },
  ])
  const ref = new Reference(
    def,
    TREE.map((n) => ({
      id: idOf(run, n.id),
      kind: n.kind,
      parent: n.parent === null ? null : idOf(run, n.parent),
      ...(n.serviceType ? { serviceType: n.serviceType } : {}),
    })),
    Date.now(),
  )
  const slots: Slot[] = SLOTS.map((label) => ({
    label,
    email: `m${run}-${label.toLowerCase()}@example.test`,
    login: `m${run}-${label.toLowerCase()}`,
  }))
  for (const s of slots.slice(0, 4)) {
    const p = await withTransaction(db, (trx) =>
      createPerson(trx, z.zona, { displayName: s.label, login: s.login, email: s.email, password: null }),
    )
    // One hash for everyone, made once: argon2 per person would eat the time budget.
    await db.updateTable('credentials').set({ passwordHash }).where('personId', '=', p.id).execute()
    s.id = p.id
    s.login = p.login
  }
  const real: Real = { z, run, csrf, ips: { n: run << 10 } }
  // Everyone starts signed in, so deactivation has sessions to end.
  for (const s of slots.slice(0, 4)) s.session = await openSession(real, s.id as string)
  const grant = async (
    label: string,
    role: RoleDefinition,
    scope: string,
    options: string[],
    expiry: string | null,
  ) => {
    const row = await insertGrant(db, {
      customerId: customer,
      personId: personId({ slots } as Model, label),
      role: role.id,
      scopeNodeId: scope,
      options,
      limited: role.limit_per_customer === 1,
      grantedBy: 'operator:model-fixture',
      ...(expiry ? { expiresAt: new Date(expiry) } : {}),
    })
    ref.apply([], {
      id: row.id,
      person: label,
      role: role.id,
      scope,
      options,
      expiresAt: expiry ? Date.parse(expiry) : null,
      grantedBy: null,
      grantedAt: null,
    })
  }
  await grant('P0', operatorRole(def), customer, [], null)
  const customerRoles = def.roles.filter((r) => r.appointed_by !== 'operator')
  for (const f of start) {
    // Aimed at roles that manage people, so delegation by others than P0 happens often.
    const role = choose(
      customerRoles,
      f.role,
      (x) => x.permissions === 'all' && !x.except?.includes('users.manage'),
    )
    const of = TREE.filter((n) => n.kind === role.scope)
    const scope = idOf(run, (of[f.node % of.length] as { id: string }).id)
    const label = SLOTS[f.slot] as string
    // One holder per scope for limited roles, one grant per person, role and scope.
    if (
      ref.grants.some(
        (g) => g.role === role.id && g.scope === scope && (role.limit_per_scope === 1 || g.person === label),
      )
    )
      continue
    await grant(label, role, scope, optionsOf(role, f.options), EXPIRIES[f.expiry % EXPIRIES.length] ?? null)
  }
  await settle(z)
  const model: Model = { def, ref, slots, invitations: [], log: [] }
  model.log.push(`start: ${ref.grants.map((g) => showGrant(model, g)).join(' ')}`)
  return { model, real }
}

/**
 * Waits until the server's access model has the fixture written straight to the store. On PGlite the
 * model learns of such writes from a notification that arrives after the write's call returned.
 */
async function settle(z: TestZona): Promise<void> {
  const version = await readVersion(z.store.db)
  for (let i = 0; z.zona.access.version < version; i++) {
    if (i > 200)
      throw new Error(`the access model stays at ${z.zona.access.version}, the store is at ${version}`)
    await z.zona.access.refresh()
    if (z.zona.access.version < version) await new Promise((done) => setTimeout(done, 5))
  }
}

// ------------------------------------------------------------------------------ the suite

describeEachBackend('model-based API', (backend) => {
  describe.each(PRESETS)('preset %s', (preset) => {
    let z: TestZona
    let csrf: Real['csrf']
    let passwordHash: string
    const def = readCatalog(preset)

    beforeAll(async () => {
      z = await startTestZona(backend, { preset })
      passwordHash = await hashPassword(PASSWORD)
      const c = await z.app.inject({ method: 'GET', url: `${API}/auth/csrf` })
      const cookie = c.cookies.find((x) => x.name === 'zona_csrf')
      if (c.statusCode !== 200 || !cookie) throw new Error(`no CSRF token: ${c.body}`)
      csrf = { cookie: `zona_csrf=${cookie.value}`, token: c.json().token as string }
    })
    afterAll(() => z?.close())

    it('answers every call of random sequences as the model says', async () => {
      const started = Date.now()
      let sequences = 0
      let calls = 0
      const kinds: Record<string, number> = {}
      const property = fc.asyncProperty(
        fixture,
        fc.commands(steps, { maxCommands: STEPS, size: 'max' }),
        async (start, cmds) => {
          sequences++
          let model: Model | undefined
          await fc.asyncModelRun(async () => {
            const s = await setUp(z, def, csrf, passwordHash, start as FixtureGrant[])
            model = s.model
            return s
          }, cmds)
          const log = (model as Model | undefined)?.log ?? []
          calls += log.length - 1
          for (const line of log.slice(1)) {
            const status = / → (\d+)/.exec(line)?.[1] ?? '?'
            kinds[status] = (kinds[status] ?? 0) + 1
          }
        },
      )
      if (RUNS !== undefined || SEED !== undefined)
        await fc.assert(property, {
          numRuns: RUNS ?? BATCH * 4,
          ...(SEED !== undefined ? { seed: SEED } : {}),
        })
      // Within the time budget: each batch its own seed (printed on failure) and a full shrink.
      else while (Date.now() - started < BUDGET_MS) await fc.assert(property, { numRuns: BATCH })
      const seconds = ((Date.now() - started) / 1000).toFixed(1)
      console.info(
        `[model-based ${backend.name} ${preset}] ${sequences} sequences, ${calls} calls checked (statuses ${JSON.stringify(kinds)}), ${seconds} s`,
      )
      expect(sequences).toBeGreaterThanOrEqual(RUNS ?? BATCH)
      // The runs must reach both sides: allowed writes and refusals.
      expect(kinds['201'] ?? 0).toBeGreaterThan(0)
      expect((kinds['403'] ?? 0) + (kinds['404'] ?? 0)).toBeGreaterThan(0)
    }, 600_000)
  })
})
