/**
 * A Kysely dialect for PGlite (embedded PostgreSQL in WebAssembly).
 *
 * Kysely 0.28 ships no PGlite dialect. PGlite speaks the same SQL as PostgreSQL, so the
 * adapter, introspector and query compiler are PostgreSQL's; only the driver differs.
 *
 * PGlite has exactly one connection. Kysely hands a connection to each query, and holds
 * one for the whole of a transaction, so the driver keeps a mutex: while a transaction
 * (or `db.connection()`) holds the connection, every other query waits its turn instead
 * of slipping into someone else's transaction. The limit that follows: inside a
 * transaction, use the transaction object, never the outer `db` – on PGlite that query
 * would wait for the transaction that waits for it (the wait times out with a clear error).
 */
import type { PGlite, Transaction as PGliteTransaction } from '@electric-sql/pglite'
import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely'

export interface PGliteDialectConfig {
  /** The instance, or a factory called once by `init()`. */
  pglite: PGlite | (() => Promise<PGlite>)
  /** Close the instance when Kysely is destroyed. Default true; false when the instance is shared. */
  closeOnDestroy?: boolean
  /**
   * How long a query may wait for the single connection before failing. A long wait almost
   * always means a query on the outer `db` inside a transaction. Default 60 s; 0 = forever.
   */
  acquireTimeoutMs?: number
}

export class PGliteDialect implements Dialect {
  readonly #config: PGliteDialectConfig

  constructor(config: PGliteDialectConfig) {
    this.#config = { ...config }
  }

  createAdapter(): DialectAdapter {
    return new PGliteAdapter()
  }

  createDriver(): Driver {
    return new PGliteDriver(this.#config)
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new PostgresIntrospector(db)
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler()
  }
}

/** PostgreSQL's adapter; its advisory migration lock works on PGlite's one session too. */
export class PGliteAdapter extends PostgresAdapter {}

/** A FIFO mutex: `lock()` resolves with the function that unlocks. */
class Mutex {
  #tail: Promise<void> = Promise.resolve()

  lock(timeoutMs: number): Promise<() => void> {
    let unlock!: () => void
    const released = new Promise<void>((resolve) => {
      unlock = resolve
    })
    const previous = this.#tail
    this.#tail = previous.then(() => released)
    if (timeoutMs <= 0) return previous.then(() => unlock)

    return new Promise((resolve, reject) => {
      let timedOut = false
      const timer = setTimeout(() => {
        timedOut = true
        reject(
          new Error(
            `PGlite connection busy for ${timeoutMs} ms: a long transaction holds it, or code inside a ` +
              'transaction queried the outer db (query through the transaction object instead: on PGlite ' +
              'the outer query waits for the transaction that waits for it).',
          ),
        )
      }, timeoutMs)
      timer.unref?.()
      void previous.then(() => {
        clearTimeout(timer)
        // A waiter that gave up still takes its turn in the queue, then passes it on at once.
        if (timedOut) unlock()
        else resolve(unlock)
      })
    })
  }
}

class PGliteDriver implements Driver {
  readonly #config: PGliteDialectConfig
  readonly #mutex = new Mutex()
  #pglite: PGlite | undefined
  #connection: PGliteConnection | undefined
  #unlock: (() => void) | undefined

  constructor(config: PGliteDialectConfig) {
    this.#config = config
  }

  async init(): Promise<void> {
    const { pglite } = this.#config
    this.#pglite = typeof pglite === 'function' ? await pglite() : pglite
    if (this.#pglite.closed) throw new Error('The PGlite instance is already closed.')
    await this.#pglite.waitReady
    this.#connection = new PGliteConnection(this.#pglite)
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = this.#connection
    if (!connection) throw new Error('The PGlite driver is not initialised, or already destroyed.')
    this.#unlock = await this.#mutex.lock(this.#config.acquireTimeoutMs ?? 60_000)
    return connection
  }

  async releaseConnection(): Promise<void> {
    const unlock = this.#unlock
    this.#unlock = undefined
    unlock?.()
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await (connection as PGliteConnection).begin(settings)
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as PGliteConnection).commit()
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as PGliteConnection).rollback()
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteIdentifier(name)}`))
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to savepoint ${quoteIdentifier(name)}`))
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release savepoint ${quoteIdentifier(name)}`))
  }

  async destroy(): Promise<void> {
    const pglite = this.#pglite
    this.#pglite = undefined
    this.#connection = undefined
    if (pglite && (this.#config.closeOnDestroy ?? true) && !pglite.closed) await pglite.close()
  }
}

/**
 * The single connection. Transactions go through `pglite.transaction()` so that code using
 * the PGlite instance directly (LISTEN, for one) waits for them too, instead of running
 * inside them.
 */
class PGliteConnection implements DatabaseConnection {
  readonly #pglite: PGlite
  #transaction: PGliteTransaction | undefined
  #finish: ((outcome: 'commit' | 'rollback') => void) | undefined
  #finished: Promise<void> | undefined

  constructor(pglite: PGlite) {
    this.#pglite = pglite
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const runner = this.#transaction ?? this.#pglite
    const result = await runner.query<R>(compiledQuery.sql, [...compiledQuery.parameters], {
      rowMode: 'object',
    })
    const counted = ['INSERT', 'UPDATE', 'DELETE', 'MERGE'].includes(result.command ?? '')
    return {
      rows: result.rows ?? [],
      numAffectedRows: counted ? BigInt(result.rowCount ?? result.affectedRows ?? 0) : undefined,
    }
  }

  /** PGlite has no cursors over its wire: fetch everything, then hand it out in chunks. */
  async *streamQuery<R>(
    compiledQuery: CompiledQuery,
    chunkSize = 100,
  ): AsyncIterableIterator<QueryResult<R>> {
    if (!Number.isInteger(chunkSize) || chunkSize <= 0)
      throw new Error('chunkSize must be a positive integer')
    const { rows } = await this.executeQuery<R>(compiledQuery)
    for (let i = 0; i < rows.length; i += chunkSize) yield { rows: rows.slice(i, i + chunkSize) }
  }

  async begin(settings: TransactionSettings): Promise<void> {
    if (this.#transaction) throw new Error('A PGlite transaction is already open on this connection.')
    let begun!: (tx: PGliteTransaction) => void
    let failedToBegin!: (error: unknown) => void
    const started = new Promise<PGliteTransaction>((resolve, reject) => {
      begun = resolve
      failedToBegin = reject
    })
    let finish!: (outcome: 'commit' | 'rollback') => void
    const outcome = new Promise<'commit' | 'rollback'>((resolve) => {
      finish = resolve
    })
    this.#finish = finish
    this.#finished = this.#pglite
      .transaction(async (tx) => {
        begun(tx)
        if ((await outcome) === 'rollback') await tx.rollback()
      })
      .then(
        () => undefined,
        (error: unknown) => {
          failedToBegin(error)
          throw error
        },
      )
    // Keep an unobserved rejection from crashing the process; commit() rethrows it.
    this.#finished.catch(() => {})
    try {
      this.#transaction = await started
      const characteristics = [
        settings.isolationLevel ? `isolation level ${settings.isolationLevel}` : '',
        settings.accessMode ?? '',
      ].filter(Boolean)
      if (characteristics.length > 0) {
        await this.#transaction.query(`set transaction ${characteristics.join(' ')}`)
      }
    } catch (error) {
      // Kysely does not roll back a transaction that failed to begin: end it here, or it
      // would hold PGlite's transaction lock for ever.
      await this.rollback()
      throw error
    }
  }

  async commit(): Promise<void> {
    await this.#end('commit')
  }

  async rollback(): Promise<void> {
    await this.#end('rollback').catch(() => {})
  }

  async #end(outcome: 'commit' | 'rollback'): Promise<void> {
    const finish = this.#finish
    const finished = this.#finished
    this.#finish = undefined
    this.#finished = undefined
    this.#transaction = undefined
    finish?.(outcome)
    await finished
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}
