/**
 * The outbox: mail is written as a row in the same transaction as the change that causes it,
 * and a dispatcher (dispatcher.ts) sends it afterwards. So a message exists if and only if
 * its change committed: a rolled-back invitation sends nothing, and a committed one is never
 * lost to an SMTP server that happens to be down.
 */
import type { Executor } from '../store/common.ts'
import type { OutboxMessage } from '../store/schema.ts'

export interface OutgoingMail {
  /** One recipient: 'jana@example.cz' or 'Jana Nováková <jana@example.cz>'. */
  to: string
  subject: string
  text: string
  html: string
  /** What it is, e.g. 'invitation' or 'password-reset' (see templates.ts). */
  kind: string
  /** The customer the message concerns, when there is one. */
  customerId?: string | null
}

/**
 * Queues one message in the caller's transaction and returns its outbox id.
 *
 * @example
 * await withTransaction(zona.store.db, async (trx) => {
 *   const invitation = await insertInvitation(trx, …)
 *   const mail = renderMail('invitation', 'cs', { … })
 *   await enqueueMail(trx, { to: invitation.email, ...mail, kind: 'invitation', customerId })
 * })
 */
export async function enqueueMail(trx: Executor, message: OutgoingMail): Promise<string> {
  const to = message.to.trim()
  // A line break in an address or subject would let data write its own headers.
  if (!to || /[\r\n]/.test(to)) throw new TypeError(`not a mail recipient: ${JSON.stringify(message.to)}`)
  if (/[\r\n]/.test(message.subject)) throw new TypeError('a mail subject is one line')
  const row = await trx
    .insertInto('outbox')
    .values({
      recipient: to,
      subject: message.subject,
      text: message.text,
      html: message.html,
      template: message.kind,
      customerId: message.customerId ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  return String(row.id)
}

/** One outbox message, for tests and support; undefined when there is none. */
export async function findOutboxMessage(db: Executor, id: string): Promise<OutboxMessage | undefined> {
  if (!/^\d{1,18}$/.test(id)) return undefined
  return db.selectFrom('outbox').selectAll().where('id', '=', Number(id)).executeTakeFirst()
}
