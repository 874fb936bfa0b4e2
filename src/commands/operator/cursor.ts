/**
 * Opaque keyset cursors for the back office lists: the sort key of the last row of a page,
 * as base64url JSON. Opaque so clients pass it back rather than build it; a cursor that does
 * not decode is a 400 naming query.cursor, never a 500.
 */
import { ZonaError } from '../../errors.ts'

export type CursorKey = (string | number)[]

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url')
}

/** The key of a cursor made by encodeCursor with `arity` parts, or a VALIDATION_FAILED naming `field`. */
export function decodeCursor(cursor: string, arity: number, field = 'query.cursor'): CursorKey {
  let key: unknown
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    key = undefined
  }
  if (
    !Array.isArray(key) ||
    key.length !== arity ||
    !key.every((k) => typeof k === 'string' || (typeof k === 'number' && Number.isFinite(k)))
  )
    throw new ZonaError('VALIDATION_FAILED', 'the cursor is not one this list gave out', { field })
  return key as CursorKey
}

/** A page of `limit` from `limit + 1` fetched rows, with the cursor of its last row. */
export function pageOf<T>(rows: T[], limit: number, keyOf: (row: T) => CursorKey) {
  const more = rows.length > limit
  const items = more ? rows.slice(0, limit) : rows
  const last = items[items.length - 1]
  return { items, next_cursor: more && last !== undefined ? encodeCursor(keyOf(last)) : null }
}

/** A LIKE pattern matching `text` anywhere, with LIKE's own characters taken literally. */
export function containsPattern(text: string): string {
  return `%${text.replaceAll(/[\\%_]/g, '\\$&')}%`
}
