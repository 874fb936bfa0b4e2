/**
 * What every command gets: the store, the access model, the clock. Commands are plain async
 * functions `(zona, input) → result`; they know nothing about HTTP.
 */
import type { Logger } from 'pino'
import type { Config } from '../config.ts'
import type { Catalog } from '../domain/catalog.ts'
import type { AccessEngine } from '../domain/engine.ts'
import { type AccessModel, lockVersion, readVersion } from '../server/access-model.ts'
import { type AuditEventInput, insertAuditEvent } from '../store/audit.ts'
import { type Executor, withTransaction } from '../store/common.ts'
import type { Store } from '../store/db.ts'

export interface Zona {
  config: Config
  store: Store
  catalog: Catalog
  access: AccessModel
  clock: () => Date
  log: Logger
}

export interface Outcome<T> {
  result: T
  /** The same change applied to the in-memory engine after commit. */
  apply?: (engine: AccessEngine) => void
}

/**
 * One write: a transaction that holds the access lock, decides with an engine that is current
 * under that lock, writes (with its audit event), commits, then updates the engine.
 */
export async function write<T>(
  zona: Zona,
  fn: (trx: Executor, engine: AccessEngine) => Promise<Outcome<T>>,
): Promise<T> {
  let before = 0
  let after = 0
  let apply: Outcome<T>['apply']
  const result = await withTransaction(zona.store.db, async (trx) => {
    before = await lockVersion(trx)
    if (zona.access.version !== before) await zona.access.refresh(trx)
    const out = await fn(trx, zona.access.engine)
    after = await readVersion(trx)
    apply = out.apply
    return out.result
  })
  if (after !== before) {
    if (apply) await zona.access.applied(before, after, apply)
    else await zona.access.refresh()
  }
  return result
}

/** Who does a command: a person id or `operator:<name>`, and on whose behalf (operator staff acting for a person). */
export interface Actor {
  id: string
  onBehalfOf?: string | null
  ip?: string | null
}

/** The audit event of a change; call with the transaction that makes it (I5). */
export function audit(
  trx: Executor,
  actor: Actor,
  event: Omit<AuditEventInput, 'actor' | 'onBehalfOf' | 'ip'>,
) {
  return insertAuditEvent(trx, {
    ...event,
    actor: actor.id,
    onBehalfOf: actor.onBehalfOf ?? null,
    ip: actor.ip ?? null,
  })
}
