/**
 * Starting Zona: open and migrate the database, load the access model, build the app. Used by
 * `zona serve`, `zona demo` and the tests (which pass an in-memory database and port 0).
 */
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { hashToken } from '../auth/tokens.ts'
import { loadPreset } from '../catalog/load.ts'
import { audit, type Zona } from '../commands/context.ts'
import type { Config } from '../config.ts'
import { buildApp } from '../http/app.ts'
import { devMailRoutes } from '../http/routes/dev-mail.ts'
import type { MailCatcher } from '../mail/catcher.ts'
import { type MailDispatcher, startMailDispatcher } from '../mail/dispatcher.ts'
import { createTransport } from '../mail/transport.ts'
import { subscribeAccessChanges } from '../store/changes.ts'
import { withTransaction } from '../store/common.ts'
import { openDatabase, type Store } from '../store/db.ts'
import { migrateToLatest } from '../store/migrate.ts'
import { AccessModel } from './access-model.ts'

export interface Running {
  zona: Zona
  app: FastifyInstance
  /** http://host:port once listening. */
  url: string
  /** Set when mail goes out (SMTP_URL or a mail catcher): tests await `drain()` to see it arrive. */
  mail?: { drain(): Promise<void> }
  close(): Promise<void>
}

export interface StartOptions {
  /** Listen on config.HOST:PORT (default true). */
  listen?: boolean
  logger?: boolean
  clock?: () => Date
  /** Use this store instead of opening one from the config. */
  store?: Store
  /**
   * A local mail catcher (demo, tests): mail goes to it instead of SMTP_URL, and its mailbox
   * is served at /dev/mail. Refused in production.
   */
  mailCatcher?: MailCatcher
}

export async function createZona(config: Config, options: StartOptions = {}): Promise<Zona> {
  const log = pino({ level: options.logger === false ? 'silent' : config.ZONA_LOG_LEVEL })
  const store =
    options.store ??
    (await openDatabase(
      config.DATABASE_URL ? { url: config.DATABASE_URL } : { dataDir: config.ZONA_DATA_DIR },
    ))
  const migrated = await migrateToLatest(store.db)
  if (!migrated.ok) {
    await store.close()
    throw new Error(`database migration failed at ${migrated.failed ?? 'start'}: ${migrated.error.message}`)
  }
  const catalog = loadPreset(config.ZONA_PRESET)
  const clock = options.clock ?? (() => new Date())
  const access = await AccessModel.load(store, catalog, () => clock().getTime())
  return { config, store, catalog, access, clock, log }
}

/**
 * ZONA_OPERATOR_KEY: the first operator key of a fresh deployment, so the back office can be used
 * before any key was created through it. Stored hashed like every key; idempotent.
 */
async function ensureOperatorKey(zona: Zona, key: string): Promise<void> {
  const hash = hashToken(key)
  const db = zona.store.db
  const existing = await db.selectFrom('apiKeys').select('id').where('keyHash', '=', hash).executeTakeFirst()
  if (existing) return
  await withTransaction(db, async (trx) => {
    const row = await trx
      .insertInto('apiKeys')
      .values({ keyHash: hash, name: 'ZONA_OPERATOR_KEY', scope: 'operator' })
      .returning('id')
      .executeTakeFirstOrThrow()
    await audit(
      trx,
      { id: 'system' },
      { action: 'api_key.created', subject: row.id, after: { name: 'ZONA_OPERATOR_KEY', scope: 'operator' } },
    )
  })
}

export async function startZona(config: Config, options: StartOptions = {}): Promise<Running> {
  if (options.mailCatcher && config.production)
    throw new Error(
      'a mail catcher (and its /dev/mail pages) is for demos and tests, not NODE_ENV=production',
    )
  const zona = await createZona(config, options)
  if (config.ZONA_OPERATOR_KEY) await ensureOperatorKey(zona, config.ZONA_OPERATOR_KEY)
  const app = await buildApp(zona, { logger: options.logger ?? true })
  if (options.mailCatcher) await app.register(devMailRoutes(options.mailCatcher))
  // Another process's writes arrive as notifications; requests also check the version (I6).
  const subscription = await subscribeAccessChanges(
    zona.store,
    () => {
      zona.access.refresh().catch((e) => zona.log.warn({ err: e }, 'access model refresh failed'))
    },
    { onError: (e) => zona.log.warn({ err: e }, 'access notifications') },
  )
  let url = ''
  if (options.listen !== false) {
    url = await app.listen({ port: config.PORT, host: config.HOST })
    // Port 0 (tests, benchmarks) is only known now: links in e-mails must carry the real one.
    if (config.PORT === 0 && !config.ZONA_PUBLIC_URL) zona.config.publicUrl = url
  } else await app.ready()
  // Mail goes out only once the app is up; the outbox keeps whatever was queued before.
  const smtpUrl = options.mailCatcher?.url ?? config.SMTP_URL
  const transport = smtpUrl ? createTransport(smtpUrl) : undefined
  const mail: MailDispatcher | undefined = transport ? startMailDispatcher(zona, transport) : undefined
  return {
    zona,
    app,
    url,
    ...(mail ? { mail } : {}),
    async close() {
      await mail?.stop()
      transport?.close()
      await subscription.close()
      await app.close()
      if (!options.store) await zona.store.close()
    },
  }
}
