// One app: credentials (rotate, revoke), settings (rename, suspend, delete), access to APIs,
// usage against the quotas, and the addresses its credentials work from.
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { api, type AccessRequest, type AppDetail, type CatalogApi, type Me, type Rotated, type Usage } from '../api.js'
import { Empty, ErrorMessage, formatDate, Heading, Link, Loading, Notice, SecretPanel, StatusBadge, useAction, useLoad } from '../components.js'
import { ipListsDraft, IpListsFields, ipRestrictionOf, type IpRestrictionConfig } from '../ip-restriction.js'
import { navigate } from '../router.js'
import { QuotaMeter, UsageChart } from '../usage-chart.js'

function Credentials (props: { app: AppDetail, onChange: () => void }): JSX.Element {
  const [overlap, setOverlap] = useState('86400')
  const [rotated, setRotated] = useState<Rotated | undefined>(undefined)
  const action = useAction()
  const rotate = (event: Event): void => {
    event.preventDefault()
    action.run(async () => {
      setRotated(await api<Rotated>('POST', `/apps/${props.app.id}/credentials`, { overlapSeconds: Number(overlap) }))
      props.onChange()
    })
  }
  const revoke = (id: string, key: string): void => {
    if (!confirm(`Revoke the credential ${key}? Calls signed with it fail at once.`)) return
    action.run(async () => { await api('DELETE', `/apps/${props.app.id}/credentials/${id}`); props.onChange() })
  }
  return (
    <section aria-labelledby="credentials-title">
      <h2 id="credentials-title">Credentials</h2>
      {rotated !== undefined && <SecretPanel secret={rotated} onDone={() => { setRotated(undefined) }} />}
      {rotated !== undefined && rotated.previous.length > 0 && (
        <Notice kind="info">The previous credential{rotated.previous.length > 1 ? 's stay' : ' stays'} valid until {formatDate(rotated.previous[0].expiresAt)}, so that your deployed software can switch over.</Notice>
      )}
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Credentials of {props.app.name}</caption>
          <thead><tr><th scope="col">App key</th><th scope="col">API key</th><th scope="col">Status</th><th scope="col">Created</th><th scope="col">Valid until</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            {props.app.credentials.map(credential => (
              <tr key={credential.id} data-key={credential.key}>
                <td class="mono">{credential.key}</td>
                <td class="mono">{credential.apiKeyPrefix}…</td>
                <td><StatusBadge status={credential.status} /></td>
                <td>{formatDate(credential.createdAt)}</td>
                <td>{credential.status === 'active' ? 'no expiry' : formatDate(credential.revokedAt ?? credential.expiresAt)}</td>
                <td>{(credential.status === 'active' || credential.status === 'expiring') && <button type="button" class="danger small" disabled={action.busy} onClick={() => { revoke(credential.id, credential.key) }}>Revoke<span class="visually-hidden"> {credential.key}</span></button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form class="inline-form" onSubmit={rotate}>
        <div class="field">
          <label for="rotate-overlap">Keep the current credential valid for</label>
          <select id="rotate-overlap" value={overlap} onChange={event => { setOverlap(event.currentTarget.value) }}>
            <option value="3600">1 hour</option>
            <option value="86400">24 hours</option>
            <option value="604800">7 days</option>
            <option value="0">no overlap (revoke it now)</option>
          </select>
        </div>
        <button type="submit" disabled={action.busy}>Rotate credentials</button>
      </form>
      <ErrorMessage error={action.error} />
    </section>
  )
}

function Settings (props: { app: AppDetail, onChange: () => void }): JSX.Element {
  const [name, setName] = useState(props.app.name)
  const action = useAction()
  const rename = (event: Event): void => {
    event.preventDefault()
    action.run(async () => { await api('PATCH', `/apps/${props.app.id}`, { name: name.trim() }); props.onChange() })
  }
  const toggle = (): void => {
    action.run(async () => { await api('PATCH', `/apps/${props.app.id}`, { status: props.app.status === 'active' ? 'suspended' : 'active' }); props.onChange() })
  }
  const remove = (): void => {
    if (!confirm(`Delete ${props.app.name} with its credentials and access? This cannot be undone.`)) return
    action.run(async () => { await api('DELETE', `/apps/${props.app.id}`); navigate('/apps') })
  }
  return (
    <section aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <form class="inline-form" onSubmit={rename}>
        <div class="field">
          <label for="app-name">App name</label>
          <input id="app-name" required maxLength={200} value={name} onInput={event => { setName(event.currentTarget.value) }} />
        </div>
        <button type="submit" class="secondary" disabled={action.busy || name.trim() === '' || name === props.app.name}>Rename</button>
      </form>
      <div class="button-row">
        <button type="button" class="secondary" disabled={action.busy} onClick={toggle}>{props.app.status === 'active' ? 'Suspend app' : 'Resume app'}</button>
        <button type="button" class="danger" disabled={action.busy} onClick={remove}>Delete app</button>
      </div>
      <p class="hint">A suspended app's calls are refused until you resume it.</p>
      <ErrorMessage error={action.error} />
    </section>
  )
}

function IpRestriction (props: { app: AppDetail }): JSX.Element {
  const [saved, setSaved] = useState<IpRestrictionConfig | null>(props.app.ipRestriction)
  const [draft, setDraft] = useState(ipListsDraft(props.app.ipRestriction))
  const [done, setDone] = useState<string | undefined>(undefined)
  const action = useAction()
  const store = (config: IpRestrictionConfig | null, message: string): void => {
    setDone(undefined)
    action.run(async () => {
      const app = await api<AppDetail>('PATCH', `/apps/${props.app.id}`, { ipRestriction: config })
      setSaved(app.ipRestriction)
      setDraft(ipListsDraft(app.ipRestriction))
      setDone(message)
    })
  }
  const save = (event: Event): void => {
    event.preventDefault()
    store(ipRestrictionOf(draft), 'Saved: the gateways apply the lists within a few seconds.')
  }
  const remove = (): void => {
    if (!confirm(`Remove the IP restriction of ${props.app.name}? Its credentials will work from every address.`)) return
    store(null, 'Removed: the credentials work from every address.')
  }
  return (
    <section aria-labelledby="ip-restriction-title">
      <h2 id="ip-restriction-title">IP restriction</h2>
      <p class="lead">{saved === null
        ? 'The credentials of this app work from every address. Lock them to your servers, so that a leaked key is useless anywhere else.'
        : "The gateway refuses this app's calls (403 IP_NOT_ALLOWED) from addresses these lists do not admit, on every API."}
      </p>
      <form class="card" aria-label="IP restriction of this app" onSubmit={save}>
        <IpListsFields draft={draft} onChange={changed => { setDraft(changed); setDone(undefined) }} idPrefix="app-ip" disabled={action.busy} />
        <div class="button-row">
          <button type="submit" disabled={action.busy}>Save IP restriction</button>
          {saved !== null && <button type="button" class="danger" disabled={action.busy} onClick={remove}>Remove restriction</button>}
        </div>
        <ErrorMessage error={action.error} />
        {done !== undefined && <Notice kind="success">{done}</Notice>}
      </form>
    </section>
  )
}

function DoneNotice (props: { request: AccessRequest }): JSX.Element {
  return <Notice kind="success">{props.request.status === 'approved' ? `Access to ${props.request.apiName} is approved.` : `Request sent: an operator will review access to ${props.request.apiName}.`}</Notice>
}

export function RequestAccessForm (props: { appId?: string, apis: CatalogApi[], apps?: Array<{ id: string, name: string }>, apiId?: string, onDone: () => void }): JSX.Element {
  const [appId, setAppId] = useState(props.appId ?? props.apps?.[0]?.id ?? '')
  const [apiId, setApiId] = useState(props.apiId ?? props.apis[0]?.id ?? '')
  // the list shrinks once a request is made: fall back to the first API still offered
  const chosen = props.apis.find(item => item.id === apiId) ?? props.apis[0]
  const [planId, setPlanId] = useState('')
  const plan = chosen?.plans.find(item => item.id === planId) ?? chosen?.plans[0]
  const action = useAction()
  const [done, setDone] = useState<AccessRequest | undefined>(undefined)
  const submit = (event: Event): void => {
    event.preventDefault()
    action.run(async () => {
      setDone(await api<AccessRequest>('POST', '/access-requests', { appId, apiId: chosen?.id, planId: plan?.id }))
      props.onDone()
    })
  }
  if (props.apis.length === 0) return done !== undefined ? <DoneNotice request={done} /> : <Empty title={props.appId !== undefined ? 'This app has access to, or has asked for, every API in the catalog' : 'No APIs in the catalog yet'} />
  return (
    <form class="card request-form" onSubmit={submit}>
      {props.apps !== undefined && (
        <div class="field">
          <label for="request-app">App</label>
          <select id="request-app" value={appId} onChange={event => { setAppId(event.currentTarget.value) }}>{props.apps.map(app => <option key={app.id} value={app.id}>{app.name}</option>)}</select>
        </div>
      )}
      {props.apiId === undefined && (
        <div class="field">
          <label for="request-api">API</label>
          <select id="request-api" value={chosen?.id} onChange={event => { setApiId(event.currentTarget.value); setPlanId('') }}>{props.apis.map(item => <option key={item.id} value={item.id}>{item.name}</option>)}</select>
        </div>
      )}
      <div class="field">
        <label for="request-plan">Plan</label>
        <select id="request-plan" value={plan?.id ?? ''} onChange={event => { setPlanId(event.currentTarget.value) }}>
          {chosen?.plans.map(item => <option key={item.id} value={item.id}>{item.name}{item.quotaPerDay !== null ? ` — ${item.quotaPerDay.toLocaleString()} calls/day` : ''}{item.rateLimitPerSecond !== null ? `, ${item.rateLimitPerSecond}/s` : ''}</option>)}
        </select>
      </div>
      <button type="submit" disabled={action.busy || plan === undefined || appId === ''}>Request access</button>
      {chosen?.autoApprove === true && <p class="hint">This API approves requests at once.</p>}
      <ErrorMessage error={action.error} />
      {done !== undefined && <DoneNotice request={done} />}
    </form>
  )
}

function Access (props: { app: AppDetail }): JSX.Element {
  const requests = useLoad(async () => (await api<{ items: AccessRequest[] }>('GET', `/access-requests?appId=${props.app.id}`)).items, [props.app.id])
  const catalog = useLoad(async () => (await api<{ items: CatalogApi[] }>('GET', '/apis')).items, [])
  const requestable = (catalog.data ?? []).filter(item => !(requests.data ?? []).some(request => request.apiId === item.id && (request.status === 'approved' || request.status === 'requested')))
  return (
    <section aria-labelledby="access-title">
      <h2 id="access-title">API access</h2>
      <ErrorMessage error={requests.error ?? catalog.error} />
      {requests.data === undefined ? <Loading /> : requests.data.length === 0
        ? <Empty title="This app cannot call any API yet">Request access below, or browse the <Link to="/catalog">API catalog</Link>.</Empty>
        : (
          <ul class="access-list">
            {requests.data.map(request => <li key={request.id}><Link to={`/catalog/${request.apiId}`}>{request.apiName}</Link> on plan {request.planName} <StatusBadge status={request.status} /></li>)}
          </ul>
          )}
      {catalog.data !== undefined && <RequestAccessForm appId={props.app.id} apis={requestable} onDone={requests.reload} />}
    </section>
  )
}

function UsageSection (props: { app: AppDetail }): JSX.Element {
  const usage = useLoad(async () => await api<Usage>('GET', `/apps/${props.app.id}/usage`), [props.app.id])
  return (
    <section aria-labelledby="usage-title">
      <h2 id="usage-title">Usage <span class="muted small-text">last 30 days, UTC</span></h2>
      <button type="button" class="secondary small" onClick={usage.reload}>Refresh</button>
      <ErrorMessage error={usage.error} />
      {usage.data === undefined ? <Loading /> : usage.data.apis.length === 0
        ? <Empty title="No calls yet">Once the app has access to an API, its calls appear here within a minute.</Empty>
        : usage.data.apis.map(item => (
          <article key={item.apiId} class="card usage" aria-label={`Usage of ${item.apiName}`}>
            <h3>{item.apiName} {item.plan !== null && <span class="muted small-text">plan {item.plan.name}</span>}</h3>
            <div class="quota-grid">
              <QuotaMeter id={`today-${item.apiId}`} label="Today" used={item.today.calls} quota={item.plan?.quotaPerDay ?? null} />
              <QuotaMeter id={`month-${item.apiId}`} label="This month" used={item.month.calls} quota={item.plan?.quotaPerMonth ?? null} />
              <p class="rejected">Rejected today: <strong>{item.today.rejected}</strong>, this month: <strong>{item.month.rejected}</strong></p>
            </div>
            <UsageChart usage={item} />
          </article>
        ))}
    </section>
  )
}

export function AppDetailPage (props: { id: string, me: Me }): JSX.Element {
  const app = useLoad(async () => await api<AppDetail>('GET', `/apps/${props.id}`), [props.id])
  if (app.error !== undefined) return <><Heading>App</Heading><ErrorMessage error={app.error} /><p><Link to="/apps">Back to apps</Link></p></>
  if (app.data === undefined) return <Loading />
  return (
    <>
      <p class="breadcrumb"><Link to="/apps">Apps</Link> / {app.data.name}</p>
      <Heading>{app.data.name} <StatusBadge status={app.data.status} /></Heading>
      {app.data.status === 'suspended' && <Notice kind="warning">This app is suspended: the gateway refuses its calls until you resume it.</Notice>}
      <Credentials app={app.data} onChange={app.reload} />
      <Access app={app.data} />
      <UsageSection app={app.data} />
      <IpRestriction app={app.data} />
      <Settings key={app.data.name} app={app.data} onChange={app.reload} />
    </>
  )
}
