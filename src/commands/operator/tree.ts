/**
 * Browsing a customer's tree as operator staff: the children of one node, a page at a time.
 */
import { ZonaError } from '../../errors.ts'
import type { NodeRow } from '../../store/schema.ts'
import type { Zona } from '../context.ts'
import { decodeCursor, pageOf } from './cursor.ts'
import { requireCustomer } from './customers.ts'

export interface ChildNode extends NodeRow {
  /** How many children the node has (0 for services), so a browser knows what to expand. */
  childCount: number
}

/**
 * The children of `parent` (the customer itself when omitted), by id. A node of another
 * customer is NOT_FOUND exactly like a missing one: ids never leak across customers.
 */
export async function listChildren(
  zona: Zona,
  customerId: string,
  query: { parent?: string | undefined; cursor?: string | undefined; limit: number },
): Promise<{ parent: NodeRow; items: ChildNode[]; next_cursor: string | null }> {
  await requireCustomer(zona, customerId)
  const db = zona.store.db
  const parentId = query.parent ?? customerId
  const parent = await db
    .selectFrom('nodes')
    .selectAll()
    .where('id', '=', parentId)
    .where('customerId', '=', customerId)
    .executeTakeFirst()
  if (!parent)
    throw new ZonaError('NOT_FOUND', `there is no node ${parentId} at customer ${customerId}`, {
      field: 'query.parent',
    })
  let select = db
    .selectFrom('nodes as n')
    .selectAll('n')
    .select((eb) =>
      eb
        .selectFrom('nodes as c')
        .select(eb.fn.countAll<string>().as('count'))
        .whereRef('c.parentId', '=', 'n.id')
        .as('childCount'),
    )
    .where('n.parentId', '=', parentId)
    .where('n.customerId', '=', customerId)
  if (query.cursor) {
    const [after] = decodeCursor(query.cursor, 1)
    select = select.where('n.id', '>', String(after))
  }
  const rows = await select
    .orderBy('n.id')
    .limit(query.limit + 1)
    .execute()
  const page = pageOf(rows, query.limit, (r) => [r.id])
  return {
    parent,
    items: page.items.map((r) => ({ ...r, childCount: Number(r.childCount ?? 0) })),
    next_cursor: page.next_cursor,
  }
}
