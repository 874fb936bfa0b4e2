/**
 * My profile: who I am, my roles in each customer (switch between them), a password change, and
 * the second factor (set up with an authenticator app, confirmed with a code; off with the password).
 */
import { useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { api, call, problemOf } from '../api/client'
import { Field, FormError, PageTitle } from '../components/ui'
import { type MessageKey, useI18n } from '../i18n'
import { enc, navigate } from '../router'
import type { Me, PortalInfo } from '../session'

export function Profile({ portal, me, current }: { portal: PortalInfo; me: Me; current: string | null }) {
  const { t, pick, dateTime, date } = useI18n()
  const p = me.person
  const role = (id: string) => portal.roles.find((r) => r.id === id)
  return (
    <>
      <PageTitle>{t('profile.title')}</PageTitle>
      <section className="card" aria-labelledby="who">
        <h2 id="who">{p.display_name}</h2>
        <dl className="facts">
          <dt>{t('profile.login')}</dt>
          <dd>{p.login}</dd>
          <dt>{t('profile.email')}</dt>
          <dd>{p.email ?? '–'}</dd>
          <dt>{t('profile.lastLogin')}</dt>
          <dd>{dateTime(p.last_login_at)}</dd>
          <dt>{t('profile.secondFactor')}</dt>
          <dd>{t(`profile.sf.${p.second_factor}` as MessageKey)}</dd>
        </dl>
      </section>
      <section aria-labelledby="roles">
        <h2 id="roles">{t('profile.roles')}</h2>
        {me.customers.length === 0 ? <p className="muted">{t('profile.noRoles')}</p> : null}
        {me.customers.map((c) => (
          <div className="card" key={c.id}>
            <div className="card-head">
              <h3>{c.name}</h3>
              {c.id === current ? (
                <span className="badge">{t('profile.current')}</span>
              ) : (
                <button type="button" className="secondary" onClick={() => navigate(`/c/${enc(c.id)}/tree`)}>
                  {t('profile.switchTo')}
                </button>
              )}
            </div>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t('profile.role')}</th>
                    <th scope="col">{t('profile.scope')}</th>
                    <th scope="col">{t('profile.options')}</th>
                    <th scope="col">{t('profile.expires')}</th>
                  </tr>
                </thead>
                <tbody>
                  {c.grants.map((g) => {
                    const r = role(g.role)
                    return (
                      <tr key={g.id} className={g.active ? undefined : 'inactive'}>
                        <td>
                          <strong>{r ? pick(r.name) : g.role_name}</strong>
                          {r?.description ? <div className="muted small">{pick(r.description)}</div> : null}
                        </td>
                        <td>
                          {g.scope.name}{' '}
                          <span className="muted small">({t(`kind.${g.scope.kind}` as MessageKey)})</span>
                        </td>
                        <td>
                          {g.options.length
                            ? g.options
                                .map((o) => pick(r?.options.find((x) => x.id === o)?.name) || o)
                                .join(', ')
                            : '–'}
                        </td>
                        <td>{g.expires_at ? date(g.expires_at) : t('profile.never')}</td>
                      </tr>
                    )
                  })}
                </tbody>
              </table>
            </div>
          </div>
        ))}
      </section>
      <SecondFactor state={p.second_factor} />
      <ChangePassword />
    </>
  )
}

function ChangePassword() {
  const { t } = useI18n()
  const [current, setCurrent] = useState('')
  const [next, setNext] = useState('')
  const [error, setError] = useState<unknown>(null)
  const [done, setDone] = useState(false)
  const [busy, setBusy] = useState(false)
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    setDone(false)
    try {
      await call(() =>
        api.POST('/api/v1/auth/password', { body: { current_password: current, new_password: next } }),
      )
      setDone(true)
      setCurrent('')
      setNext('')
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  return (
    <section className="card" aria-labelledby="pw">
      <h2 id="pw">{t('profile.changePassword')}</h2>
      <form onSubmit={submit} noValidate className="narrow-form">
        <FormError error={error} fields={['body.current_password', 'body.new_password']} />
        {done ? (
          <div className="alert success" role="status">
            {t('profile.passwordChanged')}
          </div>
        ) : null}
        <Field
          label={t('profile.currentPassword')}
          name="body.current_password"
          error={error}
          type="password"
          value={current}
          onChange={(e) => setCurrent(e.target.value)}
          autoComplete="current-password"
        />
        <Field
          label={t('reset.new')}
          name="body.new_password"
          hint={t('reset.hint')}
          error={error}
          type="password"
          value={next}
          onChange={(e) => setNext(e.target.value)}
          autoComplete="new-password"
        />
        <div className="actions">
          <button type="submit" disabled={busy}>
            {t('profile.changePassword')}
          </button>
        </div>
      </form>
    </section>
  )
}

type Setup = { secret: string; otpauth_uri: string }

/** The second factor: set up (secret and otpauth link as text: no QR library ships with the app), confirm, turn off. */
function SecondFactor({ state }: { state: 'on' | 'off' | 'pending' }) {
  const { t } = useI18n()
  const queryClient = useQueryClient()
  const [setup, setSetup] = useState<Setup | null>(null)
  const [code, setCode] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<unknown>(null)
  const [done, setDone] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const run = async (what: () => Promise<void>) => {
    setBusy(true)
    setError(null)
    setDone(null)
    try {
      await what()
    } catch (e) {
      setError(e)
    } finally {
      setBusy(false)
    }
  }
  const start = () =>
    run(async () => {
      setSetup(await call(() => api.POST('/api/v1/auth/totp/setup')))
      setCode('')
    })
  const enable = (e: FormEvent) => {
    e.preventDefault()
    void run(async () => {
      await call(() => api.POST('/api/v1/auth/totp/enable', { body: { code: code.trim() } }))
      setSetup(null)
      setCode('')
      setDone(t('totp.enabled'))
      await queryClient.invalidateQueries({ queryKey: ['me'] })
    })
  }
  const disable = (e: FormEvent) => {
    e.preventDefault()
    void run(async () => {
      await call(() => api.POST('/api/v1/auth/totp/disable', { body: { password } }))
      setPassword('')
      setDone(t('totp.disabled'))
      await queryClient.invalidateQueries({ queryKey: ['me'] })
    })
  }
  // The server's words name the field; mine say it in the reader's language.
  const p = problemOf(error)
  const codeError = p?.field === 'body.code' ? t('totp.wrongCode') : undefined
  const passwordError = p?.field === 'body.password' ? t('totp.wrongPassword') : undefined
  return (
    <section className="card" aria-labelledby="totp">
      <h2 id="totp">{t('totp.title')}</h2>
      {done ? (
        <div className="alert success" role="status">
          {done}
        </div>
      ) : null}
      <FormError error={error} fields={['body.code', 'body.password']} />
      {state === 'on' ? (
        <form onSubmit={disable} noValidate className="narrow-form">
          <p>{t('totp.onIntro')}</p>
          <Field
            label={t('totp.password')}
            name="body.password"
            message={passwordError}
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete="current-password"
          />
          <div className="actions">
            <button type="submit" className="danger-outline" disabled={busy || !password}>
              {t('totp.disable')}
            </button>
          </div>
        </form>
      ) : setup ? (
        <form onSubmit={enable} noValidate className="narrow-form totp-setup">
          <p>{t('totp.step1')}</p>
          <dl className="facts">
            <dt>{t('totp.secret')}</dt>
            <dd>
              <code className="secret" data-secret={setup.secret}>
                {setup.secret.replace(/(.{4})(?=.)/g, '$1 ')}
              </code>
            </dd>
            <dt>{t('totp.uri')}</dt>
            <dd>
              <a className="secret uri" href={setup.otpauth_uri}>
                {setup.otpauth_uri}
              </a>
            </dd>
          </dl>
          <p>{t('totp.step2')}</p>
          <Field
            label={t('totp.code')}
            name="body.code"
            message={codeError}
            value={code}
            onChange={(e) => setCode(e.target.value)}
            inputMode="numeric"
            autoComplete="one-time-code"
            maxLength={16}
          />
          <div className="actions">
            <button type="submit" disabled={busy || code.trim().length === 0}>
              {t('totp.enable')}
            </button>
            <button type="button" className="secondary" disabled={busy} onClick={start}>
              {t('totp.restart')}
            </button>
          </div>
        </form>
      ) : (
        <>
          <p>{state === 'pending' ? t('totp.pendingIntro') : t('totp.offIntro')}</p>
          <div className="actions">
            <button type="button" disabled={busy} onClick={start}>
              {state === 'pending' ? t('totp.restart') : t('totp.start')}
            </button>
          </div>
        </>
      )}
    </section>
  )
}
