/**
 * Access review (DOMAIN.md section 6, W3): for a person, every role they hold here that I manage
 * and, on a chosen account or service, everything they can do and why (the engine's explain: which
 * grant, role, scope, who gave it, until when); for a node, everyone whose roles cover it and what
 * each gives there. The API decides who may review; a refusal is shown with its reason.
 */
import { useInfiniteQuery, useQuery } from '@tanstack/react-query'
import { useId } from 'react'
import { api, call, problemOf } from '../api/client'
import { ErrorBox, Loading, PageTitle, Reason, Select } from '../components/ui'
import { type MessageKey, useI18n } from '../i18n'
import { enc, Link, navigate, useLocation } from '../router'
import type { GrantItem, Me, PortalInfo } from '../session'

type PersonRef = GrantItem['person']

export function AccessScreen({ customer, portal, me }: { customer: string; portal: PortalInfo; me: Me }) {
  const { query } = useLocation()
  const person = query.get('person')
  const node = query.get('node')
  if (person)
    return <PersonAccess customer={customer} portal={portal} person={person} node={node} key={person} />
  return <NodeAccess customer={customer} portal={portal} me={me} node={node ?? customer} key={node} />
}

/** Names of the catalog's roles and options, and of permissions, in my language. */
export function useAccessText(portal: PortalInfo) {
  const { t, pick } = useI18n()
  const role = (id: string) => portal.roles.find((r) => r.id === id)
  return {
    role: (id: string) => {
      const r = role(id)
      return r ? pick(r.name) : id
    },
    options: (roleId: string, ids: readonly string[]) =>
      ids.map((o) => pick(role(roleId)?.options.find((x) => x.id === o)?.name) || o).join(', '),
    permission: (p: string) => {
      const key = `perm.${p}` as MessageKey
      const text = t(key)
      return text === key ? p : text
    },
    person: (p: PersonRef | null) =>
      p === null || p.id.startsWith('operator:') ? t('users.operator') : (p.display_name ?? p.id),
  }
}

/** Why the reviewed person may not: in my language by the engine's code, and the engine's own words. */
function TheirReason({ code, reason }: { code: string; reason: string }) {
  const { t } = useI18n()
  const key = `review.${code}` as MessageKey
  const text = t(key)
  return (
    <span className="reason">
      {text === key ? reason : text}{' '}
      <span className="engine-reason" title={reason}>
        ({reason})
      </span>
    </span>
  )
}

/** A 403 from the API: the refusal in my language, and the engine's reason when it gives one. */
function Refusal({ error, retry }: { error: unknown; retry: () => void }) {
  const { t } = useI18n()
  const p = problemOf(error)
  if (p?.status !== 403) return <ErrorBox error={error} retry={retry} />
  return (
    <div className="alert error access-refused" role="alert">
      <strong>{t('access.refusedTitle')}</strong>
      <p className="explanation">
        {p.reason ? (
          <Reason code={p.reason} reason={p.explanation ?? p.detail} />
        ) : (
          (p.explanation ?? p.detail)
        )}
      </p>
    </div>
  )
}

function PersonAccess({
  customer,
  portal,
  person,
  node,
}: {
  customer: string
  portal: PortalInfo
  person: string
  node: string | null
}) {
  const { t, date } = useI18n()
  const text = useAccessText(portal)
  const pickId = useId()
  const base = useQuery({
    queryKey: ['person-access', customer, person],
    queryFn: () =>
      call(() =>
        api.GET('/api/v1/people/{id}/access', { params: { path: { id: person }, query: { customer } } }),
      ),
    retry: false,
  })
  const grants = base.data?.grants ?? []
  // The node to explain: the one in the address, else the scope of the person's first role.
  const chosen = node ?? grants[0]?.scope.id ?? null
  const detail = useQuery({
    queryKey: ['person-access', customer, person, chosen],
    enabled: base.isSuccess && chosen !== null,
    queryFn: () =>
      call(() =>
        api.GET('/api/v1/people/{id}/access', {
          params: { path: { id: person }, query: { customer, node: chosen as string } },
        }),
      ),
    retry: false,
  })
  if (base.isPending) return <Loading />
  if (base.isError)
    return (
      <>
        <PageTitle>{t('access.title')}</PageTitle>
        <Refusal error={base.error} retry={() => base.refetch()} />
      </>
    )
  const who = base.data.person
  const name = who.display_name ?? who.login ?? who.id
  const scopes = new Map(grants.map((g) => [g.scope.id, g.scope]))
  if (chosen && !scopes.has(chosen)) scopes.set(chosen, { id: chosen, kind: '', name: null })
  const byId = new Map(grants.map((g) => [g.id, g]))
  const permissions = detail.data?.node?.permissions ?? []
  const allowed = permissions.filter((p) => p.allowed)
  const refused = permissions.filter((p) => !p.allowed)
  return (
    <>
      <p className="crumbs">
        <Link to={`/c/${enc(customer)}/users`}>{t('nav.users')}</Link>
      </p>
      <PageTitle sub={t('access.personIntro', { name })}>{t('access.personTitle', { name })}</PageTitle>
      <p>
        {who.login}
        {who.status && who.status !== 'active' ? (
          <>
            {' '}
            <span className="badge status-deactivated">{t(`users.status.${who.status}` as MessageKey)}</span>
          </>
        ) : null}
      </p>
      <section className="card" aria-labelledby="access-roles">
        <h2 id="access-roles">{t('access.roles')}</h2>
        {grants.length === 0 ? (
          <p className="muted">{t('access.noRoles')}</p>
        ) : (
          <div className="table-wrap">
            <table className="access-roles">
              <thead>
                <tr>
                  <th scope="col">{t('users.role')}</th>
                  <th scope="col">{t('users.scope')}</th>
                  <th scope="col">{t('users.grantedBy')}</th>
                  <th scope="col">{t('profile.expires')}</th>
                </tr>
              </thead>
              <tbody>
                {grants.map((g) => (
                  <tr key={g.id}>
                    <td>
                      <strong>{text.role(g.role)}</strong>
                      {g.options.length ? (
                        <div className="muted small">+ {text.options(g.role, g.options)}</div>
                      ) : null}
                    </td>
                    <td>
                      {g.scope.name ?? g.scope.id}{' '}
                      <span className="muted small">({t(`kind.${g.scope.kind}` as MessageKey)})</span>
                    </td>
                    <td>
                      {text.person(g.granted_by)}
                      <div className="muted small">{date(g.granted_at)}</div>
                    </td>
                    <td>{g.expires_at ? date(g.expires_at) : t('access.noExpiry')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {chosen ? (
        <section className="card" aria-labelledby="access-on">
          <h2 id="access-on">{t('access.on')}</h2>
          <Select
            id={pickId}
            label={t('users.scope')}
            value={chosen}
            onChange={(e) =>
              navigate(`/c/${enc(customer)}/access?person=${enc(person)}&node=${enc(e.target.value)}`, {
                replace: true,
              })
            }
          >
            {[...scopes.values()].map((s) => (
              <option key={s.id} value={s.id}>
                {s.name ?? s.id}
                {s.kind ? ` (${t(`kind.${s.kind}` as MessageKey)})` : ''}
              </option>
            ))}
          </Select>
          {detail.isPending ? (
            <Loading />
          ) : detail.isError ? (
            <Refusal error={detail.error} retry={() => detail.refetch()} />
          ) : (
            <>
              <h3>{t('access.allowed', { count: allowed.length })}</h3>
              {allowed.length === 0 ? (
                <p className="muted">{t('access.nothingAllowed')}</p>
              ) : (
                <ul className="plain permissions allowed">
                  {allowed.map((p) => {
                    const g = p.grant ? byId.get(p.grant) : undefined
                    return (
                      <li key={p.permission}>
                        <strong>{text.permission(p.permission)}</strong>{' '}
                        {g ? (
                          <span className="why">
                            –{' '}
                            {t('access.through', {
                              role: text.role(g.role),
                              scope: g.scope.name ?? g.scope.id,
                            })}
                            {', '}
                            {t('access.givenBy', {
                              person: text.person(g.granted_by),
                              date: date(g.granted_at),
                            })}
                            {g.expires_at ? `, ${t('users.expires', { date: date(g.expires_at) })}` : ''}
                          </span>
                        ) : null}{' '}
                        <span className="engine-reason muted">({p.reason})</span>
                      </li>
                    )
                  })}
                </ul>
              )}
              {refused.length > 0 ? (
                <details className="unavailable">
                  <summary>{t('access.refused', { count: refused.length })}</summary>
                  <ul className="plain permissions refused">
                    {refused.map((p) => (
                      <li key={p.permission}>
                        <strong>{text.permission(p.permission)}</strong> –{' '}
                        <TheirReason code={p.code} reason={p.reason} />
                      </li>
                    ))}
                  </ul>
                </details>
              ) : null}
            </>
          )}
        </section>
      ) : null}
    </>
  )
}

/** The node's name: the customer's from my profile, a service's from its page, an account's from a search by its id. */
function useNodeName(customer: string, node: string, me: Me) {
  return useQuery({
    queryKey: ['node-name', customer, node],
    queryFn: async () => {
      if (node === customer)
        return { name: me.customers.find((c) => c.id === customer)?.name ?? node, kind: 'customer' }
      const found = await call(() =>
        api.GET('/api/v1/customers/{customer}/tree', {
          params: { path: { customer }, query: { q: node, limit: 50 } },
        }),
      )
      const item = found.items.find((i) => i.id === node)
      return { name: item?.name ?? node, kind: item?.kind ?? 'account' }
    },
  })
}

function NodeAccess({
  customer,
  portal,
  me,
  node,
}: {
  customer: string
  portal: PortalInfo
  me: Me
  node: string
}) {
  const { t, date } = useI18n()
  const text = useAccessText(portal)
  const name = useNodeName(customer, node, me)
  const access = useInfiniteQuery({
    queryKey: ['node-access', node],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      call(() =>
        api.GET('/api/v1/nodes/{id}/access', {
          params: { path: { id: node }, query: { limit: 100, ...(pageParam ? { cursor: pageParam } : {}) } },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    retry: false,
  })
  const title = t('access.nodeTitle', { name: name.data?.name ?? '…' })
  if (access.isPending) return <Loading />
  if (access.isError)
    return (
      <>
        <PageTitle>{t('access.title')}</PageTitle>
        <Refusal error={access.error} retry={() => access.refetch()} />
      </>
    )
  const items = access.data.pages.flatMap((p) => p.items)
  return (
    <>
      <p className="crumbs">
        <Link to={`/c/${enc(customer)}/tree`}>{t('nav.tree')}</Link>
      </p>
      <PageTitle
        sub={t('access.nodeIntro', { kind: t(`kind.${name.data?.kind ?? 'account'}` as MessageKey) })}
      >
        {title}
      </PageTitle>
      <section aria-labelledby="access-everyone">
        <h2 id="access-everyone">{t('access.everyone')}</h2>
        {items.length === 0 ? (
          <p className="muted">{t('access.nobody')}</p>
        ) : (
          <div className="table-wrap">
            <table className="node-access stack">
              <thead>
                <tr>
                  <th scope="col">{t('access.holder')}</th>
                  <th scope="col">{t('access.via')}</th>
                  <th scope="col">{t('access.canHere')}</th>
                  <th scope="col">{t('users.grantedBy')}</th>
                  <th scope="col">{t('profile.expires')}</th>
                </tr>
              </thead>
              <tbody>
                {items.map(({ grant: g, permissions, active }) => (
                  <tr key={g.id} className={active ? undefined : 'inactive'}>
                    <td data-label={t('access.holder')}>
                      <Link to={`/c/${enc(customer)}/access?person=${enc(g.person.id)}&node=${enc(node)}`}>
                        {g.person.display_name ?? g.person.id}
                      </Link>
                      <div className="muted small">
                        {g.person.login}
                        {g.person.status && g.person.status !== 'active' ? (
                          <>
                            {' '}
                            <span className="badge status-deactivated">
                              {t(`users.status.${g.person.status}` as MessageKey)}
                            </span>
                          </>
                        ) : null}
                      </div>
                    </td>
                    <td data-label={t('access.via')}>
                      <strong>{text.role(g.role)}</strong>
                      {g.options.length ? (
                        <div className="muted small">+ {text.options(g.role, g.options)}</div>
                      ) : null}
                      <div className="muted small">
                        {g.scope.name ?? g.scope.id} ({t(`kind.${g.scope.kind}` as MessageKey)})
                      </div>
                    </td>
                    <td data-label={t('access.canHere')}>
                      {active ? null : <div className="small">{t('access.inactive')}</div>}
                      <details className="perms">
                        <summary>{t('access.permissions', { count: permissions.length })}</summary>
                        <ul className="plain small">
                          {permissions.map((p) => (
                            <li key={p}>{text.permission(p)}</li>
                          ))}
                        </ul>
                      </details>
                    </td>
                    <td data-label={t('users.grantedBy')}>
                      {text.person(g.granted_by)}
                      <div className="muted small">{date(g.granted_at)}</div>
                    </td>
                    <td data-label={t('profile.expires')}>
                      {g.expires_at ? date(g.expires_at) : t('access.noExpiry')}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {access.hasNextPage ? (
              <button type="button" className="secondary" onClick={() => access.fetchNextPage()}>
                {t('tree.loadMore')}
              </button>
            ) : null}
          </div>
        )}
      </section>
    </>
  )
}
