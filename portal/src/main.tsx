// The partner portal: an app shell with the session, navigation and the pages.
import { render, type JSX } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { api, ApiError, setCsrfToken, type Me } from './api.js'
import { ErrorMessage, Link, Loading, Notice } from './components.js'
import { AppDetailPage } from './pages/app-detail.js'
import { AccountLinkPage, ForgotPasswordPage, LINK_PATHS, VerifyEmailBanner } from './pages/account-links.js'
import { AppsPage } from './pages/apps.js'
import { LoginPage, SignupPage } from './pages/auth.js'
import { ApiReferencePage, CatalogPage } from './pages/catalog.js'
import { RequestsPage } from './pages/requests.js'
import { TeamPage } from './pages/team.js'
import { BASE, match, navigate, usePath } from './router.js'
import './styles.css'

const PUBLIC_PATHS = ['/login', '/signup', '/forgot-password']

function Nav (props: { path: string, me: Me, onLogout: () => void }): JSX.Element {
  const items: Array<[string, string]> = [['/apps', 'Apps'], ['/catalog', 'API catalog'], ['/requests', 'Access requests'], ['/team', 'Team']]
  return (
    <header class="topbar">
      <a class="skip-link" href="#main">Skip to content</a>
      <span class="brand">Partner portal</span>
      <nav aria-label="Main">
        <ul>
          {items.map(([to, label]) => <li key={to}><Link to={to} aria-current={props.path === to || props.path.startsWith(to + '/') ? 'page' : undefined}>{label}</Link></li>)}
        </ul>
      </nav>
      <div class="account">
        <span class="who" title={props.me.user.email}>{props.me.partner.name}</span>
        <button type="button" class="secondary small" onClick={props.onLogout}>Log out</button>
      </div>
    </header>
  )
}

function Page (props: { path: string, me: Me }): JSX.Element {
  const { path, me } = props
  let params: Record<string, string> | undefined
  if ((params = match('/apps/:id', path)) !== undefined) return <AppDetailPage id={params.id} me={me} />
  if ((params = match('/catalog/:id', path)) !== undefined) return <ApiReferencePage id={params.id} me={me} />
  if (path === '/catalog') return <CatalogPage me={me} />
  if (path === '/requests') return <RequestsPage me={me} />
  if (path === '/team') return <TeamPage me={me} />
  return <AppsPage me={me} />
}

function App (): JSX.Element {
  const path = usePath()
  const [me, setMe] = useState<Me | null | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)

  const loadMe = (): void => {
    api<Me>('GET', '/me').then(setMe, (failure: unknown) => {
      if (failure instanceof ApiError && failure.status === 401) setMe(null)
      else setError(failure)
    })
  }
  useEffect(loadMe, [])

  useEffect(() => {
    if (me === null && !PUBLIC_PATHS.includes(path) && !LINK_PATHS.includes(path)) navigate('/login', { replace: true })
    if (me !== null && me !== undefined && (PUBLIC_PATHS.includes(path) || path === '/')) navigate('/apps', { replace: true })
  }, [me, path])

  const onSession = (session: Me): void => { setCsrfToken(session.csrfToken); setMe(session) }
  const onLogout = (): void => {
    api('POST', '/logout').finally(() => { setCsrfToken(undefined); setMe(null) })
  }

  if (error !== undefined) return <main id="main" class="narrow"><ErrorMessage error={error} /></main>
  if (me === undefined) return <main id="main" class="narrow"><Loading /></main>
  // one-time links work with or without a session
  if (LINK_PATHS.includes(path)) return <main id="main" class="narrow auth"><AccountLinkPage path={path} me={me} onSession={onSession} onSessionChanged={loadMe} /></main>
  if (me === null) {
    return (
      <main id="main" class="narrow auth">
        {path === '/signup' ? <SignupPage onSession={onSession} /> : path === '/forgot-password' ? <ForgotPasswordPage /> : <LoginPage onSession={onSession} />}
      </main>
    )
  }
  return (
    <>
      <Nav path={path} me={me} onLogout={onLogout} />
      <main id="main" tabIndex={-1}>
        {me.partner.status === 'pending' && <Notice kind="warning"><strong>Your account is waiting for approval.</strong> An operator reviews new partners; until then you can browse the API catalog, but not create apps or request access. You will not need to sign up again.</Notice>}
        {me.partner.status === 'suspended' && <Notice kind="warning"><strong>Your account is suspended.</strong> Contact the operator of this platform.</Notice>}
        {!me.user.emailVerified && <VerifyEmailBanner me={me} />}
        <Page key={path} path={path} me={me} />
      </main>
    </>
  )
}

const root = document.getElementById('app') as HTMLElement
// the operator console is loaded only under /console, as a chunk of its own
if (BASE === '/console') void import('./console/console-app.js').then(module => { module.mountConsole(root) })
else render(<App />, root)
