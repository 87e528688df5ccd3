// Sign-up and log-in forms.
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { api, type Me } from '../api.js'
import { ErrorMessage, Heading, Link } from '../components.js'

export function useForm (submit: () => Promise<void>): { busy: boolean, error: unknown, onSubmit: (event: Event) => void } {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const onSubmit = (event: Event): void => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    submit().catch(setError).finally(() => { setBusy(false) })
  }
  return { busy, error, onSubmit }
}

export function LoginPage (props: { onSession: (me: Me) => void }): JSX.Element {
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const form = useForm(async () => { props.onSession(await api<Me>('POST', '/login', { email, password })) })
  return (
    <section class="card">
      <Heading>Log in</Heading>
      <form onSubmit={form.onSubmit} aria-describedby={form.error !== undefined ? 'login-error' : undefined}>
        <label for="login-email">Email</label>
        <input id="login-email" name="email" type="email" autoComplete="username" required value={email} onInput={event => { setEmail(event.currentTarget.value) }} />
        <label for="login-password">Password</label>
        <input id="login-password" name="password" type="password" autoComplete="current-password" required value={password} onInput={event => { setPassword(event.currentTarget.value) }} />
        <div id="login-error"><ErrorMessage error={form.error} /></div>
        <button type="submit" disabled={form.busy}>{form.busy ? 'Logging in…' : 'Log in'}</button>
      </form>
      <p><Link to="/forgot-password">Forgot your password?</Link></p>
      <p>New here? <Link to="/signup">Create a partner account</Link></p>
    </section>
  )
}

export function SignupPage (props: { onSession: (me: Me) => void }): JSX.Element {
  const [companyName, setCompanyName] = useState('')
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const form = useForm(async () => { props.onSession(await api<Me>('POST', '/signup', { companyName, email, password })) })
  return (
    <section class="card">
      <Heading>Create a partner account</Heading>
      <form onSubmit={form.onSubmit}>
        <label for="signup-company">Company name</label>
        <input id="signup-company" name="companyName" autoComplete="organization" required maxLength={200} value={companyName} onInput={event => { setCompanyName(event.currentTarget.value) }} />
        <label for="signup-email">Work email</label>
        <input id="signup-email" name="email" type="email" autoComplete="email" required value={email} onInput={event => { setEmail(event.currentTarget.value) }} />
        <label for="signup-password">Password</label>
        <input id="signup-password" name="password" type="password" autoComplete="new-password" required minLength={10} maxLength={200} aria-describedby="signup-password-hint" value={password} onInput={event => { setPassword(event.currentTarget.value) }} />
        <p id="signup-password-hint" class="hint">At least 10 characters.</p>
        <ErrorMessage error={form.error} />
        <button type="submit" disabled={form.busy}>{form.busy ? 'Creating account…' : 'Sign up'}</button>
      </form>
      <p>Already have an account? <Link to="/login">Log in</Link></p>
    </section>
  )
}
