/**
 * The mail dispatcher: sends what the outbox holds, in the background of every server process.
 *
 * Each round claims a batch of due messages in one short statement – `for update skip
 * locked`, so two processes on one PostgreSQL database never claim the same row – by
 * counting the attempt and moving `next_attempt_at` a lease ahead. It then sends outside any
 * transaction (an SMTP conversation must not hold a database connection, and PGlite has only
 * one), and afterwards marks the message sent, or schedules a retry with exponential backoff,
 * or after `maxAttempts` gives up with state 'failed' and the last error.
 *
 * Delivery is at least once: a message is marked sent only after the SMTP server accepted it,
 * so a crash between the two, or a send that outlasts the lease, sends it again. Each message
 * carries a Message-ID derived from its outbox row, by which receivers can drop the duplicate.
 * A message claimed by a process that then died becomes due again when its lease runs out.
 *
 * The same statement runs on PGlite, where there is one connection and so nothing to skip.
 */
import { sql } from 'kysely'
import type { Zona } from '../commands/context.ts'
import type { OutboxMessage } from '../store/schema.ts'

/** What the dispatcher needs of a transport; a nodemailer transport (transport.ts) is one. */
export interface MailSender {
  sendMail(message: {
    from: string
    to: string
    subject: string
    text: string
    html?: string
    messageId: string
    headers?: Record<string, string>
  }): Promise<unknown>
}

export interface MailDispatcherOptions {
  /** How often to look for due mail. Default 1000 ms. */
  pollMs?: number
  /** Messages claimed per round. Default 20. */
  batchSize?: number
  /** Attempts before a message is given up as 'failed'. Default 8 (about 2 hours of tries). */
  maxAttempts?: number
  /** The wait after the first failure; it doubles with each further one. Default 30 s. */
  backoffMs?: number
  /** The longest wait between two attempts. Default 1 hour. */
  maxBackoffMs?: number
  /** How long a claim keeps others off a message; must outlast one send (transport timeouts). Default 5 min. */
  leaseMs?: number
  /** The sender. Default config.ZONA_MAIL_FROM. */
  from?: string
}

export interface MailDispatcher {
  /** Stops polling and waits for the round under way. Idempotent. */
  stop(): Promise<void>
  /** Sends rounds until no pending message is due (failures wait for their retry). For tests and shutdowns. */
  drain(): Promise<void>
}

/**
 * @example
 * const dispatcher = startMailDispatcher(zona, createTransport(config.SMTP_URL), { pollMs: 1000 })
 * // … on shutdown:
 * await dispatcher.stop()
 */
export function startMailDispatcher(
  zona: Pick<Zona, 'store' | 'config' | 'log'>,
  transport: MailSender,
  options: MailDispatcherOptions = {},
): MailDispatcher {
  const pollMs = options.pollMs ?? 1000
  const batchSize = options.batchSize ?? 20
  const maxAttempts = options.maxAttempts ?? 8
  const backoffMs = options.backoffMs ?? 30_000
  const maxBackoffMs = options.maxBackoffMs ?? 60 * 60 * 1000
  const leaseMs = options.leaseMs ?? 5 * 60 * 1000
  const from = options.from ?? zona.config.ZONA_MAIL_FROM
  const db = zona.store.db
  const domain = /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'zona.invalid'
  const log = zona.log.child({ component: 'mail' })

  let stopped = false
  let timer: NodeJS.Timeout | undefined
  // Rounds run one at a time in a process: the poll and drain() queue behind each other.
  let queue: Promise<unknown> = Promise.resolve()
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn)
    queue = next.catch(() => {})
    return next
  }

  async function claim(): Promise<OutboxMessage[]> {
    const rows = await db
      .updateTable('outbox')
      .set({
        attempts: sql`attempts + 1`,
        nextAttemptAt: sql`now() + ${interval(leaseMs)}`,
      })
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('outbox')
          .select('id')
          .where('status', '=', 'pending')
          .where('nextAttemptAt', '<=', sql<Date>`now()`)
          .orderBy('nextAttemptAt')
          .orderBy('id')
          .limit(batchSize)
          .forUpdate()
          .skipLocked(),
      )
      .returningAll()
      .execute()
    return rows.sort((a, b) => a.id - b.id)
  }

  async function send(message: OutboxMessage): Promise<void> {
    try {
      await transport.sendMail({
        from,
        to: message.recipient,
        subject: message.subject,
        text: message.text,
        ...(message.html ? { html: message.html } : {}),
        // The same id on every attempt, so a duplicate after a crash can be recognised.
        messageId: `<outbox-${message.id}-${message.createdAt.getTime()}@${domain}>`,
        headers: { 'X-Zona-Kind': message.template ?? 'mail' },
      })
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error)
      const finalAttempt = message.attempts >= maxAttempts
      const wait = Math.min(maxBackoffMs, backoffMs * 2 ** Math.max(0, message.attempts - 1))
      await db
        .updateTable('outbox')
        .set({
          status: finalAttempt ? 'failed' : 'pending',
          nextAttemptAt: sql`now() + ${interval(wait)}`,
          lastError: reason.slice(0, 2000),
        })
        .where('id', '=', message.id)
        .where('status', '=', 'pending')
        .execute()
      log.warn(
        { outboxId: message.id, kind: message.template, attempts: message.attempts, err: reason },
        finalAttempt ? 'mail given up' : 'mail send failed, will retry',
      )
      return
    }
    await db
      .updateTable('outbox')
      .set({ status: 'sent', sentAt: sql`now()`, lastError: null })
      .where('id', '=', message.id)
      .execute()
    log.info({ outboxId: message.id, kind: message.template }, 'mail sent')
  }

  /** Hands claimed but unsent messages back at once, uncounted, rather than when their lease ends. */
  async function release(messages: OutboxMessage[]): Promise<void> {
    if (messages.length === 0) return
    await db
      .updateTable('outbox')
      .set({ attempts: sql`attempts - 1`, nextAttemptAt: sql`now()` })
      .where(
        'id',
        'in',
        messages.map((m) => m.id),
      )
      .where('status', '=', 'pending')
      .execute()
  }

  /** One round: claim a batch and send it; returns how many were claimed. */
  async function round(keepOnAfterStop = false): Promise<number> {
    const claimedAt = Date.now()
    const batch = await claim()
    for (const [i, message] of batch.entries()) {
      // A slow SMTP server must not make the batch outlast its lease (another process would
      // send the rest too), and a stopping process leaves the rest to the next one.
      if ((stopped && !keepOnAfterStop) || Date.now() - claimedAt > leaseMs / 2) {
        await release(batch.slice(i))
        break
      }
      await send(message)
    }
    return batch.length
  }

  async function due(): Promise<number> {
    const row = await db
      .selectFrom('outbox')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'pending')
      .where('nextAttemptAt', '<=', sql<Date>`now()`)
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }

  const poll = () => {
    if (stopped) return
    serial(async () => {
      // Keep going while rounds come back full; a backlog should not wait a poll each batch.
      while (!stopped && (await round()) === batchSize) {}
    })
      .catch((error) => log.warn({ err: error }, 'mail dispatch round failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(poll, pollMs)
      })
  }
  timer = setTimeout(poll, 0)

  return {
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      await queue
    },
    async drain() {
      for (;;) {
        await serial(() => round(true))
        // Rows another process holds are not due (their lease moved them ahead), so this ends.
        if ((await due()) === 0) return
      }
    },
  }
}

/** A number of milliseconds as an SQL interval; cast, because both drivers send numbers untyped. */
function interval(ms: number) {
  return sql`(cast(${String(Math.round(ms))} as double precision) * interval '1 millisecond')`
}
