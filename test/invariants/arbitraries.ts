/**
 * Generators for the invariant suites: a preset, a customer tree, people, starting grants and a
 * sequence of operations by random actors.
 *
 * Everything that refers to state (a person, a node, a role, an existing grant) is generated as a
 * plain number and resolved against the state when the step runs (modulo the number of
 * candidates). That keeps every generated value valid whatever came before, and lets fast-check
 * shrink sequences by dropping steps and numbers towards 0.
 */
import fc from 'fast-check'

export const PRESETS = ['nos-pt', 'o2-cz', 'ovh', 'sk-isp', 'tim-business'] as const
export type PresetId = (typeof PRESETS)[number]

/**
 * numRuns for a pass, times INVARIANT_RUNS_SCALE (default 1) for a longer search,
 * e.g. `INVARIANT_RUNS_SCALE=20 npx vitest run test/invariants`.
 */
export function runs(n: number): number {
  const scale = Number(process.env.INVARIANT_RUNS_SCALE ?? '1')
  return Math.max(1, Math.round(n * (Number.isFinite(scale) && scale > 0 ? scale : 1)))
}

/** The clock starts here; expiries are given in seconds around it. */
export const T0 = 1_000_000_000

export interface TreeSpec {
  customers: number
  /**
   * Nodes added after the customers, in order. `pick` chooses the parent among the nodes that can
   * still take a child (not services, depth below 6), counting back from the most recent: 0
   * makes chains (deep trees), large values spread out (wide trees).
   */
  nodes: { service: boolean; pick: number }[]
}

export interface StartGrantSpec {
  person: number
  role: number
  node: number
  options: number
  /** Seconds from T0, negative for a grant already expired at the start; null for no expiry. */
  expires: number | null
}

export interface Query {
  person: number
  permission: number
  node: number
}

export interface ListQuery {
  person: number
  permission: number
  kind: number
  /** Page sizes, used in turn. */
  limits: number[]
}

export interface Probe {
  queries: Query[]
  list: ListQuery
}

export type OpSpec =
  | {
      t: 'grant'
      actor: number
      person: number
      role: number
      node: number
      /** Take the node from all nodes rather than from those of the role's kind (often the wrong kind). */
      anyNode: boolean
      options: number
      badOption: boolean
      /** Seconds from now (negative: already past), or null. */
      expires: number | null
    }
  | { t: 'revoke'; actor: number; grant: number }
  | {
      t: 'change'
      actor: number
      grant: number
      role: number | null
      node: number | null
      options: number | null
      expires: number | null | undefined
    }
  | { t: 'active'; person: number; active: boolean }
  | { t: 'tick'; seconds: number }
  /** The operator imports one more node (parent chosen as in TreeSpec). */
  | { t: 'node'; service: boolean; pick: number }

export interface Step {
  op: OpSpec
  probe: Probe
}

export interface Scenario {
  preset: PresetId
  /** People p0 … p(n-1); index n names a stranger with no grants. */
  people: number
  tree: TreeSpec
  /** Per customer, the holder of the preset's limited role (primary admin, owner, …), if any. */
  limitedHolders: (number | null)[]
  grants: StartGrantSpec[]
  steps: Step[]
}

export interface Sizes {
  nodes: [number, number]
  people: [number, number]
  grants: [number, number]
  steps: [number, number]
  queries: [number, number]
}

export const SMALL: Sizes = {
  nodes: [0, 40],
  people: [1, 7],
  grants: [0, 14],
  steps: [0, 25],
  queries: [1, 6],
}

export const MEDIUM: Sizes = {
  nodes: [100, 400],
  people: [2, 6],
  grants: [10, 40],
  steps: [5, 25],
  queries: [2, 6],
}

export const LARGE: Sizes = {
  nodes: [1000, 4000],
  people: [3, 7],
  grants: [20, 60],
  steps: [5, 12],
  queries: [2, 6],
}

const pick = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.nat({ max: 3 }) },
  { weight: 4, arbitrary: fc.nat({ max: 10_000 }) },
)

const idx = fc.nat({ max: 1_000 })

/** null `nullWeight` times in `nullWeight + 1` draws; shrinks to null. */
const mostlyNull = <T>(a: fc.Arbitrary<T>, nullWeight: number) =>
  fc.oneof({ weight: nullWeight, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: a })

/** True about once in `n` draws; shrinks to false. */
const rarely = (n: number) =>
  fc.oneof({ weight: n - 1, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) })

export function treeSpec(s: Sizes): fc.Arbitrary<TreeSpec> {
  return fc.record({
    customers: fc.integer({ min: 1, max: 3 }),
    nodes: fc.array(fc.record({ service: fc.boolean(), pick }), {
      minLength: s.nodes[0],
      maxLength: s.nodes[1],
    }),
  })
}

const expiry = mostlyNull(fc.integer({ min: -5, max: 20 }), 2)

const query: fc.Arbitrary<Query> = fc.record({ person: idx, permission: idx, node: idx })

function probe(s: Sizes): fc.Arbitrary<Probe> {
  return fc.record({
    queries: fc.array(query, { minLength: s.queries[0], maxLength: s.queries[1] }),
    list: fc.record({
      person: idx,
      permission: idx,
      kind: fc.nat({ max: 2 }),
      limits: fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 4 }),
    }),
  })
}

export const op: fc.Arbitrary<OpSpec> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant('grant' as const),
      actor: idx,
      person: idx,
      role: idx,
      node: idx,
      anyNode: rarely(12),
      options: fc.nat({ max: 3 }),
      badOption: rarely(25),
      expires: expiry,
    }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('revoke' as const), actor: idx, grant: idx }) },
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('change' as const),
      actor: idx,
      grant: idx,
      role: mostlyNull(idx, 3),
      node: mostlyNull(idx, 2),
      options: fc.option(fc.nat({ max: 3 }), { nil: null }),
      expires: fc.oneof(fc.constant(undefined), expiry),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('active' as const), person: idx, active: fc.boolean() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('tick' as const), seconds: fc.integer({ min: 1, max: 8 }) }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('node' as const), service: fc.boolean(), pick }) },
)

export function scenario(s: Sizes, presets: readonly PresetId[] = PRESETS): fc.Arbitrary<Scenario> {
  return fc.record({
    // o2-cz has the richest delegation (options, may_grant that differ by role), so it comes up more.
    preset: fc.oneof(...presets.map((p) => ({ weight: p === 'o2-cz' ? 3 : 1, arbitrary: fc.constant(p) }))),
    people: fc.integer({ min: s.people[0], max: s.people[1] }),
    tree: treeSpec(s),
    limitedHolders: fc.array(fc.option(idx, { nil: null, freq: 6 }), { minLength: 3, maxLength: 3 }),
    grants: fc.array(
      fc.record({ person: idx, role: idx, node: idx, options: fc.nat({ max: 3 }), expires: expiry }),
      { minLength: s.grants[0], maxLength: s.grants[1] },
    ),
    steps: fc.array(fc.record({ op, probe: probe(s) }), { minLength: s.steps[0], maxLength: s.steps[1] }),
  })
}
