import { describe, expect, it } from 'vitest'
import { escapeHtml, safeHref } from './html.ts'
import {
  MAIL_KINDS,
  MAIL_LANGUAGES,
  type MailData,
  type MailKind,
  mailLanguage,
  renderMail,
} from './templates.ts'

const LINK = 'https://zona.example.com/invite/abc123?lang=cs&x=1'
const expiresAt = new Date('2026-03-01T10:00:00Z')
const XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'

const samples: { [K in MailKind]: MailData[K] } = {
  invitation: {
    inviterName: 'Jana Nováková',
    customerName: 'Stavby Brno s.r.o.',
    roleNames: ['Správce účtu', 'Čtenář faktur'],
    link: LINK,
    expiresAt,
  },
  'password-reset': { name: 'Petr Dvořák', link: LINK, expiresAt },
  'contact-change-confirm': {
    name: 'Petr Dvořák',
    serviceName: 'vps-1234.example',
    contactKind: 'technical',
    newContactName: 'Lucie Malá',
    requesterName: 'Jana Nováková',
    token: 'K7P-2QX-9ZD',
    link: LINK,
  },
  'contact-change-applied': {
    serviceName: 'vps-1234.example',
    contactKind: 'billing',
    oldContactName: 'Jana Nováková',
    newContactName: 'Lucie Malá',
  },
  'account-request-link': { name: 'Ján Kováč', link: LINK, expiresAt },
  'account-request-queued': { contractNumber: 'ZML-2024-0042' },
}

/** The data of a kind with every string replaced by the injection payload (links kept valid). */
function poisoned<K extends MailKind>(kind: K): MailData[K] {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(samples[kind])) {
    if (key === 'link') out[key] = `${LINK}&q=${encodeURIComponent(XSS)}"'<>`
    else if (key === 'contactKind' || value instanceof Date) out[key] = value
    else if (Array.isArray(value)) out[key] = [XSS]
    else out[key] = XSS
  }
  return out as unknown as MailData[K]
}

describe('escapeHtml', () => {
  it('neutralises markup and attribute breakouts', () => {
    expect(escapeHtml(XSS)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;',
    )
    expect(escapeHtml(`" onmouseover='x' a=\`b\` & c`)).toBe(
      '&quot; onmouseover=&#39;x&#39; a=&#96;b&#96; &amp; c',
    )
    expect(escapeHtml('Přístup & Área')).toBe('Přístup &amp; Área')
  })

  it('lets only http(s) links into an href', () => {
    expect(safeHref('https://a.example/x?a=1&b="2"')).toBe('https://a.example/x?a=1&amp;b=%222%22')
    expect(() => safeHref('javascript:alert(1)')).toThrow(/only http/)
    expect(() => safeHref('data:text/html,<script>')).toThrow(/only http/)
    expect(() => safeHref('not a url')).toThrow(/not a URL/)
  })
})

describe('renderMail', () => {
  for (const language of MAIL_LANGUAGES)
    for (const kind of MAIL_KINDS)
      it(`${kind} in ${language}: subject, text and html carry the data`, () => {
        const data = samples[kind]
        const mail = renderMail(kind, language, data)
        expect(mail.subject.length).toBeGreaterThan(5)
        expect(mail.subject).not.toMatch(/[\r\n]/)
        expect(mail.html).toContain(`<html lang="${language}">`)
        if ('link' in data) {
          expect(mail.text).toContain(LINK)
          expect(mail.html).toContain(`href="${escapeHtml(LINK)}"`)
        }
        if ('token' in data) {
          expect(mail.text).toContain(data.token)
          expect(mail.html).toContain(data.token)
        }
        if ('roleNames' in data) for (const role of data.roleNames) expect(mail.text).toContain(`  - ${role}`)
        if ('serviceName' in data) expect(mail.subject).toContain(data.serviceName)
        if ('contractNumber' in data) expect(mail.subject).toContain(data.contractNumber)
        if ('expiresAt' in data) expect(mail.text).toMatch(/2026/)
        // No placeholder left unfilled, nothing printed as an object.
        expect(mail.text).not.toMatch(/undefined|\[object|\$\{/)
        expect(mail.html).not.toMatch(/undefined|\[object|\$\{/)
      })

  for (const language of MAIL_LANGUAGES)
    for (const kind of MAIL_KINDS)
      it(`${kind} in ${language}: data cannot inject markup`, () => {
        const mail = renderMail(kind, language, poisoned(kind))
        expect(mail.html).not.toContain('<script')
        expect(mail.html).not.toContain('<img')
        // Every tag is one the template wrote: no attribute breakout, no onerror=.
        for (const tag of mail.html.match(/<[a-z][^>]*>/g) ?? [])
          expect(tag).toMatch(/^<[a-z]+( [a-z-]+="[^"<>]*")*>$/)
        expect(mail.text).toContain('<script>') // the text version shows data as it is
      })

  it('differs by language and falls back to English', () => {
    const subjects = MAIL_LANGUAGES.map((l) => renderMail('invitation', l, samples.invitation).subject)
    expect(new Set(subjects).size).toBe(MAIL_LANGUAGES.length)
    expect(renderMail('invitation', 'de-AT', samples.invitation)).toEqual(
      renderMail('invitation', 'en', samples.invitation),
    )
    expect(mailLanguage('cs-CZ')).toBe('cs')
    expect(mailLanguage('PT_pt')).toBe('pt')
    expect(mailLanguage(null)).toBe('en')
  })

  it("uses the operator's portal name and the language's words", () => {
    const cs = renderMail('invitation', 'cs', { ...samples.invitation, portalName: 'Moje O2' })
    expect(cs.subject).toBe('Přístup do portálu Moje O2: Stavby Brno s.r.o.')
    expect(cs.text).toContain('Jana Nováková vám dává přístup do portálu Moje O2')
    expect(cs.text).toContain('1. března 2026') // Prague time, Czech month in the genitive
    const pt = renderMail('password-reset', 'pt', samples['password-reset'])
    expect(pt.text).toContain('Área de Cliente')
    const applied = renderMail('contact-change-applied', 'sk', samples['contact-change-applied'])
    expect(applied.subject).toBe('Zmena fakturačného kontaktu služby vps-1234.example')
  })

  it('keeps data on one line: no header or text line forged through a name', () => {
    const mail = renderMail('account-request-queued', 'en', {
      contractNumber: '42\r\nBcc: victim@example.com',
    })
    expect(mail.subject).toBe('Your account request for contract 42 Bcc: victim@example.com')
    expect(mail.text).not.toMatch(/\nBcc:/)
  })

  it('refuses a link that is not http(s)', () => {
    expect(() =>
      renderMail('password-reset', 'en', { ...samples['password-reset'], link: 'javascript:alert(1)' }),
    ).toThrow(/only http/)
  })
})
