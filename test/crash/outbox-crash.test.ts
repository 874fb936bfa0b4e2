/**
 * The outbox survives a crash (issue 4, "Done when": killing the server between commit and
 * send still delivers the mail after restart). A real server process (server-entry.ts, node
 * with tsx) is SIGKILLed and a new one started on the same database:
 *
 * 1. between commit and send – the SMTP server is not there yet, so the message is committed
 *    and pending when the process dies; after the restart it arrives exactly once and its row
 *    is 'sent', and the link in it works on the new process;
 * 2. after the SMTP server accepted the message but before the row was marked sent – the new
 *    process sends it again once the dead one's claim runs out. Delivery is at least once, and
 *    both copies carry the same Message-ID, by which a receiver can drop the second.
 *
 * On PGlite (a data dir in a temp folder, opened by one process at a time) and on PostgreSQL
 * when ZONA_TEST_PG_URL is set (a fresh database from src/store/testing.ts).
 */
import { type ChildProcess, fork } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { type MailCatcher, startMailCatcher } from '../../src/mail/catcher.ts'
import { openDatabase } from '../../src/store/db.ts'
import { testBackends } from '../../src/store/testing.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const ENTRY = fileURLToPath(new URL('./server-entry.ts', import.meta.url))
/** What server-entry.ts seeds. */
const CONTRACT = 'ZML-7001'
const EMAIL = 'peter.novak@firma.sk'

interface OutboxRow {
  id: number
  recipient: string
  template: string | null
  status: 'pending' | 'sent' | 'failed'
  attempts: number
  lastError: string | null
}

/** A database two server processes take turns on. */
interface CrashDatabase {
  env: Record<string, string>
  /** The outbox, read directly – on PGlite only while no server process has the data dir open. */
  outbox(): Promise<OutboxRow[]>
  close(): Promise<void>
}

interface CrashBackend {
  name: string
  open(): Promise<CrashDatabase>
}

function crashBackends(): CrashBackend[] {
  const backends: CrashBackend[] = [
    {
      name: 'pglite',
      async open() {
        const dir = await mkdtemp(join(tmpdir(), 'zona-crash-'))
        const dataDir = join(dir, 'data')
        return {
          env: { ZONA_DATA_DIR: dataDir },
          async outbox() {
            const store = await openDatabase({ dataDir })
            try {
              return (await store.db.selectFrom('outbox').selectAll().orderBy('id').execute()) as OutboxRow[]
            } finally {
              await store.close()
            }
          },
          close: () => rm(dir, { recursive: true, force: true }),
        }
      },
    },
  ]
  const postgres = testBackends().find((b) => b.name === 'postgres')
  if (postgres)
    backends.push({
      name: 'postgres',
      async open() {
        const store = await postgres.open()
        const url = store.pgConfig?.connectionString
        if (!url) throw new Error('the PostgreSQL test store has no connection string')
        return {
          env: { DATABASE_URL: url },
          outbox: async () =>
            (await store.db.selectFrom('outbox').selectAll().orderBy('id').execute()) as OutboxRow[],
          close: () => store.close(),
        }
      },
    })
  return backends
}

/** Configuration the parent's environment must not leak into the child. */
const OWN = /^(DATABASE_URL|SMTP_URL|PORT|HOST|NODE_ENV|ZONA_)/

/** One `node --import tsx test/crash/server-entry.ts` process, spoken to over IPC. */
class ServerProcess {
  url = ''
  output = ''
  readonly exited: Promise<void>
  readonly accepted: Promise<{ messageId: string; to: string }>
  private readonly replies = new Map<number, (reply: { result?: unknown; error?: string }) => void>()
  private asked = 0
  private alive = true

  private constructor(private readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => {
      this.output += d.toString()
    })
    child.stderr?.on('data', (d: Buffer) => {
      this.output += d.toString()
    })
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        this.alive = false
        resolve()
      }),
    )
    this.accepted = new Promise((resolve) =>
      child.on('message', (m: { type?: string; messageId?: string; to?: string }) => {
        if (m.type === 'accepted') resolve({ messageId: String(m.messageId), to: String(m.to) })
      }),
    )
    child.on('message', (m: { id?: number; result?: unknown; error?: string }) => {
      if (typeof m.id === 'number') this.replies.get(m.id)?.(m)
    })
  }

  static async start(env: Record<string, string>): Promise<ServerProcess> {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !OWN.test(k)))
    const child = fork(ENTRY, [], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      env: {
        ...inherited,
        ZONA_PRESET: 'sk-isp',
        PORT: '0',
        HOST: '127.0.0.1',
        ZONA_LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    })
    const server = new ServerProcess(child)
    running.add(server)
    server.url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ready within 120 s:\n${server.output}`)), 120_000)
      child.on('message', (m: { type?: string; url?: string }) => {
        if (m.type !== 'ready') return
        clearTimeout(timer)
        resolve(String(m.url))
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`the server exited (${code}) before it was ready:\n${server.output}`))
      })
    })
    return server
  }

  ask<T>(op: 'seed' | 'outbox' | 'stop'): Promise<T> {
    const id = ++this.asked
    return new Promise<T>((resolve, reject) => {
      this.replies.set(id, (reply) => {
        this.replies.delete(id)
        if (reply.error) reject(new Error(reply.error))
        else resolve(reply.result as T)
      })
      this.child.send({ id, op })
    })
  }

  outbox = () => this.ask<OutboxRow[]>('outbox')

  /** SIGKILL: no shutdown hook, no release of claimed mail, nothing flushed by the process. */
  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL')
    await this.exited
    running.delete(this)
  }

  async stop(): Promise<void> {
    if (this.alive) await Promise.race([this.ask('stop'), sleep(10_000)])
    await Promise.race([this.exited, sleep(10_000)])
    await this.kill()
  }
}

const running = new Set<ServerProcess>()
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/** A port nothing listens on (yet): where the catcher will be. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (typeof address !== 'object' || address === null) throw new Error('no port')
  return address.port
}

/** A browser's POST: CSRF token and cookie first, then the JSON body. */
async function post(base: string, path: string, body: object): Promise<Response> {
  const csrf = await fetch(`${base}/api/v1/auth/csrf`)
  const cookie = csrf.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ')
  const { token } = (await csrf.json()) as { token: string }
  return fetch(`${base}/api/v1${path}`, {
    method: 'POST',
    headers: { cookie, 'x-csrf-token': token, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

const toPeter = (catcher: MailCatcher) => catcher.messages().filter((m) => m.to === EMAIL)

for (const backend of crashBackends()) {
  describe(`outbox across a SIGKILL [${backend.name}]`, () => {
    let catcher: MailCatcher | undefined
    let database: CrashDatabase | undefined
    afterEach(async () => {
      for (const server of [...running]) await server.kill()
      await catcher?.close()
      await database?.close()
      catcher = undefined
      database = undefined
    })

    it('a mail committed but not yet sent when the server dies is delivered exactly once after the restart', async () => {
      const db = await backend.open()
      database = db
      const port = await freePort()
      const smtpUrl = `smtp://127.0.0.1:${port}`

      const first = await ServerProcess.start({ ...db.env, SMTP_URL: smtpUrl })
      await first.ask('seed')
      const asked = await post(first.url, '/account-requests', { contract_number: CONTRACT, email: EMAIL })
      expect(asked.status).toBe(202)
      // Committed with the request; the dispatcher keeps trying an SMTP server that is not there.
      await until('two failed attempts', async () => ((await first.outbox())[0]?.attempts ?? 0) >= 2)
      const [before] = await first.outbox()
      expect(before).toMatchObject({ recipient: EMAIL, template: 'account-request-link', status: 'pending' })
      expect(before?.lastError).toBeTruthy()

      await first.kill()
      expect((await db.outbox()).map((r) => r.status)).toEqual(['pending'])

      catcher = await startMailCatcher({ port })
      const second = await ServerProcess.start({ ...db.env, SMTP_URL: smtpUrl })
      const mail = await catcher.waitFor((m) => m.to === EMAIL, 60_000)
      await until('the row marked sent', async () => (await second.outbox())[0]?.status === 'sent')
      // Several more dispatcher rounds: nothing goes out twice.
      await sleep(1500)
      expect(toPeter(catcher)).toHaveLength(1)
      expect((await second.outbox()).map((r) => r.status)).toEqual(['sent'])

      // The link sent after the crash works on the new process.
      const token = /account-request\?token=([A-Za-z0-9_-]+)/.exec(mail.text)?.[1]
      expect(token).toBeTruthy()
      const done = await post(second.url, '/account-requests/complete', {
        token,
        password: 'dlhé heslo Petra',
        display_name: 'Peter Novák',
      })
      expect(done.status).toBe(200)
      await second.stop()
    }, 300_000)

    it('a server killed after the SMTP server accepted a message, before marking it sent, sends it again with the same Message-ID (at least once)', async () => {
      const db = await backend.open()
      database = db
      catcher = await startMailCatcher()

      const first = await ServerProcess.start({
        ...db.env,
        SMTP_URL: catcher.url,
        CRASH_HOLD_AFTER_ACCEPT_MS: '60000',
      })
      await first.ask('seed')
      expect(
        (await post(first.url, '/account-requests', { contract_number: CONTRACT, email: EMAIL })).status,
      ).toBe(202)
      const accepted = await first.accepted
      await first.kill()
      expect(toPeter(catcher)).toHaveLength(1)
      // The dead process had claimed it (one attempt) and never marked it sent.
      expect(await db.outbox()).toMatchObject([{ recipient: EMAIL, status: 'pending', attempts: 1 }])

      const second = await ServerProcess.start({ ...db.env, SMTP_URL: catcher.url })
      await until('the row marked sent', async () => (await second.outbox())[0]?.status === 'sent')
      const copies = toPeter(catcher)
      expect(copies).toHaveLength(2)
      expect(copies.map((m) => m.headers['message-id'])).toEqual([accepted.messageId, accepted.messageId])
      await sleep(1500)
      expect(toPeter(catcher)).toHaveLength(2)
      await second.stop()
    }, 300_000)
  })
}
