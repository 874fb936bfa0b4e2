/** Forgotten password (asks for a link by e-mail) and the page that link opens (/reset-password?token=…). */
import { type FormEvent, useState } from 'react'
import { api, call } from '../api/client'
import { Field, FormError, PageTitle } from '../components/ui'
import { useI18n } from '../i18n'
import { Link, useLocation } from '../router'

export function ForgotPassword() {
  const { t } = useI18n()
  const [value, setValue] = useState('')
  const [error, setError] = useState<unknown>(null)
  const [sent, setSent] = useState(false)
  const [busy, setBusy] = useState(false)
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      await call(() => api.POST('/api/v1/auth/password-reset', { body: { login_or_email: value } }))
      setSent(true)
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  return (
    <>
      <PageTitle sub={t('forgot.intro')}>{t('forgot.title')}</PageTitle>
      {sent ? (
        <div className="alert success" role="status">
          {t('forgot.sent')}
        </div>
      ) : (
        <form onSubmit={submit} noValidate>
          <FormError error={error} fields={['body.login_or_email']} />
          <Field
            label={t('forgot.field')}
            name="body.login_or_email"
            error={error}
            value={value}
            onChange={(e) => setValue(e.target.value)}
            autoComplete="username"
            autoCapitalize="none"
            required
          />
          <div className="actions">
            <button type="submit" disabled={busy}>
              {t('forgot.submit')}
            </button>
          </div>
        </form>
      )}
      <p>
        <Link to="/">{t('forgot.backToSignIn')}</Link>
      </p>
    </>
  )
}

export function ResetPassword() {
  const { t } = useI18n()
  const { query } = useLocation()
  const token = query.get('token') ?? ''
  const [password, setPassword] = useState('')
  const [again, setAgain] = useState('')
  const [error, setError] = useState<unknown>(null)
  const [mismatch, setMismatch] = useState(false)
  const [done, setDone] = useState(false)
  const [busy, setBusy] = useState(false)
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setError(null)
    setMismatch(password !== again)
    if (password !== again) return
    setBusy(true)
    try {
      await call(() =>
        api.POST('/api/v1/auth/password-reset/confirm', { body: { token, new_password: password } }),
      )
      setDone(true)
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  return (
    <>
      <PageTitle>{t('reset.title')}</PageTitle>
      {done ? (
        <div className="alert success" role="status">
          {t('reset.done')}
        </div>
      ) : !token ? (
        <div className="alert error" role="alert">
          {t('reset.noToken')}
        </div>
      ) : (
        <form onSubmit={submit} noValidate>
          <FormError error={error} fields={['body.new_password']} />
          <Field
            label={t('reset.new')}
            name="body.new_password"
            hint={t('reset.hint')}
            error={error}
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete="new-password"
            required
          />
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
          <div className="actions">
            <button type="submit" disabled={busy}>
              {t('reset.submit')}
            </button>
          </div>
        </form>
      )}
      <p>
        <Link to="/">{t('forgot.backToSignIn')}</Link>
      </p>
    </>
  )
}
