/**
 * Text PostgreSQL cannot store: NUL (U+0000), which text columns refuse, and lone surrogates,
 * which have no UTF-8 form (jsonb refuses their \uD800 escapes). Refused before validation as a
 * 400 naming the field; otherwise they fail deep inside a query as a 500.
 */
import type { FastifyRequest } from 'fastify'
import { ZonaError } from '../errors.ts'

// Code units, not code points (no u flag): a surrogate without its partner is what is sought.
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this looks for
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** The path of the first string (or key) in `value` that cannot be stored, e.g. body.grants[0].role. */
export function unstorableField(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'string') return UNSTORABLE.test(value) ? path : undefined
  if (value === null || typeof value !== 'object' || depth > 100) return undefined
  const entries = Array.isArray(value) ? value.entries() : Object.entries(value)
  for (const [key, item] of entries) {
    const at = typeof key === 'number' ? `${path}[${key}]` : `${path}.${key}`
    if (typeof key === 'string' && UNSTORABLE.test(key)) return at
    const found = unstorableField(item, at, depth + 1)
    if (found) return found
  }
  return undefined
}

/** A preValidation hook: the path, the query and the body of every request. */
export async function refuseUnstorableText(request: FastifyRequest): Promise<void> {
  const field =
    unstorableField(request.params, 'params') ??
    unstorableField(request.query, 'query') ??
    unstorableField(request.body, 'body')
  if (field)
    throw new ZonaError(
      'VALIDATION_FAILED',
      `${field} contains a NUL character or a lone surrogate, which no text can hold`,
      { field },
    )
}
