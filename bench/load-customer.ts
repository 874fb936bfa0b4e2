/**
 * The generated customer (bench/generate.ts) put into a Zona database the way an operator would:
 * the tree through the import command, people and grants in multi-row inserts (there is no
 * command for 20 000 grants at once, and delegation is not what these benchmarks measure).
 * Shared by the HTTP benchmark and the peer benchmark's Zona server.
 */
import { hashPassword } from '../src/auth/passwords.ts'
import type { Actor, Zona } from '../src/commands/context.ts'
import { importTree } from '../src/commands/operator/import.ts'
import { withTransaction } from '../src/store/common.ts'
import { setPasswordHash } from '../src/store/people.ts'
import { type CustomerSpec, grantId, nodeId, personId, SERVICE_TYPES } from './generate.ts'

const ROWS_PER_INSERT = 1000

/** Accounts and services of the spec through the operator's import command (JSON form). */
export async function importCustomerTree(
  zona: Zona,
  actor: Actor,
  spec: CustomerSpec,
  options: { tariff?: string } = {},
): Promise<void> {
  const accounts: Record<string, string>[] = []
  for (let k = 1; k <= spec.accounts; k++) {
    const parent = spec.parent[k] as number
    accounts.push({
      id: nodeId(spec, k),
      name: `Account ${k}`,
      ...(parent === 0 ? {} : { parent: nodeId(spec, parent) }),
    })
  }
  const services: Record<string, string>[] = []
  for (let k = spec.accounts + 1; k < spec.nodes; k++)
    services.push({
      id: nodeId(spec, k),
      parent: nodeId(spec, spec.parent[k] as number),
      name: `+420 7${String(k).padStart(8, '0')}`,
      service_type: SERVICE_TYPES[spec.serviceType[k] as number] as string,
      ...(options.tariff ? { tariff: options.tariff } : {}),
    })
  await importTree(zona, actor, spec.customer, { format: 'json', body: { accounts, services } })
}

/** The spec's people (person 0 signs in with `admin`) and grants, in one transaction. */
export async function insertPeopleAndGrants(
  zona: Zona,
  actor: Actor,
  spec: CustomerSpec,
  admin: { login: string; password: string },
): Promise<void> {
  const passwordHash = await hashPassword(admin.password)
  await withTransaction(zona.store.db, async (trx) => {
    for (let from = 0; from < spec.people; from += ROWS_PER_INSERT) {
      const rows = []
      for (let i = from; i < Math.min(spec.people, from + ROWS_PER_INSERT); i++)
        rows.push({
          id: personId(spec, i),
          login: i === 0 ? admin.login : personId(spec, i).toLowerCase(),
          email: null,
          displayName: `Person ${i}`,
          locale: null,
        })
      await trx.insertInto('people').values(rows).execute()
    }
    await setPasswordHash(trx, personId(spec, 0), passwordHash)
    for (let from = 0; from < spec.grants.length; from += ROWS_PER_INSERT) {
      const rows = spec.grants.slice(from, from + ROWS_PER_INSERT).map((g, j) => {
        const role = zona.catalog.role(g.role)
        if (!role) throw new Error(`role ${g.role} is not in the o2-cz catalog`)
        return {
          id: grantId(spec, from + j),
          customerId: spec.customer,
          personId: personId(spec, g.person),
          role: g.role,
          scopeNodeId: nodeId(spec, g.node),
          options: g.options,
          limited: role.limitPerCustomer !== undefined,
          grantedBy: actor.id,
        }
      })
      await trx.insertInto('grants').values(rows).execute()
    }
  })
}
