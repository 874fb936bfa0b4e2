/** Queries most screens share: the portal, who I am, and where my sight begins in a customer. */
import { useQuery } from '@tanstack/react-query'
import { api, call, type Schemas } from './api/client'
import type { paths } from './api/schema'

type Ok<P extends keyof paths, M extends 'get'> = paths[P][M] extends {
  responses: { 200: { content: { 'application/json': infer T } } }
}
  ? T
  : never

export type PortalInfo = Ok<'/api/v1/portal-info', 'get'>
export type Me = Ok<'/api/v1/auth/me', 'get'>
export type TreePage = Ok<'/api/v1/customers/{customer}/tree', 'get'>
export type TreeItem = TreePage['items'][number]
export type ServicePage = Ok<'/api/v1/services/{id}', 'get'>
export type InvoicePage = Ok<'/api/v1/accounts/{id}/invoices', 'get'>
export type StatementPage = Ok<'/api/v1/accounts/{id}/statements', 'get'>
export type UsagePage = Ok<'/api/v1/services/{id}/usage', 'get'>
export type GrantPage = Ok<'/api/v1/customers/{customer}/grants', 'get'>
export type GrantItem = GrantPage['items'][number]
export type { Schemas }

export function usePortal() {
  return useQuery({
    queryKey: ['portal-info'],
    queryFn: () => call(() => api.GET('/api/v1/portal-info')),
    staleTime: Number.POSITIVE_INFINITY,
  })
}

export function useMe() {
  return useQuery({
    queryKey: ['me'],
    queryFn: () => call(() => api.GET('/api/v1/auth/me')),
    retry: false,
    staleTime: 60_000,
  })
}

export function useRoots(customer: string | null) {
  return useQuery({
    queryKey: ['roots', customer],
    enabled: customer !== null,
    queryFn: () =>
      call(() =>
        api.GET('/api/v1/customers/{customer}/roots', {
          params: { path: { customer: customer as string }, query: { limit: 1000 } },
        }),
      ),
  })
}

/** Whether any of my top-most nodes in the customer gives the permission (for the menu). */
export function rootsWith(roots: readonly TreeItem[] | undefined, permission: string): TreeItem[] {
  return (roots ?? []).filter((r) => r.permissions.includes(permission))
}

const CUSTOMER_KEY = 'zona.customer'
export function rememberCustomer(id: string) {
  try {
    localStorage.setItem(CUSTOMER_KEY, id)
  } catch {
    // private mode
  }
}
export function rememberedCustomer(): string | null {
  try {
    return localStorage.getItem(CUSTOMER_KEY)
  } catch {
    return null
  }
}
