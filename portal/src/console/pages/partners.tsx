// Partners: search, approve, suspend; one partner's apps (create one with access on a plan)
// and portal users.
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { Empty, ErrorMessage, formatDate, Heading, Link, Loading, SecretPanel, StatusBadge, useLoad } from '../../components.js'
import { adminApi, allPages, type Api, type App, type CreatedApp, type Partner, type PartnerUser, type Plan } from '../admin-api.js'
import { confirmed, useAction, useReadOnly } from '../ui.js'

type Status = Partner['status']

/** Approve, suspend or resume; suspending asks first, since every app of the partner stops working. */
function StatusActions (props: { partner: Partner, onChange: (partner: Partner) => void }): JSX.Element {
  const readOnly = useReadOnly()
  const action = useAction()
  const { partner } = props
  const set = (status: Status): () => Promise<unknown> => async () => { props.onChange(await adminApi<Partner>('PATCH', `/partners/${partner.id}`, { status })) }
  return (
    <span class="button-row">
      {partner.status === 'pending' && <button type="button" class="small" disabled={readOnly || action.busy} onClick={() => { action.run(set('active')) }}>Approve<span class="visually-hidden"> {partner.name}</span></button>}
      {partner.status !== 'suspended' && (
        <button type="button" class="danger small" disabled={readOnly || action.busy} onClick={() => { action.run(confirmed(`Suspend ${partner.name}?`, `Every app of ${partner.name} is refused by the gateways at once, and its users cannot change anything in the portal until you resume it.`, 'Suspend partner', set('suspended'))) }}>
          Suspend<span class="visually-hidden"> {partner.name}</span>
        </button>
      )}
      {partner.status === 'suspended' && <button type="button" class="secondary small" disabled={readOnly || action.busy} onClick={() => { action.run(set('active')) }}>Resume<span class="visually-hidden"> {partner.name}</span></button>}
      <ErrorMessage error={action.error} />
    </span>
  )
}

export function PartnersPage (): JSX.Element {
  const readOnly = useReadOnly()
  const [query, setQuery] = useState('')
  const [status, setStatus] = useState('')
  const [search, setSearch] = useState({ query: '', status: '' })
  const partners = useLoad(async () => {
    const parameters = new URLSearchParams()
    if (search.query.trim() !== '') parameters.set('q', search.query.trim())
    if (search.status !== '') parameters.set('status', search.status)
    return await allPages<Partner>(`/partners?${parameters.toString()}`)
  }, [search])
  const [name, setName] = useState('')
  const [email, setEmail] = useState('')
  const create = useAction()

  return (
    <>
      <Heading>Partners</Heading>
      <form class="inline-form card" role="search" onSubmit={event => { event.preventDefault(); setSearch({ query, status }) }}>
        <div class="field">
          <label for="partner-search">Search by name or email</label>
          <input id="partner-search" type="search" value={query} onInput={event => { setQuery(event.currentTarget.value) }} />
        </div>
        <div class="field narrow-field">
          <label for="partner-status">Status</label>
          <select id="partner-status" value={status} onChange={event => { setStatus(event.currentTarget.value) }}>
            <option value="">any</option><option value="pending">pending approval</option><option value="active">active</option><option value="suspended">suspended</option>
          </select>
        </div>
        <button type="submit">Search</button>
      </form>
      <ErrorMessage error={partners.error} />
      {partners.data === undefined && partners.error === undefined && <Loading />}
      {partners.data?.length === 0 && <Empty title="No partners match" />}
      {partners.data !== undefined && partners.data.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Partners</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Status</th><th scope="col">Since</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {partners.data.map(partner => (
                <tr key={partner.id} data-partner={partner.name}>
                  <td><Link to={`/partners/${partner.id}`}>{partner.name}</Link></td>
                  <td>{partner.email ?? '—'}</td>
                  <td><StatusBadge status={partner.status} /></td>
                  <td>{formatDate(partner.createdAt)}</td>
                  <td><StatusActions partner={partner} onChange={partners.reload} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>New partner</h2>
      <form class="inline-form card" onSubmit={event => { event.preventDefault(); create.run(async () => { await adminApi('POST', '/partners', { name: name.trim(), ...(email.trim() !== '' ? { email: email.trim() } : {}) }); setName(''); setEmail(''); partners.reload() }) }}>
        <div class="field"><label for="new-partner-name">Company name</label><input id="new-partner-name" required maxLength={200} value={name} onInput={event => { setName(event.currentTarget.value) }} /></div>
        <div class="field"><label for="new-partner-email">Contact email</label><input id="new-partner-email" type="email" value={email} onInput={event => { setEmail(event.currentTarget.value) }} /></div>
        <button type="submit" disabled={readOnly || create.busy}>Create partner</button>
        <ErrorMessage error={create.error} />
      </form>
    </>
  )
}

function CreateApp (props: { partner: Partner, onCreated: () => void }): JSX.Element {
  const readOnly = useReadOnly()
  const options = useLoad(async () => ({ apis: await allPages<Api>('/apis'), plans: await allPages<Plan>('/plans') }), [])
  const [name, setName] = useState('')
  const [apiId, setApiId] = useState('')
  const [planId, setPlanId] = useState('')
  const [created, setCreated] = useState<CreatedApp | undefined>(undefined)
  const action = useAction()
  const submit = (event: Event): void => {
    event.preventDefault()
    action.run(async () => {
      const app = await adminApi<CreatedApp>('POST', `/partners/${props.partner.id}/apps`, { name: name.trim() })
      setCreated(app)
      setName('')
      try {
        if (apiId !== '') await adminApi('POST', '/grants', { appId: app.id, apiId, planId: planId !== '' ? planId : options.data?.plans[0]?.id })
      } finally {
        props.onCreated()
      }
    })
  }
  return (
    <section aria-labelledby="create-app-title">
      <h2 id="create-app-title">Create an app</h2>
      {created !== undefined && (
        <>
          <SecretPanel secret={created} onDone={() => { setCreated(undefined) }} />
          <p><Link to={`/apps/${created.id}`}>Open {created.name}</Link></p>
        </>
      )}
      <form class="inline-form card" onSubmit={submit}>
        <div class="field"><label for="new-app-name">App name</label><input id="new-app-name" required maxLength={200} value={name} onInput={event => { setName(event.currentTarget.value) }} /></div>
        <div class="field">
          <label for="new-app-api">Access to API</label>
          <select id="new-app-api" value={apiId} onChange={event => { setApiId(event.currentTarget.value) }}>
            <option value="">none yet</option>
            {options.data?.apis.map(api => <option key={api.id} value={api.id}>{api.name}</option>)}
          </select>
        </div>
        <div class="field">
          <label for="new-app-plan">On plan</label>
          <select id="new-app-plan" value={planId} disabled={apiId === ''} onChange={event => { setPlanId(event.currentTarget.value) }}>
            {options.data?.plans.map(plan => <option key={plan.id} value={plan.id}>{plan.name}</option>)}
          </select>
        </div>
        <button type="submit" disabled={readOnly || action.busy || name.trim() === '' || (apiId !== '' && options.data?.plans.length === 0)}>Create app</button>
      </form>
      <ErrorMessage error={action.error ?? options.error} />
    </section>
  )
}

export function PartnerPage (props: { id: string }): JSX.Element {
  const detail = useLoad(async () => ({
    partner: await adminApi<Partner>('GET', `/partners/${props.id}`),
    apps: await allPages<App>(`/partners/${props.id}/apps`),
    users: (await adminApi<{ items: PartnerUser[] }>('GET', `/partners/${props.id}/users`)).items
  }), [props.id])
  if (detail.data === undefined) return detail.error !== undefined ? <ErrorMessage error={detail.error} /> : <Loading />
  const { partner, apps, users } = detail.data
  return (
    <>
      <p class="breadcrumb"><Link to="/partners">Partners</Link> /</p>
      <Heading>{partner.name} <StatusBadge status={partner.status} /></Heading>
      <p class="lead">{partner.email ?? 'no contact email'} · partner since {formatDate(partner.createdAt)}</p>
      <StatusActions partner={partner} onChange={detail.reload} />
      <h2>Apps</h2>
      {apps.length === 0
        ? <Empty title="No apps yet" />
        : (
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Apps of {partner.name}</caption>
              <thead><tr><th scope="col">App</th><th scope="col">Status</th><th scope="col">Created</th></tr></thead>
              <tbody>{apps.map(app => <tr key={app.id}><td><Link to={`/apps/${app.id}`}>{app.name}</Link></td><td><StatusBadge status={app.status} /></td><td>{formatDate(app.createdAt)}</td></tr>)}</tbody>
            </table>
          </div>
          )}
      <CreateApp partner={partner} onCreated={detail.reload} />
      <h2>Portal users</h2>
      {users.length === 0
        ? <Empty title="No portal users">Partners created by an operator have no portal users until someone signs up.</Empty>
        : (
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Portal users of {partner.name}</caption>
              <thead><tr><th scope="col">Email</th><th scope="col">Signed up</th><th scope="col">Last log-in</th></tr></thead>
              <tbody>{users.map(user => <tr key={user.id}><td>{user.email}</td><td>{formatDate(user.createdAt)}</td><td>{formatDate(user.lastLoginAt)}</td></tr>)}</tbody>
            </table>
          </div>
          )}
    </>
  )
}
