/**
 * Tenant isolation (DOMAIN.md I1, and "ids of another customer give the same 404 as a missing id"):
 * two customers with the same name, the same tree shape, the same account names and the same
 * phone numbers. Customer A's admin tries every read route of the OpenAPI document with every id
 * customer B has – nodes, services, invoices, statements, grants, people, orders, invitations,
 * contact changes – in every id input of the route; each answer must be exactly the answer to a
 * made-up id (apart from instance and request_id) and carry nothing of B's. Every list, read page
 * by page by either admin, shows none of the other's items. The decision API answers only from
 * grants: an allowed check names a grant of that person whose scope holds the node.
 *
 * Runs on o2-cz (invitations, a nested account tree) and ovh (contact changes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeEachBackend } from '../../src/store/testing.ts'
import { idSlots, request, validParts } from './support/cases.ts'
import { loadOperations, type Operation } from './support/openapi.ts'
import { answerFaults, sameProblem } from './support/problems.ts'
import { buildWorld, type Request, randomId, type Sent, type Side, type World } from './support/world.ts'

const PRESETS = ['o2-cz', 'ovh']
const show = (res: Sent) => `${res.statusCode} ${res.body.slice(0, 200)}`

/** The answer's text without the parts that only repeat the request (the URL in `instance`). */
function answerText(res: Sent): string {
  try {
    const { instance: _i, request_id: _r, ...rest } = JSON.parse(res.body)
    return JSON.stringify(rest)
  } catch {
    return res.body
  }
}

const markersIn = (text: string, markers: string[]) => markers.filter((m) => text.includes(m))

/** A read route of the portal: a GET that a signed-in person makes. */
const portalRead = (op: Operation) => op.method === 'GET' && op.auth === 'session'

describeEachBackend('tenant isolation', (backend) => {
  describe.each(PRESETS)('preset %s', (preset) => {
    let world: World
    let reads: Operation[]
    let all: Operation[]
    beforeAll(async () => {
      world = await buildWorld(backend, preset)
      all = await loadOperations(world)
      reads = all.filter(portalRead)
    })
    afterAll(() => world?.z.close())

    it('answers every id of the other customer, in every read route, as an id that does not exist', async () => {
      const failures: string[] = []
      const theirs = Object.values(world.idsOf(world.b)).flat()
      const markers = world.markersOf(world.b)
      let tried = 0
      let inputs = 0
      for (const op of reads) {
        for (const slot of idSlots(world, op)) {
          inputs++
          const missing = await world.send(slot.put(randomId()))
          tried++
          for (const id of theirs) {
            const res = await world.send(slot.put(id))
            tried++
            const faults = answerFaults(res)
            const same =
              res.statusCode >= 400 && missing.statusCode >= 400
                ? JSON.stringify(sameProblem(res)) === JSON.stringify(sameProblem(missing))
                : res.statusCode === missing.statusCode && res.body === missing.body
            if (!same) faults.push(`differs from a made-up id's ${show(missing)}`)
            const leaked = markersIn(answerText(res), markers)
            if (leaked.length) faults.push(`shows ${leaked.join(', ')}`)
            if (faults.length)
              failures.push(
                `${op.method} ${op.path} – ${slot.label} = ${id}: ${faults.join('; ')} → ${show(res)}`,
              )
          }
        }
      }
      console.info(
        `[tenant-isolation ${backend.name} ${preset}] ${tried} reads, ${theirs.length} ids of ${world.b.customer} in ${inputs} id inputs of ${reads.length} read routes, ${failures.length} failures`,
      )
      expect(reads.length).toBeGreaterThan(15)
      expect(failures).toEqual([])
    })

    /** Every page of a read, as `side`'s admin. */
    async function readAll(op: Operation, side: Side): Promise<Sent[]> {
      const parts = validParts(world, op, side)
      const pages: Sent[] = []
      let cursor: string | null | undefined
      do {
        const req: Request = {
          ...request(world, op, { ...parts, query: { ...parts.query, ...(cursor ? { cursor } : {}) } }),
          auth: { session: side.session },
        }
        const res = await world.send(req)
        pages.push(res)
        cursor = res.statusCode === 200 ? res.json()?.next_cursor : null
      } while (cursor && pages.length < 50)
      return pages
    }

    it('shows neither admin anything of the other customer in any list or page', async () => {
      const failures: string[] = []
      const seen: Record<string, string[]> = { a: [], b: [] }
      for (const [mine, other] of [
        [world.a, world.b],
        [world.b, world.a],
      ] as const) {
        const markers = world.markersOf(other)
        const own = world.markersOf(mine)
        for (const op of reads) {
          for (const res of await readAll(op, mine)) {
            const faults = answerFaults(res)
            const text = answerText(res)
            const leaked = markersIn(text, markers)
            if (leaked.length) faults.push(`shows ${leaked.join(', ')}`)
            seen[mine.key]?.push(...markersIn(text, own))
            if (faults.length)
              failures.push(
                `${op.method} ${op.path} as ${mine.people.admin.login}: ${faults.join('; ')} → ${show(res)}`,
              )
          }
        }
      }
      expect(failures).toEqual([])
      // Not vacuous: each admin did see their own customer's tree, services, invoices, grants and people.
      for (const side of [world.a, world.b]) {
        const mine = new Set(seen[side.key])
        for (const id of [
          side.customer,
          side.accounts[0],
          side.services[0],
          side.invoices[0],
          side.grants.victim,
          side.people.victim.id,
        ])
          expect(mine, `${side.customer}'s admin saw ${id}`).toContain(id)
      }
    })

    it('lets the operator back office reach both customers, and a person of neither reach nothing', async () => {
      for (const side of [world.a, world.b]) {
        const r = await world.send({
          method: 'GET',
          url: `/api/v1/operator/customers/${side.customer}`,
          auth: 'operator',
        })
        expect(r.statusCode, r.body).toBe(200)
      }
      // The sandbox's primary admin holds nothing at A or B.
      const r = await world.z.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        headers: { cookie: world.csrf.cookie, 'x-csrf-token': world.csrf.token },
        payload: { login: world.sandbox.person.login, password: 'correct horse battery 42' },
        remoteAddress: '192.0.2.77',
      })
      expect(r.statusCode, r.body).toBe(200)
      const session = r.cookies.find((c) => c.name === 'zona_session')?.value as string
      for (const side of [world.a, world.b]) {
        const roots = await world.send({
          method: 'GET',
          url: `/api/v1/customers/${side.customer}/roots`,
          auth: { session },
        })
        const missing = await world.send({
          method: 'GET',
          url: `/api/v1/customers/${randomId()}/roots`,
          auth: { session },
        })
        expect(roots.statusCode).toBe(404)
        expect(sameProblem(roots)).toEqual(sameProblem(missing))
      }
    })

    it('answers the decision API only from grants: an allowed check names a grant of that person whose scope holds the node', async () => {
      const nodes = await world.db.selectFrom('nodes').select(['id', 'parentId', 'customerId']).execute()
      const parent = new Map(nodes.map((n) => [n.id, n.parentId]))
      const customerOf = new Map(nodes.map((n) => [n.id, n.customerId]))
      const grants = await world.db.selectFrom('grants').select(['id', 'personId', 'scopeNodeId']).execute()
      const within = (node: string, scope: string) => {
        for (let n: string | null | undefined = node; n; n = parent.get(n)) if (n === scope) return true
        return false
      }
      const people = [world.a, world.b].flatMap((s) => Object.values(s.people).map((p) => p.id))
      const ids = [world.a, world.b].flatMap((s) => [s.customer, ...s.accounts, ...s.services])
      const checks = people.flatMap((person) =>
        ids.flatMap((node) => world.catalog.permissions.map((permission) => ({ person, permission, node }))),
      )
      const failures: string[] = []
      let allowed = 0
      for (let i = 0; i < checks.length; i += 1000) {
        const batch = checks.slice(i, i + 1000)
        const r = await world.send({
          method: 'POST',
          url: '/api/v1/check/batch',
          auth: 'decision',
          payload: { checks: batch },
        })
        expect(r.statusCode, r.body).toBe(200)
        r.json().results.forEach(
          (answer: { allowed: boolean; code: string; grant?: { id: string; scope: string } }, j: number) => {
            const q = batch[j] as (typeof checks)[number]
            if (!answer.allowed) return
            allowed++
            const g = grants.find((x) => x.id === answer.grant?.id)
            if (
              !g ||
              g.personId !== q.person ||
              g.scopeNodeId !== answer.grant?.scope ||
              !within(q.node, g.scopeNodeId)
            )
              failures.push(
                `${q.person} ${q.permission} on ${q.node}: allowed by ${JSON.stringify(answer.grant)}`,
              )
            if (customerOf.get(q.node) !== customerOf.get(g?.scopeNodeId ?? ''))
              failures.push(`${q.person} ${q.permission} on ${q.node}: allowed across customers`)
          },
        )
      }
      // And a list never names a node the person holds no grant over.
      for (const person of people)
        for (const type of ['customer', 'account', 'service'])
          for (const permission of world.catalog.permissions) {
            const r = await world.send({
              method: 'POST',
              url: '/api/v1/list',
              auth: 'decision',
              payload: { person, permission, type, limit: 1000 },
            })
            expect(r.statusCode, r.body).toBe(200)
            for (const node of r.json().nodes as string[])
              if (!grants.some((g) => g.personId === person && within(node, g.scopeNodeId)))
                failures.push(`list ${person} ${permission} ${type}: ${node} without a grant over it`)
          }
      console.info(
        `[tenant-isolation ${backend.name} ${preset}] decisions: ${checks.length} checks (${allowed} allowed), ${failures.length} failures`,
      )
      expect(allowed).toBeGreaterThan(0)
      expect(failures).toEqual([])
    })
  })
})
