/**
 * The people of a customer as operator staff see them: everyone holding a grant there, with
 * their grants, who granted each, their login status and last sign-in.
 */
import type { Grant, Person } from '../../store/schema.ts'
import type { Zona } from '../context.ts'
import { containsPattern, decodeCursor, pageOf } from './cursor.ts'
import { requireCustomer } from './customers.ts'

export interface CustomerPerson extends Person {
  grants: Grant[]
}

/** People by id, a page at a time; `q` matches login, e-mail or display name anywhere, ignoring case. */
export async function listCustomerPeople(
  zona: Zona,
  customerId: string,
  query: { q?: string | undefined; cursor?: string | undefined; limit: number },
): Promise<{ items: CustomerPerson[]; next_cursor: string | null }> {
  await requireCustomer(zona, customerId)
  const db = zona.store.db
  let select = db
    .selectFrom('people')
    .selectAll('people')
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('grants')
          .select('grants.id')
          .whereRef('grants.personId', '=', 'people.id')
          .where('grants.customerId', '=', customerId),
      ),
    )
  if (query.q) {
    const pattern = containsPattern(query.q)
    select = select.where((eb) =>
      eb.or([
        eb('people.login', 'ilike', pattern),
        eb('people.email', 'ilike', pattern),
        eb('people.displayName', 'ilike', pattern),
      ]),
    )
  }
  if (query.cursor) {
    const [after] = decodeCursor(query.cursor, 1)
    select = select.where('people.id', '>', String(after))
  }
  const rows = await select
    .orderBy('people.id')
    .limit(query.limit + 1)
    .execute()
  const page = pageOf(rows, query.limit, (p) => [p.id])
  const ids = page.items.map((p) => p.id)
  const grants =
    ids.length === 0
      ? []
      : await db
          .selectFrom('grants')
          .selectAll()
          .where('customerId', '=', customerId)
          .where('personId', 'in', ids)
          .orderBy('grantedAt')
          .orderBy('id')
          .execute()
  return {
    items: page.items.map((p) => ({ ...p, grants: grants.filter((g) => g.personId === p.id) })),
    next_cursor: page.next_cursor,
  }
}
