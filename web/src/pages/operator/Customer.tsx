/**
 * Back office: one customer – its counts and preset, the holder of the operator-appointed role
 * (named as the preset names it: primary admin, legal representative, account owner…) with the
 * form to appoint or replace them, and the people holding grants there.
 */
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { call } from '../../api/client'
import { ErrorBox, Field, FormError, Loading, PageTitle, Select } from '../../components/ui'
import { useI18n } from '../../i18n'
import { enc, Link } from '../../router'
import type { PortalInfo } from '../../session'
import { type Appointment, opApi, type PeoplePage, type PrimaryInfo } from './api'
import { Pager, useCursorPages } from './parts'

const PEOPLE_PAGE = 25

export function CustomerScreen({ id, portal }: { id: string; portal: PortalInfo }) {
  const { t, date, number } = useI18n()
  const customer = useQuery({
    queryKey: ['operator', 'customer', id],
    queryFn: () => call(() => opApi.GET('/api/v1/operator/customers/{id}', { params: { path: { id } } })),
  })
  if (customer.isPending) return <Loading />
  if (customer.isError) return <ErrorBox error={customer.error} retry={() => customer.refetch()} />
  const c = customer.data
  const counts = [
    ['accounts', c.counts.accounts],
    ['services', c.counts.services],
    ['people', c.counts.people],
    ['grants', c.counts.grants],
  ] as const
  return (
    <>
      <p className="crumbs">
        <Link to="/operator">{t('operator.nav.customers')}</Link>
      </p>
      <PageTitle>{c.name}</PageTitle>
      <section className="card" aria-labelledby="op-facts-h">
        <h2 id="op-facts-h" className="visually-hidden">
          {t('operator.customer.facts')}
        </h2>
        <dl className="facts">
          <dt>{t('operator.customers.id')}</dt>
          <dd>
            <code>{c.id}</code>
          </dd>
          <dt>{t('operator.customers.preset')}</dt>
          <dd>
            {c.preset}
            {c.preset === portal.preset ? ` – ${portal.name}` : ''}
          </dd>
          <dt>{t('operator.customers.created')}</dt>
          <dd>{date(c.created_at)}</dd>
        </dl>
        <ul className="op-counts" aria-label={t('operator.customer.counts')}>
          {counts.map(([k, n]) => (
            <li key={k}>
              <strong>{number(n)}</strong> {t(`operator.customer.count.${k}`)}
            </li>
          ))}
        </ul>
        <div className="actions">
          <Link to={`/operator/customers/${enc(id)}/import`} className="button-link">
            {t('operator.customer.import')}
          </Link>
          <Link to={`/operator/audit?customer=${enc(id)}`}>{t('operator.customer.audit')}</Link>
        </div>
      </section>
      {/* Only a catalog with an operator-appointed, limited role has someone to appoint. */}
      {portal.roles.some((r) => r.appointed_by_operator && r.limit_per_customer !== null) ? (
        <PrimarySection customer={id} />
      ) : null}
      <PeopleSection customer={id} portal={portal} />
    </>
  )
}

function PrimarySection({ customer }: { customer: string }) {
  const { t, pick, date } = useI18n()
  const primary = useQuery({
    queryKey: ['operator', 'primary', customer],
    retry: false,
    queryFn: () =>
      call(() =>
        opApi.GET('/api/v1/operator/customers/{id}/primary', { params: { path: { id: customer } } }),
      ),
  })
  if (primary.isPending) return <Loading />
  // A catalog without an operator-appointed role answers 404: nothing to appoint then.
  if (primary.isError) return <ErrorBox error={primary.error} />
  const role = pick(primary.data.role.name)
  const holder = primary.data.holder
  return (
    <section className="card" aria-labelledby="op-primary-h">
      <h2 id="op-primary-h">{role}</h2>
      <p className="hint">{t('operator.primary.intro', { role })}</p>
      {holder ? (
        <p className="op-holder">
          <strong>{holder.person.display_name}</strong> ({holder.person.login}
          {holder.person.email && holder.person.email !== holder.person.login
            ? `, ${holder.person.email}`
            : ''}
          ) – {t('operator.primary.since', { date: date(holder.grant.granted_at) })}
        </p>
      ) : (
        <p className="muted op-holder">{t('operator.primary.nobody', { role })}</p>
      )}
      <AppointForm customer={customer} role={role} primary={primary.data} />
    </section>
  )
}

function AppointForm({ customer, role, primary }: { customer: string; role: string; primary: PrimaryInfo }) {
  const { t } = useI18n()
  const queryClient = useQueryClient()
  const [who, setWho] = useState<'existing' | 'new'>('new')
  const [person, setPerson] = useState('')
  const [email, setEmail] = useState('')
  const [name, setName] = useState('')
  const [login, setLogin] = useState('')
  const [error, setError] = useState<unknown>(null)
  const [done, setDone] = useState<Appointment | null>(null)
  const [busy, setBusy] = useState(false)
  const people = useQuery({
    queryKey: ['operator', 'people', customer, '', null],
    queryFn: () =>
      call(() =>
        opApi.GET('/api/v1/operator/customers/{id}/people', {
          params: { path: { id: customer }, query: { limit: 100 } },
        }),
      ),
  })
  const candidates = (people.data?.items ?? []).filter(
    (p) => p.status === 'active' && p.id !== primary.holder?.person.id,
  )
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    setDone(null)
    try {
      const body =
        who === 'existing'
          ? { person: { id: person } }
          : {
              person: {
                email: email.trim(),
                display_name: name.trim(),
                ...(login.trim() ? { login: login.trim() } : {}),
              },
            }
      const result = await call(() =>
        opApi.POST('/api/v1/operator/customers/{id}/primary', { params: { path: { id: customer } }, body }),
      )
      setDone(result)
      setPerson('')
      setEmail('')
      setName('')
      setLogin('')
      await queryClient.invalidateQueries({ queryKey: ['operator'] })
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  const ready = who === 'existing' ? person !== '' : email.trim() !== '' && name.trim() !== ''
  return (
    <form className="appoint-form" onSubmit={submit} noValidate>
      <h3>
        {primary.holder ? t('operator.primary.replace', { role }) : t('operator.primary.appoint', { role })}
      </h3>
      <FormError
        error={error}
        fields={['body.person.email', 'body.person.display_name', 'body.person.login', 'body.person.id']}
      />
      {done ? (
        <div className="alert success" role="status">
          {t(`operator.primary.outcome.${done.outcome}`, {
            person: done.holder.person.display_name,
            previous: done.previous?.person.display_name ?? '',
            role,
          })}
        </div>
      ) : null}
      <fieldset className="options">
        <legend>{t('operator.primary.who')}</legend>
        <label className="check">
          <input type="radio" name="who" checked={who === 'new'} onChange={() => setWho('new')} />{' '}
          {t('operator.primary.byEmail')}
        </label>
        <label className="check">
          <input
            type="radio"
            name="who"
            checked={who === 'existing'}
            onChange={() => setWho('existing')}
            disabled={candidates.length === 0}
          />{' '}
          {t('operator.primary.existing')}
        </label>
      </fieldset>
      {who === 'existing' ? (
        <Select
          label={t('operator.primary.person')}
          value={person}
          onChange={(e) => setPerson(e.target.value)}
          required
        >
          <option value="">{t('operator.primary.pickPerson')}</option>
          {candidates.map((p) => (
            <option key={p.id} value={p.id}>
              {p.display_name} ({p.login})
            </option>
          ))}
        </Select>
      ) : (
        <div className="grid">
          <Field
            label={t('operator.primary.email')}
            name="body.person.email"
            error={error}
            type="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            autoComplete="off"
            required
          />
          <Field
            label={t('operator.primary.name')}
            name="body.person.display_name"
            error={error}
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoComplete="off"
            required
          />
          <Field
            label={t('operator.primary.login')}
            name="body.person.login"
            error={error}
            value={login}
            onChange={(e) => setLogin(e.target.value)}
            autoComplete="off"
            autoCapitalize="none"
          />
        </div>
      )}
      <p className="hint">{t('operator.primary.note')}</p>
      <div className="actions">
        <button type="submit" disabled={busy || !ready}>
          {primary.holder ? t('operator.primary.replaceSubmit') : t('operator.primary.appointSubmit')}
        </button>
      </div>
    </form>
  )
}

function PeopleSection({ customer, portal }: { customer: string; portal: PortalInfo }) {
  const { t, dateTime, pick } = useI18n()
  const roleName = (id: string) => {
    const r = portal.roles.find((x) => x.id === id)
    return r ? pick(r.name) : id
  }
  const [q, setQ] = useState('')
  const [typed, setTyped] = useState('')
  const pages = useCursorPages()
  const people = useQuery({
    queryKey: ['operator', 'people', customer, q, pages.cursor ?? null],
    placeholderData: keepPreviousData,
    queryFn: (): Promise<PeoplePage> =>
      call(() =>
        opApi.GET('/api/v1/operator/customers/{id}/people', {
          params: {
            path: { id: customer },
            query: {
              limit: PEOPLE_PAGE,
              ...(q ? { q } : {}),
              ...(pages.cursor ? { cursor: pages.cursor } : {}),
            },
          },
        }),
      ),
  })
  return (
    <section aria-labelledby="op-people-h">
      <h2 id="op-people-h">{t('operator.people.title')}</h2>
      <search>
        <form
          className="search op-search"
          onSubmit={(e) => {
            e.preventDefault()
            pages.reset()
            setQ(typed.trim())
          }}
        >
          <Field
            label={t('operator.people.search')}
            name="people-q"
            type="search"
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
            maxLength={200}
          />
          <button type="submit">{t('operator.customers.searchSubmit')}</button>
        </form>
      </search>
      {people.isPending ? (
        <Loading />
      ) : people.isError ? (
        <ErrorBox error={people.error} retry={() => people.refetch()} />
      ) : people.data.items.length === 0 ? (
        <p className="muted">{t('operator.people.none')}</p>
      ) : (
        <>
          <div className="table-wrap">
            <table className="op-people">
              <thead>
                <tr>
                  <th scope="col">{t('operator.people.person')}</th>
                  <th scope="col">{t('operator.people.status')}</th>
                  <th scope="col">{t('operator.people.grants')}</th>
                  <th scope="col">{t('operator.people.lastLogin')}</th>
                </tr>
              </thead>
              <tbody>
                {people.data.items.map((p) => (
                  <tr key={p.id} className={p.status === 'active' ? undefined : 'inactive'}>
                    <th scope="row">
                      {p.display_name}
                      <div className="muted small">
                        {p.login}
                        {p.email && p.email !== p.login ? ` · ${p.email}` : ''}
                      </div>
                    </th>
                    <td>{t(`users.status.${p.status}`)}</td>
                    <td>
                      {p.grants.map((g) => (
                        <div key={g.id} className="small">
                          {roleName(g.role)} <span className="muted">– {g.scope}</span>
                        </div>
                      ))}
                    </td>
                    <td>{dateTime(p.last_login_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager pages={pages} nextCursor={people.data.next_cursor} label={t('operator.people.pages')} />
        </>
      )}
    </section>
  )
}
