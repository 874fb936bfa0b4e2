/**
 * Ordering a new service on an account (W7, service.order): the accounts offered are those my
 * grants allow ordering on; the order is a request for the operator's systems, shown in the list
 * below and in the tree as ordered until the operator sets the service up.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { api, call } from '../api/client'
import { ErrorBox, Field, FormError, Loading, PageTitle, Select } from '../components/ui'
import { type MessageKey, useI18n } from '../i18n'
import { enc, Link, useLocation } from '../router'
import type { PortalInfo, TreeItem } from '../session'

export const ORDER = 'service.order'
/** The service types the portal names (type.* in the dictionaries). */
const SERVICE_TYPES = [
  'mobile',
  'fixed',
  'voip',
  'switchboard',
  'internet',
  'vps',
  'dedicated',
  'domain',
  'housing',
] as const
/** How far below my top-most nodes accounts are looked for, and how many at most. */
const DEPTH = 4
const MAX_ACCOUNTS = 200

/** The customer and accounts under my top-most nodes on which I may order a service, in tree order. */
function useOrderAccounts(customer: string, roots: TreeItem[] | undefined) {
  return useQuery({
    queryKey: ['order-accounts', customer, (roots ?? []).map((r) => r.id).join(',')],
    enabled: roots !== undefined,
    queryFn: async () => {
      const out: { item: TreeItem; depth: number }[] = []
      const walk = async (items: TreeItem[], depth: number) => {
        for (const item of items) {
          if (item.kind === 'service' || out.length >= MAX_ACCOUNTS) continue
          if (item.permissions.includes(ORDER)) out.push({ item, depth })
          if (!item.has_children || depth + 1 >= DEPTH) continue
          const page = await call(() =>
            api.GET('/api/v1/customers/{customer}/tree', {
              params: { path: { customer }, query: { parent: item.id, limit: 500 } },
            }),
          )
          await walk(
            page.items.filter((i) => i.kind !== 'service'),
            depth + 1,
          )
        }
      }
      await walk(roots ?? [], 0)
      return out
    },
  })
}

/** New-service orders of the customer I may see (mine, or everyone's when I manage users). */
export function useServiceOrders(customer: string) {
  return useQuery({
    queryKey: ['orders', customer],
    queryFn: () =>
      call(() =>
        api.GET('/api/v1/customers/{customer}/orders', {
          params: { path: { customer }, query: { limit: 100 } },
        }),
      ),
    select: (page) => page.items.filter((o) => o.kind === 'new-service'),
  })
}

export function OrderScreen({
  customer,
  portal,
  roots,
}: {
  customer: string
  portal: PortalInfo
  roots: TreeItem[] | undefined
}) {
  const { t, dateTime } = useI18n()
  const { query } = useLocation()
  const queryClient = useQueryClient()
  const accounts = useOrderAccounts(customer, roots)
  const orders = useServiceOrders(customer)
  const [account, setAccount] = useState(query.get('account') ?? '')
  const [type, setType] = useState('')
  const [tariff, setTariff] = useState('')
  const [note, setNote] = useState('')
  const [error, setError] = useState<unknown>(null)
  const [placed, setPlaced] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const choices = accounts.data ?? []
  const chosen = choices.some((c) => c.item.id === account) ? account : (choices[0]?.item.id ?? '')
  const names = new Map(choices.map((c) => [c.item.id, c.item.name]))
  const typeName = (x: unknown) =>
    typeof x === 'string' ? t(`type.${x}` as MessageKey).replace(/^type\./, '') : '–'
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    setPlaced(null)
    try {
      const order = await call(() =>
        api.POST('/api/v1/accounts/{id}/orders', {
          params: { path: { id: chosen } },
          body: {
            kind: 'new-service',
            payload: {
              service_type: type,
              ...(tariff.trim() ? { tariff: tariff.trim() } : {}),
              ...(note.trim() ? { note: note.trim() } : {}),
            },
          },
        }),
      )
      setPlaced(order.id)
      setType('')
      setTariff('')
      setNote('')
      await queryClient.invalidateQueries({ queryKey: ['orders', customer] })
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  return (
    <>
      <PageTitle sub={t('neworder.intro', { operator: portal.operator })}>{t('neworder.title')}</PageTitle>
      {accounts.isPending ? (
        <Loading />
      ) : accounts.isError ? (
        <ErrorBox error={accounts.error} retry={() => accounts.refetch()} />
      ) : choices.length === 0 ? (
        <p className="muted">{t('neworder.noAccounts')}</p>
      ) : (
        <section className="card" aria-labelledby="order-h">
          <h2 id="order-h">{t('neworder.title')}</h2>
          <form onSubmit={submit} noValidate className="new-order">
            <FormError error={error} fields={['body.payload.tariff', 'body.payload.note']} />
            {placed ? (
              <div className="alert success" role="status">
                {t('order.placed', { id: placed, operator: portal.operator })}{' '}
                <Link to={`/c/${enc(customer)}/tree`}>{t('neworder.toTree')}</Link>
              </div>
            ) : null}
            <div className="grid">
              <Select
                label={t('neworder.account')}
                value={chosen}
                onChange={(e) => setAccount(e.target.value)}
              >
                {choices.map(({ item, depth }) => (
                  <option key={item.id} value={item.id}>
                    {'\u00a0\u00a0'.repeat(depth)}
                    {item.name} ({t(`kind.${item.kind}` as MessageKey)})
                  </option>
                ))}
              </Select>
              <Select
                label={t('neworder.type')}
                value={type}
                onChange={(e) => setType(e.target.value)}
                required
              >
                <option value="">{t('neworder.pickType')}</option>
                {SERVICE_TYPES.map((s) => (
                  <option key={s} value={s}>
                    {typeName(s)}
                  </option>
                ))}
              </Select>
              <Field
                label={t('neworder.tariff')}
                name="body.payload.tariff"
                error={error}
                value={tariff}
                maxLength={100}
                onChange={(e) => setTariff(e.target.value)}
              />
              <Field
                label={t('neworder.note')}
                name="body.payload.note"
                error={error}
                value={note}
                maxLength={1000}
                onChange={(e) => setNote(e.target.value)}
              />
            </div>
            <div className="actions">
              <button type="submit" disabled={busy || !type || !chosen}>
                {t('order.submit')}
              </button>
            </div>
          </form>
        </section>
      )}
      <section aria-labelledby="ordered-h">
        <h2 id="ordered-h">{t('neworder.list')}</h2>
        {orders.isPending ? (
          <Loading />
        ) : orders.isError ? (
          <ErrorBox error={orders.error} retry={() => orders.refetch()} />
        ) : orders.data.length === 0 ? (
          <p className="muted">{t('neworder.none')}</p>
        ) : (
          <div className="table-wrap">
            <table className="orders">
              <thead>
                <tr>
                  <th scope="col">{t('neworder.type')}</th>
                  <th scope="col">{t('neworder.account')}</th>
                  <th scope="col">{t('service.tariff')}</th>
                  <th scope="col">{t('neworder.placedAt')}</th>
                  <th scope="col">{t('neworder.status')}</th>
                </tr>
              </thead>
              <tbody>
                {orders.data.map((o) => (
                  <tr key={o.id}>
                    <td>
                      {typeName(o.payload.service_type)}
                      <div className="muted small">{o.id}</div>
                    </td>
                    <td>{names.get(o.node) ?? o.node}</td>
                    <td>{typeof o.payload.tariff === 'string' ? o.payload.tariff : '–'}</td>
                    <td>{dateTime(o.created_at)}</td>
                    <td>
                      <span className={`badge status-${o.status}`}>
                        {t(`orderStatus.${o.status}` as MessageKey)}
                      </span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  )
}
