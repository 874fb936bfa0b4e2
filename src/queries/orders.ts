/**
 * The orders page of the portal: the requests a person placed for the operator's systems, and,
 * for whoever manages the customer's users (users.manage on the customer), everyone's.
 */
import { sql } from 'kysely'
import type { Zona } from '../commands/context.ts'
import type { JsonObject, OrderStatus } from '../store/schema.ts'
import { decodeCursor, encodeCursor, type PageOf } from './paging.ts'
import { seeCustomer } from './visibility.ts'

export interface OrderItem {
  id: string
  node: string
  kind: string
  payload: JsonObject
  status: OrderStatus
  /** Who placed it; null when the operator placed it for nobody in particular. */
  person: string | null
  /** Operator staff who placed it for the person, if any. */
  on_behalf_of: string | null
  created_at: string
  updated_at: string
}

export interface OrderPage extends PageOf<OrderItem> {
  /** 'all' when the person sees everyone's orders, 'mine' otherwise. */
  showing: 'all' | 'mine'
}

/** Orders of a customer, newest first: the person's own, or everyone's with users.manage on the customer. */
export async function listOrders(
  zona: Zona,
  person: string,
  input: { customer: string; mine?: boolean; status?: OrderStatus; cursor?: string; limit: number },
): Promise<OrderPage> {
  const engine = zona.access.engine
  seeCustomer(engine, person, input.customer, 'params.customer')
  const all = !input.mine && engine.check(person, 'users.manage', input.customer)
  const after = decodeCursor(input.cursor, ['string', 'string'])
  // Dates carry milliseconds, the database microseconds: page on the value a cursor can hold.
  const created = sql<Date>`date_trunc('milliseconds', created_at)`
  let query = zona.store.db
    .selectFrom('orders')
    .selectAll()
    .select(created.as('pageKey'))
    .where('customerId', '=', input.customer)
  if (!all) query = query.where('personId', '=', person)
  if (input.status) query = query.where('status', '=', input.status)
  if (after) {
    const [at, id] = after
    const cut = new Date(at)
    query = query.where((eb) =>
      eb.or([eb(created, '<', cut), eb.and([eb(created, '=', cut), eb('id', '>', id)])]),
    )
  }
  const rows = await query
    .orderBy(created, 'desc')
    .orderBy('id')
    .limit(input.limit + 1)
    .execute()
  const page = rows.slice(0, input.limit)
  const last = page[page.length - 1]
  return {
    showing: all ? 'all' : 'mine',
    items: page.map((r) => ({
      id: r.id,
      node: r.nodeId,
      kind: r.kind,
      payload: r.payload,
      status: r.status,
      person: r.personId,
      on_behalf_of: r.onBehalfOf,
      created_at: r.createdAt.toISOString(),
      updated_at: r.updatedAt.toISOString(),
    })),
    next_cursor:
      rows.length > input.limit && last
        ? encodeCursor([new Date(last.pageKey).toISOString(), last.id])
        : null,
  }
}
