/**
 * The outgoing mail connection: a nodemailer SMTP transport from SMTP_URL
 * (smtp://user:pass@host:587 with STARTTLS when the server offers it, smtps:// for TLS at once).
 */
import nodemailer from 'nodemailer'

export type MailTransport = ReturnType<typeof createTransport>

/**
 * Timeouts are short on purpose: the dispatcher holds a claim on a message while sending
 * (see dispatcher.ts), and a send must end, one way or the other, well within that claim.
 *
 * @example
 * const transport = createTransport('smtp://127.0.0.1:2525')
 */
export function createTransport(smtpUrl: string) {
  return nodemailer.createTransport({
    url: smtpUrl,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 60_000,
  })
}
