/**
 * A real Zona server process for the outbox crash test (outbox-crash.test.ts), started as
 * `node --import tsx test/crash/server-entry.ts` with an IPC channel, and killed with SIGKILL.
 *
 * Environment: the usual configuration (DATABASE_URL or ZONA_DATA_DIR, ZONA_PRESET, SMTP_URL,
 * PORT=0), plus CRASH_HOLD_AFTER_ACCEPT_MS: when set, after the SMTP server has accepted a
 * message the process tells the parent ('accepted') and waits that long before the dispatcher
 * may mark the message sent – the window in which the test kills it.
 *
 * The mail goes out through the product's own dispatcher (startMailDispatcher) and transport,
 * as startZona wires them, only with test timings: startZona's defaults retry after 30 s and
 * lease a claimed message for 5 minutes, which a test cannot wait for. SMTP_URL is therefore
 * taken out of the configuration startZona sees and given to the dispatcher started here.
 *
 * The test knows SEED by heart (importing this file would start a server).
 *
 * IPC: the parent sends {id, op}; the process answers {id, result} or {id, error}.
 *   seed   – one sk-isp customer with a contract number, its contact e-mail and a primary account
 *   outbox – the outbox rows
 *   stop   – close everything and exit 0
 * and reports {type: 'ready', url}, {type: 'accepted', messageId, to}.
 */
import { readConfig } from '../../src/config.ts'
import { type MailSender, startMailDispatcher } from '../../src/mail/dispatcher.ts'
import { createTransport } from '../../src/mail/transport.ts'
import { startZona } from '../../src/server/start.ts'
import { insertGrant } from '../../src/store/grants.ts'
import { insertPerson } from '../../src/store/people.ts'
import { insertCustomer, insertNodes } from '../../src/store/tree.ts'

const SEED = {
  customer: 'firma',
  contractNumber: 'ZML-7001',
  contactEmail: 'peter.novak@firma.sk',
} as const

const send = (message: object) => {
  if (!process.send) throw new Error('start this with an IPC channel (child_process.fork)')
  process.send(message)
}

const read = readConfig(process.env)
if (!read.ok) {
  console.error(read.errors.join('\n'))
  process.exit(2)
}
const config = read.config
if (!config.SMTP_URL) {
  console.error('SMTP_URL is required')
  process.exit(2)
}
const hold = Number(process.env.CRASH_HOLD_AFTER_ACCEPT_MS ?? 0)

const running = await startZona({ ...config, SMTP_URL: undefined }, { logger: false })
const transport = createTransport(config.SMTP_URL)
const sender: MailSender = {
  async sendMail(message) {
    const info = await transport.sendMail(message)
    if (hold > 0) {
      send({ type: 'accepted', messageId: message.messageId, to: message.to })
      await new Promise((resolve) => setTimeout(resolve, hold))
    }
    return info
  },
}
const dispatcher = startMailDispatcher(running.zona, sender, {
  pollMs: 100,
  backoffMs: 100,
  maxBackoffMs: 200,
  // Never give up while the SMTP server is away: the test decides when it comes back.
  maxAttempts: 1_000_000,
  // A message claimed by a killed process is due again this soon.
  leaseMs: 1500,
})

const db = running.zona.store.db
const ops: Record<string, () => Promise<unknown>> = {
  async seed() {
    await insertCustomer(db, { id: SEED.customer, name: 'Firma s.r.o.', preset: config.ZONA_PRESET })
    await insertNodes(db, [
      {
        id: 'acc-firma',
        customerId: SEED.customer,
        parentId: SEED.customer,
        kind: 'account',
        name: 'Hlavný účet',
        contractNumber: SEED.contractNumber,
        contactEmail: SEED.contactEmail,
      },
    ])
    await insertPerson(db, { id: 'boss', login: 'boss', email: 'boss@firma.sk', displayName: 'Boss' })
    await insertGrant(db, {
      customerId: SEED.customer,
      personId: 'boss',
      role: 'primary',
      scopeNodeId: SEED.customer,
      limited: true,
      grantedBy: 'operator:test',
    })
    await running.zona.access.refresh()
    return 'seeded'
  },
  async outbox() {
    const rows = await db
      .selectFrom('outbox')
      .select(['id', 'recipient', 'template', 'status', 'attempts', 'lastError'])
      .orderBy('id')
      .execute()
    return rows
  },
  async stop() {
    await dispatcher.stop()
    transport.close()
    await running.close()
    setImmediate(() => process.exit(0))
    return 'stopped'
  },
}

process.on('message', (message: { id: number; op: string }) => {
  const op = ops[message.op]
  if (!op) {
    send({ id: message.id, error: `unknown op ${message.op}` })
    return
  }
  op().then(
    (result) => send({ id: message.id, result }),
    (error: unknown) =>
      send({ id: message.id, error: error instanceof Error ? error.message : String(error) }),
  )
})
// The parent gone (test runner killed), nothing should linger.
process.on('disconnect', () => process.exit(0))

send({ type: 'ready', url: running.url })
