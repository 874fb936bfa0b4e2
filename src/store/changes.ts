/**
 * Access changes: a version number and a notification, so that every server process can
 * keep the access model (tree + grants) in memory and still refuse a revoked person on
 * the very next request (invariant I6).
 *
 * Triggers (migration 0005) bump the version in the writing transaction whenever grants,
 * nodes, service contacts or a person's status change, and PostgreSQL sends a NOTIFY on
 * channel 'zona_access' at commit (never for a rolled-back write). `bumpAccessVersion` is
 * for anything else that should make caches reload (a catalog change, say).
 */
import type { PGlite } from '@electric-sql/pglite'
import { sql } from 'kysely'
import pg from 'pg'
import type { Executor } from './common.ts'
import type { Store } from './db.ts'

export const ACCESS_CHANNEL = 'zona_access'

/** What the triggers report; 'resync' means notifications may have been missed: reload everything. */
export type AccessChangeKind = 'grant' | 'tree' | 'contact' | 'person' | 'catalog' | 'resync' | (string & {})

export interface AccessChange {
  version: number
  kind: AccessChangeKind
  /** The customers concerned; null when unknown or too many (then reload all). */
  customerIds: string[] | null
  /** The people concerned, when known. */
  personIds: string[] | null
}

/**
 * Raises the access version and queues the notification; call inside the write
 * transaction (it is delivered only if that transaction commits). Returns the new version.
 *
 * @example
 * await bumpAccessVersion(trx, { kind: 'catalog' })
 */
export async function bumpAccessVersion(
  trx: Executor,
  change: { kind: AccessChangeKind; customerIds?: readonly string[]; personIds?: readonly string[] },
): Promise<number> {
  const result = await sql<{ version: number }>`select zona_bump_access_version(
    ${change.kind}, cast(${change.customerIds ? [...change.customerIds] : null} as text[]),
    cast(${change.personIds ? [...change.personIds] : null} as text[])) as version`.execute(trx)
  return Number(result.rows[0]?.version)
}

export async function currentAccessVersion(db: Executor): Promise<number> {
  const row = await db.selectFrom('accessVersion').select('version').executeTakeFirstOrThrow()
  return Number(row.version)
}

/**
 * Takes the access lock for the rest of the transaction: access-changing transactions
 * then run one after another. Call it first in a command that reads grants, decides, and
 * writes, so that no interleaving can let two delegations each pass a check the other
 * invalidates (invariant I2). The triggers take the same lock later anyway; taking it
 * first also avoids deadlocks between such commands.
 */
export async function lockAccess(trx: Executor): Promise<number> {
  if (!trx.isTransaction) throw new Error('lockAccess() only makes sense inside a transaction')
  const row = await trx.selectFrom('accessVersion').select('version').forUpdate().executeTakeFirstOrThrow()
  return Number(row.version)
}

export interface AccessSubscription {
  /** How changes arrive: a LISTEN connection, PGlite's listen(), or polling. */
  readonly mode: 'listen' | 'poll'
  close(): Promise<void>
}

export interface SubscribeOptions {
  /** Polling interval when LISTEN is not available (ms). Default 1000. */
  pollIntervalMs?: number
  /** Delay before reconnecting a lost PostgreSQL LISTEN connection (ms). Default 1000. */
  reconnectDelayMs?: number
  /** Called with errors of the listening connection (they never reach the caller otherwise). */
  onError?: (error: Error) => void
}

/**
 * Calls `onChange` after each committed access change, from any process using the same
 * database. On PostgreSQL a dedicated connection LISTENs (re-connecting after a loss and
 * then reporting a 'resync'); on PGlite, its listen() API, or polling if it has none.
 *
 * @example
 * const subscription = await subscribeAccessChanges(store, (change) => cache.invalidate(change))
 * // …
 * await subscription.close()
 */
export async function subscribeAccessChanges(
  store: Store,
  onChange: (change: AccessChange) => void,
  options: SubscribeOptions = {},
): Promise<AccessSubscription> {
  if (store.dialect === 'postgres' && store.pgConfig)
    return listenOnPostgres(store.pgConfig, onChange, options)
  if (store.pglite && typeof store.pglite.listen === 'function') return listenOnPGlite(store.pglite, onChange)
  return poll(store, onChange, options)
}

export function parseAccessChange(payload: string): AccessChange {
  try {
    const parsed = JSON.parse(payload) as Partial<AccessChange>
    return {
      version: Number(parsed.version ?? 0),
      kind: typeof parsed.kind === 'string' ? parsed.kind : 'resync',
      customerIds: Array.isArray(parsed.customerIds) ? parsed.customerIds.map(String) : null,
      personIds: Array.isArray(parsed.personIds) ? parsed.personIds.map(String) : null,
    }
  } catch {
    return { version: 0, kind: 'resync', customerIds: null, personIds: null }
  }
}

async function listenOnPGlite(
  pglite: PGlite,
  onChange: (change: AccessChange) => void,
): Promise<AccessSubscription> {
  const unlisten = await pglite.listen(ACCESS_CHANNEL, (payload) => onChange(parseAccessChange(payload)))
  let closed = false
  return {
    mode: 'listen',
    async close() {
      if (closed) return
      closed = true
      if (!pglite.closed) await unlisten()
    },
  }
}

async function listenOnPostgres(
  config: pg.ClientConfig,
  onChange: (change: AccessChange) => void,
  options: SubscribeOptions,
): Promise<AccessSubscription> {
  let closed = false
  let client: pg.Client | undefined
  let timer: NodeJS.Timeout | undefined
  const reportError = (error: unknown) =>
    options.onError?.(error instanceof Error ? error : new Error(String(error)))

  const connect = async (): Promise<void> => {
    const next = new pg.Client(config)
    next.on('notification', (message) => {
      if (message.channel === ACCESS_CHANNEL) onChange(parseAccessChange(message.payload ?? ''))
    })
    next.on('error', (error) => {
      reportError(error)
      reconnect(next)
    })
    next.on('end', () => reconnect(next))
    await next.connect()
    await next.query(`listen ${ACCESS_CHANNEL}`)
    client = next
  }

  // After a lost connection, notifications in between are gone: tell the caller to reload.
  const reconnect = (lost: pg.Client) => {
    if (closed || client !== lost || timer) return
    client = undefined
    lost.end().catch(() => {})
    const attempt = () => {
      timer = setTimeout(async () => {
        timer = undefined
        if (closed) return
        try {
          await connect()
          onChange({ version: 0, kind: 'resync', customerIds: null, personIds: null })
        } catch (error) {
          reportError(error)
          attempt()
        }
      }, options.reconnectDelayMs ?? 1000)
      timer.unref?.()
    }
    attempt()
  }

  await connect()
  return {
    mode: 'listen',
    async close() {
      closed = true
      if (timer) clearTimeout(timer)
      const current = client
      client = undefined
      await current?.end().catch(() => {})
    },
  }
}

async function poll(
  store: Store,
  onChange: (change: AccessChange) => void,
  options: SubscribeOptions,
): Promise<AccessSubscription> {
  let seen = await currentAccessVersion(store.db)
  let closed = false
  const timer = setInterval(async () => {
    if (closed) return
    try {
      const version = await currentAccessVersion(store.db)
      if (version !== seen) {
        seen = version
        onChange({ version, kind: 'resync', customerIds: null, personIds: null })
      }
    } catch (error) {
      options.onError?.(error instanceof Error ? error : new Error(String(error)))
    }
  }, options.pollIntervalMs ?? 1000)
  timer.unref?.()
  return {
    mode: 'poll',
    async close() {
      closed = true
      clearInterval(timer)
    },
  }
}
