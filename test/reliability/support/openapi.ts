/**
 * The routes as the OpenAPI document describes them, and what the suites derive from their JSON
 * schemas: a valid request, the fields inside it, values of the wrong type, and fast-check
 * arbitraries shaped like the schema. Driven by /api/openapi.json, so a route added tomorrow is
 * covered without touching the suites.
 */
import fc from 'fast-check'
import type { World } from './world.ts'

// biome-ignore lint/suspicious/noExplicitAny: JSON Schema as the document gives it
export type Schema = Record<string, any>
export type Path = (string | number)[]

export type AuthKind = 'operator' | 'decision' | 'session' | 'public'

export interface Param {
  name: string
  in: 'path' | 'query'
  required: boolean
  schema: Schema
}

export interface Operation {
  method: string
  path: string
  id: string
  tags: string[]
  auth: AuthKind
  params: Param[]
  /** The JSON body schema, when the route takes a JSON body. */
  body?: { required: boolean; schema: Schema; contentTypes: string[] }
}

/** Routes the document hides (the mail catcher's pages, metrics) are not the API's. */
export const isHidden = (path: string) => path === '/metrics' || path.startsWith('/dev/')

const METHODS = ['get', 'post', 'put', 'patch', 'delete']

export async function loadOperations(world: World): Promise<Operation[]> {
  const r = await world.send({ method: 'GET', url: '/api/openapi.json', auth: 'none' })
  if (r.statusCode !== 200) throw new Error(`no OpenAPI document: ${r.statusCode}`)
  const doc = r.json()
  const ops: Operation[] = []
  for (const [path, item] of Object.entries<Schema>(doc.paths)) {
    if (isHidden(path)) continue
    for (const method of METHODS) {
      const op = item[method]
      if (!op) continue
      const security: Schema[] = op.security ?? []
      const schemes = security.flatMap((s) => Object.keys(s))
      const auth: AuthKind = path.startsWith('/api/v1/operator/')
        ? 'operator'
        : schemes.includes('apiKey')
          ? 'decision'
          : schemes.includes('session')
            ? 'session'
            : 'public'
      const content = op.requestBody?.content ?? {}
      const json = content['application/json']?.schema
      ops.push({
        method: method.toUpperCase(),
        path,
        id: op.operationId ?? `${method} ${path}`,
        tags: op.tags ?? [],
        auth,
        params: (op.parameters ?? []).map((p: Schema) => ({
          name: p.name,
          in: p.in,
          required: p.required === true,
          schema: p.schema ?? {},
        })),
        ...(json
          ? {
              body: {
                required: op.requestBody?.required === true,
                schema: json,
                contentTypes: Object.keys(content),
              },
            }
          : {}),
      })
    }
  }
  return ops
}

// ------------------------------------------------------------------------------ schema walking

/** The non-null branches of a schema (a nullable X is X). */
export function branches(s: Schema): Schema[] {
  if (Array.isArray(s.anyOf)) return s.anyOf.filter((b: Schema) => b.type !== 'null')
  return [s]
}

export const nullable = (s: Schema) =>
  Array.isArray(s.anyOf) && s.anyOf.some((b: Schema) => b.type === 'null')

/** The one schema the valid request uses: the first non-null branch. */
export const main = (s: Schema): Schema => branches(s)[0] ?? {}

export interface Field {
  path: Path
  schema: Schema
  required: boolean
  /** Where an error about this field is reported: the field, or the union it sits in (errors there are about the union). */
  anchor: Path
}

/** Every field of a body (or of a param's schema), depth first; an array's items as index 0. */
export function fieldsOf(schema: Schema, path: Path = [], anchor?: Path): Field[] {
  const out: Field[] = []
  const s = main(schema)
  const union = branches(schema).length > 1
  const here = anchor ?? (union ? path : undefined)
  if (s.type === 'object' && s.properties) {
    const required: string[] = s.required ?? []
    for (const [name, sub] of Object.entries<Schema>(s.properties)) {
      const p = [...path, name]
      const subUnion = branches(sub).length > 1
      const a = here ?? (subUnion ? p : undefined)
      out.push({ path: p, schema: sub, required: required.includes(name), anchor: a ?? p })
      out.push(...fieldsOf(sub, p, a))
    }
  } else if (s.type === 'array' && s.items && Object.keys(s.items).length > 0) {
    const p = [...path, 0]
    const a = here ?? (branches(s.items).length > 1 ? p : undefined)
    out.push({ path: p, schema: s.items, required: false, anchor: a ?? p })
    out.push(...fieldsOf(s.items, p, a))
  }
  return out
}

/**
 * The objects of a body that declare their properties, and whether they take others too
 * (additionalProperties not false): where an unknown field must be refused.
 */
export function objectsOf(schema: Schema, path: Path = []): { path: Path; anchor: Path; open: boolean }[] {
  const out: { path: Path; anchor: Path; open: boolean }[] = []
  for (const f of [{ path, schema, anchor: path }, ...fieldsOf(schema, path)]) {
    for (const s of branches(f.schema)) {
      if (s.type !== 'object' || !s.properties || Object.keys(s.properties).length === 0) continue
      out.push({
        path: f.path,
        anchor: branches(f.schema).length > 1 ? f.path : f.anchor,
        open: s.additionalProperties !== false,
      })
      break
    }
  }
  return out
}

export const typeOf = (s: Schema): string | undefined => {
  const m = main(s)
  if (m.enum || m.const !== undefined) return m.type ?? 'enum'
  return m.type
}

// ------------------------------------------------------------------------------ values

/** A value that satisfies the schema, from `good(name)` when it gives one. */
export function validValue(
  schema: Schema,
  name: string,
  good: (name: string, schema: Schema) => unknown,
): unknown {
  const s = main(schema)
  const g = good(name, s)
  if (g !== undefined) return g
  if (s.const !== undefined) return s.const
  if (Array.isArray(s.enum)) return s.enum[0]
  switch (s.type) {
    case 'object': {
      const out: Record<string, unknown> = {}
      for (const req of (s.required ?? []) as string[])
        out[req] = validValue(s.properties?.[req] ?? {}, req, good)
      return out
    }
    case 'array': {
      const n = Math.max(s.minItems ?? 0, 0)
      return Array.from({ length: n }, () => validValue(s.items ?? {}, name, good))
    }
    case 'integer':
    case 'number':
      return s.minimum ?? 1
    case 'boolean':
      return false
    case 'string':
      return stringFor(s)
    default:
      return {}
  }
}

function stringFor(s: Schema): string {
  if (s.format === 'date-time') return '2030-01-01T00:00:00.000Z'
  if (s.format === 'date') return '2025-03-01'
  if (typeof s.pattern === 'string' && s.pattern.includes('[0-9]{4}-')) return '2025-03'
  if (typeof s.pattern === 'string' && s.pattern.includes('@')) return 'someone@example.test'
  return 'x'.repeat(Math.max(s.minLength ?? 1, 1))
}

/** Values of a type the field does not take, which no coercion can turn into one it does. */
export function wrongTypes(schema: Schema): { label: string; value: unknown }[] {
  const types = new Set(branches(schema).map((b) => (b.enum && !b.type ? 'string' : b.type)))
  if (types.size === 0 || types.has(undefined)) return []
  const out: { label: string; value: unknown }[] = []
  const object = { label: 'object', value: { nested: { deep: 1 } } }
  const array = { label: 'array of two', value: [{ a: 1 }, { b: 2 }] }
  if (!types.has('object')) out.push(object)
  if (!types.has('array')) out.push(array)
  if (!types.has('string') && !types.has('array')) out.push({ label: 'word', value: 'not-a-number-or-flag' })
  if (types.has('array') && !types.has('object')) out.push({ label: 'object for array', value: { 0: 'x' } })
  if (types.has('object') && !types.has('number') && !types.has('integer') && !types.has('string'))
    out.push({ label: 'number for object', value: 42 })
  return out
}

/**
 * Strings that are valid JSON but hostile: SQL and HTML injection, and the corners of Unicode
 * (a lone surrogate, bidi override, NUL, emoji with joiners, stacked combining marks).
 */
export const INJECTIONS: readonly string[] = [
  "' OR '1'='1",
  "x'); DROP TABLE grants; --",
  '1; select pg_sleep(5)',
  "admin'--",
  '" OR ""="',
  '%27%20OR%201%3D1',
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '"><svg/onload=alert(1)>',
  'javascript:alert(1)',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, meant literally
  '{{7*7}}${7*7}',
  '../../../../etc/passwd',
]

export const UNICODE: readonly string[] = [
  '\ud800',
  'abc\udfffdef',
  '\u202eevil\u202c.exe',
  'nul\u0000byte',
  '\u0000',
  '👩‍👩‍👧‍👦🇨🇿',
  'Z̸̡̧̛̖̗̘̙̜̝̞̟̠̤̥̦̩̪̫̬̭̮̯̰̱̲̳̹̺̻̼ͅ͏͓͔͕͖͙͚͜͟͢',
  '\ufeff\u200b\u2028\u2029',
  '\u0007\u001b[31mred',
]

export const HOSTILE: readonly string[] = [...INJECTIONS, ...UNICODE]

export const ONE_MB = 'x'.repeat(1024 * 1024)

/** A fast-check arbitrary shaped like the schema (random strings, numbers, arrays), for fuzzing. */
export function arbitraryFor(schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  const bs = branches(schema)
  if (bs.length > 1 || nullable(schema))
    return fc.oneof(
      ...bs.map((b) => arbitraryFor(b, depth)),
      ...(nullable(schema) ? [fc.constant(null)] : []),
    )
  const s = bs[0] ?? {}
  if (s.const !== undefined) return fc.constant(s.const)
  if (Array.isArray(s.enum)) return fc.constantFrom(...s.enum)
  switch (s.type) {
    case 'object': {
      const props = Object.entries<Schema>(s.properties ?? {})
      if (props.length === 0 || depth > 3)
        return fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 })
      const required = new Set<string>(s.required ?? [])
      return fc.record(Object.fromEntries(props.map(([k, v]) => [k, arbitraryFor(v, depth + 1)])), {
        requiredKeys: props.map(([k]) => k).filter((k) => required.has(k)),
      })
    }
    case 'array':
      return fc.array(arbitraryFor(s.items ?? {}, depth + 1), { maxLength: 3 })
    case 'integer':
      return fc.oneof(fc.integer(), fc.integer({ min: s.minimum ?? -5, max: s.maximum ?? 2000 }))
    case 'number':
      return fc.double({ noNaN: true })
    case 'boolean':
      return fc.boolean()
    case 'string':
      return fc.oneof(
        fc.string({ maxLength: 40 }),
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.constantFrom(...HOSTILE),
        fc.constant(stringFor(s)),
      )
    default:
      return fc.jsonValue({ maxDepth: 2 })
  }
}

/** A hostile value for any field: hostile strings, wrong types, odd numbers. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...HOSTILE),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom(null, true, -1, 0, 1.5, 2 ** 53, -(2 ** 31), '', [], {}, [null], { $ne: null }),
  fc.jsonValue({ maxDepth: 3 }),
)

// ------------------------------------------------------------------------------ paths and bodies

export function getAt(value: unknown, path: Path): unknown {
  let v = value
  for (const k of path) v = v == null ? undefined : (v as Record<string | number, unknown>)[k]
  return v
}

/** A copy of `value` with `path` set (containers made as needed), or removed when `remove`. */
export function setAt(value: unknown, path: Path, to: unknown, remove = false): unknown {
  if (path.length === 0) return to
  const [k, ...rest] = path as [string | number, ...Path]
  const base =
    value && typeof value === 'object'
      ? Array.isArray(value)
        ? [...value]
        : { ...(value as object) }
      : typeof k === 'number'
        ? []
        : {}
  const container = base as Record<string | number, unknown>
  if (rest.length === 0) {
    if (remove) {
      if (Array.isArray(container)) container.splice(k as number, 1)
      else delete container[k]
    } else container[k] = to
  } else container[k] = setAt(container[k], rest, to, remove)
  return container
}

export const fieldName = (where: 'body' | 'query' | 'params', path: Path) => [where, ...path].join('.')

/**
 * Percent-encodes a path value. A lone surrogate has no UTF-8 form; it is sent as the bytes a
 * careless encoder would produce (ED A0 80…), which is just the kind of input under test.
 */
export function encodePathValue(v: string): string {
  let out = ''
  for (const ch of v) {
    const c = ch.codePointAt(0) as number
    if (c >= 0xd800 && c <= 0xdfff)
      out +=
        `%${(0xe0 | (c >> 12)).toString(16)}%${(0x80 | ((c >> 6) & 63)).toString(16)}%${(0x80 | (c & 63)).toString(16)}`.toUpperCase()
    else out += encodeURIComponent(ch)
  }
  return out
}

/** Builds the URL of an operation from path and query values (query values already strings or arrays). */
export function urlOf(op: Operation, path: Record<string, string>, query: Record<string, unknown>): string {
  let url = op.path
  for (const [k, v] of Object.entries(path)) url = url.replace(`{${k}}`, encodePathValue(v))
  const qs = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue
    if (Array.isArray(v)) for (const x of v) qs.append(k, String(x))
    else qs.append(k, typeof v === 'object' ? JSON.stringify(v) : String(v))
  }
  const s = qs.toString()
  return s ? `${url}?${s}` : url
}
