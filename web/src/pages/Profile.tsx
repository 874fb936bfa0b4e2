/** My profile: who I am, my roles in each customer (switch between them), and a password change. */
import { type FormEvent, useState } from 'react'
import { api, call } from '../api/client'
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
