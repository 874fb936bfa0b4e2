/**
 * Service contacts (ovh, seed 002 "Správa kontaktů"): each service's administrative, technical and
 * billing contact; asking for a change (both the requester and the new contact confirm with their
 * own code from the e-mail); "my requests" with each party's status, approve or refuse with the
 * code, send the e-mails again; and the page the e-mail links to (/contact-changes/:id?token=…),
 * which works signed in or not. Change buttons appear only where the engine lets me ask.
 */
import { useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, type ReactNode, useState } from 'react'
import { api, call, problemOf } from '../api/client'
import type { paths } from '../api/schema'
import { ErrorBox, Field, FormError, Loading, PageTitle } from '../components/ui'
import { type MessageKey, useI18n } from '../i18n'
import { enc, Link } from '../router'

type Json<T> = T extends { responses: { 200: { content: { 'application/json': infer J } } } } ? J : never
export type ContactChangeView = Json<paths['/api/v1/contact-changes/{id}']['get']>
type ServiceContactsView = Json<paths['/api/v1/services/{id}/contacts']['get']>
type Kind = ContactChangeView['kind']
type PersonRef = ContactChangeView['requester']

const KINDS: readonly Kind[] = ['admin', 'technical', 'billing']

const personName = (p: PersonRef | null | undefined) =>
  p ? `${p.display_name ?? p.id}${p.login ? ` (${p.login})` : ''}` : '–'

/** The server's problem, in my language, when it is about the code. */
function codeText(error: unknown, text: string): string | undefined {
  const p = problemOf(error)
  return p?.field === 'body.token' || p?.code === 'TOKEN_INVALID' ? text : undefined
}

// ------------------------------------------------------------------ the Contacts screen

export function ContactsScreen({ customer }: { customer: string }) {
  const { t } = useI18n()
  const [mine, setMine] = useState(false)
  const contacts = useInfiniteQuery({
    queryKey: ['contacts', customer, mine],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      call(() =>
        api.GET('/api/v1/customers/{customer}/contacts', {
          params: {
            path: { customer },
            query: {
              limit: 50,
              ...(mine ? { mine: true } : {}),
              ...(pageParam ? { cursor: pageParam } : {}),
            },
          },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  })
  const items = contacts.data?.pages.flatMap((p) => p.items) ?? []
  return (
    <>
      <PageTitle sub={t('contacts.intro')}>{t('contacts.title')}</PageTitle>
      <MyRequests />
      <section aria-labelledby="contacts-h">
        <div className="card-head">
          <h2 id="contacts-h">{t('nav.contacts')}</h2>
          <label className="check">
            <input type="checkbox" checked={mine} onChange={(e) => setMine(e.target.checked)} />{' '}
            {t('contacts.mine')}
          </label>
        </div>
        {contacts.isPending ? (
          <Loading />
        ) : contacts.isError ? (
          <ErrorBox error={contacts.error} retry={() => contacts.refetch()} />
        ) : items.length === 0 ? (
          <p className="muted">{t('contacts.none')}</p>
        ) : (
          <div className="table-wrap">
            <table className="contacts">
              <thead>
                <tr>
                  <th scope="col">{t('contacts.service')}</th>
                  {KINDS.map((k) => (
                    <th scope="col" key={k}>
                      {t(`contacts.kind.${k}` as MessageKey)}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {items.map((s) => (
                  <ContactRow key={s.service.id} customer={customer} row={s} />
                ))}
              </tbody>
            </table>
            {contacts.hasNextPage ? (
              <button type="button" className="secondary" onClick={() => contacts.fetchNextPage()}>
                {t('tree.loadMore')}
              </button>
            ) : null}
          </div>
        )}
      </section>
    </>
  )
}

function ContactRow({ customer, row }: { customer: string; row: ServiceContactsView }) {
  return (
    <tr>
      <th scope="row">
        <Link to={`/c/${enc(customer)}/services/${enc(row.service.id)}`}>{row.service.name}</Link>
      </th>
      {KINDS.map((k) => (
        <td key={k}>
          <ContactCell service={row} kind={k} />
        </td>
      ))}
    </tr>
  )
}

/** One contact of one service: who, whether a change waits, and the change form where I may ask. */
function ContactCell({ service, kind }: { service: ServiceContactsView; kind: Kind }) {
  const { t } = useI18n()
  const [open, setOpen] = useState(false)
  const pending = service.pending.includes(kind)
  return (
    <div className="contact-cell" data-kind={kind}>
      <span className="contact-name">{personName(service.contacts[kind])}</span>
      {pending ? (
        <div>
          <span className="badge pay-unpaid">{t('contacts.pending')}</span>
        </div>
      ) : null}
      {service.may_request[kind] && !pending ? (
        <div>
          <button
            type="button"
            className="link small"
            aria-expanded={open}
            aria-label={`${t('contacts.change')}: ${t(`contacts.kind.${kind}` as MessageKey)} – ${service.service.name}`}
            onClick={() => setOpen(!open)}
          >
            {t('contacts.change')}
          </button>
        </div>
      ) : null}
      {open ? (
        <ChangeContactForm service={service.service.id} kind={kind} onDone={() => setOpen(false)} />
      ) : null}
    </div>
  )
}

function ChangeContactForm({ service, kind, onDone }: { service: string; kind: Kind; onDone: () => void }) {
  const { t } = useI18n()
  const queryClient = useQueryClient()
  const [handle, setHandle] = useState('')
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const [requested, setRequested] = useState<ContactChangeView | null>(null)
  const kindName = t(`contacts.kind.${kind}` as MessageKey)
  /** The server's refusals about the new contact, in my language. */
  const newContactText = (e: unknown) => {
    const p = problemOf(e)
    if (p?.field !== 'body.new_contact') return undefined
    if (p.code === 'NOT_FOUND') return t('contacts.unknownHandle')
    if (p.code === 'CONFLICT') return t('contacts.alreadyContact')
    return t('contacts.cannotConfirm')
  }
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      const change = await call(() =>
        api.POST('/api/v1/services/{id}/contact-changes', {
          params: { path: { id: service } },
          body: { kind, new_contact: handle.trim() },
        }),
      )
      setRequested(change)
      await queryClient.invalidateQueries({ queryKey: ['contact-changes'] })
      await queryClient.invalidateQueries({ queryKey: ['contacts'] })
      await queryClient.invalidateQueries({ queryKey: ['service-contacts', service] })
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  if (requested)
    return (
      <div className="alert success contact-requested" role="status">
        {t('contacts.requested', { person: personName(requested.new_contact) })}{' '}
        <button type="button" className="link small" onClick={onDone}>
          OK
        </button>
      </div>
    )
  return (
    <form className="change-grant contact-form" onSubmit={submit} noValidate>
      <h3 className="small">{t('contacts.changeTitle', { kind: kindName })}</h3>
      <FormError error={error} fields={['body.new_contact']} />
      <Field
        label={t('contacts.newContact')}
        name="body.new_contact"
        hint={t('contacts.newContactHint')}
        error={error}
        message={newContactText(error)}
        value={handle}
        onChange={(e) => setHandle(e.target.value)}
        autoCapitalize="characters"
        autoComplete="off"
        spellCheck={false}
        maxLength={320}
        required
      />
      <div className="actions">
        <button type="submit" disabled={busy || handle.trim() === ''}>
          {t('contacts.submit')}
        </button>
        <button type="button" className="secondary" onClick={onDone}>
          {t('users.cancel')}
        </button>
      </div>
    </form>
  )
}

// ------------------------------------------------------------------ the service page's card

/** The contacts of one service, for its page; nothing when the portal has no contacts. */
export function ServiceContactsCard({ service }: { service: string }) {
  const { t } = useI18n()
  const contacts = useQuery({
    queryKey: ['service-contacts', service],
    queryFn: () =>
      call(() => api.GET('/api/v1/services/{id}/contacts', { params: { path: { id: service } } })),
  })
  return (
    <section className="card" aria-labelledby="svc-contacts">
      <h2 id="svc-contacts">{t('nav.contacts')}</h2>
      {contacts.isPending ? (
        <Loading />
      ) : contacts.isError ? (
        <ErrorBox error={contacts.error} />
      ) : (
        <dl className="facts service-contacts">
          {KINDS.map((k) => (
            <ContactFact key={k} service={contacts.data} kind={k} />
          ))}
        </dl>
      )}
    </section>
  )
}

function ContactFact({ service, kind }: { service: ServiceContactsView; kind: Kind }) {
  const { t } = useI18n()
  return (
    <>
      <dt>{t(`contacts.kind.${kind}` as MessageKey)}</dt>
      <dd>
        <ContactCell service={service} kind={kind} />
      </dd>
    </>
  )
}

// ------------------------------------------------------------------ my requests

export function MyRequests() {
  const { t } = useI18n()
  const changes = useQuery({
    queryKey: ['contact-changes'],
    queryFn: () => call(() => api.GET('/api/v1/contact-changes', { params: { query: { limit: 50 } } })),
  })
  return (
    <section className="card" aria-labelledby="requests-h">
      <h2 id="requests-h">{t('requests.title')}</h2>
      {changes.isPending ? (
        <Loading />
      ) : changes.isError ? (
        <ErrorBox error={changes.error} retry={() => changes.refetch()} />
      ) : changes.data.items.length === 0 ? (
        <p className="muted">{t('requests.none')}</p>
      ) : (
        <ul className="plain requests">
          {changes.data.items.map((c) => (
            <li key={c.id}>
              <ChangeCard change={c} />
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}

const STATE_BADGE: Record<ContactChangeView['state'], string> = {
  pending: 'pay-unpaid',
  applied: 'status-active',
  refused: 'status-blocked',
  cancelled: 'status-cancelled',
  expired: 'status-cancelled',
}

/** One change: what, who asked, each party's status, and what I can do with it now. */
export function ChangeCard({
  change: initial,
  token,
  signedIn = true,
}: {
  change: ContactChangeView
  /** The code from the e-mail link, pre-filled. */
  token?: string
  signedIn?: boolean
}) {
  const { t, date, dateTime } = useI18n()
  const queryClient = useQueryClient()
  const [change, setChange] = useState(initial)
  const [code, setCode] = useState(token ?? '')
  const [deciding, setDeciding] = useState(token !== undefined)
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const [outcome, setOutcome] = useState<MessageKey | null>(null)
  const c = change
  const pending = c.state === 'pending'
  const iMustApprove = c.my_parties.some((p) => c.waiting_for.includes(p))

  const decide = async (verb: 'approve' | 'refuse') => {
    setBusy(true)
    setError(null)
    try {
      const path =
        verb === 'approve' ? '/api/v1/contact-changes/{id}/approve' : '/api/v1/contact-changes/{id}/refuse'
      const next = await call(() =>
        api.POST(path, { params: { path: { id: c.id } }, body: { token: code.trim() } }),
      )
      setChange(next)
      setDeciding(false)
      setOutcome(
        next.state === 'applied'
          ? 'requests.applied'
          : next.state === 'refused'
            ? 'requests.refusedDone'
            : 'requests.waitingOther',
      )
      if (signedIn) {
        await queryClient.invalidateQueries({ queryKey: ['contact-changes'] })
        await queryClient.invalidateQueries({ queryKey: ['contacts'] })
        await queryClient.invalidateQueries({ queryKey: ['service-contacts', c.service.id] })
      }
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  const resend = async () => {
    setBusy(true)
    setError(null)
    try {
      setChange(
        await call(() => api.POST('/api/v1/contact-changes/{id}/resend', { params: { path: { id: c.id } } })),
      )
      setOutcome('requests.resent')
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <article className="change-card" data-state={c.state} aria-label={`${c.service.name ?? c.service.id}`}>
      <div className="card-head">
        <h3>
          {t(`contacts.kind.${c.kind}` as MessageKey)} – {c.service.name ?? c.service.id}
        </h3>
        <span className={`badge ${STATE_BADGE[c.state]}`}>
          {t(`requests.state.${c.state}` as MessageKey)}
        </span>
      </div>
      <p className="change-what">
        {personName(c.old_contact)} → <strong>{personName(c.new_contact)}</strong>
      </p>
      <p className="muted small">
        {t('requests.requestedBy', { person: personName(c.requester), date: date(c.created_at) })}
        {pending ? ` · ${t('requests.expires', { date: dateTime(c.expires_at) })}` : null}
      </p>
      <ul className="plain parties">
        {c.parties.map((p) => (
          <li key={p.party} data-party={p.party}>
            <strong>{t(`requests.party.${p.party}` as MessageKey)}</strong>: {personName(p.person)}
            {c.my_parties.includes(p.party) ? <span className="muted"> ({t('requests.you')})</span> : null} –{' '}
            {p.approved_at ? (
              <span className="party-approved">
                ✓ {t('requests.approved', { date: dateTime(p.approved_at) })}
              </span>
            ) : pending ? (
              <span className="party-waiting">{t('requests.waiting')}</span>
            ) : (
              '–'
            )}
          </li>
        ))}
      </ul>
      {c.refused_by ? (
        <p className="small">{t('requests.refusedBy', { person: personName(c.refused_by) })}</p>
      ) : null}
      {c.refusal_reason ? <p className="small explanation">{c.refusal_reason}</p> : null}
      {outcome ? (
        <div className="alert success" role="status">
          {t(outcome)}
        </div>
      ) : null}
      <FormError error={error} fields={['body.token']} />
      {pending && deciding ? (
        <CodeForm code={code} setCode={setCode} busy={busy} error={error} decide={decide} />
      ) : null}
      {pending && !deciding && signedIn ? (
        <div className="actions">
          {iMustApprove ? (
            <button type="button" onClick={() => setDeciding(true)}>
              {t('requests.decide')}
            </button>
          ) : null}
          {c.my_parties.length > 0 ? (
            <button type="button" className="secondary" disabled={busy} onClick={resend}>
              {t('requests.resend')}
            </button>
          ) : null}
        </div>
      ) : null}
    </article>
  )
}

// ------------------------------------------------------------------ the e-mail's link

/**
 * /contact-changes/:id?token=… – with a session, the change as I see it; without one, only the code
 * form (the code alone proves the party), and the change as the answer shows it afterwards.
 */
export function ContactChangePage({ id, token, signedIn }: { id: string; token: string; signedIn: boolean }) {
  const { t } = useI18n()
  const change = useQuery({
    queryKey: ['contact-change', id],
    enabled: signedIn,
    retry: false,
    queryFn: () => call(() => api.GET('/api/v1/contact-changes/{id}', { params: { path: { id } } })),
  })
  return (
    <>
      <PageTitle>{t('requests.pageTitle')}</PageTitle>
      {signedIn ? (
        change.isPending ? (
          <Loading />
        ) : change.isError ? (
          <ErrorBox error={change.error} />
        ) : (
          <ChangeCard change={change.data} token={token} />
        )
      ) : (
        <>
          <AnonymousDecision id={id} token={token} />
          <p className="muted small">
            <Link to="/">{t('requests.signInHint')}</Link>
          </p>
        </>
      )}
      {change.data ? (
        <p>
          <Link to={`/c/${enc(change.data.customer)}/contacts`}>{t('requests.all')}</Link>
        </p>
      ) : null}
    </>
  )
}

/** Without a session nothing about the change can be read before the code is used: just the code form. */
function AnonymousDecision({ id, token }: { id: string; token: string }) {
  const { t } = useI18n()
  const [code, setCode] = useState(token)
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const [result, setResult] = useState<ContactChangeView | null>(null)
  const decide = async (verb: 'approve' | 'refuse') => {
    setBusy(true)
    setError(null)
    try {
      const path =
        verb === 'approve' ? '/api/v1/contact-changes/{id}/approve' : '/api/v1/contact-changes/{id}/refuse'
      setResult(await call(() => api.POST(path, { params: { path: { id } }, body: { token: code.trim() } })))
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  if (result)
    return (
      <>
        <div className="alert success" role="status">
          {t(
            result.state === 'applied'
              ? 'requests.applied'
              : result.state === 'refused'
                ? 'requests.refusedDone'
                : 'requests.waitingOther',
          )}
        </div>
        <ChangeCard change={result} signedIn={false} />
      </>
    )
  return (
    <CodeForm code={code} setCode={setCode} busy={busy} error={error} decide={decide}>
      <FormError error={error} fields={['body.token']} />
    </CodeForm>
  )
}

/** The one-time code of a party, approved or refused: on the change's card and on the e-mail link page. */
function CodeForm({
  code,
  setCode,
  busy,
  error,
  decide,
  children,
}: {
  code: string
  setCode: (code: string) => void
  busy: boolean
  error: unknown
  decide: (verb: 'approve' | 'refuse') => Promise<void>
  children?: ReactNode
}) {
  const { t } = useI18n()
  return (
    <form
      className="decide-form"
      onSubmit={(e) => {
        e.preventDefault()
        void decide('approve')
      }}
      noValidate
    >
      {children}
      <Field
        label={t('requests.code')}
        name="body.token"
        hint={t('requests.codeHint')}
        error={error}
        message={codeText(error, t('requests.codeInvalid'))}
        value={code}
        onChange={(e) => setCode(e.target.value)}
        autoComplete="one-time-code"
        spellCheck={false}
        maxLength={200}
        required
      />
      <div className="actions">
        <button type="submit" disabled={busy || code.trim() === ''}>
          {t('requests.approve')}
        </button>
        <button
          type="button"
          className="danger-outline"
          disabled={busy || code.trim() === ''}
          onClick={() => void decide('refuse')}
        >
          {t('requests.refuse')}
        </button>
      </div>
    </form>
  )
}
