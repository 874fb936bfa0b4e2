/**
 * The engine as the server sees it: loaded from the database and kept exactly in step with it.
 *
 * Every change that matters to access bumps `access_version` in the writing transaction (database
 * triggers). Commands take that row's lock first, so access-changing writes are serialised and a
 * decision made under the lock cannot be overtaken (I2). After commit the writer applies its own
 * change to the engine incrementally when nothing else happened in between; otherwise, and
 * whenever another process wrote, `refresh` reloads. On PostgreSQL every request checks the
 * version first, so a revoke through one instance is refused by the next request to any other (I6).
 *
 * PGlite is embedded: only this process can write to it, and its NOTIFY reaches our listener
 * before the committing call returns. So there the model knows when the version may have moved
 * and skips the per-request read otherwise (it cost a third of a decision's CPU time).
 */
import { sql } from 'kysely'
import type { Catalog } from '../domain/catalog.ts'
import { AccessEngine } from '../domain/engine.ts'
import { CustomerTree } from '../domain/tree.ts'
import { ACCESS_CHANNEL } from '../store/changes.ts'
import type { Executor } from '../store/common.ts'
import type { Store } from '../store/db.ts'
import { loadGrants } from '../store/grants.ts'
import { loadTreeShape } from '../store/tree.ts'

export class AccessModel {
  private current: AccessEngine
  private loadedVersion = -1
  private refreshing: Promise<void> | undefined
  /**
   * PGlite only: notifications counted, and the count as of the last refresh that finished. A
   * refresh still reading must not let another caller skip ahead of it, hence a count, not a flag.
   */
  private notified = 1
  private settled = 0
  private readonly exclusive: boolean

  private constructor(
    private readonly store: Store,
    readonly catalog: Catalog,
    private readonly clock: () => number,
  ) {
    this.current = new AccessEngine(catalog, new CustomerTree(), { clock })
    this.exclusive = store.dialect === 'pglite' && typeof store.pglite?.listen === 'function'
  }

  static async load(store: Store, catalog: Catalog, clock: () => number = Date.now): Promise<AccessModel> {
    const model = new AccessModel(store, catalog, clock)
    // Listening before the first read: no change can fall between the two.
    if (model.exclusive)
      await store.pglite?.listen(ACCESS_CHANNEL, () => {
        model.notified++
      })
    await model.reload(store.db)
    return model
  }

  /** The engine to ask; replaced as a whole on reload, so hold it only for one request. */
  get engine(): AccessEngine {
    return this.current
  }

  get version(): number {
    return this.loadedVersion
  }

  /** Reload when the database has moved on. Cheap when it has not: one indexed read. */
  async refresh(db: Executor = this.store.db): Promise<void> {
    if (!this.exclusive || db !== this.store.db) return this.catchUp(db)
    if (this.notified === this.settled && this.loadedVersion >= 0) return
    const mark = this.notified
    await this.catchUp(db)
    this.settled = Math.max(this.settled, mark)
  }

  private async catchUp(db: Executor): Promise<void> {
    const v = await readVersion(db)
    if (v === this.loadedVersion) return
    // Inside a transaction, never wait on a reload running on the outer handle (PGlite would
    // deadlock): load from the transaction itself.
    if (db !== this.store.db) return this.reload(db)
    // A reload already running may have read an older version: wait, then go again if so.
    while (this.loadedVersion < v) {
      this.refreshing ??= this.reload(db).finally(() => {
        this.refreshing = undefined
      })
      await this.refreshing
    }
  }

  /**
   * After a local write committed: `before` and `after` are the versions read under the lock at
   * the start and end of the transaction. When the model was at `before`, the change is applied
   * in place; otherwise the model reloads.
   */
  async applied(before: number, after: number, apply: (engine: AccessEngine) => void): Promise<void> {
    if (this.loadedVersion === before && !this.refreshing) {
      try {
        apply(this.current)
        this.loadedVersion = after
        return
      } catch {
        // An in-place update that does not fit means the model is off: fall through to a reload.
      }
    }
    this.loadedVersion = -1
    await this.refresh()
  }

  private async reload(db: Executor): Promise<void> {
    const version = await readVersion(db)
    const tree = this.current.tree
    // The tree only grows (nodes are closed, never deleted), so a reload adds what is missing.
    for (const n of await loadTreeShape(db)) {
      if (tree.has(n.id)) continue
      if (n.kind === 'customer') tree.addCustomer(n.id)
      else if (n.kind === 'account') tree.addAccount(n.id, n.parentId as string)
      else tree.addService(n.id, n.parentId as string, n.serviceType ?? undefined)
    }
    const engine = new AccessEngine(this.catalog, tree, { clock: this.clock })
    for (const g of await loadGrants(db)) {
      engine.addGrant({
        id: g.id,
        person: g.personId,
        role: g.role,
        scope: g.scopeNodeId,
        options: g.options,
        expiresAt: g.expiresAt ? g.expiresAt.getTime() : null,
        grantedBy: g.grantedBy,
        grantedAt: g.grantedAt.getTime(),
      })
    }
    const inactive = await db.selectFrom('people').select('id').where('status', '=', 'deactivated').execute()
    for (const p of inactive) engine.setPersonActive(p.id, false)
    // Two reloads may overlap; the one that read the newer state wins.
    if (version < this.loadedVersion) return
    this.current = engine
    this.loadedVersion = version
  }
}

export async function readVersion(db: Executor): Promise<number> {
  const r = await sql<{ version: string | number }>`select version from access_version`.execute(db)
  return Number(r.rows[0]?.version ?? 0)
}

/** Take the access lock for the rest of the transaction and return the version under it. */
export async function lockVersion(trx: Executor): Promise<number> {
  const r = await sql<{ version: string | number }>`select version from access_version for update`.execute(
    trx,
  )
  return Number(r.rows[0]?.version ?? 0)
}
