/**
 * The one error catalog. Commands throw `ZonaError` with a code from here; the HTTP layer maps
 * codes to statuses and problem+json in one place (http/problem.ts). A test keeps
 * docs/errors.md and this catalog in step.
 */
export const ERRORS = {
  VALIDATION_FAILED: {
    title: 'The request is not valid',
    fix: 'Correct the field named in the error and send it again.',
  },
  UNAUTHENTICATED: {
    title: 'Sign in first',
    fix: 'Send a session cookie (sign in) or an API key in Authorization: Bearer.',
  },
  LOGIN_FAILED: { title: 'Wrong login or password', fix: 'Check the login name or e-mail and the password.' },
  LOGIN_LOCKED: {
    title: 'Too many failed sign-ins',
    fix: 'Wait until the time given in retry_after, or reset the password.',
  },
  SECOND_FACTOR_REQUIRED: {
    title: 'A one-time code is needed',
    fix: 'Send the code from the authenticator app as totp.',
  },
  CSRF_INVALID: {
    title: 'Missing or wrong CSRF token',
    fix: 'Fetch /api/v1/auth/csrf and send the token in the x-csrf-token header.',
  },
  FORBIDDEN: {
    title: 'Your grants do not allow this',
    fix: 'Ask an administrator of the customer for a role that gives it.',
  },
  NOT_FOUND: { title: 'Not found', fix: 'Check the id; ids of other customers are not visible.' },
  CONFLICT: { title: 'The request conflicts with the current state', fix: 'Reload and try again.' },
  LIMIT_REACHED: {
    title: 'The role already has its holder',
    fix: 'Replace the holder instead (operator staff).',
  },
  TOKEN_INVALID: {
    title: 'The link or code is not valid',
    fix: 'It may be used, expired or mistyped; ask for a new one.',
  },
  RATE_LIMITED: { title: 'Too many requests', fix: 'Wait and try again.' },
  PAYLOAD_TOO_LARGE: {
    title: 'The request body is too large',
    fix: 'Send less data at once, or use the import endpoint.',
  },
  NOT_READY: { title: 'Not ready', fix: 'The database is not reachable or not migrated yet.' },
  INTERNAL: {
    title: 'Something went wrong on our side',
    fix: 'Try again; if it persists, give the request id to support.',
  },
} as const

export type ErrorCode = keyof typeof ERRORS

export interface ErrorDetails {
  /** The input field at fault, as a JSON pointer-ish path: body.person, query.cursor. */
  field?: string
  /** The engine's explanation, for refusals. */
  explanation?: string
  /** The engine's decision code, for refusals. */
  reason?: string
  retryAfterSeconds?: number
}

export class ZonaError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly details: ErrorDetails = {},
  ) {
    super(detail)
  }
}
