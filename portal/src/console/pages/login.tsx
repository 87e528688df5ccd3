// Console sign-in: email and password of an operator account.
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { ErrorMessage, Heading } from '../../components.js'
import { adminApi, type ConsoleSession } from '../admin-api.js'
import { useAction } from '../ui.js'

export function LoginPage (props: { onSession: (session: ConsoleSession) => void }): JSX.Element {
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const action = useAction()
  const submit = (event: Event): void => {
    event.preventDefault()
    action.run(async () => { props.onSession(await adminApi<ConsoleSession>('POST', '/session', { email, password })) })
  }
  return (
    <section class="card">
      <Heading>Operator sign-in</Heading>
      <form onSubmit={submit}>
        <label for="operator-email">Email</label>
        <input id="operator-email" type="email" autoComplete="username" required value={email} onInput={event => { setEmail(event.currentTarget.value) }} />
        <label for="operator-password">Password</label>
        <input id="operator-password" type="password" autoComplete="current-password" required value={password} onInput={event => { setPassword(event.currentTarget.value) }} />
        <ErrorMessage error={action.error} />
        <button type="submit" disabled={action.busy}>{action.busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
      <p class="hint">The first admin is created on the server with <code>partner-gateway operator create --email you@example.com</code>.</p>
    </section>
  )
}
