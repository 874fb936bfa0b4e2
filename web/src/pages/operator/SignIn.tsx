/**
 * Back-office sign-in. Operator staff have no logins in Zona: the back office is opened with an
 * operator API key, checked against the server once, then kept in this tab's sessionStorage only.
 */
import { type FormEvent, useState } from 'react'
import { call, problemOf } from '../../api/client'
import { Field, PageTitle } from '../../components/ui'
import { useI18n } from '../../i18n'
import { opApi, rememberOperatorKey } from './api'

export function OperatorSignIn() {
  const { t } = useI18n()
  const [key, setKey] = useState('')
  const [message, setMessage] = useState<string | undefined>()
  const [busy, setBusy] = useState(false)
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const typed = key.trim()
    if (!typed) {
      setMessage(t('operator.signIn.missing'))
      return
    }
    setBusy(true)
    setMessage(undefined)
    try {
      await call(() =>
        opApi.GET('/api/v1/operator/customers', {
          params: { query: { limit: 1 } },
          headers: { authorization: `Bearer ${typed}` },
        }),
      )
      rememberOperatorKey(typed)
    } catch (err) {
      const p = problemOf(err)
      setMessage(
        p?.status === 401
          ? t('operator.signIn.invalid')
          : p?.status === 403
            ? t('operator.signIn.notOperator')
            : p
              ? p.detail
              : t('app.error'),
      )
    } finally {
      setBusy(false)
    }
  }
  return (
    <form onSubmit={submit} noValidate>
      <PageTitle sub={t('operator.signIn.intro')}>{t('operator.signIn.title')}</PageTitle>
      <Field
        label={t('operator.signIn.key')}
        name="operator-key"
        type="password"
        autoComplete="off"
        spellCheck={false}
        value={key}
        onChange={(e) => setKey(e.target.value)}
        message={message}
        hint={t('operator.signIn.storage')}
        required
      />
      <div className="actions">
        <button type="submit" disabled={busy}>
          {t('operator.signIn.submit')}
        </button>
      </div>
    </form>
  )
}
