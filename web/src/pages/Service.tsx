/**
 * A service: status, tariff, add-ons, and every action my grants allow. An action I lack is shown
 * disabled with the engine's reason; invoices, statements and usage appear only where allowed.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, type ReactNode, useId, useState } from 'react'
import { api, call } from '../api/client'
import { ErrorBox, Field, FormError, Loading, PageTitle, Reason, Select, StatusBadge } from '../components/ui'
import { type MessageKey, useI18n } from '../i18n'
import { enc, Link } from '../router'
import type { PortalInfo, ServicePage } from '../session'
import { InvoiceTable, StatementList, UsagePanel } from './Billing'
import { ServiceContactsCard } from './Contacts'

/** Actions that are orders on this page; 'order' (a new service) lives on accounts. */
const ORDER_ACTIONS = [
  'cancel',
  'tariff-change',
  'addons',
  'settings',
  'block',
  'premium-blacklist',
  'offers',
  'smart-watch',
] as const
type OrderAction = (typeof ORDER_ACTIONS)[number]

export function ServiceScreen({
  customer,
  id,
  portal,
}: {
  customer: string
  id: string
  portal: PortalInfo
}) {
  const { t } = useI18n()
  const service = useQuery({
    queryKey: ['service', id],
    queryFn: () => call(() => api.GET('/api/v1/services/{id}', { params: { path: { id } } })),
  })
  if (service.isPending) return <Loading />
  if (service.isError)
    return (
      <>
        <ErrorBox error={service.error} />
        <p>
          <Link to={`/c/${enc(customer)}/tree`}>{t('service.back')}</Link>
        </p>
      </>
    )
  const s = service.data
  const allowed = (action: string) => s.actions.find((a) => a.action === action)?.allowed ?? false
  const type = s.service_type ? t(`type.${s.service_type}` as MessageKey).replace(/^type\./, '') : null
  return (
    <>
      <p className="crumbs">
        <Link to={`/c/${enc(customer)}/tree`}>{t('nav.tree')}</Link>
        {s.account ? <span className="muted"> / {s.account}</span> : null}
      </p>
      <PageTitle sub={type ?? undefined}>{s.name}</PageTitle>
      {s.permissions.includes('users.manage') ? (
        <p className="page-links">
          <Link to={`/c/${enc(customer)}/access?node=${enc(s.id)}`}>{t('access.whoHasAccess')}</Link>
        </p>
      ) : null}
      <section className="card" aria-labelledby="svc-details">
        <h2 id="svc-details">{t('service.details')}</h2>
        {s.service_type === null ? (
          <p className="muted">{t('service.hiddenDetails')}</p>
        ) : (
          <dl className="facts">
            <dt>{t('service.status')}</dt>
            <dd>
              <StatusBadge status={s.status} />
            </dd>
            <dt>{t('service.tariff')}</dt>
            <dd>{s.tariff ?? '–'}</dd>
            <dt>{t('service.addOns')}</dt>
            <dd>
              {s.add_ons && s.add_ons.length > 0 ? (
                <ul className="plain">
                  {s.add_ons.map((a) => (
                    <li key={a}>
                      {a} {allowed('addons') ? <CancelAddOn service={s} addon={a} portal={portal} /> : null}
                    </li>
                  ))}
                </ul>
              ) : (
                t('service.noAddOns')
              )}
            </dd>
            <dt>{t('service.contract')}</dt>
            <dd>{s.contract_number ?? '–'}</dd>
          </dl>
        )}
      </section>
      <Actions service={s} portal={portal} />
      {/* OVH contacts: the service's three contacts, and a change where I may ask */}
      {portal.features.contact_changes ? <ServiceContactsCard service={s.id} /> : null}
      {allowed('usage') ? (
        <section className="card" aria-labelledby="svc-usage">
          <h2 id="svc-usage">{t('usage.title')}</h2>
          <UsagePanel service={s.id} perIp={s.service_type === 'housing'} />
        </section>
      ) : null}
      {allowed('invoices') ? (
        <section className="card" aria-labelledby="svc-invoices">
          <h2 id="svc-invoices">{t('billing.invoices')}</h2>
          <InvoiceTable on="services" node={s.id} />
        </section>
      ) : null}
      {allowed('statements') ? (
        <section className="card" aria-labelledby="svc-statements">
          <h2 id="svc-statements">{t('billing.statements')}</h2>
          <StatementList on="services" node={s.id} />
        </section>
      ) : null}
    </>
  )
}

function Actions({ service, portal }: { service: ServicePage; portal: PortalInfo }) {
  const { t } = useI18n()
  const [open, setOpen] = useState<OrderAction | null>(null)
  const [placed, setPlaced] = useState<string | null>(null)
  const actions = ORDER_ACTIONS.map((a) => ({ a, v: service.actions.find((x) => x.action === a) })).filter(
    (x) => x.v !== undefined,
  )
  const mine = actions.filter((x) => x.v?.allowed)
  const notMine = actions.filter((x) => !x.v?.allowed)
  return (
    <section className="card" aria-labelledby="svc-actions">
      <h2 id="svc-actions">{t('service.actions')}</h2>
      {placed ? (
        <div className="alert success" role="status">
          {t('order.placed', { id: placed, operator: portal.operator })}
        </div>
      ) : null}
      {mine.length === 0 ? <p className="muted">{t('service.noActions')}</p> : null}
      <div className="action-list">
        {mine.map(({ a }) => (
          <button
            key={a}
            type="button"
            className={open === a ? '' : 'secondary'}
            aria-expanded={open === a}
            onClick={() => {
              setOpen(open === a ? null : a)
              setPlaced(null)
            }}
          >
            {t(
              a === 'block' && service.status === 'blocked' ? 'order.unblock' : (`action.${a}` as MessageKey),
            )}
          </button>
        ))}
      </div>
      {open ? (
        <OrderForm
          key={open}
          action={open}
          service={service}
          onPlaced={(id) => {
            setPlaced(id)
            setOpen(null)
          }}
        />
      ) : null}
      {notMine.length > 0 ? (
        <details className="unavailable">
          <summary>{t('service.unavailable', { count: notMine.length })}</summary>
          <ul className="plain">
            {notMine.map(({ a, v }) => (
              <UnavailableAction
                key={a}
                label={t(`action.${a}` as MessageKey)}
                code={v?.code ?? ''}
                reason={v?.reason ?? ''}
              />
            ))}
          </ul>
        </details>
      ) : null}
    </section>
  )
}

function UnavailableAction({ label, code, reason }: { label: string; code: string; reason: string }) {
  const id = useId()
  return (
    <li>
      <button type="button" disabled aria-describedby={id}>
        {label}
      </button>{' '}
      <Reason id={id} code={code} reason={reason} />
    </li>
  )
}

type Payload = Record<string, unknown>

function useOrder(service: ServicePage, onPlaced: (id: string) => void) {
  const queryClient = useQueryClient()
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const place = async (kind: string, payload: Payload) => {
    setBusy(true)
    setError(null)
    try {
      const order = await call(() =>
        api.POST('/api/v1/services/{id}/orders', {
          params: { path: { id: service.id } },
          body: { kind: kind as 'cancel', payload },
        }),
      )
      await queryClient.invalidateQueries({ queryKey: ['service', service.id] })
      onPlaced(order.id)
    } catch (e) {
      setError(e)
    } finally {
      setBusy(false)
    }
  }
  return { error, busy, place }
}

function OrderForm({
  action,
  service,
  onPlaced,
}: {
  action: OrderAction
  service: ServicePage
  onPlaced: (id: string) => void
}) {
  const { t } = useI18n()
  const { error, busy, place } = useOrder(service, onPlaced)
  const [a, setA] = useState('')
  const [b, setB] = useState('')
  const [reason, setReason] = useState<'theft' | 'loss' | 'other'>('theft')
  const blocked = service.status === 'blocked'
  let fields: ReactNode = null
  let submit: () => [string, Payload]
  switch (action) {
    case 'cancel':
      fields = (
        <Field
          label={t('order.reason')}
          name="body.payload.reason"
          error={error}
          value={a}
          onChange={(e) => setA(e.target.value)}
          maxLength={500}
        />
      )
      submit = () => ['cancel', a ? { reason: a } : {}]
      break
    case 'tariff-change':
      fields = (
        <Field
          label={t('order.tariff')}
          name="body.payload.tariff"
          error={error}
          value={a}
          onChange={(e) => setA(e.target.value)}
          required
        />
      )
      submit = () => ['tariff-change', { tariff: a }]
      break
    case 'addons':
      fields = (
        <Field
          label={t('order.addon')}
          name="body.payload.addon"
          error={error}
          value={a}
          onChange={(e) => setA(e.target.value)}
          required
        />
      )
      submit = () => ['addon-activate', { addon: a }]
      break
    case 'settings':
      fields = (
        <>
          <Field
            label={t('order.settingKey')}
            name="body.payload.settings"
            error={error}
            value={a}
            onChange={(e) => setA(e.target.value)}
            pattern="[a-z][a-z0-9_.\-]*"
            required
          />
          <Field
            label={t('order.settingValue')}
            name="settingValue"
            value={b}
            onChange={(e) => setB(e.target.value)}
          />
        </>
      )
      submit = () => ['settings-change', { settings: { [a]: b } }]
      break
    case 'block':
      fields = blocked ? null : (
        <Select
          label={t('order.blockReason')}
          value={reason}
          onChange={(e) => setReason(e.target.value as 'theft')}
        >
          <option value="theft">{t('order.theft')}</option>
          <option value="loss">{t('order.loss')}</option>
          <option value="other">{t('order.other')}</option>
        </Select>
      )
      submit = () => (blocked ? ['unblock', {}] : ['block', { reason }])
      break
    case 'premium-blacklist':
      fields = (
        <Field
          label={t('order.premium')}
          name="body.payload.block"
          error={error}
          value={a}
          onChange={(e) => setA(e.target.value)}
          required
        />
      )
      submit = () => [
        'premium-blacklist',
        {
          block: a
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean),
        },
      ]
      break
    case 'offers':
      fields = (
        <Field
          label={t('order.offer')}
          name="body.payload.offer"
          error={error}
          value={a}
          onChange={(e) => setA(e.target.value)}
          required
        />
      )
      submit = () => ['offer-activate', { offer: a }]
      break
    case 'smart-watch':
      fields = (
        <Field
          label={t('order.imei')}
          name="body.payload.imei"
          error={error}
          value={a}
          onChange={(e) => setA(e.target.value)}
          inputMode="numeric"
          maxLength={15}
        />
      )
      submit = () => ['watch-activate', a ? { imei: a } : {}]
      break
  }
  const onSubmit = (e: FormEvent) => {
    e.preventDefault()
    const [kind, payload] = submit()
    void place(kind, payload)
  }
  return (
    <form className="order-form" onSubmit={onSubmit} noValidate>
      <h3>{t(action === 'block' && blocked ? 'order.unblock' : (`action.${action}` as MessageKey))}</h3>
      <FormError
        error={error}
        fields={[
          'body.payload.reason',
          'body.payload.tariff',
          'body.payload.addon',
          'body.payload.settings',
          'body.payload.block',
          'body.payload.offer',
          'body.payload.imei',
        ]}
      />
      {fields}
      <div className="actions">
        <button type="submit" disabled={busy}>
          {t('order.submit')}
        </button>
      </div>
    </form>
  )
}

function CancelAddOn({
  service,
  addon,
  portal,
}: {
  service: ServicePage
  addon: string
  portal: PortalInfo
}) {
  const { t } = useI18n()
  const [placed, setPlaced] = useState<string | null>(null)
  const { error, busy, place } = useOrder(service, setPlaced)
  if (placed)
    return (
      <span className="small" role="status">
        {t('order.placed', { id: placed, operator: portal.operator })}
      </span>
    )
  return (
    <>
      <button
        type="button"
        className="link small"
        disabled={busy}
        onClick={() => place('addon-cancel', { addon })}
      >
        {t('order.addonCancel', { addon })}
      </button>
      <FormError error={error} />
    </>
  )
}
