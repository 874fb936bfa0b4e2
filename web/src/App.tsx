/**
 * The shell: the portal's language, sign-in when there is no session, and for a signed-in person
 * the header (portal, menu, who I am and my roles in the current customer, language, sign out)
 * around the screen the path names.
 */
import { useQueryClient } from '@tanstack/react-query'
import { type ReactNode, useEffect } from 'react'
import { api, call, problemOf } from './api/client'
import { ErrorBox, Loading } from './components/ui'
import { I18nProvider, isLanguage, LANGUAGE_NAMES, LANGUAGES, type Language, useI18n } from './i18n'
// admin screens: access review, registrations, ordering
import { AccessScreen } from './pages/Access'
import { AccountRequest } from './pages/AccountRequest'
import { InvoicesScreen, StatementsScreen } from './pages/Billing'
import { ContactChangePage, ContactsScreen } from './pages/Contacts'
import { AcceptInvitation } from './pages/Invitation'
import { OrderScreen } from './pages/Order'
// operator back office (issue 5)
import { AccountRequestsScreen } from './pages/operator/AccountRequests'
import { AuditScreen } from './pages/operator/Audit'
import { useOperatorKey } from './pages/operator/api'
import { CustomerScreen } from './pages/operator/Customer'
import { CustomersScreen } from './pages/operator/Customers'
import { ImportScreen } from './pages/operator/Import'
import { OperatorShell } from './pages/operator/parts'
import { OperatorSignIn } from './pages/operator/SignIn'
import { ForgotPassword, ResetPassword } from './pages/Password'
import { Profile } from './pages/Profile'
import { RegistrationsScreen } from './pages/Registrations'
import { ServiceScreen } from './pages/Service'
import { SignIn } from './pages/SignIn'
import { TreeScreen } from './pages/Tree'
import { UsersScreen } from './pages/Users'
import { enc, Link, match, navigate, useLocation } from './router'
import {
  type Me,
  type PortalInfo,
  rememberCustomer,
  rememberedCustomer,
  rootsWith,
  useMe,
  usePortal,
  useRoots,
} from './session'

export function App() {
  const portal = usePortal()
  const { path } = useLocation()
  // Before the portal's language is known there is no dictionary: a neutral, wordless state.
  if (portal.isPending) return <p className="loading" role="status" aria-busy="true" />
  if (portal.isError)
    return (
      <I18nProvider defaultLanguage="en" catalogLanguage="en">
        <ErrorBox error={portal.error} retry={() => portal.refetch()} />
      </I18nProvider>
    )
  const info = portal.data
  const preset: Language = isLanguage(info.language) ? info.language : 'en'
  return (
    <I18nProvider defaultLanguage={preset} catalogLanguage={info.language}>
      {isOperatorPath(path) ? <OperatorRoutes portal={info} /> : <Shell portal={info} />}
    </I18nProvider>
  )
}

const PUBLIC = ['/forgot-password', '/reset-password', '/invitation', '/account-request']

function Shell({ portal }: { portal: PortalInfo }) {
  const { path, query } = useLocation()
  const me = useMe()
  if (PUBLIC.includes(path))
    return (
      <PublicLayout portal={portal}>
        {path === '/forgot-password' ? (
          <ForgotPassword />
        ) : path === '/invitation' ? (
          <AcceptInvitation portal={portal} />
        ) : path === '/account-request' ? (
          <AccountRequest />
        ) : (
          <ResetPassword />
        )}
      </PublicLayout>
    )
  if (me.isPending) return <Loading />
  if (me.isError) {
    const p = problemOf(me.error)
    // The contact-change link from the e-mail works without a session: the code proves the party.
    const change = match('/contact-changes/:id', path)
    if (p?.status === 401 && change)
      return (
        <PublicLayout portal={portal}>
          <ContactChangePage id={change.id as string} token={query.get('token') ?? ''} signedIn={false} />
        </PublicLayout>
      )
    if (p?.status === 401)
      return (
        <PublicLayout portal={portal}>
          <SignIn portal={portal} />
        </PublicLayout>
      )
    return <ErrorBox error={me.error} retry={() => me.refetch()} />
  }
  return <SignedIn portal={portal} me={me.data} />
}

function LanguageSwitch() {
  const { lang, setLang, t } = useI18n()
  return (
    <label className="lang">
      <span className="visually-hidden">{t('app.language')}</span>
      <select
        value={lang}
        onChange={(e) => setLang(e.target.value as Language)}
        aria-label={t('app.language')}
      >
        {LANGUAGES.map((l) => (
          <option key={l} value={l} lang={l}>
            {LANGUAGE_NAMES[l]}
          </option>
        ))}
      </select>
    </label>
  )
}

function PublicLayout({ portal, children }: { portal: PortalInfo; children: ReactNode }) {
  const { pick } = useI18n()
  return (
    <div className="public">
      <header className="public-header">
        <span className="brand">{pick(portal.names)}</span>
        <LanguageSwitch />
      </header>
      <main id="main" className="card narrow">
        {children}
      </main>
      <footer className="muted small">{portal.operator} · Zona</footer>
    </div>
  )
}

function currentCustomer(me: Me, path: string): string | null {
  const m = /^\/c\/([^/]+)/.exec(path)
  const ids = me.customers.map((c) => c.id)
  if (m?.[1] && ids.includes(decodeURIComponent(m[1]))) return decodeURIComponent(m[1])
  const remembered = rememberedCustomer()
  if (remembered && ids.includes(remembered)) return remembered
  return ids[0] ?? null
}

function SignedIn({ portal, me }: { portal: PortalInfo; me: Me }) {
  const { path, query } = useLocation()
  const { t, pick } = useI18n()
  const queryClient = useQueryClient()
  const customer = currentCustomer(me, path)
  const roots = useRoots(customer)
  const current = me.customers.find((c) => c.id === customer)
  useEffect(() => {
    if (customer) rememberCustomer(customer)
  }, [customer])
  useEffect(() => {
    if (path === '/' || path === '/login')
      navigate(customer ? `/c/${enc(customer)}/tree` : '/profile', { replace: true })
  }, [path, customer])

  const roleName = (id: string, fallback: string) => {
    const r = portal.roles.find((x) => x.id === id)
    return r ? pick(r.name) : fallback
  }
  const signOut = async () => {
    try {
      await call(() => api.POST('/api/v1/auth/logout'))
    } finally {
      queryClient.clear()
      navigate('/')
      await queryClient.invalidateQueries()
    }
  }
  const base = customer ? `/c/${enc(customer)}` : ''
  const items = roots.data?.items
  const nav: { to: string; label: string; show: boolean }[] = [
    { to: `${base}/tree`, label: t('nav.tree'), show: customer !== null },
    {
      to: `${base}/invoices`,
      label: t('nav.invoices'),
      show: rootsWith(items, 'billing.invoices.view').length > 0,
    },
    {
      to: `${base}/statements`,
      label: t('nav.statements'),
      show: rootsWith(items, 'billing.statements.view').length > 0,
    },
    { to: `${base}/users`, label: t('nav.users'), show: rootsWith(items, 'users.manage').length > 0 },
    // admin screens: registered people
    {
      to: `${base}/registrations`,
      label: t('nav.registrations'),
      show: rootsWith(items, 'users.manage').length > 0,
    },
    // admin screens: ordering a new service
    { to: `${base}/order`, label: t('nav.order'), show: rootsWith(items, 'service.order').length > 0 },
    // OVH contacts: where the portal has service contacts
    {
      to: `${base}/contacts`,
      label: t('nav.contacts'),
      show: customer !== null && portal.features.contact_changes,
    },
    { to: '/profile', label: t('nav.profile'), show: true },
  ]

  let screen: ReactNode
  const service = match('/c/:customer/services/:id', path)
  const contactChange = match('/contact-changes/:id', path)
  if (path === '/profile') screen = <Profile portal={portal} me={me} current={customer} />
  else if (contactChange)
    screen = (
      <ContactChangePage id={contactChange.id as string} token={query.get('token') ?? ''} signedIn={true} />
    )
  else if (!customer || !current) screen = <Profile portal={portal} me={me} current={customer} />
  else if (match('/c/:customer/tree', path)) screen = <TreeScreen customer={customer} />
  else if (service) screen = <ServiceScreen customer={customer} id={service.id as string} portal={portal} />
  else if (match('/c/:customer/invoices', path)) screen = <InvoicesScreen customer={customer} roots={items} />
  else if (match('/c/:customer/statements', path))
    screen = <StatementsScreen customer={customer} roots={items} />
  else if (match('/c/:customer/users', path))
    screen = <UsersScreen customer={customer} portal={portal} roots={items} me={me} />
  // admin screens: access review (the API decides who may see it)
  else if (match('/c/:customer/access', path))
    screen = <AccessScreen customer={customer} portal={portal} me={me} />
  else if (match('/c/:customer/registrations', path))
    screen = <RegistrationsScreen customer={customer} portal={portal} />
  else if (match('/c/:customer/order', path))
    screen = <OrderScreen customer={customer} portal={portal} roots={items} />
  else if (match('/c/:customer/contacts', path) && portal.features.contact_changes)
    screen = <ContactsScreen customer={customer} />
  else if (path === '/' || path === '/login') screen = <Loading />
  else screen = <NotFound />

  return (
    <div className="app">
      <a className="skip" href="#main">
        {t('app.skip')}
      </a>
      <header className="topbar">
        <div className="topbar-row">
          <Link to={customer ? `${base}/tree` : '/profile'} className="brand">
            {pick(portal.names)}
          </Link>
          <div className="who">
            <span className="visually-hidden">{t('app.myRoles')}: </span>
            <span className="who-name">{me.person.display_name}</span>
            {current ? (
              <span className="who-roles">
                {current.grants
                  .map((g) => roleName(g.role, g.role_name))
                  .filter(uniq)
                  .join(', ')}
                {' · '}
                {me.customers.length > 1 ? (
                  <select
                    aria-label={t('app.customer')}
                    value={current.id}
                    onChange={(e) => navigate(`/c/${enc(e.target.value)}/tree`)}
                  >
                    {me.customers.map((c) => (
                      <option key={c.id} value={c.id}>
                        {c.name}
                      </option>
                    ))}
                  </select>
                ) : (
                  <span className="who-customer">{current.name}</span>
                )}
              </span>
            ) : null}
          </div>
          <div className="topbar-tools">
            <LanguageSwitch />
            <button type="button" className="secondary" onClick={signOut}>
              {t('app.signOut')}
            </button>
          </div>
        </div>
        <nav aria-label={t('app.nav')}>
          <ul>
            {nav
              .filter((n) => n.show)
              .map((n) => (
                <li key={n.to}>
                  <Link
                    to={n.to}
                    aria-current={path.startsWith(n.to.replace(/\?.*/, '')) ? 'page' : undefined}
                  >
                    {n.label}
                  </Link>
                </li>
              ))}
          </ul>
        </nav>
      </header>
      <main id="main" className="content">
        {screen}
      </main>
    </div>
  )
}

const uniq = (x: string, i: number, xs: string[]) => xs.indexOf(x) === i

function NotFound() {
  const { t } = useI18n()
  return (
    <div className="alert" role="alert">
      <strong>{t('app.notFound')}</strong>
    </div>
  )
}

// ------------------------------------------------------------ operator back office (issue 5)
// /operator/*: operator staff, who have no logins; the back office opens with an operator API
// key kept in this tab's sessionStorage (pages/operator/api.ts), never a person's session.

const isOperatorPath = (path: string) => path === '/operator' || path.startsWith('/operator/')

function OperatorRoutes({ portal }: { portal: PortalInfo }) {
  const { path } = useLocation()
  const key = useOperatorKey()
  if (!key)
    return (
      <PublicLayout portal={portal}>
        <OperatorSignIn />
      </PublicLayout>
    )
  const customer = match('/operator/customers/:id', path)
  const importTo = match('/operator/customers/:id/import', path)
  let screen: ReactNode
  if (path === '/operator' || path === '/operator/') screen = <CustomersScreen />
  else if (customer) screen = <CustomerScreen key={customer.id} id={customer.id as string} portal={portal} />
  else if (importTo) screen = <ImportScreen key={importTo.id} customer={importTo.id as string} />
  else if (match('/operator/audit', path)) screen = <AuditScreen />
  else if (match('/operator/account-requests', path) && portal.features.account_requests)
    screen = <AccountRequestsScreen />
  else screen = <NotFound />
  return (
    <OperatorShell portal={portal} languageSwitch={<LanguageSwitch />}>
      {screen}
    </OperatorShell>
  )
}
