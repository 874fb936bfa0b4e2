import nodemailer from 'nodemailer'
import { describe, expect, it } from 'vitest'
import { decodeQuotedPrintable, decodeWords, parseContentType, parseMail, splitMultipart } from './mime.ts'

/** What nodemailer would put on the wire for this message (its stream transport, no network). */
async function composed(message: { subject: string; text: string; html?: string; to?: string }) {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true })
  const info = await transport.sendMail({ from: 'Zona <zona@localhost>', to: 'jana@example.cz', ...message })
  return info.message as Buffer
}

describe('mime', () => {
  it('decodes quoted-printable with soft line breaks and multi-byte characters', () => {
    expect(decodeQuotedPrintable('P=C5=99=C3=ADstup do Moje=\r\n O2').toString('utf8')).toBe(
      'Přístup do Moje O2',
    )
    expect(decodeQuotedPrintable('a=3Db = c \r\nd').toString('utf8')).toBe('a=b = c\r\nd')
  })

  it('decodes encoded words, joining adjacent ones and keeping plain text between', () => {
    expect(decodeWords('=?UTF-8?Q?=C3=81rea_de?= =?UTF-8?Q?_Cliente?=')).toBe('Área de Cliente')
    expect(decodeWords('=?UTF-8?B?5ryi5a2X?= and =?iso-8859-1?Q?caf=E9?=')).toBe('漢字 and café')
    // A character split across two base64 words survives.
    const bytes = Buffer.from('ř', 'utf8')
    const split = `=?UTF-8?B?${bytes.subarray(0, 1).toString('base64')}?= =?UTF-8?B?${bytes.subarray(1).toString('base64')}?=`
    expect(decodeWords(split)).toBe('ř')
  })

  it('reads content types with quoted parameters', () => {
    expect(parseContentType('multipart/alternative;\t boundary="--_a b"; charset=UTF-8')).toEqual({
      value: 'multipart/alternative',
      params: { boundary: '--_a b', charset: 'UTF-8' },
    })
  })

  it('splits multipart bodies, the line break before a delimiter belonging to it', () => {
    const body = 'preamble\r\n--b\r\nA: 1\r\n\r\none\r\n\r\n--b\r\n\r\ntwo\r\n--b--\r\nepilogue'
    expect(splitMultipart(body, 'b')).toEqual(['A: 1\r\n\r\none\r\n', '\r\ntwo'])
  })

  it('reads back what nodemailer writes: subject, text and html, non-ASCII and long lines included', async () => {
    const subject =
      'Přístup do Moje O2 – Área de Cliente, a subject long enough to be folded over several lines'
    const text = `Dobrý den,\n\nÁrea de Cliente ${'x'.repeat(200)}\n= equals and trailing space \n.\n..dots\n`
    const html = '<p>Přístup do <b>Moje O2</b> – <i>Área de Cliente</i></p>'
    const mail = parseMail(await composed({ subject, text, html, to: 'Jana Nováková <jana@example.cz>' }))
    expect(mail.subject).toBe(subject)
    expect(mail.text).toBe(text)
    expect(mail.html).toBe(html)
    expect(mail.to).toBe('Jana Nováková <jana@example.cz>')
    expect(mail.from).toBe('Zona <zona@localhost>')
  })

  it('reads a single-part base64 message', async () => {
    const text = '漢字'.repeat(60)
    const mail = parseMail(await composed({ subject: '漢字', text }))
    expect(mail.subject).toBe('漢字')
    expect(mail.text).toBe(text)
    expect(mail.html).toBe('')
  })
})
