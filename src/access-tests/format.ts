/**
 * Access test files (shared/access-tests/README.md): a customer tree, the starting grants and
 * steps whose outcome is asserted. This module reads one into a checked plan with line numbers.
 */
import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { z } from 'zod'
import { loadCatalogFile, loadPreset, presetIds } from '../catalog/load.ts'
import { parseYaml, type SourceIssue, type YamlSource } from '../catalog/yaml-source.ts'
import type { Catalog } from '../domain/catalog.ts'
import { NODE_KINDS, type NodeKind } from '../domain/tree.ts'

const Id = z.string().min(1)
const Expect = z.enum(['allow', 'deny'], { message: 'expect is allow or deny' })
const Instant = z.union([z.iso.datetime({ offset: true }), z.iso.date()])

const Service = z.union([
  Id,
  z.strictObject({ id: Id, type: z.string().min(1).optional(), name: z.string().optional() }),
])
interface AccountShape {
  id: string
  name?: string | undefined
  services?: z.infer<typeof Service>[] | undefined
  accounts?: AccountShape[] | undefined
}
const Account: z.ZodType<AccountShape> = z.lazy(() =>
  z.strictObject({
    id: Id,
    name: z.string().optional(),
    services: z.array(Service).optional(),
    accounts: z.array(Account).optional(),
  }),
)
const Customer = z.strictObject({
  customer: Id,
  name: z.string().optional(),
  accounts: z.array(Account).optional(),
  services: z.array(Service).optional(),
})
const GrantSpec = z.strictObject({
  person: Id,
  role: Id,
  scope: Id,
  options: z.array(Id).optional(),
  expires: Instant.optional(),
})
const Step = z.union([
  z.strictObject({ check: z.tuple([Id, Id, Id]), expect: Expect }),
  z.strictObject({
    list: z.tuple([Id, Id, z.enum(NODE_KINDS as [NodeKind, ...NodeKind[]])]),
    expect: z.array(Id),
  }),
  z.strictObject({ grant: GrantSpec.extend({ by: Id }), expect: Expect }),
  z.strictObject({ revoke: z.strictObject({ by: Id, person: Id, role: Id, scope: Id }), expect: Expect }),
])
const TestFile = z
  .strictObject({
    preset: z.string().optional(),
    catalog: z.string().optional(),
    now: Instant.optional(),
    tree: z.array(Customer).min(1),
    grants: z.array(GrantSpec).default([]),
    steps: z.array(Step).min(1),
  })
  .refine((f) => (f.preset === undefined) !== (f.catalog === undefined), {
    message: 'give exactly one of preset or catalog',
    path: ['preset'],
  })

export type StepSpec = z.infer<typeof Step>
export type GrantSpecT = z.infer<typeof GrantSpec>

export interface TreeNodeSpec {
  id: string
  kind: NodeKind
  parent: string | null
  serviceType?: string
  line: number
}

export interface AccessTestPlan {
  file: string
  catalog: Catalog
  /** Fixed clock for the run, so expiries give the same answer every time. */
  now: number
  nodes: TreeNodeSpec[]
  grants: (GrantSpecT & { line: number })[]
  steps: (StepSpec & { line: number; index: number })[]
}

export type PlanResult = { ok: true; plan: AccessTestPlan } | { ok: false; issues: SourceIssue[] }

export function readAccessTest(text: string, file: string, now = Date.now()): PlanResult {
  const parsed = parseYaml(text, file)
  if (!parsed.ok) return parsed
  const src = parsed.source
  const shape = TestFile.safeParse(src.value)
  if (!shape.success) {
    return {
      ok: false,
      issues: shape.error.issues.map((i) =>
        src.issue(
          i.path.filter((p): p is string | number => typeof p !== 'symbol'),
          unionMessage(i, src),
        ),
      ),
    }
  }
  const f = shape.data
  const issues: SourceIssue[] = []

  let catalog: Catalog | undefined
  if (f.preset !== undefined) {
    if (presetIds().includes(f.preset)) catalog = loadPreset(f.preset)
    else
      issues.push(
        src.issue(['preset'], `unknown preset ${f.preset}; shipped presets: ${presetIds().join(', ')}`),
      )
  } else if (f.catalog !== undefined) {
    const path = resolve(dirname(file), f.catalog)
    if (!existsSync(path)) issues.push(src.issue(['catalog'], `no catalog file at ${path}`))
    else {
      const loaded = loadCatalogFile(path)
      if (loaded.ok) catalog = loaded.catalog
      else issues.push(...loaded.issues)
    }
  }
  if (!catalog) return { ok: false, issues }

  const nodes: TreeNodeSpec[] = []
  const kinds = new Map<string, NodeKind>()
  const addNode = (node: TreeNodeSpec, path: (string | number)[]) => {
    if (kinds.has(node.id))
      issues.push(src.issue(path, `id ${node.id} is used twice; ids are unique across the file`))
    else {
      kinds.set(node.id, node.kind)
      nodes.push(node)
    }
  }
  const walkServices = (
    list: z.infer<typeof Service>[] | undefined,
    parent: string,
    path: (string | number)[],
  ) => {
    list?.forEach((s, i) => {
      const at = [...path, 'services', i]
      const spec: TreeNodeSpec =
        typeof s === 'string'
          ? { id: s, kind: 'service', parent, line: src.lineOf(at) }
          : { id: s.id, kind: 'service', parent, line: src.lineOf(at) }
      if (typeof s !== 'string' && s.type) spec.serviceType = s.type
      addNode(spec, typeof s === 'string' ? at : [...at, 'id'])
    })
  }
  const walkAccounts = (list: AccountShape[] | undefined, parent: string, path: (string | number)[]) => {
    list?.forEach((a, i) => {
      const at = [...path, 'accounts', i]
      addNode({ id: a.id, kind: 'account', parent, line: src.lineOf(at) }, [...at, 'id'])
      walkServices(a.services, a.id, at)
      walkAccounts(a.accounts, a.id, at)
    })
  }
  f.tree.forEach((c, i) => {
    const at = ['tree', i]
    addNode({ id: c.customer, kind: 'customer', parent: null, line: src.lineOf(at) }, [...at, 'customer'])
    walkServices(c.services, c.customer, at)
    walkAccounts(c.accounts, c.customer, at)
  })

  const cat = catalog
  const knownNode = (id: string, path: (string | number)[]) => {
    if (!kinds.has(id)) issues.push(src.issue(path, `there is no node ${id} in the tree`))
  }
  const knownRole = (id: string, options: string[] | undefined, path: (string | number)[]) => {
    const role = cat.role(id)
    if (!role) {
      issues.push(
        src.issue(
          [...path, 'role'],
          `${id} is not a role of ${cat.id}; roles: ${cat.roles.map((r) => r.id).join(', ')}`,
        ),
      )
      return
    }
    options?.forEach((o, j) => {
      if (!role.options.has(o)) {
        const known = [...role.options.keys()]
        issues.push(
          src.issue(
            [...path, 'options', j],
            `${id} has no option ${o}${known.length ? `; options: ${known.join(', ')}` : ''}`,
          ),
        )
      }
    })
  }
  const knownPermission = (p: string, path: (string | number)[]) => {
    if (cat.bit(p) === 0) issues.push(src.issue(path, `${p} is not a permission of ${cat.id}`))
  }

  f.grants.forEach((g, i) => {
    const at = ['grants', i]
    knownNode(g.scope, [...at, 'scope'])
    knownRole(g.role, g.options, at)
    const role = cat.role(g.role)
    const kind = kinds.get(g.scope)
    if (role && kind && role.scope !== kind)
      issues.push(
        src.issue([...at, 'scope'], `${g.role} is granted on a ${role.scope}; ${g.scope} is a ${kind}`),
      )
  })

  f.steps.forEach((s, i) => {
    const at = ['steps', i]
    if ('check' in s) {
      knownPermission(s.check[1], [...at, 'check', 1])
      knownNode(s.check[2], [...at, 'check', 2])
    } else if ('list' in s) {
      knownPermission(s.list[1], [...at, 'list', 1])
      s.expect.forEach((id, j) => {
        knownNode(id, [...at, 'expect', j])
      })
    } else if ('grant' in s) {
      knownNode(s.grant.scope, [...at, 'grant', 'scope'])
      knownRole(s.grant.role, s.grant.options, [...at, 'grant'])
    } else {
      knownNode(s.revoke.scope, [...at, 'revoke', 'scope'])
      knownRole(s.revoke.role, undefined, [...at, 'revoke'])
    }
  })

  if (issues.length > 0) return { ok: false, issues }
  return {
    ok: true,
    plan: {
      file,
      catalog: cat,
      now: f.now ? Date.parse(f.now) : now,
      nodes,
      grants: f.grants.map((g, i) => ({ ...g, line: src.lineOf(['grants', i]) })),
      steps: f.steps.map((s, i) => ({ ...s, line: src.lineOf(['steps', i]), index: i + 1 })),
    },
  }
}

/** A step matches none of the union's shapes: say which kind of step it looked like. */
function unionMessage(issue: z.core.$ZodIssue, src: YamlSource): string {
  if (issue.code !== 'invalid_union') return issue.message
  const value = issue.path.reduce<unknown>(
    (v, k) =>
      v && typeof v === 'object' ? (v as Record<string | number, unknown>)[k as string | number] : undefined,
    src.value,
  )
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value)
    const kind = keys.find((k) => ['check', 'list', 'grant', 'revoke'].includes(k))
    if (!kind) return `a step is one of check, list, grant or revoke (found: ${keys.join(', ') || 'nothing'})`
    if (!keys.includes('expect')) return `the ${kind} step has no expect`
    const forms: Record<string, string> = {
      check: 'check: [person, permission, node] with expect: allow|deny',
      list: 'list: [person, permission, customer|account|service] with expect: [node, ...]',
      grant: 'grant: {by, person, role, scope, options?, expires?} with expect: allow|deny',
      revoke: 'revoke: {by, person, role, scope} with expect: allow|deny',
    }
    return `malformed ${kind} step; the form is ${forms[kind]}`
  }
  return issue.message
}
