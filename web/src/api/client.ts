/**
 * The typed API client: openapi-fetch over the generated schema (npm run gen:api). Every write
 * carries the CSRF token; a refused token is fetched again once. Failures become ApiError with the
 * server's problem+json, so forms can show `detail` next to the field named in `field`.
 */
import createClient from 'openapi-fetch'
import type { components, paths } from './schema'

export type Schemas = components['schemas']

export interface Problem {
  type?: string
  title?: string
  status: number
  detail: string
  code: string
  field?: string
  explanation?: string
  reason?: string
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail)
  }
  get code() {
    return this.problem.code
  }
  get status() {
    return this.problem.status
  }
}

export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' })

let csrfToken: Promise<string> | null = null
function csrf(): Promise<string> {
  csrfToken ??= fetch('/api/v1/auth/csrf', { credentials: 'same-origin' })
    .then((r) => r.json() as Promise<{ token: string }>)
    .then((j) => j.token)
    .catch((e: unknown) => {
      csrfToken = null
      throw e
    })
  return csrfToken
}

api.use({
  async onRequest({ request }) {
    if (request.method !== 'GET' && request.method !== 'HEAD')
      request.headers.set('x-csrf-token', await csrf())
    return request
  },
})

interface Result<T> {
  data?: T
  error?: unknown
  response: Response
}

function toProblem(error: unknown, response: Response): Problem {
  if (error && typeof error === 'object' && 'code' in error && 'detail' in error) return error as Problem
  return {
    status: response.status,
    code: response.status >= 500 ? 'INTERNAL' : 'HTTP_ERROR',
    detail: response.statusText || `HTTP ${response.status}`,
  }
}

/**
 * Run a call and return its data, or throw ApiError. A CSRF refusal (the token cookie expired or
 * was cleared) fetches a new token and tries once more.
 * @example const me = await call(() => api.GET('/api/v1/auth/me'))
 */
export async function call<T>(run: () => Promise<Result<T>>): Promise<T> {
  let r: Result<T>
  try {
    r = await run()
  } catch {
    throw new ApiError({ status: 0, code: 'NETWORK', detail: 'the server cannot be reached' })
  }
  if (r.error !== undefined && toProblem(r.error, r.response).code === 'CSRF_INVALID') {
    csrfToken = null
    r = await run()
  }
  if (r.error !== undefined || !r.response.ok) throw new ApiError(toProblem(r.error, r.response))
  return r.data as T
}

/** The problem of an error, when it is one. */
export function problemOf(e: unknown): Problem | null {
  return e instanceof ApiError ? e.problem : null
}
