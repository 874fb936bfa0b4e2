/** Running an access test plan against the engine. Pure: returns results, prints nothing. */
import { AccessEngine, type GrantDraft } from '../domain/engine.ts'
import { CustomerTree } from '../domain/tree.ts'
import type { AccessTestPlan, StepSpec } from './format.ts'

export interface StepFailure {
  file: string
  line: number
  step: number
  what: string
  expected: string
  actual: string
  explanation: string
}

export interface RunResult {
  passed: number
  failed: StepFailure[]
}

export function buildEngine(plan: AccessTestPlan): AccessEngine {
  const tree = new CustomerTree()
  for (const n of plan.nodes) {
    if (n.kind === 'customer') tree.addCustomer(n.id)
    else if (n.kind === 'account') tree.addAccount(n.id, n.parent as string)
    else tree.addService(n.id, n.parent as string, n.serviceType)
  }
  return new AccessEngine(plan.catalog, tree, { clock: () => plan.now })
}

let ids = 0
const nextId = () => `g${++ids}`

export type StartResult = { ok: true; engine: AccessEngine } | { ok: false; line: number; message: string }

/** The file's starting state; a limit broken here is an error in the file, not a step failure. */
export function start(plan: AccessTestPlan): StartResult {
  const engine = buildEngine(plan)
  for (const g of plan.grants) {
    try {
      engine.addGrant({
        id: nextId(),
        person: g.person,
        role: g.role,
        scope: g.scope,
        options: g.options ?? [],
        expiresAt: g.expires ? Date.parse(g.expires) : null,
        grantedBy: 'operator',
      })
    } catch (e) {
      return { ok: false, line: g.line, message: (e as Error).message }
    }
  }
  return { ok: true, engine }
}

export function runPlan(plan: AccessTestPlan, engine: AccessEngine): RunResult {
  const result: RunResult = { passed: 0, failed: [] }
  for (const step of plan.steps) {
    const outcome = runStep(engine, step)
    if (outcome.pass) result.passed++
    else
      result.failed.push({
        file: plan.file,
        line: step.line,
        step: step.index,
        what: describe(step),
        expected: outcome.expected,
        actual: outcome.actual,
        explanation: outcome.explanation,
      })
  }
  return result
}

interface Outcome {
  pass: boolean
  expected: string
  actual: string
  explanation: string
}

function verdict(expect: 'allow' | 'deny', allowed: boolean, explanation: string): Outcome {
  const actual = allowed ? 'allow' : 'deny'
  return { pass: actual === expect, expected: expect, actual, explanation }
}

function runStep(engine: AccessEngine, step: StepSpec): Outcome {
  if ('check' in step) {
    const [person, permission, node] = step.check
    const e = engine.explain(person, permission, node)
    return verdict(step.expect, engine.check(person, permission, node), e.reason)
  }
  if ('list' in step) {
    const [person, permission, kind] = step.list
    const got = [...engine.listAll(person, permission, kind)]
    const want = new Set(step.expect)
    const missing = step.expect.filter((id) => !got.includes(id))
    const extra = got.filter((id) => !want.has(id))
    const pass = missing.length === 0 && extra.length === 0 && got.length === new Set(got).size
    const explanation = [
      missing.length ? `missing ${missing.join(', ')}` : '',
      extra.length
        ? `unexpected ${extra.map((id) => `${id} (${engine.explain(person, permission, id).reason})`).join(', ')}`
        : '',
    ]
      .filter(Boolean)
      .join('; ')
    return { pass, expected: `[${step.expect.join(', ')}]`, actual: `[${got.join(', ')}]`, explanation }
  }
  if ('grant' in step) {
    const { by, ...g } = step.grant
    const draft: GrantDraft = {
      person: g.person,
      role: g.role,
      scope: g.scope,
      options: g.options ?? [],
      expiresAt: g.expires ? Date.parse(g.expires) : null,
    }
    const d = engine.canGrant(by, draft)
    if (d.allowed) {
      for (const r of d.replaces) engine.removeGrant(r.id)
      engine.addGrant({ ...draft, id: nextId(), grantedBy: by })
    }
    return verdict(step.expect, d.allowed, d.reason)
  }
  const { by, person, role, scope } = step.revoke
  const existing = engine.findGrant(person, role, scope)
  if (!existing) return verdict(step.expect, false, `${person} holds no ${role} on ${scope}`)
  const d = engine.canRevoke(by, existing.id)
  if (d.allowed) engine.removeGrant(existing.id)
  return verdict(step.expect, d.allowed, d.reason)
}

export function describe(step: StepSpec): string {
  if ('check' in step) return `check [${step.check.join(', ')}]`
  if ('list' in step) return `list [${step.list.join(', ')}]`
  if ('grant' in step) {
    const g = step.grant
    return `grant ${g.role}${g.options?.length ? ` (${g.options.join(', ')})` : ''} on ${g.scope} to ${g.person} by ${g.by}`
  }
  const r = step.revoke
  return `revoke ${r.role} on ${r.scope} from ${r.person} by ${r.by}`
}
