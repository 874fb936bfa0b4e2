/**
 * The back office's own API client. Operator routes take an operator API key, not a person's
 * session: the key is kept in sessionStorage only (gone when the tab closes; never localStorage,
 * never a cookie), sent as `Authorization: Bearer`, and forgotten on sign-out or when refused.
 * Requests go without cookies, so a portal session in the same browser never stands in for it.
 */
import createClient from 'openapi-fetch'
import { useSyncExternalStore } from 'react'
import { ApiError, type Problem } from '../../api/client'
import type { paths } from '../../api/schema'

const KEY = 'zona.operatorKey'
const EVENT = 'zona:operator-key'

export function operatorKey(): string | null {
  try {
    return sessionStorage.getItem(KEY)
  } catch {
    return null
  }
}

export function rememberOperatorKey(key: string) {
  try {
    sessionStorage.setItem(KEY, key)
  } catch {
    // storage refused (private mode): the key cannot be kept, sign-in will ask again
  }
  window.dispatchEvent(new Event(EVENT))
}

export function forgetOperatorKey() {
  try {
    sessionStorage.removeItem(KEY)
  } catch {
    // nothing kept
  }
  window.dispatchEvent(new Event(EVENT))
}

function subscribe(onChange: () => void) {
  window.addEventListener(EVENT, onChange)
  return () => window.removeEventListener(EVENT, onChange)
}

/** The key of this tab, re-rendering on sign-in and sign-out. */
export function useOperatorKey(): string | null {
  return useSyncExternalStore(subscribe, operatorKey)
}

export const opApi = createClient<paths>({ baseUrl: '', credentials: 'omit' })

opApi.use({
  onRequest({ request }) {
    const key = operatorKey()
    if (key) request.headers.set('authorization', `Bearer ${key}`)
    return request
  },
  onResponse({ response }) {
    // A revoked or mistyped key: forget it, so the sign-in form asks again.
    if (response.status === 401) forgetOperatorKey()
    return response
  },
})

/** fetch with the key, for what the typed client does not cover (downloads, sk-isp's queue). */
export async function opFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers)
  const key = operatorKey()
  if (key) headers.set('authorization', `Bearer ${key}`)
  let response: Response
  try {
    response = await fetch(path, { ...init, headers, credentials: 'omit' })
  } catch {
    throw new ApiError({ status: 0, code: 'NETWORK', detail: 'the server cannot be reached' })
  }
  if (response.status === 401) forgetOperatorKey()
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as Problem | null
    throw new ApiError(
      body?.code
        ? body
        : {
            status: response.status,
            code: 'HTTP_ERROR',
            detail: response.statusText || `HTTP ${response.status}`,
          },
    )
  }
  return response
}

export async function opJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  return (await (await opFetch(path, init)).json()) as T
}

/** Saves a response as a file named by its content-disposition. */
export async function download(response: Response, fallbackName: string) {
  const name =
    /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? fallbackName
  const url = URL.createObjectURL(await response.blob())
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

type Ok<P extends keyof paths, M extends 'get' | 'post'> = paths[P][M] extends {
  responses: { 200: { content: { 'application/json': infer T } } }
}
  ? T
  : never

export type CustomerPage = Ok<'/api/v1/operator/customers', 'get'>
export type CustomerDetail = Ok<'/api/v1/operator/customers/{id}', 'get'>
export type PrimaryInfo = Ok<'/api/v1/operator/customers/{id}/primary', 'get'>
export type Appointment = Ok<'/api/v1/operator/customers/{id}/primary', 'post'>
export type PeoplePage = Ok<'/api/v1/operator/customers/{id}/people', 'get'>
export type ImportJob = Ok<'/api/v1/operator/imports/{job_id}', 'get'>
export type AuditPage = Ok<'/api/v1/operator/audit', 'get'>
export type AuditEvent = AuditPage['items'][number]

/** The account-request queue (sk-isp only; `npm run gen:api` takes the routes of every preset). */
export type AccountRequestPage = Ok<'/api/v1/operator/account-requests', 'get'>
export type AccountRequestItem = AccountRequestPage['items'][number]
