// Access requests (approve on a plan, reject with a reason) and every grant (change the
// plan, revoke), with the apps and partners they belong to.
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { Empty, ErrorMessage, formatDate, Heading, Link, Loading, Notice, useLoad } from '../../components.js'
import { adminApi, allPages, type Api, type App, type Grant, type Partner, type Plan } from '../admin-api.js'
import { confirmed, planSummary, useAction, useReadOnly } from '../ui.js'
import { GrantRow } from './app.js'

interface Owner { app: App, partner: Partner }

/** The app and partner of each grant, one request per distinct app and partner. */
async function loadContext (grants: Grant[]): Promise<{ owners: Map<string, Owner>, apis: Api[], plans: Plan[] }> {
  const apps = await Promise.all([...new Set(grants.map(grant => grant.appId))].map(async id => await adminApi<App>('GET', `/apps/${id}`)))
  const partners = new Map((await Promise.all([...new Set(apps.map(app => app.partnerId))].map(async id => await adminApi<Partner>('GET', `/partners/${id}`)))).map(partner => [partner.id, partner]))
  const owners = new Map(apps.map(app => [app.id, { app, partner: partners.get(app.partnerId) as Partner }]))
  return { owners, apis: await allPages<Api>('/apis'), plans: await allPages<Plan>('/plans') }
}

function OwnerLabel (props: { owner: Owner | undefined }): JSX.Element {
  if (props.owner === undefined) return <span>—</span>
  return <span><Link to={`/apps/${props.owner.app.id}`}>{props.owner.app.name}</Link> <span class="muted">of</span> <Link to={`/partners/${props.owner.partner.id}`}>{props.owner.partner.name}</Link></span>
}

function RequestCard (props: { grant: Grant, owner: Owner | undefined, api: Api | undefined, plans: Plan[], onDone: (message: string) => void }): JSX.Element {
  const readOnly = useReadOnly()
  const { grant } = props
  const [planId, setPlanId] = useState(grant.planId)
  const [reason, setReason] = useState('')
  const action = useAction()
  const apiName = props.api?.name ?? grant.apiId
  const appName = props.owner?.app.name ?? grant.appId
  const approve = (event: Event): void => {
    event.preventDefault()
    action.run(async () => {
      await adminApi('PATCH', `/grants/${grant.id}`, { status: 'approved', planId })
      props.onDone(`Approved: ${appName} may call ${apiName}.`)
    })
  }
  const reject = (): void => {
    action.run(confirmed(`Reject the request of ${appName}?`, `${appName} will not get access to ${apiName}.${reason.trim() !== '' ? ` Reason: ${reason.trim()}` : ''}`, 'Reject request', async () => {
      await adminApi('PATCH', `/grants/${grant.id}`, { status: 'rejected', ...(reason.trim() !== '' ? { reason: reason.trim() } : {}) })
      props.onDone(`Rejected the request of ${appName} for ${apiName}.`)
    }))
  }
  return (
    <li class="card" aria-label={`Request of ${appName} for ${apiName}`}>
      <h2><OwnerLabel owner={props.owner} /> → <Link to={`/apis/${grant.apiId}`}>{apiName}</Link></h2>
      <p class="muted">requested {formatDate(grant.createdAt)}</p>
      <form class="inline-form" onSubmit={approve}>
        <div class="field">
          <label for={`request-plan-${grant.id}`}>Plan</label>
          <select id={`request-plan-${grant.id}`} value={planId} onChange={event => { setPlanId(event.currentTarget.value) }}>
            {props.plans.map(plan => <option key={plan.id} value={plan.id}>{plan.name} — {planSummary(plan)}</option>)}
          </select>
        </div>
        <button type="submit" disabled={readOnly || action.busy}>Approve</button>
      </form>
      <div class="inline-form">
        <div class="field">
          <label for={`request-reason-${grant.id}`}>Reason for rejecting</label>
          <input id={`request-reason-${grant.id}`} maxLength={1000} value={reason} onInput={event => { setReason(event.currentTarget.value) }} />
        </div>
        <button type="button" class="danger" disabled={readOnly || action.busy} onClick={reject}>Reject</button>
      </div>
      <ErrorMessage error={action.error} />
    </li>
  )
}

export function AccessRequestsPage (): JSX.Element {
  const data = useLoad(async () => {
    const grants = await allPages<Grant>('/grants?status=requested')
    return { grants, ...await loadContext(grants) }
  }, [])
  const [message, setMessage] = useState<string | undefined>(undefined)
  const done = (text: string): void => { setMessage(text); data.reload() }
  return (
    <>
      <Heading>Access requests</Heading>
      <p class="lead">Partners ask for access to an API on a plan; nothing reaches the API until you approve.</p>
      {message !== undefined && <Notice kind="success">{message}</Notice>}
      <button type="button" class="secondary small" onClick={data.reload}>Refresh</button>
      <ErrorMessage error={data.error} />
      {data.data === undefined && data.error === undefined && <Loading />}
      {data.data?.grants.length === 0 && <Empty title="No open requests" />}
      {data.data !== undefined && data.data.grants.length > 0 && (
        <ul class="cards requests" aria-label="Open requests">
          {data.data.grants.map(grant => <RequestCard key={grant.id} grant={grant} owner={data.data?.owners.get(grant.appId)} api={data.data?.apis.find(api => api.id === grant.apiId)} plans={data.data?.plans ?? []} onDone={done} />)}
        </ul>
      )}
    </>
  )
}

export function GrantsPage (): JSX.Element {
  const [status, setStatus] = useState('approved')
  const data = useLoad(async () => {
    const grants = await allPages<Grant>(`/grants${status === '' ? '' : `?status=${status}`}`)
    return { grants, ...await loadContext(grants) }
  }, [status])
  return (
    <>
      <Heading>Grants</Heading>
      <div class="inline-form">
        <div class="field narrow-field">
          <label for="grant-status">Status</label>
          <select id="grant-status" value={status} onChange={event => { setStatus(event.currentTarget.value) }}>
            <option value="approved">approved</option><option value="requested">requested</option><option value="rejected">rejected</option><option value="revoked">revoked</option><option value="">any</option>
          </select>
        </div>
      </div>
      <ErrorMessage error={data.error} />
      {data.data === undefined && data.error === undefined && <Loading />}
      {data.data?.grants.length === 0 && <Empty title="No grants" />}
      {data.data !== undefined && data.data.grants.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Grants</caption>
            <thead><tr><th scope="col">App → API</th><th scope="col">Plan</th><th scope="col">Status</th><th scope="col">Changed</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {data.data.grants.map(grant => (
                <GrantRow key={grant.id} grant={grant} plans={data.data?.plans ?? []} onChange={data.reload}
                  label={<><OwnerLabel owner={data.data?.owners.get(grant.appId)} /> → {data.data?.apis.find(api => api.id === grant.apiId)?.name ?? grant.apiId}</>} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  )
}
