/** What the back-office screens share: server paging by cursor, and the shell around them. */
import { useQueryClient } from '@tanstack/react-query'
import { type ReactNode, useState } from 'react'
import { useI18n } from '../../i18n'
import { Link, useLocation } from '../../router'
import type { PortalInfo } from '../../session'
import { forgetOperatorKey } from './api'

/**
 * Pages of a cursor-paged list: the server gives the next cursor; the ones already passed are
 * kept so that "previous" works without the server paging backwards.
 */
export function useCursorPages() {
  const [stack, setStack] = useState<string[]>([])
  return {
    cursor: stack.at(-1),
    page: stack.length + 1,
    next: (cursor: string) => setStack([...stack, cursor]),
    previous: () => setStack(stack.slice(0, -1)),
    reset: () => setStack([]),
  }
}

export function Pager({
  pages,
  nextCursor,
  label,
}: {
  pages: ReturnType<typeof useCursorPages>
  nextCursor: string | null | undefined
  label: string
}) {
  const { t } = useI18n()
  if (pages.page === 1 && !nextCursor) return null
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" className="secondary" disabled={pages.page === 1} onClick={pages.previous}>
        {t('operator.pager.previous')}
      </button>
      <span aria-live="polite">{t('operator.pager.page', { page: pages.page })}</span>
      <button
        type="button"
        className="secondary"
        disabled={!nextCursor}
        onClick={() => nextCursor && pages.next(nextCursor)}
      >
        {t('operator.pager.next')}
      </button>
    </nav>
  )
}

/** Header, menu and sign-out of the back office; the screens come from App.tsx's routes. */
export function OperatorShell({
  portal,
  languageSwitch,
  children,
}: {
  portal: PortalInfo
  languageSwitch: ReactNode
  children: ReactNode
}) {
  const { t, pick } = useI18n()
  const { path } = useLocation()
  const queryClient = useQueryClient()
  const signOut = () => {
    forgetOperatorKey()
    // Nothing read with the key stays in memory for whoever uses the tab next.
    queryClient.removeQueries({ queryKey: ['operator'] })
  }
  const nav = [
    {
      to: '/operator',
      label: t('operator.nav.customers'),
      current: path === '/operator' || path.startsWith('/operator/customers'),
    },
    { to: '/operator/audit', label: t('operator.nav.audit'), current: path.startsWith('/operator/audit') },
    ...(portal.features.account_requests
      ? [
          {
            to: '/operator/account-requests',
            label: t('operator.nav.accountRequests'),
            current: path.startsWith('/operator/account-requests'),
          },
        ]
      : []),
  ]
  return (
    <div className="app operator">
      <a className="skip" href="#main">
        {t('app.skip')}
      </a>
      <header className="topbar">
        <div className="topbar-row">
          <Link to="/operator" className="brand">
            {t('operator.brand')}
          </Link>
          <div className="who">
            <span className="who-name">{portal.operator}</span>
            <span className="who-roles">{pick(portal.names)}</span>
          </div>
          <div className="topbar-tools">
            {languageSwitch}
            <button type="button" className="secondary" onClick={signOut}>
              {t('operator.signOut')}
            </button>
          </div>
        </div>
        <nav aria-label={t('app.nav')}>
          <ul>
            {nav.map((n) => (
              <li key={n.to}>
                <Link to={n.to} aria-current={n.current ? 'page' : undefined}>
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main" className="content">
        {children}
      </main>
      <footer className="op-footer muted small">{t('operator.keyNote')}</footer>
    </div>
  )
}
