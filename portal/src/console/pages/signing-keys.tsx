// OAuth2 token signing keys: the active one, retired ones still published, and rotation.
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { ErrorMessage, formatDate, Heading, Loading, Notice, StatusBadge, useLoad } from '../../components.js'
import { adminApi, type SigningKey } from '../admin-api.js'
import { confirmed, useAction, useReadOnly } from '../ui.js'

export function SigningKeysPage (): JSX.Element {
  const readOnly = useReadOnly()
  const keys = useLoad(async () => (await adminApi<{ items: SigningKey[] }>('GET', '/signing-keys')).items, [])
  const [rotated, setRotated] = useState<string | undefined>(undefined)
  const action = useAction()
  const rotate = confirmed('Rotate the token signing key?', 'New access tokens are signed with a new key. The current key is retired but stays published until the tokens it signed have expired, so no partner is cut off.', 'Rotate key', async () => {
    setRotated((await adminApi<{ kid: string }>('POST', '/signing-keys/rotate')).kid)
    keys.reload()
  })
  return (
    <>
      <Heading>Signing keys</Heading>
      <p class="lead">The keys that sign OAuth2 access tokens (published at <code>/.well-known/jwks.json</code>).</p>
      {rotated !== undefined && <Notice kind="success">New tokens are now signed with key <code>{rotated}</code>.</Notice>}
      <ErrorMessage error={keys.error ?? action.error} />
      {keys.data === undefined && keys.error === undefined && <Loading />}
      {keys.data !== undefined && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Signing keys</caption>
            <thead><tr><th scope="col">Key id</th><th scope="col">Algorithm</th><th scope="col">State</th><th scope="col">Created</th><th scope="col">Retired</th></tr></thead>
            <tbody>
              {keys.data.length === 0 && <tr><td colSpan={5}>No key yet: one is made with the first token.</td></tr>}
              {keys.data.map(key => <tr key={key.kid}><td class="mono">{key.kid}</td><td>{key.alg}</td><td><StatusBadge status={key.retiredAt === null ? 'active' : 'retired'} /></td><td>{formatDate(key.createdAt)}</td><td>{formatDate(key.retiredAt)}</td></tr>)}
            </tbody>
          </table>
        </div>
      )}
      <button type="button" disabled={readOnly || action.busy} onClick={() => { action.run(rotate) }}>Rotate signing key</button>
    </>
  )
}
