/**
 * Smoke test of the benchmark's workload generator (bench/generate.ts): a small customer has the
 * requested shape, and the engine agrees with the naive baseline on its queries. No timing here.
 */
import { describe, expect, it } from 'vitest'
import {
  buildBaseline,
  buildTree,
  compareAnswers,
  generateCustomer,
  loadGrants,
  makeGrantOps,
  makeQueries,
  Rng,
} from '../bench/generate.ts'
import { loadPreset } from '../src/catalog/load.ts'
import { AccessEngine } from '../src/domain/engine.ts'

const catalog = loadPreset('o2-cz')
const size = { accounts: 120, services: 1_500, people: 400 }

function setup(seed = 7) {
  const spec = generateCustomer({ ...size, seed })
  const tree = buildTree(spec)
  const engine = new AccessEngine(catalog, tree)
  loadGrants(spec, engine)
  return { spec, tree, engine }
}

describe('benchmark generator', () => {
  it('builds a customer with the requested accounts, services and people', () => {
    const { spec, tree, engine } = setup()
    const kinds = { customer: 0, account: 0, service: 0 }
    let deepest = 0
    for (let n = 0; n < tree.size; n++) {
      kinds[tree.kindAt(n)]++
      if (tree.kindAt(n) === 'account') deepest = Math.max(deepest, tree.depthAt(n))
    }
    expect(kinds).toEqual({ customer: 1, account: size.accounts, service: size.services })
    expect(deepest).toBe(4)

    const people = new Set(spec.grants.map((g) => g.person))
    expect(people.size).toBe(size.people)
    for (const mine of spec.grantsOf) {
      expect(mine.length).toBeGreaterThanOrEqual(1)
      expect(mine.length).toBeLessThanOrEqual(3)
    }
    expect(engine.grantCount).toBe(spec.grants.length)
    expect(spec.grants.filter((g) => g.role === 'primary-admin')).toHaveLength(1)
    // Grants at every level: customer, account (every depth) and service.
    const levels = new Set(spec.grants.map((g) => tree.kindAt(g.node)))
    expect(levels).toEqual(new Set(['customer', 'account', 'service']))
    const accountDepths = new Set(
      spec.grants.filter((g) => tree.kindAt(g.node) === 'account').map((g) => tree.depthAt(g.node)),
    )
    expect(accountDepths).toEqual(new Set([1, 2, 3, 4]))
  })

  it('is deterministic for a seed', () => {
    const a = generateCustomer({ ...size, seed: 3 })
    const b = generateCustomer({ ...size, seed: 3 })
    expect(Array.from(a.parent)).toEqual(Array.from(b.parent))
    expect(a.grants).toEqual(b.grants)
    expect(new Rng(9).u32()).toBe(new Rng(9).u32())
  })

  it('gives the same answers from the engine and the naive baseline', () => {
    const { spec, engine } = setup()
    const baseline = buildBaseline(spec, catalog)
    const queries = makeQueries(spec, catalog, 5_000, 11)
    const result = compareAnswers(engine, baseline, queries)
    expect(result.mismatches).toBe(0)
    // A mix of answers, not all one way.
    expect(result.allowed).toBeGreaterThan(queries.length * 0.1)
    expect(result.allowed).toBeLessThan(queries.length * 0.9)
  })

  it('makes grant changes the engine accepts and takes back', () => {
    const { spec, engine } = setup()
    const before = engine.grantCount
    for (const op of makeGrantOps(spec, engine, 500)) {
      engine.addGrant(op)
      engine.removeGrant(op.id)
    }
    expect(engine.grantCount).toBe(before)
  })
})
