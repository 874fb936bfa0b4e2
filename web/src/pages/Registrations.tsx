/**
 * Registered people (W3, TIM's "elenco di tutte le utenze registrate"): everyone registered at the
 * customer whom I manage, with status, roles and last sign-in; deactivating or reactivating a
 * login after a confirmation, with the result shown. A login the engine will not let me switch
 * off is shown with the reason.
 */
import { useInfiniteQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useEffect, useId, useState } from 'react'
import { api, call } from '../api/client'
import { ErrorBox, FormError, Loading, PageTitle, Reason, Select } from '../components/ui'
import { type MessageKey, useI18n } from '../i18n'
import { enc, Link, navigate, useLocation } from '../router'
import type { PortalInfo } from '../session'
import { useAccessText } from './Access'

type RegistrationPage = Awaited<ReturnType<typeof fetchPage>>
type Registration = RegistrationPage['items'][number]
type Status = 'active' | 'deactivated' | 'invited'
const STATUSES: Status[] = ['active', 'deactivated', 'invited']

function fetchPage(customer: string, query: { status?: Status; q?: string; cursor?: string }) {
  return call(() =>
    api.GET('/api/v1/customers/{customer}/registrations', {
      params: { path: { customer }, query: { limit: 100, ...query } },
    }),
  )
}

export function RegistrationsScreen({ customer, portal }: { customer: string; portal: PortalInfo }) {
  const { t } = useI18n()
  const { query } = useLocation()
  const statusParam = query.get('status')
  const status = STATUSES.includes(statusParam as Status) ? (statusParam as Status) : undefined
  const q = query.get('q') ?? ''
  const [text, setText] = useState(q)
  useEffect(() => setText(q), [q])
  const [outcome, setOutcome] = useState<string | null>(null)
  const list = useInfiniteQuery({
    queryKey: ['registrations', customer, status ?? null, q],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      fetchPage(customer, {
        ...(status ? { status } : {}),
        ...(q ? { q } : {}),
        ...(pageParam ? { cursor: pageParam } : {}),
      }),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    retry: false,
  })
  const go = (next: { status?: string; q?: string }) => {
    const params = new URLSearchParams()
    const s = next.status ?? status ?? ''
    const v = (next.q ?? q).trim()
    if (s) params.set('status', s)
    if (v) params.set('q', v)
    const qs = params.toString()
    navigate(`/c/${enc(customer)}/registrations${qs ? `?${qs}` : ''}`)
  }
  const submit = (e: FormEvent) => {
    e.preventDefault()
    go({ q: text })
  }
  const items = list.data?.pages.flatMap((p) => p.items) ?? []
  return (
    <>
      <PageTitle sub={t('reg.intro')}>{t('reg.title')}</PageTitle>
      <search>
        <form className="search filters" onSubmit={submit}>
          <Select
            label={t('reg.status')}
            value={status ?? ''}
            onChange={(e) => go({ status: e.target.value })}
          >
            <option value="">{t('reg.all')}</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`reg.status.${s}` as MessageKey)}
              </option>
            ))}
          </Select>
          <div className="field">
            <label htmlFor="reg-q">{t('reg.search')}</label>
            <input
              id="reg-q"
              type="search"
              value={text}
              maxLength={100}
              onChange={(e) => setText(e.target.value)}
            />
          </div>
          <button type="submit">{t('tree.searchButton')}</button>
        </form>
      </search>
      {outcome ? (
        <div className="alert success" role="status">
          {outcome}
        </div>
      ) : null}
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorBox error={list.error} retry={() => list.refetch()} />
      ) : items.length === 0 ? (
        <p className="muted">{t('reg.none')}</p>
      ) : (
        <div className="table-wrap">
          <table className="registrations stack">
            <thead>
              <tr>
                <th scope="col">{t('users.person')}</th>
                <th scope="col">{t('reg.status')}</th>
                <th scope="col">{t('reg.lastLogin')}</th>
                <th scope="col">{t('reg.roles')}</th>
                <th scope="col">{t('users.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <RegistrationRow
                  key={r.key}
                  registration={r}
                  customer={customer}
                  portal={portal}
                  onDone={setOutcome}
                />
              ))}
            </tbody>
          </table>
          {list.hasNextPage ? (
            <button type="button" className="secondary" onClick={() => list.fetchNextPage()}>
              {t('tree.loadMore')}
            </button>
          ) : null}
        </div>
      )}
    </>
  )
}

function RegistrationRow({
  registration: r,
  customer,
  portal,
  onDone,
}: {
  registration: Registration
  customer: string
  portal: PortalInfo
  onDone: (message: string) => void
}) {
  const { t, date, dateTime } = useI18n()
  const text = useAccessText(portal)
  const queryClient = useQueryClient()
  const [confirming, setConfirming] = useState(false)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const reasonId = useId()
  const p = r.person
  const name = p?.display_name ?? r.email ?? r.key
  const off = r.status === 'deactivated'
  const verb = off ? 'reactivate' : 'deactivate'
  const change = async () => {
    if (!p) return
    setBusy(true)
    setError(null)
    try {
      const result = await call(() =>
        off
          ? api.POST('/api/v1/people/{id}/reactivate', { params: { path: { id: p.id } }, body: { customer } })
          : api.POST('/api/v1/people/{id}/deactivate', {
              params: { path: { id: p.id } },
              body: { customer },
            }),
      )
      onDone(
        !result.changed
          ? t('reg.unchanged', { person: name })
          : off
            ? t('reg.reactivated', { person: name })
            : t('reg.deactivated', { person: name, count: result.sessions_ended }),
      )
      setConfirming(false)
      await queryClient.invalidateQueries({ queryKey: ['registrations', customer] })
      await queryClient.invalidateQueries({ queryKey: ['grants', customer] })
    } catch (e) {
      setError(e)
      setConfirming(false)
    } finally {
      setBusy(false)
    }
  }
  return (
    <tr className={off ? 'inactive deactivated' : undefined}>
      <td data-label={t('users.person')}>
        <strong>{name}</strong>
        <div className="muted small">{[p?.login, p?.email ?? r.email].filter(Boolean).join(' · ')}</div>
        {p && r.grants.length > 0 ? (
          <Link className="small" to={`/c/${enc(customer)}/access?person=${enc(p.id)}`}>
            {t('access.review')}
          </Link>
        ) : null}
      </td>
      <td data-label={t('reg.status')}>
        <span className={`badge status-${r.status}`}>{t(`reg.status.${r.status}` as MessageKey)}</span>
      </td>
      <td data-label={t('reg.lastLogin')}>
        {p ? (p.last_login_at ? dateTime(p.last_login_at) : t('reg.neverSignedIn')) : '–'}
      </td>
      <td data-label={t('reg.roles')}>
        <ul className="plain small">
          {r.grants.map((g) => (
            <li key={g.id} className={g.active ? undefined : 'inactive'}>
              {text.role(g.role)} <span className="muted">– {g.scope.name ?? g.scope.id}</span>
            </li>
          ))}
          {r.invitations.map((i) => (
            <li key={i.id} className="muted">
              {i.grants.map((g) => text.role(g.role)).join(', ')} –{' '}
              {t('reg.invited', { date: date(i.expires_at) })}
            </li>
          ))}
        </ul>
      </td>
      <td className="row-actions">
        <FormError error={error} />
        {r.deactivate === null ? null : r.deactivate.allowed ? (
          confirming ? (
            <fieldset className="confirm">
              <legend className="small">{t(`reg.${verb}Confirm` as MessageKey, { person: name })}</legend>
              <button type="button" className={off ? '' : 'danger'} disabled={busy} onClick={change}>
                {t(`reg.${verb}Yes` as MessageKey)}
              </button>
              <button type="button" className="secondary" onClick={() => setConfirming(false)}>
                {t('users.cancel')}
              </button>
            </fieldset>
          ) : (
            <button
              type="button"
              className={off ? 'secondary' : 'danger-outline'}
              onClick={() => setConfirming(true)}
            >
              {t(`reg.${verb}` as MessageKey)}
            </button>
          )
        ) : (
          <>
            <button type="button" disabled aria-describedby={reasonId}>
              {t(`reg.${verb}` as MessageKey)}
            </button>
            <div className="small">
              <Reason id={reasonId} code={r.deactivate.code} reason={r.deactivate.reason} />
            </div>
          </>
        )}
      </td>
    </tr>
  )
}
