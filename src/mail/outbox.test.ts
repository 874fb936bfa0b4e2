/**
 * The outbox and its dispatcher against a real SMTP peer (the catcher) on each backend.
 */
import pino from 'pino'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { readConfig } from '../config.ts'
import { withTransaction } from '../store/common.ts'
import type { Store } from '../store/db.ts'
import { describeEachBackend, type TestStore } from '../store/testing.ts'
import { type MailCatcher, startMailCatcher } from './catcher.ts'
import { type MailDispatcher, type MailDispatcherOptions, startMailDispatcher } from './dispatcher.ts'
import { enqueueMail, findOutboxMessage } from './outbox.ts'
import { renderMail } from './templates.ts'
import { createTransport } from './transport.ts'

const config = (() => {
  const read = readConfig({ ZONA_LOG_LEVEL: 'silent', ZONA_MAIL_FROM: 'Moje O2 <noreply@o2.example>' })
  if (!read.ok) throw new Error(read.errors.join())
  return read.config
})()
const log = pino({ level: 'silent' })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describeEachBackend('mail outbox', (backend) => {
  let store: TestStore
  let catcher: MailCatcher
  const running: MailDispatcher[] = []
  const seconds: Store[] = []

  function dispatcher(over: Store, smtpUrl: string, options: MailDispatcherOptions = {}) {
    const d = startMailDispatcher({ store: over, config, log }, createTransport(smtpUrl), {
      pollMs: 20,
      ...options,
    })
    running.push(d)
    return d
  }

  function mail(subject: string, to = 'jana@example.cz') {
    return { to, subject, text: `${subject}\n`, html: `<p>${subject}</p>`, kind: 'test' }
  }

  async function row(id: string) {
    const found = await findOutboxMessage(store.db, id)
    if (!found) throw new Error(`no outbox row ${id}`)
    return found
  }

  beforeAll(async () => {
    store = await backend.open()
    catcher = await startMailCatcher()
  })
  afterEach(async () => {
    for (const d of running.splice(0)) await d.stop()
    for (const s of seconds.splice(0)) await s.close()
    catcher.clear()
  })
  afterAll(async () => {
    await catcher?.close()
    await store?.close()
  })

  it('never sends a message whose transaction rolled back, and sends the one that committed', async () => {
    await expect(
      withTransaction(store.db, async (trx) => {
        await enqueueMail(trx, mail('rolled back'))
        throw new Error('the change failed')
      }),
    ).rejects.toThrow('the change failed')
    const id = await withTransaction(store.db, (trx) => enqueueMail(trx, mail('committed')))

    const d = dispatcher(store, catcher.url)
    await d.drain()
    await catcher.waitFor((m) => m.subject === 'committed')
    expect(catcher.messages().map((m) => m.subject)).toEqual(['committed'])
    const sent = await row(id)
    expect(sent.status).toBe('sent')
    expect(sent.sentAt).toBeInstanceOf(Date)
    expect(sent.attempts).toBe(1)
    const rolledBack = await store.db
      .selectFrom('outbox')
      .select('id')
      .where('subject', '=', 'rolled back')
      .execute()
    expect(rolledBack).toEqual([])
  })

  it('delivers subject, text and html intact, non-ASCII included, from the configured sender', async () => {
    const invitation = renderMail('invitation', 'cs', {
      portalName: 'Moje O2',
      inviterName: 'Jana Nováková',
      customerName: 'Stavby Brno s.r.o.',
      roleNames: ['Správce zákazníka'],
      link: 'https://zona.example/invitations/abc?token=x&y=1',
      expiresAt: new Date('2026-03-01T10:00:00Z'),
    })
    await withTransaction(store.db, async (trx) => {
      await enqueueMail(trx, {
        to: 'petr.dvorak@example.cz',
        subject: 'Přístup do Moje O2',
        text: 'Dobrý den,\nžluťoučký kůň úpěl ďábelské ódy.\n',
        html: '<p>Přístup do <b>Moje O2</b></p>',
        kind: 'invitation',
      })
      await enqueueMail(trx, {
        to: 'rui@example.pt',
        subject: 'Área de Cliente',
        text: 'Olá, bem-vindo à Área de Cliente.',
        html: '<p>Olá, bem-vindo à <i>Área de Cliente</i>.</p>',
        kind: 'invitation',
      })
      await enqueueMail(trx, { to: 'lucie@example.cz', ...invitation, kind: 'invitation' })
    })
    await dispatcher(store, catcher.url).drain()

    const cz = await catcher.waitFor((m) => m.to === 'petr.dvorak@example.cz')
    expect(cz.subject).toBe('Přístup do Moje O2')
    expect(cz.text).toBe('Dobrý den,\nžluťoučký kůň úpěl ďábelské ódy.\n')
    expect(cz.html).toBe('<p>Přístup do <b>Moje O2</b></p>')
    expect(cz.from).toBe('Moje O2 <noreply@o2.example>')
    expect(cz.headers['x-zona-kind']).toBe('invitation')
    const pt = await catcher.waitFor((m) => m.to === 'rui@example.pt')
    expect(pt.subject).toBe('Área de Cliente')
    expect(pt.text).toBe('Olá, bem-vindo à Área de Cliente.')
    expect(pt.html).toBe('<p>Olá, bem-vindo à <i>Área de Cliente</i>.</p>')
    const rendered = await catcher.waitFor((m) => m.to === 'lucie@example.cz')
    expect(rendered.subject).toBe(invitation.subject)
    expect(rendered.text).toBe(invitation.text)
    expect(rendered.html).toBe(invitation.html.replace(/\r\n/g, '\n'))
  })

  it('keeps a message pending while the SMTP server is down and delivers it once it is back', async () => {
    const down = await startMailCatcher()
    const { port, url } = down
    await down.close()

    const id = await withTransaction(store.db, (trx) => enqueueMail(trx, mail('wait for me')))
    const d = dispatcher(store, url, { backoffMs: 300 })
    await d.drain()
    let waiting = await row(id)
    expect(waiting.status).toBe('pending')
    expect(waiting.attempts).toBe(1)
    expect(waiting.lastError).toMatch(/ECONNREFUSED|connect/i)
    expect(waiting.nextAttemptAt.getTime()).toBeGreaterThan(Date.now() - 1000)

    const back = await startMailCatcher({ port })
    try {
      const arrived = await back.waitFor((m) => m.subject === 'wait for me', 10_000)
      expect(arrived.text).toBe('wait for me\n')
      await d.drain()
      waiting = await row(id)
      expect(waiting.status).toBe('sent')
      expect(waiting.attempts).toBe(2)
      expect(waiting.lastError).toBeNull()
      expect(back.messages()).toHaveLength(1)
    } finally {
      await d.stop()
      await back.close()
    }
  })

  it('gives a message up as failed after the last attempt, with the error', async () => {
    const down = await startMailCatcher()
    await down.close()
    const id = await withTransaction(store.db, (trx) => enqueueMail(trx, mail('hopeless')))
    await dispatcher(store, down.url, { backoffMs: 0, maxAttempts: 3 }).drain()
    const failed = await row(id)
    expect(failed.status).toBe('failed')
    expect(failed.attempts).toBe(3)
    expect(failed.lastError).toBeTruthy()
    // A failed message is not retried by anyone.
    await dispatcher(store, catcher.url).drain()
    expect(catcher.messages()).toEqual([])
  })

  it('delivers, after a crash, what was queued or claimed by the process that died', async () => {
    const queued = await withTransaction(store.db, (trx) => enqueueMail(trx, mail('queued before the crash')))
    const claimed = await withTransaction(store.db, (trx) =>
      enqueueMail(trx, mail('claimed by the dead one')),
    )
    // The dead process had claimed it (an attempt counted, a lease taken) and its lease has run out.
    await store.db
      .updateTable('outbox')
      .set({ attempts: 1, nextAttemptAt: new Date(Date.now() - 1000) })
      .where('id', '=', Number(claimed))
      .execute()

    const fresh = await store.openSecond()
    seconds.push(fresh)
    await dispatcher(fresh, catcher.url).drain()
    await catcher.waitFor((m) => m.subject === 'claimed by the dead one')
    expect(
      catcher
        .messages()
        .map((m) => m.subject)
        .sort(),
    ).toEqual(['claimed by the dead one', 'queued before the crash'])
    expect((await row(queued)).status).toBe('sent')
    expect((await row(claimed)).attempts).toBe(2)
  })

  it('keeps a message claimed by another process from being sent twice while its lease runs', async () => {
    const id = await withTransaction(store.db, (trx) => enqueueMail(trx, mail('someone else has it')))
    await store.db
      .updateTable('outbox')
      .set({ attempts: 1, nextAttemptAt: new Date(Date.now() + 60_000) })
      .where('id', '=', Number(id))
      .execute()
    await dispatcher(store, catcher.url).drain()
    await sleep(100)
    expect(catcher.messages()).toEqual([])
    expect((await row(id)).status).toBe('pending')
  })

  it('hands back the unsent rest of its batch when stopped, without counting an attempt', async () => {
    const ids = await withTransaction(store.db, async (trx) => [
      await enqueueMail(trx, mail('first of three')),
      await enqueueMail(trx, mail('second of three')),
      await enqueueMail(trx, mail('third of three')),
    ])
    const real = createTransport(catcher.url)
    let stop: ((stopped: Promise<void>) => void) | undefined
    const stopped = new Promise<void>((resolve) => {
      stop = resolve
    })
    const d: MailDispatcher = startMailDispatcher(
      { store, config, log },
      {
        async sendMail(message) {
          const info = await real.sendMail(message)
          stop?.(d.stop()) // a shutdown arriving while the batch is being sent
          stop = undefined
          return info
        },
      },
      { batchSize: 3 },
    )
    await stopped
    const rows = await Promise.all(ids.map(row))
    expect(rows.map((r) => [r.status, r.attempts])).toEqual([
      ['sent', 1],
      ['pending', 0],
      ['pending', 0],
    ])
    expect(rows[1]?.nextAttemptAt.getTime()).toBeLessThanOrEqual(Date.now() + 1000)
    await dispatcher(store, catcher.url).drain()
    expect(catcher.messages().map((m) => m.subject)).toEqual([
      'first of three',
      'second of three',
      'third of three',
    ])
  })

  it('with two dispatchers on one database, delivers each message exactly once', async () => {
    const count = 30
    await withTransaction(store.db, async (trx) => {
      for (let i = 0; i < count; i++) await enqueueMail(trx, mail(`race ${i}`, `p${i}@example.cz`))
    })
    const second = await store.openSecond()
    seconds.push(second)
    const options = { batchSize: 4, pollMs: 5 }
    const a = dispatcher(store, catcher.url, options)
    const b = dispatcher(second, catcher.url, options)
    await Promise.all([a.drain(), b.drain()])
    await sleep(200)
    const subjects = catcher.messages().map((m) => m.subject)
    expect(subjects).toHaveLength(count)
    expect(new Set(subjects).size).toBe(count)
    const rows = await store.db
      .selectFrom('outbox')
      .select(['status', 'attempts'])
      .where('subject', 'like', 'race %')
      .execute()
    expect(rows).toHaveLength(count)
    expect(rows.filter((r) => r.status !== 'sent' || r.attempts !== 1)).toEqual([])
  })

  it('refuses a recipient or subject that would write its own headers', async () => {
    await expect(
      enqueueMail(store.db, { ...mail('x'), to: 'a@example.cz\r\nBcc: b@example.cz' }),
    ).rejects.toThrow(/recipient/)
    await expect(enqueueMail(store.db, { ...mail('x'), subject: 'a\nBcc: b@example.cz' })).rejects.toThrow(
      /one line/,
    )
  })

  it('records the customer a message concerns', async () => {
    await store.db.insertInto('customers').values({ id: 'c-mail', name: 'Stavby', preset: 'o2-cz' }).execute()
    const id = await enqueueMail(store.db, { ...mail('for a customer'), customerId: 'c-mail' })
    const queued = await row(id)
    expect(queued.customerId).toBe('c-mail')
    expect(queued.template).toBe('test')
    expect(queued.recipient).toBe('jana@example.cz')
    await dispatcher(store, catcher.url).drain()
  })
})
