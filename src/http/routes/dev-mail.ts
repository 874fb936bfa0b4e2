/**
 * The demo's mailbox: what Zona sent, as the local mail catcher received it. Registered only
 * when the server runs with a catcher (`zona demo`, tests), never in production, and needs no
 * login – it shows password-reset and invitation links to whoever opens it, which is its point.
 *
 * GET /dev/mail        an HTML list, newest first
 * GET /dev/mail/:id    one message: headers, text, and the HTML in a sandboxed iframe
 * GET /dev/mail.json   the same list as JSON, for tests and scripts
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@fastify/type-provider-typebox'
import { ZonaError } from '../../errors.ts'
import type { CaughtMessage, MailCatcher } from '../../mail/catcher.ts'
import { escapeHtml } from '../../mail/html.ts'
import { Cursor, Limit, problems } from '../schemas.ts'

const CaughtMail = Type.Object({
  id: Type.String(),
  to: Type.String({ description: 'the envelope recipients' }),
  from: Type.String(),
  subject: Type.String(),
  text: Type.String(),
  html: Type.String(),
  received_at: Type.String({ format: 'date-time' }),
  headers: Type.Record(Type.String(), Type.String()),
})

const Page = Type.Object({
  items: Type.Array(CaughtMail),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
})

const MessageId = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9-]+$' })

/** Newest first. A cursor is the id of the last message of the previous page. */
function page(catcher: MailCatcher, cursor: string | undefined, limit: number) {
  const all = catcher.messages().reverse()
  let start = 0
  if (cursor) {
    const at = all.findIndex((m) => m.id === cursor)
    if (at < 0)
      throw new ZonaError('VALIDATION_FAILED', 'the cursor names no message the catcher still holds', {
        field: 'query.cursor',
      })
    start = at + 1
  }
  const items = all.slice(start, start + limit)
  const last = items.at(-1)
  return { items, next_cursor: start + limit < all.length && last ? last.id : null }
}

function asJson(m: CaughtMessage) {
  return {
    id: m.id,
    to: m.to,
    from: m.from,
    subject: m.subject,
    text: m.text,
    html: m.html,
    received_at: m.receivedAt.toISOString(),
    headers: m.headers,
  }
}

const PAGE_STYLE = `body{font-family:Arial,Helvetica,sans-serif;margin:24px;color:#1d1d1f}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:6px 10px;border-bottom:1px solid #e0e0e0}
pre{white-space:pre-wrap;background:#f4f5f7;padding:12px}iframe{width:100%;height:600px;border:1px solid #ccc}
dt{font-weight:bold}dd{margin:0 0 6px 0}`

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${PAGE_STYLE}</style></head><body>${body}</body></html>`
}

function listPage(messages: CaughtMessage[]): string {
  const rows = messages
    .map(
      (m) =>
        `<tr><td>${escapeHtml(m.receivedAt.toISOString())}</td><td>${escapeHtml(m.to)}</td><td><a href="/dev/mail/${encodeURIComponent(m.id)}">${escapeHtml(m.subject || '(no subject)')}</a></td></tr>`,
    )
    .join('\n')
  return layout(
    'Mail sent by Zona',
    `<h1>Mail sent by Zona</h1><p>${messages.length} message(s), newest first. <a href="/dev/mail.json">JSON</a></p>
<table><thead><tr><th>Received</th><th>To</th><th>Subject</th></tr></thead><tbody>${rows || '<tr><td colspan="3">No mail yet.</td></tr>'}</tbody></table>`,
  )
}

function messagePage(m: CaughtMessage): string {
  const headers = ['from', 'to', 'subject', 'date', 'message-id']
    .filter((name) => m.headers[name] !== undefined)
    .map((name) => `<dt>${escapeHtml(name)}</dt><dd>${escapeHtml(m.headers[name] ?? '')}</dd>`)
    .join('')
  // srcdoc is an attribute, so the HTML is escaped once for it; sandbox="" runs no script,
  // submits no form and gives the frame an opaque origin.
  const frame = m.html
    ? `<h2>HTML</h2><iframe sandbox="" referrerpolicy="no-referrer" title="the HTML part" srcdoc="${escapeHtml(m.html)}"></iframe>`
    : ''
  return layout(
    m.subject || 'Mail',
    `<p><a href="/dev/mail">← all mail</a></p><h1>${escapeHtml(m.subject || '(no subject)')}</h1>
<dl><dt>envelope to</dt><dd>${escapeHtml(m.to)}</dd>${headers}<dt>received</dt><dd>${escapeHtml(m.receivedAt.toISOString())}</dd></dl>
<h2>Text</h2><pre>${escapeHtml(m.text)}</pre>${frame}`,
  )
}

/**
 * @example
 * if (options.mailCatcher) await app.register(devMailRoutes(options.mailCatcher))
 */
export function devMailRoutes(catcher: MailCatcher): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/dev/mail.json',
      {
        schema: {
          hide: true,
          tags: ['dev'],
          operationId: 'listDevMail',
          summary: 'Mail the local catcher received, newest first (demo and tests only)',
          querystring: Type.Object(
            { cursor: Type.Optional(Cursor), limit: Type.Optional(Limit) },
            { additionalProperties: false },
          ),
          response: { 200: Page, ...problems(400) },
        },
      },
      async (request) => {
        const result = page(catcher, request.query.cursor, request.query.limit ?? 100)
        return { items: result.items.map(asJson), next_cursor: result.next_cursor }
      },
    )

    app.get(
      '/dev/mail',
      {
        schema: {
          hide: true,
          tags: ['dev'],
          operationId: 'showDevMailbox',
          summary: 'The demo mailbox as a page',
          response: { 200: Type.String() },
        },
      },
      async (_request, reply) =>
        reply.type('text/html; charset=utf-8').send(listPage(catcher.messages().reverse())),
    )

    app.get(
      '/dev/mail/:id',
      {
        schema: {
          hide: true,
          tags: ['dev'],
          operationId: 'showDevMail',
          summary: 'One caught message as a page',
          params: Type.Object({ id: MessageId }),
          response: { 200: Type.String(), ...problems(400, 404) },
        },
      },
      async (request, reply) => {
        const message = catcher.message(request.params.id)
        if (!message)
          throw new ZonaError('NOT_FOUND', `the catcher holds no message ${request.params.id}`, {
            field: 'params.id',
          })
        return reply.type('text/html; charset=utf-8').send(messagePage(message))
      },
    )
  }
}
