// Console operators: admins add colleagues (the password is generated and shown once),
// change their role and remove them.
import type { JSX } from 'preact'
import { useContext, useState } from 'preact/hooks'
import { ErrorMessage, formatDate, Heading, Loading, SecretValue, useLoad } from '../../components.js'
import { adminApi, type Operator, type Role } from '../admin-api.js'
import { confirmed, SessionContext, useAction, useReadOnly } from '../ui.js'

function OperatorRow (props: { operator: Operator, onChange: () => void }): JSX.Element {
  const readOnly = useReadOnly()
  const me = useContext(SessionContext)?.operator.id
  const action = useAction()
  const { operator } = props
  const setRole = (role: Role): void => {
    const change = async (): Promise<void> => { await adminApi('PATCH', `/operators/${operator.id}`, { role }); props.onChange() }
    action.run(role === 'viewer' ? confirmed(`Make ${operator.email} a viewer?`, `${operator.email} can no longer change anything, starting with their next request.`, 'Make viewer', change) : change)
  }
  return (
    <tr>
      <td>{operator.email}{operator.id === me ? ' (you)' : ''}</td>
      <td>
        <label class="visually-hidden" for={`role-${operator.id}`}>Role of {operator.email}</label>
        <select id={`role-${operator.id}`} value={operator.role} disabled={readOnly || action.busy} onChange={event => { setRole(event.currentTarget.value as Role) }}>
          <option value="admin">admin</option><option value="viewer">viewer</option>
        </select>
      </td>
      <td>{formatDate(operator.createdAt)}</td>
      <td>{formatDate(operator.lastLoginAt)}</td>
      <td>
        <button type="button" class="danger small" disabled={readOnly || action.busy} onClick={() => { action.run(confirmed(`Remove ${operator.email}?`, 'Their account and sessions are deleted at once.', 'Remove operator', async () => { await adminApi('DELETE', `/operators/${operator.id}`); props.onChange() })) }}>Remove<span class="visually-hidden"> {operator.email}</span></button>
        <ErrorMessage error={action.error} />
      </td>
    </tr>
  )
}

export function OperatorsPage (): JSX.Element {
  const readOnly = useReadOnly()
  const operators = useLoad(async () => (await adminApi<{ items: Operator[] }>('GET', '/operators')).items, [])
  const [email, setEmail] = useState('')
  const [role, setRole] = useState<Role>('viewer')
  const [created, setCreated] = useState<{ email: string, password: string } | undefined>(undefined)
  const create = useAction()
  const submit = (event: Event): void => {
    event.preventDefault()
    create.run(async () => {
      const result = await adminApi<Operator & { password: string }>('POST', '/operators', { email: email.trim(), role })
      setCreated({ email: result.email, password: result.password })
      setEmail('')
      operators.reload()
    })
  }
  return (
    <>
      <Heading>Operators</Heading>
      <p class="lead">People who sign in to this console. Admins change everything; viewers only look.</p>
      <ErrorMessage error={operators.error} />
      {operators.data === undefined && operators.error === undefined && <Loading />}
      {operators.data !== undefined && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Operators</caption>
            <thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Added</th><th scope="col">Last sign-in</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>{operators.data.map(operator => <OperatorRow key={operator.id} operator={operator} onChange={operators.reload} />)}</tbody>
          </table>
        </div>
      )}
      <h2>Add an operator</h2>
      {created !== undefined && (
        <section class="secret-panel" aria-label="New operator's password">
          <p class="warning-text"><strong>Give {created.email} this password now.</strong> It is shown only this once.</p>
          <SecretValue id="new-operator-password" label="Password" value={created.password} />
          <button type="button" onClick={() => { setCreated(undefined) }}>Done</button>
        </section>
      )}
      <form class="inline-form card" onSubmit={submit}>
        <div class="field"><label for="new-operator-email">Email</label><input id="new-operator-email" type="email" required value={email} onInput={event => { setEmail(event.currentTarget.value) }} /></div>
        <div class="field narrow-field">
          <label for="new-operator-role">Role</label>
          <select id="new-operator-role" value={role} onChange={event => { setRole(event.currentTarget.value as Role) }}><option value="viewer">viewer</option><option value="admin">admin</option></select>
        </div>
        <button type="submit" disabled={readOnly || create.busy}>Add operator</button>
      </form>
      <ErrorMessage error={create.error} />
    </>
  )
}
