/**
 * The account-request wizard ("žiadosť o konto", sk-isp): someone without a login gives a contract
 * number and an e-mail (step 1); the answer is the same whatever the records say (step 2: a link
 * comes by e-mail, or staff check the request first); the link (/account-request?token=…) sets the
 * password (step 3) and signs in (step 4). Problems are shown next to the field the server names.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { api, call, problemOf } from '../api/client'
import { ErrorBox, Field, FormError, Loading, PageTitle } from '../components/ui'
import { type MessageKey, useI18n } from '../i18n'
import { Link, navigate, useLocation } from '../router'

const STEPS = ['request', 'mail', 'password', 'done'] as const
type Step = (typeof STEPS)[number]

/** Where I am in the wizard: every step named, the current one marked for screen readers too. */
function Steps({ current }: { current: Step }) {
  const { t } = useI18n()
  const at = STEPS.indexOf(current)
  return (
    <ol className="steps" aria-label={t('accountRequest.steps')}>
      {STEPS.map((s, i) => (
        <li
          key={s}
          className={i < at ? 'done' : i === at ? 'current' : undefined}
          aria-current={i === at ? 'step' : undefined}
        >
          <span className="step-number" aria-hidden="true">
            {i + 1}
          </span>
          <span className="step-label">
            {t(`accountRequest.step.${s}` as MessageKey)}
            {i < at ? <span className="visually-hidden"> ({t('accountRequest.stepDone')})</span> : null}
          </span>
        </li>
      ))}
    </ol>
  )
}

/** The server's problem, in my language, when it names this field. */
function fieldText(error: unknown, field: string, text: string): string | undefined {
  return problemOf(error)?.field === field ? text : undefined
}

export function AccountRequest() {
  const { query } = useLocation()
  const token = query.get('token')
  return token ? <CompleteRequest token={token} /> : <StartRequest />
}

function StartRequest() {
  const { t } = useI18n()
  const [contract, setContract] = useState('')
  const [email, setEmail] = useState('')
  const [missing, setMissing] = useState<{ contract: boolean; email: boolean }>({
    contract: false,
    email: false,
  })
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const [sent, setSent] = useState<string | null>(null)

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setError(null)
    // Empty fields are caught here: the public request is rate-limited, no need to spend one on them.
    const blank = { contract: contract.trim() === '', email: email.trim() === '' }
    setMissing(blank)
    if (blank.contract || blank.email) return
    setBusy(true)
    try {
      await call(() =>
        api.POST('/api/v1/account-requests', {
          body: { contract_number: contract.trim(), email: email.trim() },
        }),
      )
      setSent(email.trim())
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  if (sent)
    return (
      <>
        <PageTitle>{t('accountRequest.title')}</PageTitle>
        <Steps current="mail" />
        <div className="alert success" role="status">
          <strong>{t('accountRequest.sentTitle')}</strong>
          <p>{t('accountRequest.sent', { email: sent })}</p>
        </div>
        <p className="muted small">{t('accountRequest.sentNext')}</p>
        <p>
          <Link to="/">{t('forgot.backToSignIn')}</Link>
        </p>
      </>
    )

  return (
    <>
      <PageTitle sub={t('accountRequest.intro')}>{t('accountRequest.title')}</PageTitle>
      <Steps current="request" />
      <form onSubmit={submit} noValidate>
        <FormError error={error} fields={['body.contract_number', 'body.email']} />
        <Field
          label={t('accountRequest.contract')}
          name="body.contract_number"
          hint={t('accountRequest.contractHint')}
          error={error}
          message={
            missing.contract
              ? t('accountRequest.contractMissing')
              : fieldText(error, 'body.contract_number', t('accountRequest.contractInvalid'))
          }
          value={contract}
          onChange={(e) => setContract(e.target.value)}
          autoComplete="off"
          spellCheck={false}
          maxLength={100}
          required
        />
        <Field
          label={t('accountRequest.email')}
          name="body.email"
          hint={t('accountRequest.emailHint')}
          error={error}
          message={
            missing.email
              ? t('accountRequest.emailMissing')
              : fieldText(error, 'body.email', t('accountRequest.emailInvalid'))
          }
          type="email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          autoComplete="email"
          maxLength={254}
          required
        />
        <div className="actions">
          <button type="submit" disabled={busy}>
            {t('accountRequest.submit')}
          </button>
          <Link to="/">{t('forgot.backToSignIn')}</Link>
        </div>
      </form>
    </>
  )
}

function CompleteRequest({ token }: { token: string }) {
  const { t, date } = useI18n()
  const queryClient = useQueryClient()
  const preview = useQuery({
    queryKey: ['account-request', token],
    retry: false,
    queryFn: () => call(() => api.GET('/api/v1/account-requests/by-token', { params: { query: { token } } })),
  })
  const [name, setName] = useState('')
  const [password, setPassword] = useState('')
  const [again, setAgain] = useState('')
  const [mismatch, setMismatch] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const [done, setDone] = useState<{ login: string; newLogin: boolean; customer: string } | null>(null)

  if (done)
    return (
      <>
        <PageTitle>{t('accountRequest.doneTitle')}</PageTitle>
        <Steps current="done" />
        <div className="alert success" role="status">
          {t(done.newLogin ? 'accountRequest.doneNew' : 'accountRequest.doneExisting', { login: done.login })}
        </div>
        <p className="muted">{t('accountRequest.doneOptions')}</p>
        <div className="actions">
          <button type="button" onClick={() => navigate(`/c/${encodeURIComponent(done.customer)}/tree`)}>
            {t('invite.continue')}
          </button>
        </div>
      </>
    )
  if (preview.isPending) return <Loading />
  if (preview.isError)
    return (
      <>
        <PageTitle>{t('accountRequest.title')}</PageTitle>
        <Steps current="password" />
        <ErrorBox error={preview.error} />
        <p>
          <Link to="/account-request">{t('accountRequest.again')}</Link>
        </p>
      </>
    )
  const link = preview.data
  const existing = link.existing_login

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setError(null)
    const differ = !existing && password !== again
    setMismatch(differ)
    if (differ) return
    setBusy(true)
    try {
      const result = await call(() =>
        api.POST('/api/v1/account-requests/complete', {
          body: { token, password, ...(!existing && name.trim() ? { display_name: name.trim() } : {}) },
        }),
      )
      await queryClient.invalidateQueries({ queryKey: ['me'] })
      setDone({ login: result.person.login, newLogin: result.new_login, customer: result.customer_id })
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <>
      <PageTitle sub={t('accountRequest.for', { customer: link.customer_name })}>
        {t('accountRequest.completeTitle')}
      </PageTitle>
      <Steps current="password" />
      <dl className="facts">
        <dt>{t('accountRequest.contract')}</dt>
        <dd>{link.contract_number}</dd>
        <dt>{t('accountRequest.email')}</dt>
        <dd>{link.email}</dd>
      </dl>
      <p className="muted small">{t('invite.expires', { date: date(link.expires_at) })}</p>
      <form onSubmit={submit} noValidate>
        <FormError error={error} fields={['body.password', 'body.display_name']} />
        {existing ? (
          <p>{t('accountRequest.existing', { email: link.email })}</p>
        ) : (
          <Field
            label={t('invite.name')}
            name="body.display_name"
            error={error}
            message={fieldText(error, 'body.display_name', t('accountRequest.nameMissing'))}
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoComplete="name"
            maxLength={300}
            required
          />
        )}
        <Field
          label={existing ? t('signIn.password') : t('reset.new')}
          name="body.password"
          hint={existing ? undefined : t('reset.hint')}
          error={error}
          message={fieldText(
            error,
            'body.password',
            existing ? t('accountRequest.wrongPassword') : t('accountRequest.weakPassword'),
          )}
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          autoComplete={existing ? 'current-password' : 'new-password'}
          required
        />
        {existing ? null : (
          <Field
            label={t('reset.confirm')}
            name="confirm"
            message={mismatch ? t('reset.mismatch') : undefined}
            type="password"
            value={again}
            onChange={(e) => setAgain(e.target.value)}
            autoComplete="new-password"
            required
          />
        )}
        <div className="actions">
          <button type="submit" disabled={busy}>
            {t('accountRequest.complete')}
          </button>
        </div>
      </form>
    </>
  )
}
