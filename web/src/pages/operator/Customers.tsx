/** Back office: the operator's customers, searched and paged on the server; a new customer. */
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { call } from '../../api/client'
import { ErrorBox, Field, FormError, Loading, PageTitle } from '../../components/ui'
import { useI18n } from '../../i18n'
import { enc, Link, navigate, useLocation } from '../../router'
import { opApi } from './api'
import { Pager, useCursorPages } from './parts'

const PAGE_SIZE = 25

export function CustomersScreen() {
  const { t, date } = useI18n()
  const { query } = useLocation()
  const q = query.get('q') ?? ''
  const [typed, setTyped] = useState(q)
  const pages = useCursorPages()
  const customers = useQuery({
    queryKey: ['operator', 'customers', q, pages.cursor ?? null],
    placeholderData: keepPreviousData,
    queryFn: () =>
      call(() =>
        opApi.GET('/api/v1/operator/customers', {
          params: {
            query: {
              limit: PAGE_SIZE,
              ...(q ? { q } : {}),
              ...(pages.cursor ? { cursor: pages.cursor } : {}),
            },
          },
        }),
      ),
  })
  const search = (e: FormEvent) => {
    e.preventDefault()
    pages.reset()
    const next = typed.trim()
    navigate(next ? `/operator?q=${enc(next)}` : '/operator', { replace: true })
  }
  return (
    <>
      <PageTitle sub={t('operator.customers.intro')}>{t('operator.customers.title')}</PageTitle>
      <NewCustomer />
      <search>
        <form className="search op-search" onSubmit={search}>
          <Field
            label={t('operator.customers.search')}
            name="q"
            type="search"
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
            maxLength={200}
          />
          <button type="submit">{t('operator.customers.searchSubmit')}</button>
        </form>
      </search>
      {customers.isPending ? (
        <Loading />
      ) : customers.isError ? (
        <ErrorBox error={customers.error} retry={() => customers.refetch()} />
      ) : customers.data.items.length === 0 ? (
        <p className="muted">{q ? t('operator.customers.noMatch', { q }) : t('operator.customers.none')}</p>
      ) : (
        <>
          <div className="table-wrap">
            <table className="op-customers">
              <caption className="visually-hidden">{t('operator.customers.title')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('operator.customers.name')}</th>
                  <th scope="col">{t('operator.customers.id')}</th>
                  <th scope="col" className="op-wide">
                    {t('operator.customers.preset')}
                  </th>
                  <th scope="col" className="op-wide">
                    {t('operator.customers.created')}
                  </th>
                </tr>
              </thead>
              <tbody>
                {customers.data.items.map((c) => (
                  <tr key={c.id}>
                    <th scope="row">
                      <Link to={`/operator/customers/${enc(c.id)}`}>{c.name}</Link>
                    </th>
                    <td>
                      <code>{c.id}</code>
                    </td>
                    <td className="op-wide">{c.preset}</td>
                    <td className="op-wide">{date(c.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager
            pages={pages}
            nextCursor={customers.data.next_cursor}
            label={t('operator.customers.pages')}
          />
        </>
      )}
    </>
  )
}

function NewCustomer() {
  const { t } = useI18n()
  const queryClient = useQueryClient()
  const [name, setName] = useState('')
  const [id, setId] = useState('')
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      const created = await call(() =>
        opApi.POST('/api/v1/operator/customers', {
          body: { name: name.trim(), ...(id.trim() ? { id: id.trim() } : {}) },
        }),
      )
      await queryClient.invalidateQueries({ queryKey: ['operator', 'customers'] })
      navigate(`/operator/customers/${enc(created.id)}`)
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  return (
    <details className="card grant-form new-customer">
      <summary className="grant-summary">
        <h2>{t('operator.customers.new')}</h2>
      </summary>
      <form onSubmit={submit} noValidate>
        <FormError error={error} fields={['body.name', 'body.id']} />
        <div className="grid">
          <Field
            label={t('operator.customers.name')}
            name="body.name"
            error={error}
            value={name}
            onChange={(e) => setName(e.target.value)}
            maxLength={300}
            required
          />
          <Field
            label={t('operator.customers.newId')}
            hint={t('operator.customers.newIdHint')}
            name="body.id"
            error={error}
            value={id}
            onChange={(e) => setId(e.target.value)}
            autoCapitalize="none"
            spellCheck={false}
          />
        </div>
        <div className="actions">
          <button type="submit" disabled={busy || !name.trim()}>
            {t('operator.customers.create')}
          </button>
        </div>
      </form>
    </details>
  )
}
