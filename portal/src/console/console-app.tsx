// The operator console: sign-in, the shell with its navigation, and the pages under /console.
import { render, type JSX } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { ApiError } from '../api.js'
import { ErrorMessage, Link, Loading, Notice } from '../components.js'
import { match, navigate, usePath } from '../router.js'
import { adminApi, setConsoleCsrfToken, type ConsoleSession } from './admin-api.js'
import { ApiDetailPage, ApisPage } from './pages/apis.js'
import { AppPage } from './pages/app.js'
import { AuditPage } from './pages/audit.js'
import { AccessRequestsPage, GrantsPage } from './pages/grants.js'
import { LoginPage } from './pages/login.js'
import { OperatorsPage } from './pages/operators.js'
import { OverviewPage } from './pages/overview.js'
import { PartnerPage, PartnersPage } from './pages/partners.js'
import { PlansPage } from './pages/plans.js'
import { SigningKeysPage } from './pages/signing-keys.js'
import { ConfirmDialog, SessionContext } from './ui.js'
import '../styles.css'
import './console.css'

const NAV: Array<[string, string]> = [
  ['/overview', 'Overview'], ['/partners', 'Partners'], ['/apis', 'APIs'], ['/plans', 'Plans'], ['/requests', 'Access requests'],
  ['/grants', 'Grants'], ['/signing-keys', 'Signing keys'], ['/audit', 'Audit log'], ['/operators', 'Operators']
]
const HOME = '/overview'

function Nav (props: { path: string, session: ConsoleSession, onLogout: () => void }): JSX.Element {
  return (
    <header class="topbar console-topbar">
      <a class="skip-link" href="#main">Skip to content</a>
      <span class="brand">Operator console</span>
      <nav aria-label="Main">
        <ul>
          {NAV.map(([to, label]) => <li key={to}><Link to={to} aria-current={props.path === to || props.path.startsWith(to + '/') ? 'page' : undefined}>{label}</Link></li>)}
        </ul>
      </nav>
      <div class="account">
        <span class="who" title={props.session.operator.email}>{props.session.operator.email} <span class={`badge badge-role-${props.session.operator.role}`}>{props.session.operator.role}</span></span>
        <button type="button" class="secondary small" onClick={props.onLogout}>Sign out</button>
      </div>
    </header>
  )
}

function Page (props: { path: string }): JSX.Element {
  const { path } = props
  let params: Record<string, string> | undefined
  if ((params = match('/partners/:id', path)) !== undefined) return <PartnerPage id={params.id} />
  if ((params = match('/apps/:id', path)) !== undefined) return <AppPage id={params.id} />
  if ((params = match('/apis/:id', path)) !== undefined) return <ApiDetailPage id={params.id} />
  if (path === '/partners') return <PartnersPage />
  if (path === '/apis') return <ApisPage />
  if (path === '/plans') return <PlansPage />
  if (path === '/requests') return <AccessRequestsPage />
  if (path === '/grants') return <GrantsPage />
  if (path === '/signing-keys') return <SigningKeysPage />
  if (path === '/audit') return <AuditPage />
  if (path === '/operators') return <OperatorsPage />
  return <OverviewPage />
}

function ConsoleApp (): JSX.Element {
  const path = usePath()
  const [session, setSession] = useState<ConsoleSession | null | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)

  useEffect(() => {
    document.title = 'Operator console'
    adminApi<ConsoleSession>('GET', '/session').then(setSession, (failure: unknown) => {
      if (failure instanceof ApiError && failure.status === 401) setSession(null)
      else setError(failure)
    })
  }, [])

  useEffect(() => {
    if (session === null && path !== '/login') navigate('/login', { replace: true })
    if (session !== null && session !== undefined && (path === '/login' || path === '/')) navigate(HOME, { replace: true })
  }, [session, path])

  const onSession = (created: ConsoleSession): void => { setConsoleCsrfToken(created.csrfToken); setSession(created) }
  const onLogout = (): void => {
    adminApi('DELETE', '/session').finally(() => { setConsoleCsrfToken(undefined); setSession(null) })
  }

  if (error !== undefined) return <main id="main" class="narrow"><ErrorMessage error={error} /></main>
  if (session === undefined) return <main id="main" class="narrow"><Loading /></main>
  if (session === null) return <main id="main" class="narrow auth"><LoginPage onSession={onSession} /></main>
  return (
    <SessionContext.Provider value={session}>
      <Nav path={path} session={session} onLogout={onLogout} />
      <main id="main" tabIndex={-1} class="console-main">
        {session.operator.role !== 'admin' && <Notice kind="info">You are signed in as a <strong>viewer</strong>: you can look at everything but change nothing.</Notice>}
        <Page key={path} path={path} />
      </main>
      <ConfirmDialog />
    </SessionContext.Provider>
  )
}

export function mountConsole (root: HTMLElement): void {
  render(<ConsoleApp />, root)
}
