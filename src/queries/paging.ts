/**
 * Cursor pagination shared by the portal's lists. A cursor is opaque to clients: base64url of a
 * small JSON array (the sort key of the last item), so the server may change it without breaking
 * anyone who only passes it back.
 */
import { ZonaError } from '../errors.ts'

export interface PageOf<T> {
  items: T[]
  /** Pass back as `cursor` for the next page; null on the last page. */
  next_cursor: string | null
}

export function encodeCursor(key: readonly (string | number | null)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url')
}

/**
 * The sort key in a cursor, checked against the shape the list expects; a cursor that does not
 * decode is the client's mistake (400 naming query.cursor), never a 500.
 */
export function decodeCursor<const K extends readonly ('string' | 'number' | 'string?')[]>(
  cursor: string | undefined,
  shape: K,
  field = 'query.cursor',
):
  | { [I in keyof K]: K[I] extends 'number' ? number : K[I] extends 'string?' ? string | null : string }
  | null {
  if (cursor === undefined) return null
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    value = undefined
  }
  const fits =
    Array.isArray(value) &&
    value.length === shape.length &&
    shape.every((t, i) => {
      const v = value[i]
      if (t === 'string?') return v === null || typeof v === 'string'
      return typeof v === t
    })
  if (!fits) throw badCursor(field)
  return value as never
}

/** The 400 of a cursor that is not one of this list (made up, or from another list). */
export function badCursor(field = 'query.cursor'): ZonaError {
  return new ZonaError('VALIDATION_FAILED', `${field} is not a cursor of this list`, { field })
}

/** One page from items already in order (lists the engine answers in memory, bounded by the grants). */
export function pageOfArray<T>(
  all: readonly T[],
  cursor: string | undefined,
  limit: number,
  key: (item: T) => string,
): PageOf<T> {
  const after = decodeCursor(cursor, ['string'])
  let start = 0
  if (after) {
    const at = all.findIndex((x) => key(x) === after[0])
    if (at < 0) throw badCursor()
    start = at + 1
  }
  const items = all.slice(start, start + limit)
  const last = items[items.length - 1]
  return {
    items,
    next_cursor: start + limit < all.length && last !== undefined ? encodeCursor([key(last)]) : null,
  }
}
