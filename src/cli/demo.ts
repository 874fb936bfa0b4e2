/**
 * `zona demo`: the portal on an embedded database with a demo customer of the chosen preset
 * (ZONA_PRESET, default o2-cz), a local mail catcher, and the logins printed.
 */

import { demoOperatorKey } from '../demo/operator-key.ts'
import { DEMO_PASSWORD } from '../demo/presets.ts'
import { seedDemo } from '../demo/seed.ts'
import { startMailCatcher } from '../mail/catcher.ts'
import { startZona } from '../server/start.ts'
import type { Output } from './access-test.ts'
import { configOrExit } from './serve.ts'

export async function runDemo(io: Output): Promise<number> {
  if (!process.env.ZONA_DATA_DIR && !process.env.DATABASE_URL)
    process.env.ZONA_DATA_DIR = `./data/demo-${process.env.ZONA_PRESET || 'o2-cz'}`
  process.env.ZONA_LOG_LEVEL ||= 'warn'
  const config = configOrExit(io)
  if (!config) return 2
  const catcher = await startMailCatcher({ port: 0 })
  const running = await startZona(config, { mailCatcher: catcher })
  const logins = await seedDemo(running.zona)
  // The back office signs in with an operator API key: the one from the environment, else a fresh one.
  const operatorKey = config.ZONA_OPERATOR_KEY ?? (await demoOperatorKey(running.zona))
  const base = running.url.replace('127.0.0.1', 'localhost')
  const c = running.zona.catalog
  io.out(
    `\nZona demo – ${c.name[c.language]} (${c.operator}, preset ${c.id}), database ${running.zona.store.location}`,
  )
  io.out(`  portal        ${base}/`)
  io.out(`  API reference ${base}/api/docs`)
  io.out(`  mailbox       ${base}/dev/mail   (every e-mail Zona sends lands here)`)
  io.out(`  back office   ${base}/operator   operator API key: ${operatorKey}`)
  if (!config.ZONA_OPERATOR_KEY)
    io.out('                (a new key on every start; set ZONA_OPERATOR_KEY to keep one)')
  io.out(`\nSign in with any of these logins; the password is ${DEMO_PASSWORD}\n`)
  const width = Math.max(...logins.map((l) => l.login.length), 5)
  for (const l of logins)
    io.out(`  ${l.login.padEnd(width)}  ${l.name.padEnd(22)} ${l.roleName} (${l.role}) on ${l.scope}`)
  io.out('\nOther presets: ZONA_PRESET=nos-pt|ovh|sk-isp|tim-business npm run demo. Ctrl+C stops.')
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  await running.close()
  await catcher.close()
  return 0
}
