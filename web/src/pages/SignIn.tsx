/**
 * Sign in with a login or e-mail and the password; when the account has a second factor the
 * server answers SECOND_FACTOR_REQUIRED and the same form asks for the code.
 */
import { useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useEffect, useRef, useState } from 'react'
import { api, call, problemOf } from '../api/client'
import { Field, FormError, PageTitle } from '../components/ui'
import { useI18n } from '../i18n'
import { Link } from '../router'
import type { PortalInfo } from '../session'

export function SignIn({ portal }: { portal: PortalInfo }) {
  const { t, pick } = useI18n()
  const queryClient = useQueryClient()
  const [login, setLogin] = useState('')
  const [password, setPassword] = useState('')
  const [code, setCode] = useState('')
  const [secondFactor, setSecondFactor] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const codeRef = useRef<HTMLInputElement>(null)
  useEffect(() => {
    if (secondFactor) codeRef.current?.focus()
  }, [secondFactor])

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      const body = { login, password, ...(secondFactor ? { totp: code } : {}) }
      const session = await call(() => api.POST('/api/v1/auth/login', { body }))
      queryClient.setQueryData(['me'], undefined)
      await queryClient.invalidateQueries({ queryKey: ['me'] })
      void session
    } catch (err) {
      if (problemOf(err)?.code === 'SECOND_FACTOR_REQUIRED' && !secondFactor) {
        setSecondFactor(true)
      } else setError(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <>
      <PageTitle sub={t('signIn.intro', { portal: pick(portal.names) })}>{t('signIn.title')}</PageTitle>
      <form onSubmit={submit} noValidate>
        <FormError error={error} fields={['body.login', 'body.password', 'body.totp']} />
        {secondFactor ? (
          <>
            <p>{t('signIn.codeIntro')}</p>
            <Field
              ref={codeRef}
              label={t('signIn.code')}
              name="body.totp"
              error={error}
              value={code}
              onChange={(e) => setCode(e.target.value)}
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="[0-9]*"
              maxLength={16}
              required
            />
            <div className="actions">
              <button type="submit" disabled={busy || code.length === 0}>
                {t('signIn.verify')}
              </button>
              <button
                type="button"
                className="secondary"
                onClick={() => {
                  setSecondFactor(false)
                  setCode('')
                  setError(null)
                }}
              >
                {t('signIn.back')}
              </button>
            </div>
          </>
        ) : (
          <>
            <Field
              label={t('signIn.login')}
              name="body.login"
              error={error}
              value={login}
              onChange={(e) => setLogin(e.target.value)}
              autoComplete="username"
              autoCapitalize="none"
              spellCheck={false}
              required
            />
            <Field
              label={t('signIn.password')}
              name="body.password"
              error={error}
              type="password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              autoComplete="current-password"
              required
            />
            <div className="actions">
              <button type="submit" disabled={busy}>
                {t('signIn.submit')}
              </button>
              <Link to="/forgot-password">{t('signIn.forgot')}</Link>
            </div>
            {/* account-request wizard: only where the portal has one (sk-isp) */}
            {portal.features.account_requests ? (
              <p>
                <Link to="/account-request">{t('signIn.noAccount')}</Link>
              </p>
            ) : null}
          </>
        )}
      </form>
    </>
  )
}
