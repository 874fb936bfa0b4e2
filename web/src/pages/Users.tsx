/**
 * Users of the customer: every grant I manage, who holds it, who granted it and when; give a role,
 * change one, revoke one. The role picker offers only what the engine lets me give on the chosen
 * scope and says, for every other role, why not.
 */
import { useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useId, useState } from 'react'
import { api, call } from '../api/client'
import { ErrorBox, Field, FormError, Loading, PageTitle, Reason, Select } from '../components/ui'
import { type MessageKey, useI18n } from '../i18n'
import { enc, Link } from '../router'
import { type GrantItem, type Me, type PortalInfo, rootsWith, type TreeItem } from '../session'

type Role = PortalInfo['roles'][number]

function useRoleOptions(customer: string, scope: string | null, extra: { person?: string; grant?: string }) {
  return useQuery({
    queryKey: ['role-options', customer, scope, extra.person ?? null, extra.grant ?? null],
    enabled: scope !== null && scope !== '',
    queryFn: () =>
      call(() =>
        api.GET('/api/v1/customers/{customer}/role-options', {
          params: { path: { customer }, query: { scope: scope as string, ...extra } },
        }),
      ),
  })
}

export function UsersScreen({
  customer,
  portal,
  roots,
  me,
}: {
  customer: string
  portal: PortalInfo
  roots: TreeItem[] | undefined
  me: Me
}) {
  const { t } = useI18n()
  const grants = useInfiniteQuery({
    queryKey: ['grants', customer],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      call(() =>
        api.GET('/api/v1/customers/{customer}/grants', {
          params: { path: { customer }, query: { limit: 100, ...(pageParam ? { cursor: pageParam } : {}) } },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  })
  const items = grants.data?.pages.flatMap((p) => p.items) ?? []
  const people = new Map(items.map((g) => [g.person.id, g.person]))
  const managed = rootsWith(roots, 'users.manage')
  return (
    <>
      <PageTitle sub={t('users.intro')}>{t('users.title')}</PageTitle>
      {managed.length > 0 ? (
        <>
          <InviteForm customer={customer} portal={portal} scopes={managed} />
          <GrantForm customer={customer} portal={portal} scopes={managed} people={[...people.values()]} />
          <PendingInvitations customer={customer} portal={portal} />
        </>
      ) : null}
      <section aria-labelledby="grants-h">
        <h2 id="grants-h">{t('users.grants')}</h2>
        {grants.isPending ? (
          <Loading />
        ) : grants.isError ? (
          <ErrorBox error={grants.error} retry={() => grants.refetch()} />
        ) : items.length === 0 ? (
          <p className="muted">{t('users.none')}</p>
        ) : (
          <div className="table-wrap">
            <table className="grants">
              <thead>
                <tr>
                  <th scope="col">{t('users.person')}</th>
                  <th scope="col">{t('users.role')}</th>
                  <th scope="col">{t('users.scope')}</th>
                  <th scope="col">{t('users.grantedBy')}</th>
                  <th scope="col">{t('users.actions')}</th>
                </tr>
              </thead>
              <tbody>
                {items.map((g) => (
                  <GrantRow key={g.id} grant={g} customer={customer} portal={portal} me={me} />
                ))}
              </tbody>
            </table>
            {grants.hasNextPage ? (
              <button type="button" className="secondary" onClick={() => grants.fetchNextPage()}>
                {t('tree.loadMore')}
              </button>
            ) : null}
          </div>
        )}
      </section>
    </>
  )
}

function useRoleText(portal: PortalInfo) {
  const { pick } = useI18n()
  return {
    role: (id: string): Role | undefined => portal.roles.find((r) => r.id === id),
    name: (id: string) => {
      const r = portal.roles.find((x) => x.id === id)
      return r ? pick(r.name) : id
    },
  }
}

function GrantRow({
  grant: g,
  customer,
  portal,
  me,
}: {
  grant: GrantItem
  customer: string
  portal: PortalInfo
  me: Me
}) {
  const { t, pick, date } = useI18n()
  const queryClient = useQueryClient()
  const roles = useRoleText(portal)
  const [editing, setEditing] = useState(false)
  const [confirming, setConfirming] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const reasonId = useId()
  const role = roles.role(g.role)
  const grantedBy = g.granted_by
    ? (g.granted_by.display_name ??
      (g.granted_by.id.startsWith('operator:') ? t('users.operator') : g.granted_by.id))
    : t('users.operator')
  const revoke = async () => {
    setError(null)
    try {
      await call(() => api.DELETE('/api/v1/grants/{id}', { params: { path: { id: g.id } } }))
      await queryClient.invalidateQueries({ queryKey: ['grants', customer] })
      if (g.person.id === me.person.id) await queryClient.invalidateQueries()
    } catch (e) {
      setError(e)
      setConfirming(false)
    }
  }
  // A switched-off login keeps its grants; the row says so before anything else.
  const deactivated = g.person.status === 'deactivated'
  return (
    <tr className={deactivated ? 'inactive deactivated' : undefined}>
      <td>
        <strong>{g.person.display_name ?? g.person.id}</strong>
        {deactivated ? (
          <>
            {' '}
            <span className="badge status-deactivated">{t('users.status.deactivated')}</span>
          </>
        ) : null}
        <div className="muted small">{g.person.login}</div>
        <Link className="small" to={`/c/${enc(customer)}/access?person=${enc(g.person.id)}`}>
          {t('access.review')}
        </Link>
      </td>
      <td>
        {roles.name(g.role)}
        {g.options.length ? (
          <div className="muted small">
            + {g.options.map((o) => pick(role?.options.find((x) => x.id === o)?.name) || o).join(', ')}
          </div>
        ) : null}
        {g.expires_at ? (
          <div className="muted small">{t('users.expires', { date: date(g.expires_at) })}</div>
        ) : null}
        {editing ? (
          <ChangeGrant grant={g} customer={customer} portal={portal} onDone={() => setEditing(false)} />
        ) : null}
      </td>
      <td>
        {g.scope.name ?? g.scope.id}{' '}
        <span className="muted small">({t(`kind.${g.scope.kind}` as MessageKey)})</span>
      </td>
      <td>
        {grantedBy}
        <div className="muted small">{date(g.granted_at)}</div>
      </td>
      <td className="row-actions">
        <FormError error={error} />
        {g.revoke.allowed ? (
          <>
            <button
              type="button"
              className="secondary"
              aria-expanded={editing}
              onClick={() => setEditing(!editing)}
            >
              {t('users.change')}
            </button>
            {confirming ? (
              <fieldset className="confirm">
                <legend className="small">
                  {t('users.revokeConfirm', {
                    role: roles.name(g.role),
                    person: g.person.display_name ?? '',
                  })}
                </legend>
                <button type="button" className="danger" onClick={revoke}>
                  {t('users.revokeYes')}
                </button>
                <button type="button" className="secondary" onClick={() => setConfirming(false)}>
                  {t('users.cancel')}
                </button>
              </fieldset>
            ) : (
              <button type="button" className="danger-outline" onClick={() => setConfirming(true)}>
                {t('users.revoke')}
              </button>
            )}
          </>
        ) : (
          <>
            <button type="button" disabled aria-describedby={reasonId}>
              {t('users.revoke')}
            </button>
            <div className="small">
              <Reason id={reasonId} code={g.revoke.code} reason={g.revoke.reason} />
            </div>
          </>
        )}
      </td>
    </tr>
  )
}

function RolePicker({
  portal,
  options,
  value,
  onChange,
  kind,
}: {
  portal: PortalInfo
  options: { role: string; allowed: boolean; code: string; reason: string }[] | undefined
  value: string
  onChange: (role: string) => void
  kind: string | null
}) {
  const { t, pick } = useI18n()
  const roles = useRoleText(portal)
  if (!options) return <Loading />
  const allowed = options.filter((o) => o.allowed)
  // Roles of another level are noise on this scope: explain only the ones that could apply here.
  const refused = options.filter((o) => !o.allowed && (kind === null || roles.role(o.role)?.scope === kind))
  const chosen = roles.role(value)
  return (
    <>
      {allowed.length === 0 ? (
        <p className="muted">{t('users.noRoles')}</p>
      ) : (
        <Select label={t('users.role')} value={value} onChange={(e) => onChange(e.target.value)} required>
          <option value="">{t('users.pickRole')}</option>
          {allowed.map((o) => (
            <option key={o.role} value={o.role}>
              {roles.name(o.role)}
            </option>
          ))}
        </Select>
      )}
      {chosen?.description ? <p className="hint">{pick(chosen.description)}</p> : null}
      {refused.length > 0 ? (
        <details className="unavailable">
          <summary>{t('users.unavailableRoles', { count: refused.length })}</summary>
          <ul className="plain">
            {refused.map((o) => (
              <li key={o.role}>
                <strong>{roles.name(o.role)}</strong> – <Reason code={o.code} reason={o.reason} />
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </>
  )
}

function OptionBoxes({
  role,
  value,
  onChange,
}: {
  role: Role | undefined
  value: string[]
  onChange: (v: string[]) => void
}) {
  const { t, pick } = useI18n()
  if (!role || role.options.length === 0) return null
  return (
    <fieldset className="options">
      <legend>{t('users.options')}</legend>
      {role.options.map((o) => (
        <label key={o.id} className="check">
          <input
            type="checkbox"
            checked={value.includes(o.id)}
            onChange={(e) => onChange(e.target.checked ? [...value, o.id] : value.filter((x) => x !== o.id))}
          />{' '}
          {pick(o.name)}
        </label>
      ))}
    </fieldset>
  )
}

/** My scopes with users.manage and the accounts right under them, so a grant can be narrower than my own. */
function useScopeChoices(customer: string, scopes: TreeItem[]): TreeItem[] {
  const children = useQuery({
    queryKey: ['scope-children', customer, scopes.map((s) => s.id).join(',')],
    queryFn: async () => {
      const out: TreeItem[] = []
      for (const s of scopes.filter((x) => x.kind !== 'service').slice(0, 5)) {
        const page = await call(() =>
          api.GET('/api/v1/customers/{customer}/tree', {
            params: { path: { customer }, query: { parent: s.id, limit: 200 } },
          }),
        )
        out.push(...page.items.filter((i) => i.kind === 'account'))
      }
      return out
    },
  })
  return [...scopes, ...(children.data ?? [])]
}

function GrantForm({
  customer,
  portal,
  scopes,
  people,
}: {
  customer: string
  portal: PortalInfo
  scopes: TreeItem[]
  people: GrantItem['person'][]
}) {
  const { t } = useI18n()
  const queryClient = useQueryClient()
  const [person, setPerson] = useState('')
  const [scope, setScope] = useState(scopes[0]?.id ?? '')
  const [role, setRole] = useState('')
  const [options, setOptions] = useState<string[]>([])
  const [error, setError] = useState<unknown>(null)
  const [done, setDone] = useState(false)
  const [busy, setBusy] = useState(false)
  const scopeChoices = useScopeChoices(customer, scopes)
  const kind = scopeChoices.find((s) => s.id === scope)?.kind ?? null
  const roleOptions = useRoleOptions(customer, scope, person ? { person } : {})
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    setDone(false)
    try {
      await call(() => api.POST('/api/v1/grants', { body: { person, role, scope, options } }))
      setDone(true)
      setRole('')
      setOptions([])
      await queryClient.invalidateQueries({ queryKey: ['grants', customer] })
      await queryClient.invalidateQueries({ queryKey: ['role-options'] })
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  return (
    <details className="card grant-form give-form">
      <summary className="grant-summary">
        <h2>{t('users.grant')}</h2>
      </summary>
      <form onSubmit={submit} noValidate>
        <p className="hint">{t('users.grantIntro')}</p>
        <FormError error={error} />
        {done ? (
          <div className="alert success" role="status">
            {t('users.granted')}
          </div>
        ) : null}
        <div className="grid">
          <Select
            label={t('users.person')}
            value={person}
            onChange={(e) => setPerson(e.target.value)}
            required
          >
            <option value="">{t('users.pickPerson')}</option>
            {people.map((p) => (
              <option key={p.id} value={p.id}>
                {p.display_name ?? p.id} {p.login ? `(${p.login})` : ''}
              </option>
            ))}
          </Select>
          <Select
            label={t('users.scope')}
            value={scope}
            onChange={(e) => {
              setScope(e.target.value)
              setRole('')
              setOptions([])
            }}
          >
            {scopeChoices.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name} ({t(`kind.${s.kind}` as MessageKey)})
              </option>
            ))}
          </Select>
        </div>
        {roleOptions.isError ? (
          <ErrorBox error={roleOptions.error} />
        ) : (
          <RolePicker
            portal={portal}
            options={roleOptions.data?.items}
            value={role}
            onChange={(r) => {
              setRole(r)
              setOptions([])
            }}
            kind={kind}
          />
        )}
        <OptionBoxes role={portal.roles.find((r) => r.id === role)} value={options} onChange={setOptions} />
        <div className="actions">
          <button type="submit" disabled={busy || !person || !role}>
            {t('users.grantSubmit')}
          </button>
        </div>
      </form>
    </details>
  )
}

function ChangeGrant({
  grant,
  customer,
  portal,
  onDone,
}: {
  grant: GrantItem
  customer: string
  portal: PortalInfo
  onDone: () => void
}) {
  const { t } = useI18n()
  const queryClient = useQueryClient()
  const [role, setRole] = useState(grant.role)
  const [options, setOptions] = useState<string[]>(grant.options)
  // Moving the grant (e.g. Admin Full on the company to User on one line): the role picker follows the scope.
  const [scope, setScope] = useState<ScopeChoice>(grant.scope)
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const roleOptions = useRoleOptions(customer, scope.id, { grant: grant.id })
  const moved = scope.id !== grant.scope.id
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      await call(() =>
        api.PATCH('/api/v1/grants/{id}', {
          params: { path: { id: grant.id } },
          body: { role, options, ...(moved ? { scope: scope.id } : {}) },
        }),
      )
      await queryClient.invalidateQueries({ queryKey: ['grants', customer] })
      onDone()
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  const withCurrent = roleOptions.data?.items.map((o) =>
    o.role === grant.role && !moved ? { ...o, allowed: true } : o,
  )
  return (
    <form className="change-grant" onSubmit={submit} noValidate>
      <FormError error={error} />
      <ScopeSearch
        customer={customer}
        current={grant.scope}
        value={scope}
        onChange={(next) => {
          setScope(next)
          setRole(next.id === grant.scope.id ? grant.role : '')
          setOptions(next.id === grant.scope.id ? grant.options : [])
        }}
      />
      <RolePicker
        portal={portal}
        options={withCurrent}
        value={role}
        onChange={(r) => {
          setRole(r)
          setOptions([])
        }}
        kind={scope.kind}
      />
      <OptionBoxes role={portal.roles.find((r) => r.id === role)} value={options} onChange={setOptions} />
      <div className="actions">
        <button type="submit" disabled={busy || !role}>
          {t('users.save')}
        </button>
        <button type="button" className="secondary" onClick={onDone}>
          {t('users.cancel')}
        </button>
      </div>
    </form>
  )
}

function InviteForm({
  customer,
  portal,
  scopes,
}: {
  customer: string
  portal: PortalInfo
  scopes: TreeItem[]
}) {
  const { t } = useI18n()
  const queryClient = useQueryClient()
  const [email, setEmail] = useState('')
  const [login, setLogin] = useState('')
  const [name, setName] = useState('')
  const [scope, setScope] = useState(scopes[0]?.id ?? '')
  const [role, setRole] = useState('')
  const [options, setOptions] = useState<string[]>([])
  const [error, setError] = useState<unknown>(null)
  const [sent, setSent] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const scopeChoices = useScopeChoices(customer, scopes)
  const kind = scopeChoices.find((s) => s.id === scope)?.kind ?? null
  const roleOptions = useRoleOptions(customer, scope, {})
  const nicHandles = portal.features.login_format === 'nic-handle'
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    setSent(null)
    try {
      await call(() =>
        api.POST('/api/v1/customers/{customer}/invitations', {
          params: { path: { customer } },
          body: {
            email,
            ...(login && !nicHandles ? { login } : {}),
            ...(name ? { display_name: name } : {}),
            grants: [{ role, scope, options }],
          },
        }),
      )
      setSent(email)
      setEmail('')
      setLogin('')
      setName('')
      setRole('')
      setOptions([])
      await queryClient.invalidateQueries({ queryKey: ['invitations', customer] })
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  return (
    <details className="card grant-form invite-form">
      <summary className="grant-summary">
        <h2>{t('invite.title')}</h2>
      </summary>
      <form onSubmit={submit} noValidate>
        <p className="hint">{t('invite.intro')}</p>
        <FormError error={error} fields={['body.email', 'body.login', 'body.display_name']} />
        {sent ? (
          <div className="alert success" role="status">
            {t('invite.sent', { email: sent })}
          </div>
        ) : null}
        <div className="grid">
          <Field
            label={t('invite.email')}
            name="body.email"
            error={error}
            type="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            autoComplete="off"
            required
          />
          {nicHandles ? null : (
            <Field
              label={t('invite.login')}
              name="body.login"
              error={error}
              value={login}
              onChange={(e) => setLogin(e.target.value)}
              autoComplete="off"
              autoCapitalize="none"
            />
          )}
          <Field
            label={t('invite.name')}
            name="body.display_name"
            error={error}
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoComplete="off"
          />
          <Select
            label={t('users.scope')}
            value={scope}
            onChange={(e) => {
              setScope(e.target.value)
              setRole('')
              setOptions([])
            }}
          >
            {scopeChoices.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name} ({t(`kind.${s.kind}` as MessageKey)})
              </option>
            ))}
          </Select>
        </div>
        {roleOptions.isError ? (
          <ErrorBox error={roleOptions.error} />
        ) : (
          <RolePicker
            portal={portal}
            options={roleOptions.data?.items}
            value={role}
            onChange={(r) => {
              setRole(r)
              setOptions([])
            }}
            kind={kind}
          />
        )}
        <OptionBoxes role={portal.roles.find((r) => r.id === role)} value={options} onChange={setOptions} />
        <div className="actions">
          <button type="submit" disabled={busy || !email || !role}>
            {t('invite.submit')}
          </button>
        </div>
      </form>
    </details>
  )
}

function PendingInvitations({ customer, portal }: { customer: string; portal: PortalInfo }) {
  const { t, date } = useI18n()
  const queryClient = useQueryClient()
  const roles = useRoleText(portal)
  const [error, setError] = useState<unknown>(null)
  const invitations = useQuery({
    queryKey: ['invitations', customer],
    queryFn: () =>
      call(() =>
        api.GET('/api/v1/customers/{customer}/invitations', {
          params: { path: { customer }, query: { limit: 100 } },
        }),
      ),
  })
  const act = async (id: string, what: 'resend' | 'cancel') => {
    setError(null)
    try {
      if (what === 'resend')
        await call(() => api.POST('/api/v1/invitations/{id}/resend', { params: { path: { id } } }))
      else await call(() => api.DELETE('/api/v1/invitations/{id}', { params: { path: { id } } }))
      await queryClient.invalidateQueries({ queryKey: ['invitations', customer] })
    } catch (e) {
      setError(e)
    }
  }
  const items = invitations.data?.items ?? []
  if (invitations.isError) return <ErrorBox error={invitations.error} />
  if (items.length === 0) return null
  return (
    <section aria-labelledby="pending-h">
      <h2 id="pending-h">{t('invite.pending')}</h2>
      <FormError error={error} />
      <div className="table-wrap">
        <table className="invitations">
          <thead>
            <tr>
              <th scope="col">{t('invite.email')}</th>
              <th scope="col">{t('users.role')}</th>
              <th scope="col">{t('users.grantedBy')}</th>
              <th scope="col">{t('invite.validUntil')}</th>
              <th scope="col">{t('users.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((i) => (
              <tr key={i.id}>
                <td>
                  <strong>{i.display_name ?? i.email}</strong>
                  <div className="muted small">
                    {i.email}
                    {i.login ? ` · ${i.login}` : ''}
                  </div>
                </td>
                <td>
                  {i.grants.map((g) => (
                    <div key={`${g.role}@${g.scope.id}`}>
                      {roles.name(g.role)} <span className="muted small">– {g.scope.name ?? g.scope.id}</span>
                    </div>
                  ))}
                </td>
                <td>{i.invited_by.display_name ?? i.invited_by.id}</td>
                <td>
                  {date(i.expires_at)}
                  <div className="muted small">{t('invite.sentTimes', { count: i.send_count })}</div>
                </td>
                <td className="row-actions">
                  <button type="button" className="secondary" onClick={() => act(i.id, 'resend')}>
                    {t('invite.resend')}
                  </button>
                  <button type="button" className="danger-outline" onClick={() => act(i.id, 'cancel')}>
                    {t('invite.cancel')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  )
}

type ScopeChoice = { id: string; kind: string; name: string | null }

/** The grant's scope, or an account or service found by name or id (the tree's own search, server paged). */
function ScopeSearch({
  customer,
  current,
  value,
  onChange,
}: {
  customer: string
  current: ScopeChoice
  value: ScopeChoice
  onChange: (scope: ScopeChoice) => void
}) {
  const { t } = useI18n()
  const [q, setQ] = useState('')
  const [asked, setAsked] = useState('')
  const found = useQuery({
    queryKey: ['scope-search', customer, asked],
    enabled: asked.length > 0,
    queryFn: () =>
      call(() =>
        api.GET('/api/v1/customers/{customer}/tree', {
          params: { path: { customer }, query: { q: asked, limit: 20 } },
        }),
      ),
  })
  const choices: ScopeChoice[] = [current, ...(value.id !== current.id ? [value] : [])]
  for (const i of found.data?.items ?? [])
    if (!choices.some((c) => c.id === i.id)) choices.push({ id: i.id, kind: i.kind, name: i.name })
  const label = (c: ScopeChoice) => `${c.name ?? c.id} (${t(`kind.${c.kind}` as MessageKey)})`
  return (
    <div className="scope-search">
      <div className="search">
        <Field
          label={t('users.findScope')}
          name="scope-search"
          value={q}
          onChange={(e) => setQ(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault()
              setAsked(q.trim())
            }
          }}
          maxLength={100}
        />
        <button type="button" className="secondary" onClick={() => setAsked(q.trim())} disabled={!q.trim()}>
          {t('tree.searchButton')}
        </button>
      </div>
      {found.isError ? <ErrorBox error={found.error} /> : null}
      {asked && found.data && found.data.items.length === 0 ? (
        <p className="muted small">{t('tree.empty')}</p>
      ) : null}
      <Select
        label={t('users.scope')}
        value={value.id}
        onChange={(e) => {
          const next = choices.find((c) => c.id === e.target.value)
          if (next) onChange(next)
        }}
      >
        {choices.map((c) => (
          <option key={c.id} value={c.id}>
            {label(c)}
          </option>
        ))}
      </Select>
    </div>
  )
}
