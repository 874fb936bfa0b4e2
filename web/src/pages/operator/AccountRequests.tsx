/**
 * Back office (sk-isp): the account-request queue. A request whose e-mail is not the one on file
 * for the contract waits here; staff approve it (the link to set a password is mailed) or refuse
 * it with a reason that is audited. An unused link can be withdrawn the same way.
 */
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { ErrorBox, Field, FormError, Loading, PageTitle, Select } from '../../components/ui'
import { useI18n } from '../../i18n'
import { type AccountRequestItem, type AccountRequestPage, opJson } from './api'
import { Pager, useCursorPages } from './parts'

const PAGE_SIZE = 25
const STATES = ['waiting_for_operator', 'link_sent', 'completed', 'rejected', 'expired', 'pending'] as const
type State = (typeof STATES)[number]

export function AccountRequestsScreen() {
  const { t } = useI18n()
  const [state, setState] = useState<State | ''>('waiting_for_operator')
  const pages = useCursorPages()
  const requests = useQuery({
    queryKey: ['operator', 'account-requests', state, pages.cursor ?? null],
    placeholderData: keepPreviousData,
    queryFn: () => {
      const qs = new URLSearchParams({ limit: String(PAGE_SIZE) })
      if (state) qs.set('state', state)
      if (pages.cursor) qs.set('cursor', pages.cursor)
      return opJson<AccountRequestPage>(`/api/v1/operator/account-requests?${qs}`)
    },
  })
  return (
    <>
      <PageTitle sub={t('operator.requests.intro')}>{t('operator.requests.title')}</PageTitle>
      <div className="op-state">
        <Select
          label={t('operator.requests.state')}
          value={state}
          onChange={(e) => {
            pages.reset()
            setState(e.target.value as State | '')
          }}
        >
          {STATES.map((s) => (
            <option key={s} value={s}>
              {t(`operator.requests.state.${s}`)}
            </option>
          ))}
          <option value="">{t('operator.requests.all')}</option>
        </Select>
      </div>
      {requests.isPending ? (
        <Loading />
      ) : requests.isError ? (
        <ErrorBox error={requests.error} retry={() => requests.refetch()} />
      ) : requests.data.items.length === 0 ? (
        <p className="muted">{t('operator.requests.none')}</p>
      ) : (
        <>
          <ul className="plain op-requests">
            {requests.data.items.map((r) => (
              <RequestCard key={r.id} request={r} />
            ))}
          </ul>
          <Pager pages={pages} nextCursor={requests.data.next_cursor} label={t('operator.requests.pages')} />
        </>
      )}
    </>
  )
}

function RequestCard({ request: r }: { request: AccountRequestItem }) {
  const { t, dateTime } = useI18n()
  const yesNo = (b: boolean) => (b ? t('operator.requests.yes') : t('operator.requests.no'))
  const open = r.state === 'waiting_for_operator' || r.state === 'link_sent'
  return (
    <li className="card op-request" aria-labelledby={`req-${r.id}`}>
      <div className="card-head">
        <h2 id={`req-${r.id}`}>
          {r.contract_number} · {r.email}
        </h2>
        <span className={`badge req-${r.state}`}>{t(`operator.requests.state.${r.state}`)}</span>
      </div>
      <dl className="facts">
        <dt>{t('operator.requests.created')}</dt>
        <dd>{dateTime(r.created_at)}</dd>
        <dt>{t('operator.requests.customer')}</dt>
        <dd>{r.customer_id ?? '–'}</dd>
        <dt>{t('operator.requests.contractFound')}</dt>
        <dd>{yesNo(r.match.contract_found)}</dd>
        <dt>{t('operator.requests.emailOnFile')}</dt>
        <dd>{yesNo(r.match.email_on_file)}</dd>
        <dt>{t('operator.requests.primaryPresent')}</dt>
        <dd>{yesNo(r.match.primary_present)}</dd>
        {r.decided_by ? (
          <>
            <dt>{t('operator.requests.decidedBy')}</dt>
            <dd>{r.decided_by}</dd>
          </>
        ) : null}
      </dl>
      {open ? <Decide request={r} /> : null}
    </li>
  )
}

function Decide({ request: r }: { request: AccountRequestItem }) {
  const { t } = useI18n()
  const queryClient = useQueryClient()
  const [customer, setCustomer] = useState('')
  const [reason, setReason] = useState('')
  const [refusing, setRefusing] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const post = async (what: 'approve' | 'reject', body: object) => {
    setBusy(true)
    setError(null)
    try {
      await opJson(`/api/v1/operator/account-requests/${encodeURIComponent(r.id)}/${what}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      await queryClient.invalidateQueries({ queryKey: ['operator', 'account-requests'] })
    } catch (e) {
      setError(e)
    } finally {
      setBusy(false)
    }
  }
  const approve = (e: FormEvent) => {
    e.preventDefault()
    void post('approve', customer.trim() ? { customer: customer.trim() } : {})
  }
  const refuse = (e: FormEvent) => {
    e.preventDefault()
    void post('reject', { reason: reason.trim() })
  }
  return (
    <div className="op-decide">
      <FormError error={error} fields={['body.customer', 'body.reason']} />
      {r.state === 'waiting_for_operator' ? (
        <form onSubmit={approve} noValidate aria-label={t('operator.requests.approve')}>
          {r.match.contract_found ? null : (
            <Field
              label={t('operator.requests.approveCustomer')}
              hint={t('operator.requests.approveCustomerHint')}
              name="body.customer"
              error={error}
              value={customer}
              onChange={(e) => setCustomer(e.target.value)}
            />
          )}
          <div className="actions">
            <button type="submit" disabled={busy || (!r.match.contract_found && !customer.trim())}>
              {t('operator.requests.approve')}
            </button>
            {refusing ? null : (
              <button type="button" className="danger-outline" onClick={() => setRefusing(true)}>
                {t('operator.requests.refuse')}
              </button>
            )}
          </div>
        </form>
      ) : refusing ? null : (
        <div className="actions">
          <button type="button" className="danger-outline" onClick={() => setRefusing(true)}>
            {t('operator.requests.withdraw')}
          </button>
        </div>
      )}
      {refusing ? (
        <form onSubmit={refuse} noValidate aria-label={t('operator.requests.refuse')}>
          <Field
            label={t('operator.requests.reason')}
            hint={t('operator.requests.reasonHint')}
            name="body.reason"
            error={error}
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            maxLength={1000}
            required
          />
          <div className="actions">
            <button type="submit" className="danger" disabled={busy || !reason.trim()}>
              {r.state === 'waiting_for_operator'
                ? t('operator.requests.refuseSubmit')
                : t('operator.requests.withdrawSubmit')}
            </button>
            <button type="button" className="secondary" onClick={() => setRefusing(false)}>
              {t('users.cancel')}
            </button>
          </div>
        </form>
      ) : null}
    </div>
  )
}
