// The API catalog with its search, and each API's reference, rendered from its OpenAPI
// document, with code samples and a try-it console for one of the partner's apps.
import type { JSX } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { api, type App, type AppDetail, type CatalogApi, type CatalogApiDetail, type Me } from '../api.js'
import { CopyButton, Empty, ErrorMessage, Heading, Link, Loading, useLoad } from '../components.js'
import { groupByTag, mediaExample, operationAnchor, operations, type Json, type Operation } from '../openapi.js'
import { Downloads, OperationSecurity, ParameterTable, ResponseHeaders, SchemaView, SecuritySchemes } from '../reference.js'
import { RequestAccessForm } from './app-detail.js'
import { CodeSamples } from './code-samples.js'
import { TryIt } from './try-it.js'

const AUTH_LABELS: Record<string, string> = { hmac: 'HMAC signature', apikey: 'API key', jwt: 'OAuth2 token' }

function PlanList (props: { api: CatalogApi }): JSX.Element {
  if (props.api.plans.length === 0) return <p class="muted">No plans offered yet.</p>
  return (
    <ul class="plans">
      {props.api.plans.map(plan => (
        <li key={plan.id}><strong>{plan.name}</strong>: {plan.rateLimitPerSecond !== null ? `${plan.rateLimitPerSecond} calls/s` : 'no rate limit'}, {plan.quotaPerDay !== null ? `${plan.quotaPerDay.toLocaleString()}/day` : 'no daily quota'}{plan.quotaPerMonth !== null ? `, ${plan.quotaPerMonth.toLocaleString()}/month` : ''}</li>
      ))}
    </ul>
  )
}

// a query is sent once typing pauses
const SEARCH_DELAY_MS = 250

export function CatalogPage (_props: { me: Me }): JSX.Element {
  const [query, setQuery] = useState('')
  const [sent, setSent] = useState('')
  useEffect(() => {
    const timer = setTimeout(() => { setSent(query.trim()) }, SEARCH_DELAY_MS)
    return () => { clearTimeout(timer) }
  }, [query])
  const catalog = useLoad(async () => (await api<{ items: CatalogApi[] }>('GET', sent === '' ? '/apis' : `/apis?q=${encodeURIComponent(sent)}`)).items, [sent])
  return (
    <>
      <Heading>API catalog</Heading>
      <p class="lead">The APIs you can call through the gateway. Open one for its reference and code samples, and request access for your apps.</p>
      <form role="search" class="search" onSubmit={event => { event.preventDefault(); setSent(query.trim()) }}>
        <label for="catalog-search">Search APIs</label>
        <input id="catalog-search" type="search" value={query} placeholder="Name, description, tag, operation or path" onInput={event => { setQuery(event.currentTarget.value) }} />
      </form>
      <ErrorMessage error={catalog.error} />
      {catalog.data === undefined && catalog.error === undefined && <Loading />}
      {catalog.data?.length === 0 && sent === '' && <Empty title="No APIs are published yet">Check back later, or ask the operator.</Empty>}
      {catalog.data?.length === 0 && sent !== '' && <Empty title={`No API matches “${sent}”`}>Try fewer or other words: names, tags, paths and operation summaries are searched.</Empty>}
      {catalog.data !== undefined && sent !== '' && catalog.data.length > 0 && <p class="muted" role="status">{catalog.data.length} API{catalog.data.length === 1 ? '' : 's'} match “{sent}”</p>}
      <ul class="cards" aria-label="APIs">
        {catalog.data?.map(item => (
          <li key={item.id} class="card">
            <h2><Link to={`/catalog/${item.id}`}>{item.name}</Link></h2>
            {item.description !== '' && <p>{item.description}</p>}
            {item.tags.length > 0 && <p class="tags" aria-label="Tags">{item.tags.map(tag => <span key={tag} class="tag">{tag}</span>)}</p>}
            {item.matches !== undefined && item.matches.length > 0 && (
              <ul class="matches" aria-label={`Matching operations of ${item.name}`}>
                {item.matches.map(match => (
                  <li key={`${match.method} ${match.path}`}><Link to={`/catalog/${item.id}#${operationAnchor(match.method, match.path)}`}><span class={`method method-${match.method.toLowerCase()}`}>{match.method}</span> <code>{match.path}</code></Link>{match.summary !== '' && <span class="muted"> {match.summary}</span>}</li>
                ))}
              </ul>
            )}
            <p class="muted">Authentication: {item.auth.map(mode => AUTH_LABELS[mode] ?? mode).join(', ')}{item.autoApprove ? ' · access approved at once' : ' · access approved by an operator'}</p>
            <PlanList api={item} />
          </li>
        ))}
      </ul>
    </>
  )
}

function Example (props: { value: unknown, label: string }): JSX.Element | null {
  if (props.value === undefined) return null
  const text = typeof props.value === 'string' ? props.value : JSON.stringify(props.value, null, 2)
  return <div class="code-block"><div class="code-head"><span>{props.label}</span><CopyButton text={text} label={props.label} /></div><pre><code>{text}</code></pre></div>
}

function OperationView (props: { document: Json, operation: Operation, baseUrl: string, appKey: string | undefined, auth: string[] }): JSX.Element {
  const { document, operation } = props
  const requestJson = operation.requestBody?.content?.['application/json'] as Json | undefined
  return (
    <article class={`operation card${operation.deprecated ? ' deprecated' : ''}`} id={operation.id} aria-labelledby={`${operation.id}-title`}>
      <h3 id={`${operation.id}-title`}><span class={`method method-${operation.method.toLowerCase()}`}>{operation.method}</span> <code>{operation.path}</code>{operation.deprecated && <span class="badge badge-deprecated">deprecated</span>}</h3>
      {operation.summary !== '' && <p><strong>{operation.summary}</strong></p>}
      {operation.description !== '' && <p>{operation.description}</p>}
      {operation.operationId !== undefined && <p class="muted small-text">Operation id: <code>{operation.operationId}</code></p>}
      <OperationSecurity operation={operation} />
      {operation.parameters.length > 0 && <ParameterTable document={document} parameters={operation.parameters} />}
      {operation.requestBody !== undefined && (
        <section>
          <h4>Request body {operation.requestBody.required === true ? '(required)' : ''}</h4>
          {operation.requestBody.description !== undefined && <p>{operation.requestBody.description}</p>}
          {Object.entries((operation.requestBody.content ?? {}) as Json).map(([type, media]) => (
            <div key={type}><p class="muted">{type}</p><SchemaView document={document} schema={(media as Json).schema} /></div>
          ))}
          <Example value={mediaExample(document, requestJson)} label="Example request body" />
        </section>
      )}
      <section>
        <h4>Responses</h4>
        <dl class="responses">
          {operation.responses.map(([status, response]) => {
            const json = response.content?.['application/json'] as Json | undefined
            const others = Object.entries((response.content ?? {}) as Json).filter(([type]) => type !== 'application/json')
            return (
              <div key={status}>
                <dt><code>{status}</code> {response.description}</dt>
                <dd>
                  <ResponseHeaders document={document} headers={response.headers} status={status} />
                  {json?.schema !== undefined && <SchemaView document={document} schema={json.schema} />}
                  {others.map(([type, media]) => <div key={type}><p class="muted">{type}</p>{(media as Json).schema !== undefined && <SchemaView document={document} schema={(media as Json).schema} />}</div>)}
                  <Example value={mediaExample(document, json)} label={`Example ${status} response`} />
                </dd>
              </div>
            )
          })}
        </dl>
      </section>
      <details>
        <summary>Try it</summary>
        <TryIt document={document} operation={operation} baseUrl={props.baseUrl} appKey={props.appKey} auth={props.auth} />
      </details>
      <details>
        <summary>Code samples</summary>
        <CodeSamples document={document} operation={operation} baseUrl={props.baseUrl} appKey={props.appKey ?? 'YOUR_APP_KEY'} auth={props.auth} />
      </details>
    </article>
  )
}

/** The server partners call: the served document names the gateway (with the API's route prefix). */
function serverUrl (document: Json | null, gatewayUrl: string): string {
  const url = document?.servers?.[0]?.url
  return typeof url === 'string' ? url : gatewayUrl
}

export function ApiReferencePage (props: { id: string, me: Me }): JSX.Element {
  const active = props.me.partner.status === 'active'
  const detail = useLoad(async () => await api<CatalogApiDetail>('GET', `/apis/${props.id}`), [props.id])
  const apps = useLoad(async () => active ? (await api<{ items: App[] }>('GET', '/apps')).items : [], [active])
  const [appId, setAppId] = useState('')
  const chosenApp = apps.data?.find(app => app.id === appId) ?? apps.data?.[0]
  const keys = useLoad(async () => chosenApp === undefined ? undefined : await api<AppDetail>('GET', `/apps/${chosenApp.id}`), [chosenApp?.id])
  const appKey = keys.data?.credentials.find(credential => credential.status === 'active')?.key
  const loaded = detail.data !== undefined
  // a link from the search names an operation: show it once the reference is there
  useEffect(() => {
    if (loaded && location.hash.length > 1) document.getElementById(decodeURIComponent(location.hash.slice(1)))?.scrollIntoView()
  }, [loaded])
  if (detail.error !== undefined) return <><Heading>API</Heading><ErrorMessage error={detail.error} /></>
  if (detail.data === undefined) return <Loading />
  const openapi = detail.data.openapi as Json | null
  const auth = detail.data.auth
  const ops = openapi !== null ? operations(openapi) : []
  const groups = openapi !== null ? groupByTag(openapi, ops) : []
  const baseUrl = serverUrl(openapi, props.me.gatewayUrl)
  return (
    <>
      <p class="breadcrumb"><Link to="/catalog">API catalog</Link> / {detail.data.name}</p>
      <Heading>{detail.data.name}</Heading>
      {detail.data.description !== '' && <p class="lead">{detail.data.description}</p>}
      <section aria-labelledby="overview-title" class="card">
        <h2 id="overview-title">Overview</h2>
        <p>Base URL: <code>{baseUrl}</code>{typeof openapi?.info?.version === 'string' && <span class="muted"> · version {openapi.info.version}</span>}</p>
        <p>Authentication: {detail.data.auth.map(mode => AUTH_LABELS[mode] ?? mode).join(', ')}</p>
        {openapi !== null && <Downloads apiId={detail.data.id} />}
        <PlanList api={detail.data} />
        {active && apps.data !== undefined && apps.data.length > 0 && <RequestAccessForm apis={[detail.data]} apiId={detail.data.id} apps={apps.data} onDone={() => {}} />}
        {active && apps.data?.length === 0 && <p><Link to="/apps">Create an app</Link> to request access.</p>}
      </section>
      {openapi !== null && <SecuritySchemes document={openapi} />}
      <section aria-labelledby="reference-title">
        <h2 id="reference-title">Reference</h2>
        {apps.data !== undefined && apps.data.length > 0 && (
          <div class="field narrow-field">
            <label for="snippet-app">Code samples and try-it use the key of</label>
            <select id="snippet-app" value={chosenApp?.id} onChange={event => { setAppId(event.currentTarget.value) }}>{apps.data.map(app => <option key={app.id} value={app.id}>{app.name}</option>)}</select>
          </div>
        )}
        {openapi === null
          ? <Empty title="No reference for this API">The operator registered it without an OpenAPI document.</Empty>
          : ops.length === 0
            ? <Empty title="The document lists no operations" />
            : (
              <>
                <nav aria-label="Operations" class="toc">
                  {groups.map(group => (
                    <div key={group.tag}>
                      {group.tag !== '' && <p class="toc-group">{group.tag}</p>}
                      <ul>{group.operations.map(operation => <li key={operation.id}><a href={`#${operation.id}`}><span class={`method method-${operation.method.toLowerCase()}`}>{operation.method}</span> {operation.path}</a></li>)}</ul>
                    </div>
                  ))}
                </nav>
                {groups.map(group => (
                  <section key={group.tag} class="tag-group" aria-label={group.tag !== '' ? `Tag ${group.tag}` : 'Other operations'}>
                    {group.tag !== '' && <h3 class="tag-title">{group.tag}</h3>}
                    {group.description !== '' && <p class="muted">{group.description}</p>}
                    {group.operations.map(operation => <OperationView key={operation.id} document={openapi} operation={operation} baseUrl={baseUrl} appKey={appKey} auth={auth} />)}
                  </section>
                ))}
              </>
              )}
      </section>
    </>
  )
}
