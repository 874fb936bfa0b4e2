/**
 * The demo mailbox and the mail wiring of startZona: mail queued in a transaction goes through
 * the dispatcher and a real SMTP conversation to the catcher, and /dev/mail shows it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { readConfig } from '../../config.ts'
import { type MailCatcher, startMailCatcher } from '../../mail/catcher.ts'
import { enqueueMail } from '../../mail/outbox.ts'
import { renderMail } from '../../mail/templates.ts'
import { type Running, startZona } from '../../server/start.ts'
import { startTestZona } from '../../server/testing.ts'
import { withTransaction } from '../../store/common.ts'
import { describeEachBackend, type TestStore } from '../../store/testing.ts'

function config(env: Record<string, string> = {}) {
  const read = readConfig({ ZONA_PRESET: 'o2-cz', PORT: '0', ZONA_LOG_LEVEL: 'silent', ...env })
  if (!read.ok) throw new Error(read.errors.join('\n'))
  return read.config
}

const XSS = '<script>alert("x")</script>'

interface ListedMail {
  id: string
  to: string
  subject: string
  text: string
  html: string
  received_at: string
}

describeEachBackend('dev mail pages', (backend) => {
  let store: TestStore
  let catcher: MailCatcher
  let zona: Running

  beforeAll(async () => {
    store = await backend.open()
    catcher = await startMailCatcher()
    zona = await startZona(config(), { store, logger: false, listen: false, mailCatcher: catcher })
  })
  afterAll(async () => {
    await zona?.close()
    await catcher?.close()
    await store?.close()
  })

  async function list(query = ''): Promise<{ items: ListedMail[]; next_cursor: string | null }> {
    const response = await zona.app.inject({ method: 'GET', url: `/dev/mail.json${query}` })
    expect(response.statusCode).toBe(200)
    return response.json()
  }

  it('delivers mail queued in a committed transaction and lists it, newest first', async () => {
    expect(zona.mail).toBeDefined()
    await withTransaction(zona.zona.store.db, async (trx) => {
      await enqueueMail(trx, {
        to: 'jana@example.cz',
        subject: 'Přístup do Moje O2',
        text: 'první',
        html: '<p>první</p>',
        kind: 'invitation',
      })
    })
    await zona.mail?.drain()
    const reset = renderMail('password-reset', 'pt', {
      name: XSS,
      link: 'https://zona.example/reset?t=abc',
      expiresAt: new Date('2026-03-01T10:00:00Z'),
    })
    await withTransaction(zona.zona.store.db, (trx) =>
      enqueueMail(trx, { to: 'rui@example.pt', ...reset, kind: 'password-reset' }),
    )
    await zona.mail?.drain()

    const page = await list()
    expect(page.items.map((m) => m.to)).toEqual(['rui@example.pt', 'jana@example.cz'])
    expect(page.next_cursor).toBeNull()
    expect(page.items[1]?.subject).toBe('Přístup do Moje O2')
    expect(page.items[0]?.subject).toBe(reset.subject)
    expect(page.items[0]?.text).toContain('https://zona.example/reset?t=abc')

    const first = await list('?limit=1')
    expect(first.items.map((m) => m.to)).toEqual(['rui@example.pt'])
    expect(first.next_cursor).toBe(first.items[0]?.id)
    const second = await list(`?limit=1&cursor=${first.next_cursor}`)
    expect(second.items.map((m) => m.to)).toEqual(['jana@example.cz'])
    expect(second.next_cursor).toBeNull()
  })

  it('shows the mailbox and one message as pages, the HTML sandboxed and nothing unescaped', async () => {
    const index = await zona.app.inject({ method: 'GET', url: '/dev/mail' })
    expect(index.statusCode).toBe(200)
    expect(index.headers['content-type']).toMatch(/^text\/html/)
    const { items } = await list()
    const reset = items[0] as ListedMail
    expect(index.body).toContain(`href="/dev/mail/${reset.id}"`)
    expect(index.body).toContain('Přístup do Moje O2')
    expect(index.body.indexOf(reset.id)).toBeLessThan(index.body.indexOf(items[1]?.id ?? 'missing'))

    const one = await zona.app.inject({ method: 'GET', url: `/dev/mail/${reset.id}` })
    expect(one.statusCode).toBe(200)
    expect(one.body).toContain('rui@example.pt')
    expect(one.body).toContain('<iframe sandbox=""')
    // The reset mail's name was a script: escaped in the mail, escaped again inside srcdoc.
    expect(one.body).not.toContain('<script')
    expect(one.body).toContain('srcdoc="&lt;!doctype html&gt;')
    expect(one.body).toContain('&amp;lt;script&amp;gt;')
  })

  it('answers a missing message or a stale cursor with a problem naming the field', async () => {
    const missing = await zona.app.inject({ method: 'GET', url: '/dev/mail/no-such-mail' })
    expect(missing.statusCode).toBe(404)
    expect(missing.json()).toMatchObject({ code: 'NOT_FOUND', field: 'params.id' })
    const stale = await zona.app.inject({ method: 'GET', url: '/dev/mail.json?cursor=gone' })
    expect(stale.statusCode).toBe(400)
    expect(stale.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'query.cursor' })
    const bad = await zona.app.inject({ method: 'GET', url: '/dev/mail.json?limit=0' })
    expect(bad.statusCode).toBe(400)
    expect(bad.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'query.limit' })
  })

  it('has no mailbox and sends nothing without a catcher or SMTP_URL', async () => {
    const plain = await startTestZona(backend)
    try {
      expect(plain.mail).toBeUndefined()
      const response = await plain.app.inject({ method: 'GET', url: '/dev/mail' })
      expect(response.statusCode).toBe(404)
    } finally {
      await plain.close()
    }
  })

  it('sends through SMTP_URL without serving the mailbox', async () => {
    const smtp = await startTestZona(backend, { env: { SMTP_URL: catcher.url } })
    try {
      expect(smtp.mail).toBeDefined()
      await enqueueMail(smtp.zona.store.db, {
        to: 'ops@example.cz',
        subject: 'via SMTP_URL',
        text: 'x',
        html: '<p>x</p>',
        kind: 'test',
      })
      await smtp.mail?.drain()
      await catcher.waitFor((m) => m.subject === 'via SMTP_URL')
      const response = await smtp.app.inject({ method: 'GET', url: '/dev/mail.json' })
      expect(response.statusCode).toBe(404)
    } finally {
      await smtp.close()
    }
  })

  it('refuses a mail catcher in production', async () => {
    await expect(
      startZona(config({ NODE_ENV: 'production' }), {
        store,
        logger: false,
        listen: false,
        mailCatcher: catcher,
      }),
    ).rejects.toThrow(/not NODE_ENV=production/)
  })
})
