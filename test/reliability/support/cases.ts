/**
 * Requests derived from an operation's schema: the valid one (with the world's real ids, so that
 * only validation stands between a malformed request and a change), and the malformed ones the
 * bad-input suite sends, each with what it expects: refused (4xx naming the field) or merely
 * handled (any answer but a 5xx – hostile text in a free-text field may well be accepted).
 */
import { randomBytes } from 'node:crypto'
import {
  fieldName,
  fieldsOf,
  HOSTILE,
  main,
  ONE_MB,
  type Operation,
  objectsOf,
  type Path,
  type Schema,
  setAt,
  typeOf,
  urlOf,
  validValue,
  wrongTypes,
} from './openapi.ts'
import { type Auth, PASSWORD, type Request, randomId, type Side, type World } from './world.ts'

/** Names of inputs that carry an id of something a customer owns. */
export const ID_NAMES = new Set(['customer', 'person', 'node', 'scope', 'grant', 'parent', 'id'])

/**
 * Bodies that take fields the schema does not list, on purpose: an import is read row by row so
 * that every bad row is reported at once. Every other object with listed fields must refuse others.
 */
export const OPEN_BY_DESIGN = new Set(['importTree body'])

export interface Case {
  op: Operation
  label: string
  expect: 'refuse' | 'any'
  /** The field a refusal must name (any of these, or a field inside one). */
  field?: string[]
  req: Request
}

export function authFor(world: World, op: Operation, side: Side = world.a): Auth {
  if (op.auth === 'operator') return 'operator'
  if (op.auth === 'decision') return 'decision'
  // Public routes that also take a session (contact-change approval) are tried with one.
  if (op.auth === 'session' || op.path.includes('/contact-changes/')) return { session: side.session }
  return 'none'
}

function fits(value: unknown, s: Schema): boolean {
  if (Array.isArray(s.enum)) return s.enum.includes(value)
  const t = s.type
  if (t === 'string') {
    if (typeof value !== 'string') return false
    if (s.minLength !== undefined && value.length < s.minLength) return false
    if (s.maxLength !== undefined && value.length > s.maxLength) return false
    if (s.pattern && !new RegExp(s.pattern, 'u').test(value)) return false
    return true
  }
  if (t === 'integer' || t === 'number') return typeof value === 'number'
  if (t === 'boolean') return typeof value === 'boolean'
  return false
}

/** Good values by input name, for one side of the world and one operation. */
export function goodValues(world: World, op: Operation, side: Side) {
  const operator = op.auth === 'operator'
  const values: Record<string, unknown> = {
    person:
      op.auth === 'decision'
        ? side.people.admin.id
        : operator
          ? world.sandbox.person.id
          : side.people.victim.id,
    id: world.sandbox.person.id,
    node: op.auth === 'decision' ? side.services[0] : side.accounts[0],
    scope: side.scopes[2],
    parent: side.accounts[0],
    customer: operator ? world.sandbox.customer : side.customer,
    grant: side.grants.victim,
    permission: 'node.view',
    role: world.roles.service.id,
    new_contact: side.people.employee.login,
    token: `not-a-real-token-${randomBytes(8).toString('hex')}`,
    password: PASSWORD,
    current_password: PASSWORD,
    new_password: 'a different password 42',
    login: 'nobody-here',
    login_or_email: 'nobody@example.test',
    email: 'fresh-person@example.test',
    display_name: 'Fresh Person',
    name: 'Sandbox Two',
    contract_number: 'NO-SUCH-CONTRACT',
    reason: 'not ours',
    code: '123456',
    totp: '123456',
    q: 'HQ',
    metric: 'calls.minutes',
    actor: 'operator:nobody',
    action: 'grant.',
    limit: 10,
  }
  return (name: string, s: Schema): unknown => {
    const v = values[name]
    return v !== undefined && fits(v, s) ? v : undefined
  }
}

/** The real id a path parameter takes on this side (the sandbox's for the operator's routes). */
export function pathId(world: World, op: Operation, name: string, side: Side): string {
  const segments = op.path.split('/')
  const before = segments[segments.indexOf(`{${name}}`) - 1]
  if (op.auth === 'operator')
    switch (before) {
      case 'customers':
        return world.sandbox.customer
      case 'people':
        return world.sandbox.person.id
      case 'api-keys':
        return world.keys.spareId
      case 'account-requests':
        return world.accountRequests[0] ?? randomId()
      default:
        return randomId()
    }
  switch (before) {
    case 'customers':
      return side.customer
    case 'services':
      return side.services[0] as string
    case 'accounts':
      return side.accounts[0] as string
    case 'nodes':
      return side.accounts[0] as string
    case 'grants':
      return side.grants.victim
    case 'people':
      return side.people.victim.id
    case 'invitations':
      return side.invitations[0] ?? randomId()
    case 'contact-changes':
      return side.contactChanges[0] ?? randomId()
    default:
      return randomId()
  }
}

export interface Parts {
  path: Record<string, string>
  query: Record<string, unknown>
  /** undefined: no body. */
  body?: unknown
}

/** The valid request of an operation on a side: real ids, required query values, a valid body. */
export function validParts(world: World, op: Operation, side: Side = world.a): Parts {
  const good = goodValues(world, op, side)
  const path: Record<string, string> = {}
  const query: Record<string, unknown> = {}
  for (const p of op.params) {
    if (p.in === 'path') path[p.name] = pathId(world, op, p.name, side)
    else if (p.required) query[p.name] = validValue(p.schema, p.name, good)
  }
  const parts: Parts = { path, query }
  if (op.body) parts.body = validValue(op.body.schema, '', good)
  return parts
}

export function request(world: World, op: Operation, parts: Parts, extra: Partial<Request> = {}): Request {
  return {
    method: op.method,
    url: urlOf(op, parts.path, parts.query),
    auth: authFor(world, op),
    ...(parts.body !== undefined ? { payload: parts.body } : {}),
    ...extra,
  }
}

const lastName = (path: Path) => String([...path].reverse().find((k) => typeof k === 'string') ?? '')

/** Every malformed request of the suite for one operation. */
export function malformedCases(world: World, op: Operation): Case[] {
  const cases: Case[] = []
  const base = validParts(world, op)
  const add = (
    label: string,
    expect: Case['expect'],
    parts: Parts,
    field?: string[],
    extra?: Partial<Request>,
  ) => cases.push({ op, label, expect, ...(field ? { field } : {}), req: request(world, op, parts, extra) })
  const writes = op.method !== 'GET'

  // ---- the body as a whole
  if (writes) {
    const raw = (payload: string, contentType: string) => ({ payload, contentType })
    add('invalid JSON', 'refuse', { ...base, body: undefined }, ['body'], raw('{"a": ', 'application/json'))
    add('empty JSON body', 'refuse', { ...base, body: undefined }, ['body'], raw('', 'application/json'))
    add('XML body', 'refuse', { ...base, body: undefined }, undefined, raw('<a>1</a>', 'application/xml'))
  }
  if (op.body) {
    const bodyType = typeOf(op.body.schema)
    const multi = op.body.contentTypes.length > 1
    if (bodyType === 'object') {
      add('JSON as text/plain', 'refuse', { ...base, body: undefined }, multi ? undefined : ['body'], {
        payload: JSON.stringify(base.body),
        contentType: 'text/plain',
      })
      for (const [label, text] of [
        ['array body', '[]'],
        ['number body', '42'],
        ['string body', '"text"'],
        ...(op.body.required ? [['null body', 'null']] : []),
      ] as const)
        add(label, 'refuse', { ...base, body: undefined }, ['body'], {
          payload: text,
          contentType: 'application/json',
        })
    }

    // ---- each field
    const fields = fieldsOf(op.body.schema)
    for (const f of fields) {
      const name = fieldName('body', f.path)
      const anchor = [fieldName('body', f.anchor)]
      const at = (v: unknown, remove = false) => ({ ...base, body: setAt(base.body, f.path, v, remove) })
      if (f.required) add(`${name} missing`, 'refuse', at(undefined, true), anchor)
      for (const w of wrongTypes(f.schema)) add(`${name} = ${w.label}`, 'refuse', at(w.value), anchor)
      add(`${name} = null`, 'any', at(null))
      const s = main(f.schema)
      if (s.type === 'string') {
        add(`${name} = 1 MB`, s.maxLength !== undefined ? 'refuse' : 'any', at(ONE_MB), [...anchor, 'body'])
        add(`${name} = number`, 'any', at(12345))
        for (const h of HOSTILE) add(`${name} = ${JSON.stringify(h)}`, 'any', at(h))
      }
    }
    for (const o of objectsOf(op.body.schema)) {
      const p = [...o.path, 'zz_unknown']
      const name = fieldName('body', p)
      if (o.open && OPEN_BY_DESIGN.has(`${op.id} ${fieldName('body', o.path)}`)) continue
      const anchor = o.anchor.length === o.path.length ? name : fieldName('body', o.anchor)
      add(`${name} (unknown field)`, 'refuse', { ...base, body: setAt(base.body, p, 'x') }, [anchor])
    }
  }

  // ---- the query string
  const query = op.params.filter((p) => p.in === 'query')
  for (const p of query) {
    const name = `query.${p.name}`
    const at = (v: unknown) => ({ ...base, query: { ...base.query, [p.name]: v } })
    if (p.required) {
      const { [p.name]: _gone, ...rest } = base.query
      add(`${name} missing`, 'refuse', { ...base, query: rest }, [name])
    }
    const s = main(p.schema)
    const t = typeOf(p.schema)
    const wrong: string[] =
      t === 'integer' || t === 'number'
        ? ['abc', '1.5e999x', '-1']
        : t === 'boolean'
          ? ['maybe', '2']
          : Array.isArray(s.enum) || s.const !== undefined
            ? ['zz-not-in-the-list']
            : s.format === 'date-time'
              ? ['yesterday', '2025-13-45T99:00:00Z']
              : s.format === 'date'
                ? ['2025-13-45', 'today']
                : s.pattern
                  ? ['has space\u0001', '']
                  : s.minLength
                    ? ['']
                    : []
    for (const w of wrong) add(`${name} = ${JSON.stringify(w)}`, 'refuse', at(w), [name])
    if (t !== 'string' || s.enum) add(`${name} twice`, 'refuse', at(['1', '2']), [name])
    if (t === 'string' && !s.enum) {
      add(`${name} = 1 MB`, s.maxLength !== undefined ? 'refuse' : 'any', at(ONE_MB), [name])
      for (const h of HOSTILE) add(`${name} = ${JSON.stringify(h)}`, 'any', at(h))
    }
  }
  if (query.length > 0)
    add(
      'query.zz_unknown (unknown parameter)',
      'refuse',
      { ...base, query: { ...base.query, zz_unknown: '1' } },
      ['query.zz_unknown'],
    )

  // ---- the path: ids that do not exist, or cannot
  for (const p of op.params.filter((x) => x.in === 'path')) {
    const at = (v: string) => ({ ...base, path: { ...base.path, [p.name]: v } })
    add(`params.${p.name} = random id`, 'refuse', at(randomId()))
    add(`params.${p.name} = 1 MB`, 'refuse', at(ONE_MB))
    // Hostile ids may exist: an operator may have created a customer called "admin'--" a moment ago.
    for (const h of [...HOSTILE, ' ', '..', '%2e%2e'])
      add(`params.${p.name} = ${JSON.stringify(h)}`, 'any', at(h))
  }
  return cases
}

/**
 * The id-carrying inputs of a portal operation: each path parameter, and each query or body
 * field whose name says it holds an id. Each comes with how to put another value in it.
 */
export function idSlots(
  world: World,
  op: Operation,
): { label: string; kind: string; put: (v: string) => Request }[] {
  const base = validParts(world, op)
  const out: { label: string; kind: string; put: (v: string) => Request }[] = []
  const segments = op.path.split('/')
  for (const p of op.params) {
    if (p.in === 'path') {
      const before = segments[segments.indexOf(`{${p.name}}`) - 1] ?? ''
      out.push({
        label: `params.${p.name}`,
        kind: p.name === 'customer' ? 'customers' : before,
        put: (v) => request(world, op, { ...base, path: { ...base.path, [p.name]: v } }),
      })
    } else if (ID_NAMES.has(p.name))
      out.push({
        label: `query.${p.name}`,
        kind: p.name,
        put: (v) => request(world, op, { ...base, query: { ...base.query, [p.name]: v } }),
      })
  }
  if (op.body)
    for (const f of fieldsOf(op.body.schema)) {
      const n = lastName(f.path)
      if (ID_NAMES.has(n) && main(f.schema).type === 'string' && n !== 'id')
        out.push({
          label: fieldName('body', f.path),
          kind: n,
          put: (v) => request(world, op, { ...base, body: setAt(base.body, f.path, v) }),
        })
    }
  return out
}

/** Another customer's ids that fit a slot, by what the slot names. */
export function foreignIds(world: World, side: Side, kind: string): string[] {
  const ids = world.idsOf(side)
  switch (kind) {
    case 'customers':
    case 'customer':
      return ids.customer as string[]
    case 'services':
      return ids.service as string[]
    case 'accounts':
      return [side.customer, ...(ids.account as string[])]
    case 'nodes':
    case 'node':
    case 'scope':
    case 'parent':
      return [side.customer, ...(ids.account as string[]), ...(ids.service as string[])]
    case 'grants':
    case 'grant':
      return ids.grant as string[]
    case 'people':
    case 'person':
      return ids.person as string[]
    case 'invitations':
      return ids.invitation as string[]
    case 'contact-changes':
      return ids['contact-change'] as string[]
    default:
      return Object.values(ids).flat()
  }
}
