/**
 * A mail catcher: a real SMTP server on 127.0.0.1 that keeps what it receives in memory. The
 * demo points Zona's dispatcher at it and shows the mail under /dev/mail; tests use it as the
 * SMTP peer, so mail goes through nodemailer and the SMTP protocol exactly as in production.
 *
 * No TLS and any (or no) login is accepted: it only listens on the loopback address.
 *
 * @example
 * const catcher = await startMailCatcher()
 * const transport = createTransport(catcher.url)
 * // … send …
 * const mail = await catcher.waitFor((m) => m.to === 'jana@example.cz')
 * await catcher.close()
 */
import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'
import { parseMail } from './mime.ts'

export interface CaughtMessage {
  id: string
  /** The envelope's recipients (RCPT TO), bare addresses, joined by ', '. */
  to: string
  /** The From header as written, decoded, e.g. 'Zona <zona@localhost>'. */
  from: string
  subject: string
  text: string
  html: string
  receivedAt: Date
  /** Every header (lower-case names, first occurrence, decoded), e.g. headers['message-id']. */
  headers: Record<string, string>
  /** The message exactly as received. */
  raw: string
}

export interface MailCatcher {
  /** smtp://127.0.0.1:<port> – give it to `createTransport`. */
  url: string
  port: number
  /** Everything received so far, oldest first. */
  messages(): CaughtMessage[]
  message(id: string): CaughtMessage | undefined
  /** The first message (already received or still to come) matching; rejects after the timeout. */
  waitFor(predicate: (message: CaughtMessage) => boolean, timeoutMs?: number): Promise<CaughtMessage>
  /** Forgets every message received so far. */
  clear(): void
  close(): Promise<void>
}

export interface MailCatcherOptions {
  /** 0 (the default) picks a free port. */
  port?: number
  /** The oldest messages are dropped beyond this many, so a long demo stays small. Default 1000. */
  keep?: number
}

const MAX_MESSAGE_BYTES = 10 * 1024 * 1024

export async function startMailCatcher(options: MailCatcherOptions = {}): Promise<MailCatcher> {
  const keep = options.keep ?? 1000
  let caught: CaughtMessage[] = []
  const waiters = new Set<(message: CaughtMessage) => void>()

  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    allowInsecureAuth: true,
    disableReverseLookup: true,
    size: MAX_MESSAGE_BYTES,
    logger: false,
    banner: 'Zona mail catcher',
    // It is never closed with connections open for long: tests and the demo stop it at once.
    closeTimeout: 1000,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username ?? 'anyone' })
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('error', (error: Error) => callback(error))
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          callback(Object.assign(new Error('message too large for the catcher'), { responseCode: 552 }))
          return
        }
        const raw = Buffer.concat(chunks)
        const parsed = parseMail(raw)
        const message: CaughtMessage = {
          id: randomUUID(),
          to: session.envelope.rcptTo.map((r) => r.address).join(', '),
          from: parsed.from,
          subject: parsed.subject,
          text: parsed.text,
          html: parsed.html,
          receivedAt: new Date(),
          headers: parsed.headers,
          raw: raw.toString('utf8'),
        }
        caught.push(message)
        if (caught.length > keep) caught = caught.slice(caught.length - keep)
        for (const waiter of [...waiters]) waiter(message)
        // Answered only now: the sender may count the message as delivered once it has this.
        callback(null, `queued as ${message.id}`)
      })
    },
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  // Connection-level errors (a client hanging up) must not crash the process.
  server.on('error', () => {})
  const port = ((server as unknown as { server: { address(): AddressInfo } }).server.address() as AddressInfo)
    .port

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages: () => [...caught],
    message: (id) => caught.find((m) => m.id === id),
    clear() {
      caught = []
    },
    waitFor(predicate, timeoutMs = 5000) {
      const already = caught.find(predicate)
      if (already) return Promise.resolve(already)
      return new Promise((resolve, reject) => {
        const waiter = (message: CaughtMessage) => {
          if (!predicate(message)) return
          done()
          resolve(message)
        }
        const timer = setTimeout(() => {
          done()
          const seen = caught.map((m) => `"${m.subject}" to ${m.to}`).join('; ') || 'nothing'
          reject(new Error(`no matching mail within ${timeoutMs} ms; caught: ${seen}`))
        }, timeoutMs)
        const done = () => {
          clearTimeout(timer)
          waiters.delete(waiter)
        }
        waiters.add(waiter)
      })
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
