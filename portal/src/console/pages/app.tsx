// One app: suspend or resume it, issue (rotate) and revoke credentials — the secret shown
// once — its access to APIs (grant on a plan, change the plan, revoke) and its IP restriction.
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { Empty, ErrorMessage, formatDate, Heading, Link, Loading, Notice, SecretPanel, StatusBadge, useLoad } from '../../components.js'
import { adminApi, allPages, type Api, type AppDetail, type Grant, type Partner, type Plan, type Rotated } from '../admin-api.js'
import type { IpRestrictionConfig } from '../../ip-restriction.js'
import { APP_IP_RESTRICTION, PolicyCard } from '../policy-card.js'
import { confirmed, useAction, useReadOnly } from '../ui.js'

function Credentials (props: { app: AppDetail, onChange: () => void }): JSX.Element {
  const readOnly = useReadOnly()
  const [overlap, setOverlap] = useState('86400')
  const [rotated, setRotated] = useState<Rotated | undefined>(undefined)
  const action = useAction()
  const { app } = props
  const rotate = (event: Event): void => {
    event.preventDefault()
    const seconds = Number(overlap)
    const message = seconds === 0
      ? 'A new credential is issued and the current ones stop working at once: calls signed with them are refused.'
      : 'A new credential is issued; the current ones keep working for the overlap you chose, then stop.'
    action.run(confirmed(`Rotate the credentials of ${app.name}?`, message, 'Rotate credentials', async () => {
      setRotated(await adminApi<Rotated>('POST', `/apps/${app.id}/credentials`, { overlapSeconds: seconds }))
      props.onChange()
    }))
  }
  const revoke = (id: string, key: string): void => {
    action.run(confirmed(`Revoke the credential ${key}?`, `Calls signed with ${key} or its API key are refused by every gateway from now on. This cannot be undone.`, 'Revoke credential', async () => {
      await adminApi('DELETE', `/apps/${app.id}/credentials/${id}`)
      props.onChange()
    }))
  }
  return (
    <section aria-labelledby="credentials-title">
      <h2 id="credentials-title">Credentials</h2>
      {rotated !== undefined && <SecretPanel secret={rotated} onDone={() => { setRotated(undefined) }} />}
      {rotated !== undefined && rotated.previous.length > 0 && <Notice kind="info">The previous credentials stay valid until {formatDate(rotated.previous[0].expiresAt)}.</Notice>}
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Credentials of {app.name}</caption>
          <thead><tr><th scope="col">App key</th><th scope="col">API key</th><th scope="col">Status</th><th scope="col">Created</th><th scope="col">Valid until</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            {app.credentials.map(credential => (
              <tr key={credential.id} data-key={credential.key}>
                <td class="mono">{credential.key}</td>
                <td class="mono">{credential.apiKeyPrefix}…</td>
                <td><StatusBadge status={credential.status} /></td>
                <td>{formatDate(credential.createdAt)}</td>
                <td>{credential.status === 'active' ? 'no expiry' : formatDate(credential.revokedAt ?? credential.expiresAt)}</td>
                <td>{(credential.status === 'active' || credential.status === 'expiring') && <button type="button" class="danger small" disabled={readOnly || action.busy} onClick={() => { revoke(credential.id, credential.key) }}>Revoke<span class="visually-hidden"> {credential.key}</span></button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form class="inline-form" onSubmit={rotate}>
        <div class="field">
          <label for="rotate-overlap">Keep the current credentials valid for</label>
          <select id="rotate-overlap" value={overlap} onChange={event => { setOverlap(event.currentTarget.value) }}>
            <option value="3600">1 hour</option><option value="86400">24 hours</option><option value="604800">7 days</option><option value="0">no overlap (revoke them now)</option>
          </select>
        </div>
        <button type="submit" disabled={readOnly || action.busy}>{rotated === undefined && app.credentials.every(credential => credential.status === 'revoked' || credential.status === 'expired') ? 'Issue a credential' : 'Rotate credentials'}</button>
      </form>
      <ErrorMessage error={action.error} />
    </section>
  )
}

export function GrantRow (props: { grant: Grant, label: JSX.Element | string, plans: Plan[], onChange: () => void }): JSX.Element {
  const readOnly = useReadOnly()
  const action = useAction()
  const { grant } = props
  const changePlan = (planId: string): void => {
    action.run(async () => { await adminApi('PATCH', `/grants/${grant.id}`, { planId }); props.onChange() })
  }
  const revoke = (): void => {
    action.run(confirmed('Revoke this access?', 'Calls to this API from this app are refused by every gateway from now on, and its open WebSocket connections are closed.', 'Revoke access', async () => {
      await adminApi('PATCH', `/grants/${grant.id}`, { status: 'revoked' })
      props.onChange()
    }))
  }
  return (
    <tr data-grant={grant.id}>
      <td>{props.label}</td>
      <td>
        <label class="visually-hidden" for={`plan-${grant.id}`}>Plan of this grant</label>
        <select id={`plan-${grant.id}`} value={grant.planId} disabled={readOnly || action.busy} onChange={event => { changePlan(event.currentTarget.value) }}>
          {props.plans.map(plan => <option key={plan.id} value={plan.id}>{plan.name}</option>)}
        </select>
      </td>
      <td><StatusBadge status={grant.status} /></td>
      <td>{formatDate(grant.updatedAt)}</td>
      <td>
        {grant.status === 'approved' && <button type="button" class="danger small" disabled={readOnly || action.busy} onClick={revoke}>Revoke access</button>}
        <ErrorMessage error={action.error} />
      </td>
    </tr>
  )
}

function Access (props: { app: AppDetail }): JSX.Element {
  const readOnly = useReadOnly()
  const data = useLoad(async () => ({
    grants: await allPages<Grant>(`/grants?appId=${props.app.id}`),
    apis: await allPages<Api>('/apis'),
    plans: await allPages<Plan>('/plans')
  }), [props.app.id])
  const [apiId, setApiId] = useState('')
  const [planId, setPlanId] = useState('')
  const action = useAction()
  if (data.data === undefined) return data.error !== undefined ? <ErrorMessage error={data.error} /> : <Loading />
  const { grants, apis, plans } = data.data
  const apiName = (id: string): string => apis.find(api => api.id === id)?.name ?? id
  const available = apis.filter(api => !grants.some(grant => grant.apiId === api.id))
  const grant = (event: Event): void => {
    event.preventDefault()
    action.run(async () => {
      await adminApi('POST', '/grants', { appId: props.app.id, apiId: apiId !== '' ? apiId : available[0]?.id, planId: planId !== '' ? planId : plans[0]?.id })
      setApiId('')
      data.reload()
    })
  }
  return (
    <section aria-labelledby="access-title">
      <h2 id="access-title">Access to APIs</h2>
      {grants.length === 0
        ? <Empty title="No access yet" />
        : (
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Grants of {props.app.name}</caption>
              <thead><tr><th scope="col">API</th><th scope="col">Plan</th><th scope="col">Status</th><th scope="col">Changed</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
              <tbody>{grants.map(each => <GrantRow key={each.id} grant={each} label={<Link to={`/apis/${each.apiId}`}>{apiName(each.apiId)}</Link>} plans={plans} onChange={data.reload} />)}</tbody>
            </table>
          </div>
          )}
      {available.length > 0 && (
        <form class="inline-form" onSubmit={grant}>
          <div class="field"><label for="grant-api">API</label><select id="grant-api" value={apiId} onChange={event => { setApiId(event.currentTarget.value) }}>{available.map(api => <option key={api.id} value={api.id}>{api.name}</option>)}</select></div>
          <div class="field"><label for="grant-plan">Plan</label><select id="grant-plan" value={planId} onChange={event => { setPlanId(event.currentTarget.value) }}>{plans.map(plan => <option key={plan.id} value={plan.id}>{plan.name}</option>)}</select></div>
          <button type="submit" disabled={readOnly || action.busy || plans.length === 0}>Grant access</button>
        </form>
      )}
      <ErrorMessage error={action.error} />
    </section>
  )
}

function AppPolicies (props: { app: AppDetail }): JSX.Element {
  const [ipRestriction, setIpRestriction] = useState(props.app.ipRestriction)
  const save = async (config: IpRestrictionConfig | null): Promise<void> => {
    setIpRestriction((await adminApi<AppDetail>('PATCH', `/apps/${props.app.id}`, { ipRestriction: config })).ipRestriction)
  }
  return (
    <section aria-labelledby="app-policies-title">
      <h2 id="app-policies-title">Policies</h2>
      <p class="hint">The app's own, checked on every API it calls once its credentials are known. Its partner can change them in the portal too.</p>
      <PolicyCard screen={APP_IP_RESTRICTION} config={ipRestriction} subject={`the app ${props.app.name}`} save={save} />
    </section>
  )
}

export function AppPage (props: { id: string }): JSX.Element {
  const readOnly = useReadOnly()
  const detail = useLoad(async () => {
    const app = await adminApi<AppDetail>('GET', `/apps/${props.id}`)
    return { app, partner: await adminApi<Partner>('GET', `/partners/${app.partnerId}`) }
  }, [props.id])
  const action = useAction()
  if (detail.data === undefined) return detail.error !== undefined ? <ErrorMessage error={detail.error} /> : <Loading />
  const { app, partner } = detail.data
  const setStatus = (status: 'active' | 'suspended'): () => Promise<unknown> => async () => { await adminApi('PATCH', `/apps/${app.id}`, { status }); detail.reload() }
  return (
    <>
      <p class="breadcrumb"><Link to="/partners">Partners</Link> / <Link to={`/partners/${partner.id}`}>{partner.name}</Link> /</p>
      <Heading>{app.name} <StatusBadge status={app.status} /></Heading>
      <div class="button-row">
        {app.status === 'active'
          ? <button type="button" class="danger small" disabled={readOnly || action.busy} onClick={() => { action.run(confirmed(`Suspend ${app.name}?`, 'Every call of this app is refused by the gateways until you resume it.', 'Suspend app', setStatus('suspended'))) }}>Suspend app</button>
          : <button type="button" class="secondary small" disabled={readOnly || action.busy} onClick={() => { action.run(setStatus('active')) }}>Resume app</button>}
      </div>
      <ErrorMessage error={action.error} />
      <Credentials app={app} onChange={detail.reload} />
      <Access app={app} />
      <AppPolicies key={app.updatedAt} app={app} />
    </>
  )
}
