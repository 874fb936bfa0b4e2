/**
 * Just enough MIME to read what nodemailer writes: headers (folded, RFC 2047 encoded words),
 * single-part and multipart bodies, quoted-printable and base64, any charset Node's
 * TextDecoder knows. The mail catcher uses it; it is no general mail parser (no RFC 2231
 * parameters, no attachments beyond skipping them, no S/MIME).
 *
 * The raw message is handled as a latin1 string so that every byte stays one character:
 * structure is found on that string and each body is turned back into bytes before decoding.
 */

export interface ParsedMail {
  /** Header names in lower case; the first occurrence of each, decoded. */
  headers: Record<string, string>
  subject: string
  from: string
  to: string
  /** The first text/plain part, line breaks as '\n'; '' when there is none. */
  text: string
  /** The first text/html part, line breaks as '\n'; '' when there is none. */
  html: string
}

/**
 * @example
 * parseMail('Subject: =?UTF-8?Q?P=C5=99=C3=ADstup?=\r\n\r\nhello').subject // 'Přístup'
 */
export function parseMail(raw: Buffer | string): ParsedMail {
  const source =
    typeof raw === 'string' ? Buffer.from(raw, 'utf8').toString('latin1') : raw.toString('latin1')
  const found: { text?: string; html?: string } = {}
  const top = splitEntity(source)
  walk(top, found, 0)
  return {
    headers: top.headers,
    subject: top.headers.subject ?? '',
    from: top.headers.from ?? '',
    to: top.headers.to ?? '',
    text: found.text ?? '',
    html: found.html ?? '',
  }
}

interface Entity {
  headers: Record<string, string>
  body: string
}

function splitEntity(source: string): Entity {
  const match = /\r?\n\r?\n/.exec(source)
  const head = match ? source.slice(0, match.index) : source
  const body = match ? source.slice(match.index + match[0].length) : ''
  return { headers: parseHeaders(head), body }
}

/** Unfolds continuation lines and decodes each value (8-bit header bytes are read as UTF-8). */
export function parseHeaders(head: string): Record<string, string> {
  const headers: Record<string, string> = {}
  const unfolded = head.replace(/\r?\n(?=[ \t])/g, '')
  for (const line of unfolded.split(/\r?\n/)) {
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    if (name in headers) continue
    const value = Buffer.from(line.slice(colon + 1).trim(), 'latin1').toString('utf8')
    headers[name] = decodeWords(value)
  }
  return headers
}

// The nesting nodemailer produces is three deep at most (mixed › related › alternative).
const MAX_DEPTH = 10

function walk(entity: Entity, found: { text?: string; html?: string }, depth: number): void {
  const type = parseContentType(entity.headers['content-type'])
  if (type.value.startsWith('multipart/')) {
    const boundary = type.params.boundary
    if (!boundary || depth >= MAX_DEPTH) return
    for (const part of splitMultipart(entity.body, boundary)) walk(splitEntity(part), found, depth + 1)
    return
  }
  if (/^\s*attachment/i.test(entity.headers['content-disposition'] ?? '')) return
  const key = type.value === 'text/plain' ? 'text' : type.value === 'text/html' ? 'html' : undefined
  if (!key || found[key] !== undefined) return
  const bytes = decodeTransfer(entity.body, entity.headers['content-transfer-encoding'])
  found[key] = decodeCharset(bytes, type.params.charset).replace(/\r\n/g, '\n')
}

/** 'text/plain; charset="utf-8"' → { value: 'text/plain', params: { charset: 'utf-8' } } */
export function parseContentType(header: string | undefined): {
  value: string
  params: Record<string, string>
} {
  // No Content-Type means text/plain in US-ASCII (RFC 2045 §5.2).
  if (!header) return { value: 'text/plain', params: {} }
  const [value = '', ...rest] = header.split(';')
  const params: Record<string, string> = {}
  for (const param of rest) {
    const eq = param.indexOf('=')
    if (eq < 0) continue
    const name = param.slice(0, eq).trim().toLowerCase()
    let v = param.slice(eq + 1).trim()
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1).replace(/\\(.)/g, '$1')
    params[name] = v
  }
  return { value: value.trim().toLowerCase(), params }
}

/**
 * The body parts between `--boundary` lines. The line break before a delimiter belongs to
 * the delimiter (RFC 2046 §5.1.1), so a part keeps its own trailing newline, if it had one.
 */
export function splitMultipart(body: string, boundary: string): string[] {
  const delimiter = `\n--${boundary}`
  const text = `\n${body}`
  const parts: string[] = []
  let at = text.indexOf(delimiter)
  while (at >= 0) {
    const after = at + delimiter.length
    if (text.startsWith('--', after)) break
    const lineEnd = text.indexOf('\n', after)
    if (lineEnd < 0) break
    const next = text.indexOf(delimiter, lineEnd)
    let part = text.slice(lineEnd + 1, next < 0 ? text.length : next)
    if (part.endsWith('\r')) part = part.slice(0, -1)
    parts.push(part)
    at = next
  }
  return parts
}

function decodeTransfer(body: string, encoding: string | undefined): Buffer {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'quoted-printable':
      return decodeQuotedPrintable(body)
    case 'base64':
      return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64')
    default:
      return Buffer.from(body, 'latin1')
  }
}

/**
 * Quoted-printable (RFC 2045 §6.7): '=XX' is a byte, '=' at a line end is a soft break.
 * Input is a latin1 string (one character a byte).
 *
 * @example decodeQuotedPrintable('P=C5=99=\r\nist').toString() // 'Přist'
 */
export function decodeQuotedPrintable(input: string): Buffer {
  const bytes: number[] = []
  const text = input.replace(/[ \t]+(?=\r?\n)/g, '') // trailing whitespace is padding
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c !== 0x3d) {
      bytes.push(c & 0xff)
      continue
    }
    const hex = text.slice(i + 1, i + 3)
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16))
      i += 2
    } else if (text.startsWith('\r\n', i + 1)) i += 2
    else if (text[i + 1] === '\n') i += 1
    else bytes.push(c) // a lone '=' is kept, as lenient decoders do
  }
  return Buffer.from(bytes)
}

/**
 * RFC 2047 encoded words in a header value; adjacent words (only whitespace between) are
 * joined before decoding, since a multi-byte character may be split across two of them.
 *
 * @example decodeWords('=?UTF-8?Q?=C3=81rea_de?= =?UTF-8?Q?_Cliente?=') // 'Área de Cliente'
 */
export function decodeWords(value: string): string {
  const word = /=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=/g
  let out = ''
  let last = 0
  let pending: { charset: string; bytes: Buffer[] } | undefined
  const flush = () => {
    if (pending) out += decodeCharset(Buffer.concat(pending.bytes), pending.charset)
    pending = undefined
  }
  for (let m = word.exec(value); m; m = word.exec(value)) {
    const between = value.slice(last, m.index)
    const charset = (m[1] ?? '').split('*')[0]?.toLowerCase() ?? '' // 'utf-8*en' carries a language
    if (!pending || /\S/.test(between) || pending.charset !== charset) {
      flush()
      out += between
    }
    const payload = m[3] ?? ''
    const bytes =
      m[2]?.toUpperCase() === 'B'
        ? Buffer.from(payload, 'base64')
        : decodeQuotedPrintable(payload.replace(/_/g, ' '))
    pending ??= { charset, bytes: [] }
    pending.bytes.push(bytes)
    last = m.index + m[0].length
  }
  flush()
  return out + value.slice(last)
}

function decodeCharset(bytes: Buffer, charset: string | undefined): string {
  const label = (charset ?? 'utf-8').toLowerCase()
  try {
    return new TextDecoder(label === 'us-ascii' ? 'utf-8' : label).decode(bytes)
  } catch {
    // An unknown charset: UTF-8 is the best guess for mail written in this century.
    return new TextDecoder('utf-8').decode(bytes)
  }
}
