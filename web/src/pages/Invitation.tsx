/**
 * The page an invitation e-mail links to (/invitation?token=…): what is offered and by whom, then
 * accept – with a new password, or with the password of the login the e-mail already has.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { api, call } from '../api/client'
import { ErrorBox, Field, FormError, Loading, PageTitle, Reason } from '../components/ui'
import { type MessageKey, useI18n } from '../i18n'
import { Link, navigate, useLocation } from '../router'
import type { PortalInfo } from '../session'

export function AcceptInvitation({ portal }: { portal: PortalInfo }) {
  const { t, pick, date } = useI18n()
  const { query } = useLocation()
  const queryClient = useQueryClient()
  const token = query.get('token') ?? ''
  const preview = useQuery({
    queryKey: ['invitation', token],
    enabled: token !== '',
    retry: false,
    queryFn: () => call(() => api.GET('/api/v1/invitations/by-token', { params: { query: { token } } })),
  })
  const [name, setName] = useState('')
  const [password, setPassword] = useState('')
  const [again, setAgain] = useState('')
  const [mismatch, setMismatch] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const [refused, setRefused] = useState<{ role: string; code: string; reason: string }[] | null>(null)

  if (!token)
    return (
      <div className="alert error" role="alert">
        {t('reset.noToken')}
      </div>
    )
  if (preview.isPending) return <Loading />
  if (preview.isError)
    return (
      <>
        <PageTitle>{t('invite.acceptTitle')}</PageTitle>
        <ErrorBox error={preview.error} />
        <p>
          <Link to="/">{t('forgot.backToSignIn')}</Link>
        </p>
      </>
    )
  const inv = preview.data
  const existing = inv.account_exists
  const roleName = (id: string, fallback: string) => {
    const r = portal.roles.find((x) => x.id === id)
    return r ? pick(r.name) : fallback
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setError(null)
    const differ = !existing && password !== again
    setMismatch(differ)
    if (differ) return
    setBusy(true)
    try {
      const result = await call(() =>
        api.POST('/api/v1/invitations/accept', {
          body: { token, password, ...(!existing && name ? { display_name: name } : {}) },
        }),
      )
      await queryClient.invalidateQueries({ queryKey: ['me'] })
      if (result.not_given.length > 0) setRefused(result.not_given)
      else navigate(`/c/${encodeURIComponent(result.customer.id)}/tree`)
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  if (refused)
    return (
      <>
        <PageTitle>{t('invite.accepted')}</PageTitle>
        <p>{t('invite.partly')}</p>
        <ul className="plain">
          {refused.map((r) => (
            <li key={r.role}>
              <strong>{roleName(r.role, r.role)}</strong> – <Reason code={r.code} reason={r.reason} />
            </li>
          ))}
        </ul>
        <p>
          <Link to="/">{t('invite.continue')}</Link>
        </p>
      </>
    )

  return (
    <>
      <PageTitle
        // A customer named 's.r.o.' would end the sentence twice.
        sub={t('invite.from', {
          inviter: inv.inviter.display_name ?? '',
          customer: inv.customer.name,
        }).replace(/\.\.$/, '.')}
      >
        {t('invite.acceptTitle')}
      </PageTitle>
      <h2>{t('invite.roles')}</h2>
      <ul className="plain">
        {inv.roles.map((r) => (
          <li key={`${r.role}@${r.scope.id}`}>
            <strong>{roleName(r.role, r.role_name)}</strong> – {r.scope.name ?? r.scope.id}{' '}
            <span className="muted small">({t(`kind.${r.scope.kind}` as MessageKey)})</span>
          </li>
        ))}
      </ul>
      <p className="muted small">{t('invite.expires', { date: date(inv.expires_at) })}</p>
      <form onSubmit={submit} noValidate>
        <FormError error={error} fields={['body.password', 'body.display_name']} />
        {existing ? (
          <p>{t('invite.existing', { login: inv.login ?? inv.email })}</p>
        ) : (
          <>
            <p>{t('invite.newLogin', { login: inv.login ?? inv.email })}</p>
            <Field
              label={t('invite.name')}
              name="body.display_name"
              error={error}
              value={name}
              placeholder={inv.display_name ?? ''}
              onChange={(e) => setName(e.target.value)}
              autoComplete="name"
            />
          </>
        )}
        <Field
          label={existing ? t('signIn.password') : t('reset.new')}
          name="body.password"
          hint={existing ? undefined : t('reset.hint')}
          error={error}
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
            {t('invite.accept')}
          </button>
        </div>
      </form>
    </>
  )
}
