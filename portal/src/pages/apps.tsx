// My apps, and creating one (its secret is shown once).
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { api, type App, type CreatedApp, type Me } from '../api.js'
import { Empty, ErrorMessage, formatDate, Heading, Link, Loading, SecretPanel, StatusBadge, useLoad } from '../components.js'

export function AppsPage (props: { me: Me }): JSX.Element {
  const active = props.me.partner.status === 'active'
  const apps = useLoad(async () => active ? (await api<{ items: App[] }>('GET', '/apps')).items : [], [active])
  const [name, setName] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const [created, setCreated] = useState<CreatedApp | undefined>(undefined)

  const create = (event: Event): void => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    api<CreatedApp>('POST', '/apps', { name: name.trim() }).then(app => { setCreated(app); setName(''); apps.reload() }, setError).finally(() => { setBusy(false) })
  }

  return (
    <>
      <Heading>Apps</Heading>
      <p class="lead">An app holds the credentials your software signs its calls with. Each app needs access to an API before it can call it.</p>
      {created !== undefined && (
        <>
          <SecretPanel secret={created} onDone={() => { setCreated(undefined) }} />
          <p><Link to={`/apps/${created.id}`}>Open {created.name}</Link></p>
        </>
      )}
      {active && (
        <form class="inline-form card" onSubmit={create}>
          <div class="field">
            <label for="new-app-name">New app name</label>
            <input id="new-app-name" required maxLength={200} value={name} placeholder="e.g. erp-integration" onInput={event => { setName(event.currentTarget.value) }} />
          </div>
          <button type="submit" disabled={busy || name.trim() === ''}>{busy ? 'Creating…' : 'Create app'}</button>
          <ErrorMessage error={error} />
        </form>
      )}
      <ErrorMessage error={apps.error} />
      {apps.data === undefined && apps.error === undefined && <Loading />}
      {apps.data !== undefined && apps.data.length === 0 && active && <Empty title="No apps yet">Create your first app above; you will get its key and secret at once.</Empty>}
      {apps.data !== undefined && apps.data.length > 0 && (
        <ul class="cards" aria-label="Your apps">
          {apps.data.map(app => (
            <li key={app.id} class="card app-card">
              <h2><Link to={`/apps/${app.id}`}>{app.name}</Link></h2>
              <p><StatusBadge status={app.status} /> <span class="muted">created {formatDate(app.createdAt)}</span></p>
            </li>
          ))}
        </ul>
      )}
    </>
  )
}
