/**
 * Delegation in the portal (DOMAIN.md section 6, W3): give a role, change a grant (widen, reduce,
 * move, set or clear its expiry), revoke it. The engine decides (canGrant / canChange / canRevoke,
 * with the ceiling rule 6.1 c); these commands only apply its decision, under the access lock, so no
 * interleaving of requests can let a person give or gain a permission they lack (I2). A grant whose
 * scope the actor cannot see at all is a 404, like a missing id.
 */

import type { Decision } from '../../domain/decision.ts'
import type { AccessEngine, GrantInput } from '../../domain/engine.ts'
import type { NodeKind } from '../../domain/tree.ts'
import { ZonaError } from '../../errors.ts'
import { personOfOtherCustomers, seeNode } from '../../queries/visibility.ts'
import type { Executor } from '../../store/common.ts'
import { deleteGrant, findGrant, insertGrant, updateGrant } from '../../store/grants.ts'
import { findPerson } from '../../store/people.ts'
import type { Grant } from '../../store/schema.ts'
import { refuseContactRole } from '../contact-roles.ts'
import { type Actor, audit, write, type Zona } from '../context.ts'

const ANY_NODE: readonly NodeKind[] = ['customer', 'account', 'service']

export interface GrantRoleInput {
  person: string
  role: string
  scope: string
  options?: readonly string[]
  expiresAt?: Date | null
}

export interface GrantChangeInput {
  role?: string
  scope?: string
  options?: readonly string[]
  /** null clears the expiry; undefined keeps it. */
  expiresAt?: Date | null
}

/** A refusal as the API tells it: input mistakes name their field, the rest is 403 with the engine's reason. */
export function refusal(d: Decision): ZonaError {
  const why = { reason: d.code, explanation: d.reason }
  switch (d.code) {
    case 'NO_SUCH_ROLE':
      return new ZonaError('VALIDATION_FAILED', d.reason, { ...why, field: 'body.role' })
    case 'NO_SUCH_OPTION':
      return new ZonaError('VALIDATION_FAILED', d.reason, { ...why, field: 'body.options' })
    case 'WRONG_SCOPE_KIND':
      return new ZonaError('VALIDATION_FAILED', d.reason, { ...why, field: 'body.scope' })
    case 'ALREADY_EXPIRED':
      return new ZonaError('VALIDATION_FAILED', d.reason, { ...why, field: 'body.expires_at' })
    case 'NO_SUCH_NODE':
      return new ZonaError('NOT_FOUND', 'there is no node with this id', { field: 'body.scope' })
    case 'NO_SUCH_GRANT':
      return noSuchGrant()
    case 'LIMIT_REACHED':
      return new ZonaError('LIMIT_REACHED', d.reason, why)
    default:
      return new ZonaError('FORBIDDEN', d.reason, why)
  }
}

function noSuchGrant(): ZonaError {
  return new ZonaError('NOT_FOUND', 'there is no grant with this id', { field: 'params.id' })
}

function engineInput(row: Grant): GrantInput {
  return {
    id: row.id,
    person: row.personId,
    role: row.role,
    scope: row.scopeNodeId,
    options: row.options,
    expiresAt: row.expiresAt ? row.expiresAt.getTime() : null,
    grantedBy: row.grantedBy,
    grantedAt: row.grantedAt.getTime(),
  }
}

function normalOptions(options: readonly string[]): string[] {
  return [...new Set(options)].sort()
}

/** Removes the grants a decision replaces; returns their rows for the audit event. */
async function removeReplaced(trx: Executor, d: Decision): Promise<Grant[]> {
  const removed: Grant[] = []
  for (const r of d.replaces) {
    const row = await deleteGrant(trx, r.id)
    if (row) removed.push(row)
  }
  return removed
}

/** The grant, when the actor sees its scope or it is their own; 404 otherwise (like a missing id). */
function seeGrant(engine: AccessEngine, actor: string, id: string) {
  const g = engine.grant(id)
  if (!g || (g.person !== actor && engine.permissionsOn(actor, g.scope).length === 0)) throw noSuchGrant()
  return g
}

/** POST /grants – `actor` gives `person` a role on a node. */
export async function grantRole(zona: Zona, actor: Actor, input: GrantRoleInput): Promise<Grant> {
  return write(zona, async (trx, engine) => {
    const scope = seeNode(engine, actor.id, input.scope, ANY_NODE, 'body.scope')
    refuseContactRole(engine.catalog, input.role, 'body.role')
    if (
      !(await findPerson(trx, input.person)) ||
      personOfOtherCustomers(engine, input.person, scope.customer)
    )
      throw new ZonaError('NOT_FOUND', 'there is no person with this id', { field: 'body.person' })
    const options = normalOptions(input.options ?? [])
    const d = engine.canGrant(actor.id, {
      person: input.person,
      role: input.role,
      scope: input.scope,
      options,
      expiresAt: input.expiresAt ? input.expiresAt.getTime() : null,
    })
    if (!d.allowed) throw refusal(d)
    const replaced = await removeReplaced(trx, d)
    const row = await insertGrant(trx, {
      customerId: scope.customer,
      personId: input.person,
      role: input.role,
      scopeNodeId: input.scope,
      options,
      limited: engine.catalog.role(input.role)?.limitPerCustomer === 1,
      grantedBy: actor.id,
      grantedAt: zona.clock(),
      expiresAt: input.expiresAt ?? null,
    })
    await audit(trx, actor, {
      action: 'grant.added',
      customerId: scope.customer,
      nodeId: input.scope,
      subject: row.id,
      before: replaced.length ? replaced : undefined,
      after: row,
    })
    return {
      result: row,
      apply: (e) => {
        for (const r of d.replaces) e.removeGrant(r.id)
        e.addGrant(engineInput(row))
      },
    }
  })
}

/**
 * PATCH /grants/:id – widen, reduce, move or re-date a grant. The grant keeps its id when it stays
 * on its scope and replaces nothing else; otherwise the old grant is removed and a new one made.
 */
export async function changeGrant(
  zona: Zona,
  actor: Actor,
  id: string,
  change: GrantChangeInput,
): Promise<Grant> {
  return write(zona, async (trx, engine) => {
    const g = seeGrant(engine, actor.id, id)
    const before = await findGrant(trx, id)
    if (!before) throw noSuchGrant()
    if (change.scope !== undefined) seeNode(engine, actor.id, change.scope, ANY_NODE, 'body.scope')
    const role = change.role ?? g.role
    refuseContactRole(engine.catalog, g.role, 'params.id')
    refuseContactRole(engine.catalog, role, 'body.role')
    const scope = change.scope ?? g.scope
    const options = normalOptions(change.options ?? g.options)
    const expiresAt = change.expiresAt === undefined ? before.expiresAt : change.expiresAt
    const d = engine.canChange(actor.id, id, {
      role,
      scope,
      options,
      expiresAt: expiresAt ? expiresAt.getTime() : null,
    })
    if (!d.allowed) throw refusal(d)
    const limited = engine.catalog.role(role)?.limitPerCustomer === 1
    const now = zona.clock()
    let after: Grant
    const removed: Grant[] = []
    if (scope === g.scope && d.replaces.every((r) => r.id === id)) {
      const updated = await updateGrant(trx, id, {
        role,
        options,
        limited,
        expiresAt,
        grantedBy: actor.id,
        grantedAt: now,
      })
      if (!updated) throw noSuchGrant()
      after = updated.after
    } else {
      removed.push(...(await removeReplaced(trx, d)))
      after = await insertGrant(trx, {
        customerId: before.customerId,
        personId: before.personId,
        role,
        scopeNodeId: scope,
        options,
        limited,
        grantedBy: actor.id,
        grantedAt: now,
        expiresAt,
      })
    }
    await audit(trx, actor, {
      action: 'grant.changed',
      customerId: before.customerId,
      nodeId: scope,
      subject: after.id,
      before: removed.length > 1 ? removed : before,
      after,
    })
    return {
      result: after,
      apply: (e) => {
        for (const r of d.replaces) e.removeGrant(r.id)
        e.removeGrant(id)
        e.addGrant(engineInput(after))
      },
    }
  })
}

/** DELETE /grants/:id – takes effect on the person's very next request (I6). */
export async function revokeGrant(zona: Zona, actor: Actor, id: string): Promise<Grant> {
  return write(zona, async (trx, engine) => {
    seeGrant(engine, actor.id, id)
    const d = engine.canRevoke(actor.id, id)
    if (!d.allowed) throw refusal(d)
    const row = await deleteGrant(trx, id)
    if (!row) throw noSuchGrant()
    await audit(trx, actor, {
      action: 'grant.revoked',
      customerId: row.customerId,
      nodeId: row.scopeNodeId,
      subject: row.id,
      before: row,
    })
    return { result: row, apply: (e) => void e.removeGrant(id) }
  })
}
