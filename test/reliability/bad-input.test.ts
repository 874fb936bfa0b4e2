/**
 * Bad input on every route of the OpenAPI document (DOMAIN.md I7), with the credentials each route
 * needs: missing fields, wrong types, 1 MB strings, Unicode corners, SQL and HTML payloads in every
 * string field, unknown fields, invalid JSON, wrong content types, ids that do not exist and ids
 * of another customer; then fast-check fuzzing shaped by each route's schema.
 *
 * Every answer: never a 5xx; a refusal is problem+json with status and code, naming the field when
 * one is at fault, without internals; and a refused request leaves every table as it was (a
 * fingerprint of the whole database before and after). Another customer's id gets exactly the
 * answer a made-up id gets.
 *
 * Runs on sk-isp (every route; account requests work there) and ovh (the contact-change routes):
 * together every route does its work on one of them. Seed the fuzzing with ZONA_FUZZ_SEED.
 */
import { appendFileSync } from 'node:fs'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeEachBackend } from '../../src/store/testing.ts'
import {
  authFor,
  type Case,
  foreignIds,
  idSlots,
  malformedCases,
  request,
  validParts,
} from './support/cases.ts'
import { differences, type Fingerprint, fingerprint } from './support/db-dump.ts'
import {
  arbitraryFor,
  fieldsOf,
  hostileValue,
  loadOperations,
  type Operation,
  type Path,
  setAt,
} from './support/openapi.ts'
import { answerFaults, fieldMatches, sameProblem } from './support/problems.ts'
import { buildWorld, type Request, randomId, type Sent, type World } from './support/world.ts'

/**
 * sk-isp drives every route (account requests live there); ovh adds the routes of the feature
 * sk-isp lacks (contact changes), which on sk-isp only answer that the portal has none.
 */
const PRESETS = ['sk-isp', 'ovh']
/** Tags of the routes that work only where the catalog has the feature. */
const FEATURE_TAGS: Record<string, 'contactChanges' | 'accountRequests'> = {
  contacts: 'contactChanges',
  'account requests': 'accountRequests',
}
const FUZZ_RUNS = Number(process.env.ZONA_FUZZ_RUNS ?? 12)
const SEED = Number(process.env.ZONA_FUZZ_SEED ?? 20260107)

/** Routes that could end the signed-in admin's session go last, so a bug there does not hide the rest. */
const LAST = ['/api/v1/auth/password', '/api/v1/auth/logout']
const ordered = (ops: Operation[]) => [...ops].sort((x, y) => LAST.indexOf(x.path) - LAST.indexOf(y.path))

const show = (res: Sent) => `${res.statusCode} ${res.body.slice(0, 240)}`

class Probe {
  tried = 0
  readonly failures: string[] = []
  private fp: Fingerprint | undefined
  constructor(private readonly world: World) {}

  /**
   * Sends one request; returns what is wrong with the answer or with the database after it. A GET
   * must write nothing at all: reads are checked once a route is done (`readsWroteNothing`), which
   * keeps the suite fast; every other refused request is checked on its own.
   */
  async send(req: Request, expectation?: { refuse: boolean; field?: string[] }) {
    this.fp ??= await fingerprint(this.world.db)
    this.tried++
    let res: Sent
    try {
      res = await this.world.send(req)
    } catch (e) {
      // No answer at all (a destroyed response): as bad as a 500.
      res = {
        statusCode: 599,
        headers: {},
        body: `no answer: ${(e as Error).message}`,
        json: () => ({}),
        cookies: [],
      }
    }
    const faults = answerFaults(res)
    if (expectation?.refuse) {
      if (res.statusCode < 400) faults.push(`accepted (${res.statusCode})`)
      else if (expectation.field && res.statusCode < 500) {
        const field = JSON.parse(res.body).field
        if (!fieldMatches(field, expectation.field))
          faults.push(`names field ${String(field)}, not ${expectation.field.join(' or ')}`)
      }
    }
    if (req.method !== 'GET') {
      const after = await fingerprint(this.world.db)
      if (res.statusCode >= 400) {
        const changed = differences(this.fp, after)
        if (changed.length) faults.push(`refused but wrote: ${changed.join(', ')}`)
      }
      this.fp = after
    }
    return { res, faults }
  }

  async readsWroteNothing(what: string) {
    if (!this.fp) return
    const after = await fingerprint(this.world.db)
    const changed = differences(this.fp, after)
    if (changed.length) this.failures.push(`${what}: a read wrote ${changed.join(', ')}`)
    this.fp = after
  }

  /** Fails the test with every failure; ZONA_RELIABILITY_OUT=<file> also appends them there, one a line. */
  done() {
    const out = process.env.ZONA_RELIABILITY_OUT
    if (out && this.failures.length) appendFileSync(out, `${this.failures.join('\n')}\n`)
    expect(this.failures).toEqual([])
  }

  async run(c: Case) {
    const { res, faults } = await this.send(c.req, {
      refuse: c.expect === 'refuse',
      ...(c.field ? { field: c.field } : {}),
    })
    if (faults.length)
      this.failures.push(`${c.op.method} ${c.op.path} – ${c.label}: ${faults.join('; ')} → ${show(res)}`)
    return res
  }
}

const key = (op: Operation) => `${op.method} ${op.path}`

/** The first preset drives every route; a later one, the routes of features the first lacks. */
function toDrive(world: World, ops: Operation[], first: boolean): Operation[] {
  if (first) return ops
  return ops.filter((op) =>
    op.tags.some((t) => {
      const feature = FEATURE_TAGS[t]
      return feature !== undefined && world.catalog.features[feature] && !firstFeatures.has(feature)
    }),
  )
}
const firstFeatures = new Set<string>()

describeEachBackend('bad input on every route', (backend) => {
  describe.each(PRESETS)('preset %s', (preset) => {
    let world: World
    let ops: Operation[]
    beforeAll(async () => {
      world = await buildWorld(backend, preset)
      const first = preset === PRESETS[0]
      if (first)
        for (const f of Object.values(FEATURE_TAGS)) if (world.catalog.features[f]) firstFeatures.add(f)
      ops = ordered(toDrive(world, await loadOperations(world), first))
    })
    afterAll(() => world?.z.close())

    it('drives every route of the OpenAPI document, with each kind of credentials', () => {
      expect(ops.some((o) => o.path.startsWith('/dev/') || o.path === '/metrics')).toBe(false)
      if (preset !== PRESETS[0]) return
      const kinds = new Set(ops.map((o) => o.auth))
      expect([...kinds].sort()).toEqual(['decision', 'operator', 'public', 'session'])
      expect(ops.length).toBeGreaterThan(50)
    })

    it('refuses malformed requests with a problem naming the field, and writes nothing', async () => {
      const probe = new Probe(world)
      const routes = new Set<string>()
      for (const op of ops) {
        routes.add(`${op.method} ${op.path}`)
        for (const c of malformedCases(world, op)) await probe.run(c)
        if (op.method === 'GET') await probe.readsWroteNothing(key(op))
      }
      console.info(
        `[bad-input ${backend.name} ${preset}] malformed: ${probe.tried} requests on ${routes.size} routes, ${probe.failures.length} failures`,
      )
      probe.done()
    }, 600_000)

    it("answers another customer's ids exactly as ids that do not exist", async () => {
      const probe = new Probe(world)
      let slots = 0
      for (const op of ops.filter(
        (o) => authFor(world, o) !== 'none' && o.auth !== 'operator' && o.auth !== 'decision',
      )) {
        for (const slot of idSlots(world, op)) {
          slots++
          const missing = await probe.send(slot.put(randomId()))
          const reference = missing.res.statusCode >= 400 ? sameProblem(missing.res) : missing.res.body
          for (const id of foreignIds(world, world.b, slot.kind)) {
            const { res, faults } = await probe.send(slot.put(id), { refuse: missing.res.statusCode >= 400 })
            const answer = res.statusCode >= 400 ? sameProblem(res) : res.body
            if (JSON.stringify(answer) !== JSON.stringify(reference))
              faults.push(`differs from a made-up id's ${show(missing.res)}`)
            if (faults.length)
              probe.failures.push(
                `${op.method} ${op.path} – ${slot.label} = ${id} (of ${world.b.customer}): ${faults.join('; ')} → ${show(res)}`,
              )
          }
        }
        if (op.method === 'GET') await probe.readsWroteNothing(key(op))
      }
      console.info(
        `[bad-input ${backend.name} ${preset}] foreign ids: ${probe.tried} requests in ${slots} id inputs, ${probe.failures.length} failures`,
      )
      probe.done()
    }, 600_000)

    it('survives fuzzing shaped by each route schema (fast-check)', async () => {
      const probe = new Probe(world)
      let routes = 0
      for (const op of ops) {
        const query = op.params.filter((p) => p.in === 'query')
        // A body-less write would ignore a fuzzed body and do its work on the world's real ids.
        if (op.method !== 'GET' && !op.body) continue
        if (!op.body && query.length === 0) continue
        routes++
        const base = validParts(world, op)
        const paths: Path[] = op.body ? [[], ...fieldsOf(op.body.schema).map((f) => f.path)] : [[]]
        const input = fc.record({
          body: op.body ? arbitraryFor(op.body.schema) : fc.constant(undefined),
          query: fc.record(
            Object.fromEntries(query.map((p) => [p.name, fc.oneof(arbitraryFor(p.schema), hostileValue)])),
            { requiredKeys: [] },
          ),
          twist: fc.option(fc.tuple(fc.constantFrom(...paths), hostileValue)),
        })
        const result = await fc.check(
          fc.asyncProperty(input, async ({ body, query: q, twist }) => {
            const payload = twist && op.body ? setAt(body, twist[0], twist[1]) : body
            const req = request(world, op, {
              path: base.path,
              query: q,
              ...(op.body ? { body: payload } : {}),
            })
            const { res, faults } = await probe.send(req)
            if (faults.length) throw new Error(`${faults.join('; ')} → ${show(res)}`)
          }),
          { numRuns: FUZZ_RUNS, seed: SEED },
        )
        if (result.failed) probe.failures.push(`${op.method} ${op.path}: ${fc.defaultReportMessage(result)}`)
        if (op.method === 'GET') await probe.readsWroteNothing(key(op))
      }
      console.info(
        `[bad-input ${backend.name} ${preset}] fuzz: ${probe.tried} requests on ${routes} routes (seed ${SEED}), ${probe.failures.length} failures`,
      )
      probe.done()
    }, 600_000)
  })
})
