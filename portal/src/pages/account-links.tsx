// The pages one-time links open (accept an invitation, reset the password, verify the email),
// the forgotten-password form, and the banner shown until the email is verified. Links carry
// their token in the URL fragment, which the browser never sends to a server or in a Referer.
import type { JSX } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { api, type Delivery, type InvitationInfo, type Me } from '../api.js'
import { ErrorMessage, Heading, Link, Loading, Notice } from '../components.js'
import { navigate } from '../router.js'
import { useForm } from './auth.js'

export const LINK_PATHS = ['/accept-invitation', '/reset-password', '/verify-email']

function linkToken (): string {
  return new URLSearchParams(location.hash.slice(1)).get('token') ?? ''
}

/** Keeps the used token out of the address bar and the browser history. */
function forgetToken (): void {
  history.replaceState(null, '', location.pathname)
}

export const DELIVERY_TEXT: Record<Delivery, string> = {
  sent: 'The mail is on its way.',
  logged: 'No mail server is configured here: the operator finds the link in the server log.',
  failed: 'The mail could not be sent. Try again later, or ask the operator.'
}

function MissingToken (): JSX.Element {
  return <p class="message error" role="alert">This page needs the link from your mail. Open the link again, or copy all of it into the address bar.</p>
}

function AcceptInvitationPage (props: { onSession: (me: Me) => void }): JSX.Element {
  const [token] = useState(linkToken)
  const [info, setInfo] = useState<InvitationInfo | undefined>(undefined)
  const [lookupError, setLookupError] = useState<unknown>(undefined)
  const [name, setName] = useState('')
  const [password, setPassword] = useState('')
  useEffect(() => {
    if (token !== '') api<InvitationInfo>('POST', '/invitations/lookup', { token }).then(setInfo, setLookupError)
  }, [token])
  const form = useForm(async () => {
    const me = await api<Me>('POST', '/invitations/accept', { token, name: name.trim(), password })
    forgetToken()
    props.onSession(me)
    navigate('/apps', { replace: true })
  })
  return (
    <section class="card">
      <Heading>{info !== undefined ? `Join ${info.partnerName}` : 'Accept your invitation'}</Heading>
      {token === '' && <MissingToken />}
      <ErrorMessage error={lookupError} />
      {lookupError !== undefined && <p>Ask whoever invited you for a new invitation, or <Link to="/login">log in</Link> if you have an account.</p>}
      {token !== '' && info === undefined && lookupError === undefined && <Loading />}
      {info !== undefined && (
        <form onSubmit={form.onSubmit}>
          <p>You are invited as <strong>{info.role}</strong> with <strong>{info.email}</strong>. Choose your name and a password to log in with.</p>
          <label for="accept-name">Your name</label>
          <input id="accept-name" name="name" autoComplete="name" required maxLength={200} value={name} onInput={event => { setName(event.currentTarget.value) }} />
          <input type="email" name="email" autoComplete="username" value={info.email} readOnly hidden />
          <label for="accept-password">Password</label>
          <input id="accept-password" name="password" type="password" autoComplete="new-password" required minLength={10} maxLength={200} aria-describedby="accept-password-hint" value={password} onInput={event => { setPassword(event.currentTarget.value) }} />
          <p id="accept-password-hint" class="hint">At least 10 characters.</p>
          <ErrorMessage error={form.error} />
          <button type="submit" disabled={form.busy}>{form.busy ? 'Joining…' : `Join ${info.partnerName}`}</button>
        </form>
      )}
    </section>
  )
}

export function ForgotPasswordPage (): JSX.Element {
  const [email, setEmail] = useState('')
  const [answer, setAnswer] = useState<string | undefined>(undefined)
  const form = useForm(async () => { setAnswer((await api<{ message: string }>('POST', '/password-reset/request', { email })).message) })
  return (
    <section class="card">
      <Heading>Reset your password</Heading>
      {answer !== undefined
        ? <Notice kind="success">{answer}</Notice>
        : (
          <form onSubmit={form.onSubmit}>
            <p>Enter the email you log in with; we mail you a link to choose a new password.</p>
            <label for="forgot-email">Email</label>
            <input id="forgot-email" name="email" type="email" autoComplete="username" required value={email} onInput={event => { setEmail(event.currentTarget.value) }} />
            <ErrorMessage error={form.error} />
            <button type="submit" disabled={form.busy}>{form.busy ? 'Sending…' : 'Send the link'}</button>
          </form>
          )}
      <p><Link to="/login">Back to log in</Link></p>
    </section>
  )
}

function ResetPasswordPage (props: { onSessionChanged: () => void }): JSX.Element {
  const [token] = useState(linkToken)
  const [password, setPassword] = useState('')
  const [done, setDone] = useState(false)
  const form = useForm(async () => {
    await api('POST', '/password-reset', { token, password })
    forgetToken()
    setDone(true)
    // the reset ended every session of the account, perhaps this browser's
    props.onSessionChanged()
  })
  return (
    <section class="card">
      <Heading>Choose a new password</Heading>
      {token === '' && <MissingToken />}
      {done && <Notice kind="success"><strong>Your password is changed.</strong> Every session of your account was logged out. <Link to="/login">Log in</Link> with the new password.</Notice>}
      {token !== '' && !done && (
        <form onSubmit={form.onSubmit}>
          <label for="reset-password">New password</label>
          <input id="reset-password" name="password" type="password" autoComplete="new-password" required minLength={10} maxLength={200} aria-describedby="reset-password-hint" value={password} onInput={event => { setPassword(event.currentTarget.value) }} />
          <p id="reset-password-hint" class="hint">At least 10 characters.</p>
          <ErrorMessage error={form.error} />
          {form.error !== undefined && <p><Link to="/forgot-password">Ask for a new link</Link></p>}
          <button type="submit" disabled={form.busy}>{form.busy ? 'Saving…' : 'Set new password'}</button>
        </form>
      )}
    </section>
  )
}

function VerifyEmailPage (props: { me: Me | null, onSessionChanged: () => void }): JSX.Element {
  const [token] = useState(linkToken)
  const [verified, setVerified] = useState<string | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  useEffect(() => {
    if (token === '') return
    api<{ email: string }>('POST', '/email-verification', { token }).then(result => {
      forgetToken()
      setVerified(result.email)
      props.onSessionChanged()
    }, setError)
  }, [token])
  return (
    <section class="card">
      <Heading>Verify your email</Heading>
      {token === '' && <MissingToken />}
      {token !== '' && verified === undefined && error === undefined && <Loading />}
      <ErrorMessage error={error} />
      {verified !== undefined && <Notice kind="success"><strong>{verified}</strong> is verified. Thank you.</Notice>}
      <p>{props.me !== null ? <Link to="/apps">Continue to the portal</Link> : <Link to="/login">Log in</Link>}</p>
    </section>
  )
}

/** The page for one of LINK_PATHS; they work with or without a session. */
export function AccountLinkPage (props: { path: string, me: Me | null, onSession: (me: Me) => void, onSessionChanged: () => void }): JSX.Element {
  if (props.path === '/accept-invitation') return <AcceptInvitationPage onSession={props.onSession} />
  if (props.path === '/reset-password') return <ResetPasswordPage onSessionChanged={props.onSessionChanged} />
  return <VerifyEmailPage me={props.me} onSessionChanged={props.onSessionChanged} />
}

export function VerifyEmailBanner (props: { me: Me }): JSX.Element {
  const [delivery, setDelivery] = useState<Delivery | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const resend = (): void => {
    setBusy(true)
    setError(undefined)
    api<{ delivery: Delivery }>('POST', '/email-verification/resend').then(result => { setDelivery(result.delivery) }, setError).finally(() => { setBusy(false) })
  }
  return (
    <Notice kind="warning">
      <strong>Please verify your email.</strong> We sent a link to {props.me.user.email}; open it to confirm the address is yours.{' '}
      {delivery === undefined
        ? <button type="button" class="secondary small" disabled={busy} onClick={resend}>{busy ? 'Sending…' : 'Send the link again'}</button>
        : <span>{DELIVERY_TEXT[delivery]}</span>}
      <ErrorMessage error={error} />
    </Notice>
  )
}
