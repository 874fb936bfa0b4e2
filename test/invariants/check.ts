/** Shared assertions of the invariant suites: the engine against the reference, step by step. */
import type { AccessEngine } from '../../src/domain/engine.ts'
import { type Probe, type Scenario, T0 } from './arbitraries.ts'
import type { Kind, Reference, RefGrant } from './reference.ts'
import { SECOND, type StepRecord, show, World, type WorldOptions } from './world.ts'

export class Mismatch extends Error {}

export function fail(message: string): never {
  throw new Mismatch(message)
}

export function sameGrants(a: readonly RefGrant[], b: readonly RefGrant[]): boolean {
  const key = (g: RefGrant) =>
    JSON.stringify([g.id, g.person, g.role, g.scope, [...g.options].sort(), g.expiresAt])
  const x = a.map(key).sort()
  const y = b.map(key).sort()
  return x.length === y.length && x.every((k, i) => k === y[i])
}

/** Follow `next` from the start with page sizes taken in turn; checks each page on the way. */
export function pages(
  engine: AccessEngine,
  person: string,
  permission: string,
  kind: Kind,
  limits: readonly number[],
  context: () => string,
): string[] {
  const what = `list(${person}, ${permission}, ${kind}) with page sizes ${limits}`
  const out: string[] = []
  let after: string | null = null
  for (let i = 0; ; i++) {
    const limit = limits[i % limits.length] as number
    const page = engine.list(person, permission, kind, { after, limit })
    if (page.nodes.length > limit)
      fail(`${what}: a page of ${page.nodes.length} nodes for limit ${limit}\n${context()}`)
    if (page.next !== null && page.next !== page.nodes.at(-1))
      fail(`${what}: next ${page.next} is not the last node of the page\n${context()}`)
    if (page.nodes.length === 0 && i > 0)
      fail(`${what}: an empty page after a page that promised more\n${context()}`)
    out.push(...page.nodes)
    if (page.next === null) return out
    if (i > 100_000) fail(`${what}: never ends`)
    after = page.next
  }
}

/** check / explain / list of the engine against the reference, for one step's probe. */
export function compareReads(world: World, probe: Probe, context: () => string): void {
  const { engine, ref } = world
  for (const q of probe.queries) {
    const person = world.person(q.person)
    const permission = world.permission(q.permission)
    const node = world.node(q.node)
    compareOne(engine, ref, person, permission, node, context)
  }
  const l = probe.list
  const person = world.person(l.person)
  const permission = world.permission(l.permission)
  const kind = world.kind(l.kind)
  const paged = pages(engine, person, permission, kind, l.limits, context)
  const all = [...engine.listAll(person, permission, kind)]
  const expected = ref.list(person, permission, kind)
  if (new Set(paged).size !== paged.length) fail(`list pages repeat nodes: ${paged.join(',')}\n${context()}`)
  if (paged.join(',') !== all.join(','))
    fail(
      `list pages (${l.limits}) ≠ listAll for ${person} ${permission} ${kind}:\n pages ${paged.join(',')}\n all   ${all.join(',')}\n${context()}`,
    )
  if (all.join(',') !== expected.join(','))
    fail(
      `listAll ≠ reference for ${person} ${permission} ${kind}:\n engine    ${all.join(',')}\n reference ${expected.join(',')}\n${context()}`,
    )
}

export function compareOne(
  engine: AccessEngine,
  ref: Reference,
  person: string,
  permission: string,
  node: string,
  context: () => string,
): void {
  const got = engine.check(person, permission, node)
  const want = ref.check(person, permission, node)
  if (got !== want)
    fail(`check(${person}, ${permission}, ${node}): engine ${got}, reference ${want}\n${context()}`)
  const why = engine.explain(person, permission, node)
  if (why.allowed !== got)
    fail(
      `explain(${person}, ${permission}, ${node}).allowed is ${why.allowed}, check is ${got}\n${context()}`,
    )
  if (got) {
    const g = why.grant
    if (g === null)
      fail(`explain allowed ${person} ${permission} ${node} without naming a grant\n${context()}`)
    const r = ref.grants.find((x) => x.id === g.id)
    if (
      !r ||
      r.person !== person ||
      !ref.isLive(r) ||
      !ref.upToRoot(node).includes(r.scope) ||
      !ref.rolePermissions(r.role, r.options).has(permission)
    )
      fail(
        `explain names grant ${JSON.stringify(g)}, which does not give ${permission} on ${node}\n${context()}`,
      )
  } else if (why.grant !== null) fail(`explain refused but named grant ${why.grant.id}\n${context()}`)
}

/** Every (person, permission, node), for small trees at the end of a sequence. */
export function compareEverything(world: World, context: () => string): void {
  for (const person of world.people)
    for (const permission of [...world.permissions, 'made.up'])
      for (const n of world.nodes) compareOne(world.engine, world.ref, person, permission, n.id, context)
}

/** Runs the scenario; `each` sees the world after every step. Keeps a readable log for messages. */
export function run(
  scenario: Scenario,
  options: WorldOptions,
  hooks: {
    start?: (w: World) => void
    /** Sees the step decided but not applied; `log` ends with the step. */
    before?: (w: World, r: StepRecord, log: () => string) => void
    after?: (w: World, r: StepRecord, i: number, log: () => string) => void
    end?: (w: World, log: () => string) => void
  },
): World {
  const world = new World(scenario, options)
  const lines: string[] = []
  const startNodes = [...world.nodes]
  const start = world
    .refGrants()
    .map(
      (g) =>
        `${g.id} ${g.person} ${g.role}${g.options.length ? `+${g.options}` : ''} on ${g.scope}${g.expiresAt === null ? '' : ` until t=${(g.expiresAt - T0) / SECOND}s`}`,
    )
  const log = () =>
    [
      `preset ${scenario.preset}, ${startNodes.length} nodes at the start, people ${world.people.join(' ')}`,
      startNodes.length <= 60
        ? `tree (child<parent): ${startNodes.map((n) => `${n.id}<${n.parent ?? ''}`).join(' ')}`
        : '(tree too big to print)',
      `starting grants: ${start.join('; ') || '(none)'}`,
      `steps (now t=${(world.now - T0) / SECOND}s):`,
      ...lines.map((l) => `  ${l}`),
    ].join('\n')
  hooks.start?.(world)
  scenario.steps.forEach((s, i) => {
    const line = (r: StepRecord) =>
      `${show(r.action)} → engine ${r.engine ? `${r.engine.allowed} ${r.engine.code}` : '-'}, reference ${r.ref ? `${r.ref.allowed} ${r.ref.why}` : '-'}`
    const r = world.step(s.op, (rec) => {
      lines.push(line(rec))
      hooks.before?.(world, rec, log)
    })
    hooks.after?.(world, r, i, log)
  })
  hooks.end?.(world, log)
  return world
}
