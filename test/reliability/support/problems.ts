/**
 * What every refusal must look like (RFC 9457 problem+json from the one error catalog, naming the
 * field at fault) and must not contain (stack traces, SQL, driver messages).
 */
import { ERRORS } from '../../../src/errors.ts'
import type { Sent } from './world.ts'

/** Traces of internals an error body must never carry. */
const LEAKS: [string, RegExp][] = [
  ['a stack frame', /\bat [\w$.<>]+ \(|\bat (file|node):|\.(ts|js|mjs):\d+:\d+/],
  ['a source path', /\/(src|node_modules)\//],
  ['SQL', /\b(select\s+[\w*"]+.*\bfrom|insert\s+into|update\s+\w+\s+set|delete\s+from)\b/i],
  [
    'a database error',
    /\b(syntax error at or near|violates (unique|foreign key|check|not-null) constraint|duplicate key value|invalid byte sequence|unsupported Unicode escape|relation "\w+" does not exist|column "\w+"|PGlite|sqlstate)/i,
  ],
  ['an exception name', /\b(TypeError|ReferenceError|RangeError|SyntaxError|DatabaseError|Kysely\w*Error)\b/],
]

export function leaksIn(text: string): string[] {
  return LEAKS.filter(([, re]) => re.test(text)).map(([what]) => what)
}

/** `body.grants[0].role` and `body.grants.0.role` name the same field. */
export const normalField = (f: string) => f.replace(/\[(\d+)\]/g, '.$1')

export function fieldMatches(actual: unknown, expected: string | readonly string[]): boolean {
  if (typeof actual !== 'string') return false
  const a = normalField(actual)
  const list = typeof expected === 'string' ? [expected] : expected
  return list.some((e) => a === e || a.startsWith(`${e}.`))
}

/**
 * What is wrong with an answer, if anything: a 5xx; a 4xx that is not problem+json, lacks
 * status or code, or leaks internals. Empty when the answer is fine.
 */
export function answerFaults(res: Sent): string[] {
  const faults: string[] = []
  if (res.statusCode >= 500) faults.push(`status ${res.statusCode}`)
  if (res.statusCode >= 400) {
    const type = String(res.headers['content-type'] ?? '')
    if (!type.startsWith('application/problem+json')) faults.push(`content-type ${type || 'none'}`)
    let p: Record<string, unknown> | undefined
    try {
      p = JSON.parse(res.body)
    } catch {
      faults.push('body is not JSON')
    }
    if (p) {
      if (p.status !== res.statusCode) faults.push(`status field ${String(p.status)} ≠ ${res.statusCode}`)
      if (typeof p.code !== 'string' || !(p.code in ERRORS)) faults.push(`code ${String(p.code)}`)
      if (typeof p.detail !== 'string') faults.push('no detail')
    }
    for (const leak of leaksIn(res.body)) faults.push(`leaks ${leak}`)
  }
  return faults
}

/** A problem without the parts that name the request, to compare two refusals. */
export function sameProblem(res: Sent): unknown {
  let p: Record<string, unknown>
  try {
    p = JSON.parse(res.body)
  } catch {
    return { status: res.statusCode, body: res.body }
  }
  const { request_id: _r, instance: _i, ...rest } = p
  return { http: res.statusCode, ...rest }
}
