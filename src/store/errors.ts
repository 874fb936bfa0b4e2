/**
 * Recognising constraint failures, the same way on PostgreSQL and PGlite (both report the
 * SQLSTATE code and the constraint name), so commands can turn them into domain errors.
 */

export interface DatabaseErrorInfo {
  /** SQLSTATE, e.g. '23505' (unique), '23503' (foreign key), '23514' (check). */
  code: string
  constraint: string | undefined
  table: string | undefined
  column: string | undefined
  detail: string | undefined
  message: string
}

export const SQLSTATE = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
  notNullViolation: '23502',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  insufficientPrivilege: '42501',
} as const

/** The database's own account of an error, or undefined when it did not come from the database. */
export function databaseErrorInfo(error: unknown): DatabaseErrorInfo | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const e = error as Record<string, unknown>
  if (typeof e.code !== 'string' || !/^[0-9A-Z]{5}$/.test(e.code)) return undefined
  const text = (key: string) => (typeof e[key] === 'string' ? (e[key] as string) : undefined)
  return {
    code: e.code,
    constraint: text('constraint'),
    table: text('table'),
    column: text('column'),
    detail: text('detail'),
    message: text('message') ?? '',
  }
}

/** True for a unique violation, of `constraint` (an index or constraint name) when given. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  return hasCode(error, SQLSTATE.uniqueViolation, constraint)
}

export function isForeignKeyViolation(error: unknown, constraint?: string): boolean {
  return hasCode(error, SQLSTATE.foreignKeyViolation, constraint)
}

export function isCheckViolation(error: unknown, constraint?: string): boolean {
  return hasCode(error, SQLSTATE.checkViolation, constraint)
}

/** A transaction that lost a race and may simply be run again. */
export function isRetryable(error: unknown): boolean {
  const code = databaseErrorInfo(error)?.code
  return code === SQLSTATE.serializationFailure || code === SQLSTATE.deadlockDetected
}

function hasCode(error: unknown, code: string, constraint?: string): boolean {
  const info = databaseErrorInfo(error)
  return info?.code === code && (constraint === undefined || info.constraint === constraint)
}
