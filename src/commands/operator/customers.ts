/**
 * Operator staff create customers and look them up (DOMAIN.md "Operator staff").
 */
import { randomUUID } from 'node:crypto'
import { ZonaError } from '../../errors.ts'
import { isUniqueViolation } from '../../store/errors.ts'
import type { Customer } from '../../store/schema.ts'
import { insertCustomer } from '../../store/tree.ts'
import { type Actor, audit, write, type Zona } from '../context.ts'
import { containsPattern, decodeCursor, pageOf } from './cursor.ts'

export interface CustomerCounts {
  accounts: number
  services: number
  /** People holding at least one grant at the customer. */
  people: number
  grants: number
}

/**
 * Creates a customer (and its root node) on the deployment's catalog. The id is generated when
 * not given; an id already in use (by a customer or any node) is a CONFLICT on body.id.
 *
 * @example
 * await createCustomer(zona, { id: 'operator:back-office' }, { id: 'acme', name: 'Acme s.r.o.' })
 */
export async function createCustomer(
  zona: Zona,
  actor: Actor,
  input: { id?: string | undefined; name: string },
): Promise<Customer> {
  const id = input.id ?? randomUUID()
  const conflict = () =>
    new ZonaError('CONFLICT', `the id ${id} is already in use`, { field: input.id ? 'body.id' : 'id' })
  try {
    return await write(zona, async (trx) => {
      const taken = await trx.selectFrom('nodes').select('id').where('id', '=', id).executeTakeFirst()
      if (taken) throw conflict()
      const customer = await insertCustomer(trx, { id, name: input.name, preset: zona.catalog.id })
      await audit(trx, actor, {
        action: 'customer.created',
        customerId: id,
        nodeId: id,
        after: { id, name: customer.name, preset: customer.preset },
      })
      return { result: customer, apply: (engine) => engine.tree.addCustomer(id) }
    })
  } catch (e) {
    if (isUniqueViolation(e)) throw conflict()
    throw e
  }
}

/** Customers by id, a page at a time; `q` matches the name or the id anywhere, ignoring case. */
export async function listCustomers(
  zona: Zona,
  query: { q?: string | undefined; cursor?: string | undefined; limit: number },
): Promise<{ items: Customer[]; next_cursor: string | null }> {
  let select = zona.store.db.selectFrom('customers').selectAll()
  if (query.q) {
    const pattern = containsPattern(query.q)
    select = select.where((eb) => eb.or([eb('name', 'ilike', pattern), eb('id', 'ilike', pattern)]))
  }
  if (query.cursor) {
    const [after] = decodeCursor(query.cursor, 1)
    select = select.where('id', '>', String(after))
  }
  const rows = await select
    .orderBy('id')
    .limit(query.limit + 1)
    .execute()
  return pageOf(rows, query.limit, (c) => [c.id])
}

/** The customer, or NOT_FOUND naming `field`. */
export async function requireCustomer(zona: Zona, id: string, field = 'params.id'): Promise<Customer> {
  const customer = await zona.store.db
    .selectFrom('customers')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst()
  if (!customer) throw new ZonaError('NOT_FOUND', `there is no customer ${id}`, { field })
  return customer
}

/** The customer with the size of its tree and of its access. */
export async function getCustomer(zona: Zona, id: string): Promise<Customer & { counts: CustomerCounts }> {
  const customer = await requireCustomer(zona, id)
  const db = zona.store.db
  const nodes = await db
    .selectFrom('nodes')
    .select(['kind', (eb) => eb.fn.countAll<string>().as('count')])
    .where('customerId', '=', id)
    .groupBy('kind')
    .execute()
  const grants = await db
    .selectFrom('grants')
    .select([
      (eb) => eb.fn.countAll<string>().as('grants'),
      (eb) => eb.fn.count<string>('personId').distinct().as('people'),
    ])
    .where('customerId', '=', id)
    .executeTakeFirstOrThrow()
  const ofKind = (kind: string) => Number(nodes.find((n) => n.kind === kind)?.count ?? 0)
  return {
    ...customer,
    counts: {
      accounts: ofKind('account'),
      services: ofKind('service'),
      people: Number(grants.people),
      grants: Number(grants.grants),
    },
  }
}
