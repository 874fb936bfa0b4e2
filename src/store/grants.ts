/**
 * Grants: the data access decisions are made from. OVH service contacts are grants too, of
 * the catalog's contact roles (one holder per service). Who may write what is the domain's
 * decision; the schema adds the hard stops (one holder of a limited role per customer, scope
 * inside the customer, one grant per person, role and scope).
 * Every write here bumps the access version through triggers (see changes.ts).
 */
import { type Executor, withTransaction } from './common.ts'
import type { Grant } from './schema.ts'

export interface GrantInput {
  /** Omit to let the database pick a UUID. */
  id?: string
  customerId: string
  personId: string
  role: string
  scopeNodeId: string
  options?: string[]
  /** True for roles the catalog limits to one per customer (primary admin, …). */
  limited?: boolean
  grantedBy: string | null
  grantedAt?: Date
  expiresAt?: Date | null
}

/**
 * Inserts a grant. Fails with a unique violation (code 23505) when the person already
 * holds the role on that scope, or when a limited role already has a holder at this
 * customer (`grants_one_limited_holder`, see `isUniqueViolation`).
 */
export async function insertGrant(db: Executor, grant: GrantInput): Promise<Grant> {
  return db
    .insertInto('grants')
    .values({
      id: grant.id,
      customerId: grant.customerId,
      personId: grant.personId,
      role: grant.role,
      scopeNodeId: grant.scopeNodeId,
      options: grant.options ?? [],
      limited: grant.limited ?? false,
      grantedBy: grant.grantedBy,
      grantedAt: grant.grantedAt,
      expiresAt: grant.expiresAt ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function findGrant(db: Executor, id: string): Promise<Grant | undefined> {
  return db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst()
}

/** Grants, optionally of one customer and/or one person, in a stable order. */
export async function loadGrants(
  db: Executor,
  filter: { customerId?: string; personId?: string } = {},
): Promise<Grant[]> {
  let query = db.selectFrom('grants').selectAll()
  if (filter.customerId !== undefined) query = query.where('customerId', '=', filter.customerId)
  if (filter.personId !== undefined) query = query.where('personId', '=', filter.personId)
  return query.orderBy('customerId').orderBy('personId').orderBy('grantedAt').orderBy('id').execute()
}

export interface GrantChanges {
  role?: string
  options?: string[]
  limited?: boolean
  expiresAt?: Date | null
  /** Replacing the holder of a limited role keeps the grant and changes its person. */
  personId?: string
  grantedBy?: string | null
  grantedAt?: Date
}

/** Changes a grant (widen, reduce, re-assign); returns it before and after, for the audit event. */
export async function updateGrant(
  db: Executor,
  id: string,
  changes: GrantChanges,
): Promise<{ before: Grant; after: Grant } | undefined> {
  return withTransaction(db, async (trx) => {
    const before = await trx
      .selectFrom('grants')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst()
    if (!before) return undefined
    const after = await trx
      .updateTable('grants')
      .set(changes)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow()
    return { before, after }
  })
}

/** Revokes a grant; returns the deleted row (for the audit event), or undefined. */
export async function deleteGrant(db: Executor, id: string): Promise<Grant | undefined> {
  return db.deleteFrom('grants').where('id', '=', id).returningAll().executeTakeFirst()
}

/** Removes grants whose expiry is at or before `now`; returns them, for audit. */
export async function deleteExpiredGrants(db: Executor, now: Date = new Date()): Promise<Grant[]> {
  return db.deleteFrom('grants').where('expiresAt', '<=', now).returningAll().execute()
}
