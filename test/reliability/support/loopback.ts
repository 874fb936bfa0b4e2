/**
 * Real HTTP to a Zona listening on 127.0.0.1, each request from a client address of its own in
 * 127.0.0.0/8 (Linux answers the whole range on the loopback interface). The per-address rate
 * limits of sign-in, invitation acceptance and contact-change codes then never hide the answer
 * under test, as they would if every request came from 127.0.0.1.
 *
 * Used by the race and crash suites; sessions and the CSRF pair are the caller's.
 */
import { request as httpRequest } from 'node:http'

export interface Answer {
  status: number
  contentType: string
  body: string
  // biome-ignore lint/suspicious/noExplicitAny: answers are read loosely and checked field by field
  json(): any
}

export interface SendOptions {
  /** The zona_session cookie value. */
  session?: string
  /** Sent as JSON. */
  body?: unknown
  /** A bearer token (operator or decision API key). */
  bearer?: string
  /** Leave out the CSRF pair (reads, API keys). */
  noCsrf?: boolean
}

export class Loopback {
  private next = 0
  private csrf: { cookie: string; token: string } | undefined

  constructor(readonly base: string) {}

  /** 127.0.0.2 … 127.0.250.250, one after another. */
  private address(): string {
    this.next++
    return `127.0.${(Math.floor(this.next / 249) % 250) + 1}.${(this.next % 249) + 2}`
  }

  /** One CSRF cookie and token pair for every browser of the test (the token is not tied to a session). */
  async csrfPair(): Promise<{ cookie: string; token: string }> {
    if (!this.csrf) {
      const r = await this.raw('GET', '/api/v1/auth/csrf', {}, {})
      const cookie = r.setCookie.find((c) => c.startsWith('zona_csrf='))?.split(';')[0]
      if (r.status !== 200 || !cookie) throw new Error(`no CSRF token: ${r.status} ${r.body}`)
      this.csrf = { cookie, token: r.json().token as string }
    }
    return this.csrf
  }

  async send(method: string, path: string, options: SendOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = {}
    const cookies: string[] = []
    if (options.session) cookies.push(`zona_session=${options.session}`)
    if (options.bearer) headers.authorization = `Bearer ${options.bearer}`
    if (method !== 'GET' && !options.noCsrf && !options.bearer) {
      const csrf = await this.csrfPair()
      cookies.push(csrf.cookie)
      headers['x-csrf-token'] = csrf.token
    }
    if (cookies.length) headers.cookie = cookies.join('; ')
    return this.raw(method, `/api/v1${path}`, headers, options.body)
  }

  private raw(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: unknown,
  ): Promise<Answer & { setCookie: string[] }> {
    const url = new URL(path, this.base)
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    if (payload) {
      headers['content-type'] = 'application/json'
      headers['content-length'] = String(payload.length)
    }
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method,
          headers,
          localAddress: this.address(),
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('error', reject)
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            resolve({
              status: res.statusCode ?? 0,
              contentType: String(res.headers['content-type'] ?? ''),
              body: text,
              json: () => JSON.parse(text),
              setCookie: res.headers['set-cookie'] ?? [],
            })
          })
        },
      )
      req.on('error', reject)
      if (payload) req.write(payload)
      req.end()
    })
  }
}
