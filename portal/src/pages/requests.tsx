// Every access request of the partner's apps, with its status.
import type { JSX } from 'preact'
import { api, type AccessRequest, type App, type CatalogApi, type Me } from '../api.js'
import { Empty, ErrorMessage, formatDate, Heading, Link, Loading, StatusBadge, useLoad } from '../components.js'
import { RequestAccessForm } from './app-detail.js'

const STATUS_HELP: Record<string, string> = {
  requested: 'waiting for an operator',
  approved: 'the app can call this API',
  rejected: 'an operator declined; you can ask again',
  revoked: 'an operator withdrew the access'
}

export function RequestsPage (props: { me: Me }): JSX.Element {
  const active = props.me.partner.status === 'active'
  const requests = useLoad(async () => active ? (await api<{ items: AccessRequest[] }>('GET', '/access-requests')).items : [], [active])
  const apps = useLoad(async () => active ? (await api<{ items: App[] }>('GET', '/apps')).items : [], [active])
  const catalog = useLoad(async () => (await api<{ items: CatalogApi[] }>('GET', '/apis')).items, [])
  return (
    <>
      <Heading>Access requests</Heading>
      <p class="lead">Your apps' requests to call APIs, and their status.</p>
      <ErrorMessage error={requests.error ?? apps.error ?? catalog.error} />
      {active && apps.data !== undefined && apps.data.length > 0 && catalog.data !== undefined && (
        <section aria-labelledby="new-request-title">
          <h2 id="new-request-title">New request</h2>
          <RequestAccessForm apis={catalog.data} apps={apps.data} onDone={requests.reload} />
        </section>
      )}
      {active && apps.data?.length === 0 && <Empty title="You have no apps yet"><Link to="/apps">Create an app</Link> first, then request access for it.</Empty>}
      {requests.data === undefined && requests.error === undefined && <Loading />}
      {requests.data !== undefined && requests.data.length === 0 && apps.data !== undefined && apps.data.length > 0 && <Empty title="No access requests yet">Choose an app, an API and a plan above.</Empty>}
      {requests.data !== undefined && requests.data.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Access requests</caption>
            <thead><tr><th scope="col">App</th><th scope="col">API</th><th scope="col">Plan</th><th scope="col">Status</th><th scope="col">Updated</th></tr></thead>
            <tbody>
              {requests.data.map(request => (
                <tr key={request.id}>
                  <td><Link to={`/apps/${request.appId}`}>{request.appName}</Link></td>
                  <td><Link to={`/catalog/${request.apiId}`}>{request.apiName}</Link></td>
                  <td>{request.planName}</td>
                  <td><StatusBadge status={request.status} /> <span class="muted small-text">{STATUS_HELP[request.status]}</span></td>
                  <td>{formatDate(request.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <button type="button" class="secondary small" onClick={requests.reload}>Refresh</button>
    </>
  )
}
