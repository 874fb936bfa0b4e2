/**
 * The one place errors become HTTP: RFC 9457 problem+json naming the field at fault.
 * Internal causes are logged, never sent.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { ERRORS, type ErrorCode, ZonaError } from '../errors.ts'

export const STATUS: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  LOGIN_FAILED: 401,
  LOGIN_LOCKED: 429,
  SECOND_FACTOR_REQUIRED: 401,
  CSRF_INVALID: 403,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  LIMIT_REACHED: 409,
  TOKEN_INVALID: 400,
  RATE_LIMITED: 429,
  PAYLOAD_TOO_LARGE: 413,
  NOT_READY: 503,
  INTERNAL: 500,
}

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  code: ErrorCode
  instance: string
  request_id: string
  field?: string
  explanation?: string
  reason?: string
  /** Seconds until trying again makes sense (also in the retry-after header). */
  retry_after?: number
}

export function problemOf(error: ZonaError, request: FastifyRequest): Problem {
  const p: Problem = {
    type: `https://zona.dev/errors/${error.code.toLowerCase().replaceAll('_', '-')}`,
    title: ERRORS[error.code].title,
    status: STATUS[error.code],
    detail: error.detail,
    code: error.code,
    instance: request.url,
    request_id: String(request.id),
  }
  const d = error.details
  if (d.field) p.field = d.field
  if (d.explanation) p.explanation = d.explanation
  if (d.reason) p.reason = d.reason
  if (d.retryAfterSeconds) p.retry_after = d.retryAfterSeconds
  return p
}

interface AjvError {
  instancePath?: string
  message?: string
  keyword?: string
  params?: Record<string, unknown>
}

/** A JSON pointer as our fields spell it, the way commands do: /grants/0/scope → .grants[0].scope */
export function fieldPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) =>
      /^\d+$/.test(part) ? `[${part}]` : `.${part.replaceAll('~1', '/').replaceAll('~0', '~')}`,
    )
    .join('')
}

/** Turn whatever was thrown into a ZonaError: known codes pass, framework errors are classified. */
export function classify(error: FastifyError | ZonaError | Error): ZonaError {
  if (error instanceof ZonaError) return error
  const e = error as FastifyError & { validation?: AjvError[]; validationContext?: string }
  if (e.validation && e.validation.length > 0) {
    const v = e.validation[0] as AjvError
    const missing = typeof v.params?.missingProperty === 'string' ? `/${v.params.missingProperty}` : ''
    const extra = typeof v.params?.additionalProperty === 'string' ? `/${v.params.additionalProperty}` : ''
    const path = `${v.instancePath ?? ''}${missing}${extra}`
    // Fastify calls the query string 'querystring'; our fields say 'query', as hand-made errors do.
    const context = e.validationContext === 'querystring' ? 'query' : (e.validationContext ?? 'body')
    const field = `${context}${fieldPath(path)}`
    const message = extra ? 'is not a known field' : (v.message ?? 'is not valid')
    return new ZonaError('VALIDATION_FAILED', `${field} ${message}`, { field })
  }
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ZonaError('VALIDATION_FAILED', `body: ${e.message}`, { field: 'body' })
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ZonaError('PAYLOAD_TOO_LARGE', e.message, { field: 'body' })
    case 'FST_CSRF_MISSING_SECRET':
    case 'FST_CSRF_INVALID_TOKEN':
      return new ZonaError(
        'CSRF_INVALID',
        'the x-csrf-token header is missing or does not match this session',
      )
  }
  if (e.statusCode === 429) return new ZonaError('RATE_LIMITED', e.message)
  if (e.statusCode === 415) return new ZonaError('VALIDATION_FAILED', `body: ${e.message}`, { field: 'body' })
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500)
    return new ZonaError('VALIDATION_FAILED', e.message, { field: 'request' })
  return new ZonaError('INTERNAL', 'an unexpected error happened; it has been logged')
}

export function sendProblem(
  error: FastifyError | ZonaError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const z = classify(error)
  if (z.code === 'INTERNAL') request.log.error({ err: error }, 'unhandled error')
  const problem = problemOf(z, request)
  // The router answers a bad URL before any hook has run, so helmet has set nothing: the basics here.
  if (!reply.hasHeader('x-content-type-options'))
    reply.headers({
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      'referrer-policy': 'no-referrer',
    })
  if (z.details.retryAfterSeconds) reply.header('retry-after', String(z.details.retryAfterSeconds))
  return reply.status(problem.status).type('application/problem+json').send(problem)
}
