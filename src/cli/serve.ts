/** `zona serve` and `zona migrate`: configuration from the environment, validated first. */
import { type Config, ENV_HELP, readConfig } from '../config.ts'
import { startZona } from '../server/start.ts'
import { openDatabase } from '../store/db.ts'
import { migrateToLatest } from '../store/migrate.ts'
import type { Output } from './access-test.ts'

export function configOrExit(io: Output): Config | undefined {
  const read = readConfig()
  if (read.ok) return read.config
  io.err('zona: the configuration is not valid:')
  for (const e of read.errors) io.err(`  ${e}`)
  io.err(`\n${ENV_HELP}`)
  return undefined
}

export async function runMigrate(io: Output): Promise<number> {
  const config = configOrExit(io)
  if (!config) return 2
  const store = await openDatabase(
    config.DATABASE_URL ? { url: config.DATABASE_URL } : { dataDir: config.ZONA_DATA_DIR },
  )
  try {
    const report = await migrateToLatest(store.db)
    if (!report.ok) {
      io.err(`migration ${report.failed ?? ''} failed: ${report.error.message}`)
      return 1
    }
    io.out(
      report.applied.length
        ? `applied ${report.applied.length} migration(s) on ${store.location}: ${report.applied.join(', ')}`
        : `${store.location} is up to date (${report.latest ?? 'no migrations'})`,
    )
    return 0
  } finally {
    await store.close()
  }
}

export async function runServe(io: Output): Promise<number> {
  const config = configOrExit(io)
  if (!config) return 2
  const running = await startZona(config)
  io.out(
    `zona listening on ${running.url} (preset ${config.ZONA_PRESET}, database ${running.zona.store.location})`,
  )
  await new Promise<void>((resolve) => {
    const stop = () => resolve()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  await running.close()
  return 0
}
