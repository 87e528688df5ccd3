// The API catalog and each API's reference, rendered from its OpenAPI document, with code
// samples and a try-it console for one of the partner's apps.
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { api, type App, type AppDetail, type CatalogApi, type CatalogApiDetail, type Me } from '../api.js'
import { CopyButton, Empty, ErrorMessage, Heading, Link, Loading, useLoad } from '../components.js'
import { mediaExample, operations, resolve, typeLabel, type Json, type Operation } from '../openapi.js'
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

export function CatalogPage (_props: { me: Me }): JSX.Element {
  const catalog = useLoad(async () => (await api<{ items: CatalogApi[] }>('GET', '/apis')).items, [])
  return (
    <>
      <Heading>API catalog</Heading>
      <p class="lead">The APIs you can call through the gateway. Open one for its reference and code samples, and request access for your apps.</p>
      <ErrorMessage error={catalog.error} />
      {catalog.data === undefined && catalog.error === undefined && <Loading />}
      {catalog.data?.length === 0 && <Empty title="No APIs are published yet">Check back later, or ask the operator.</Empty>}
      <ul class="cards" aria-label="APIs">
        {catalog.data?.map(item => (
          <li key={item.id} class="card">
            <h2><Link to={`/catalog/${item.id}`}>{item.name}</Link></h2>
            {item.description !== '' && <p>{item.description}</p>}
            <p class="muted">Authentication: {item.auth.map(mode => AUTH_LABELS[mode] ?? mode).join(', ')}{item.autoApprove ? ' · access approved at once' : ' · access approved by an operator'}</p>
            <PlanList api={item} />
          </li>
        ))}
      </ul>
    </>
  )
}

function SchemaView (props: { document: Json, schema: any, depth?: number }): JSX.Element {
  const schema = resolve(props.document, props.schema) as Json | undefined
  const depth = props.depth ?? 0
  if (schema === undefined) return <span>any</span>
  const properties = schema.type === 'array' ? (resolve(props.document, schema.items) as Json | undefined)?.properties : schema.properties
  const required: string[] = (schema.type === 'array' ? (resolve(props.document, schema.items) as Json | undefined)?.required : schema.required) ?? []
  if (properties === undefined || depth > 4) return <span class="type">{typeLabel(props.document, schema)}</span>
  return (
    <div class="schema">
      <span class="type">{typeLabel(props.document, schema)}</span>
      <ul>
        {Object.entries(properties as Json).map(([name, property]) => {
          const resolved = resolve(props.document, property) as Json
          return (
            <li key={name}>
              <code>{name}</code>{required.includes(name) ? <span class="required"> required</span> : null}{' '}
              <SchemaView document={props.document} schema={property} depth={depth + 1} />
              {resolved.description !== undefined && <span class="muted"> — {resolved.description}</span>}
            </li>
          )
        })}
      </ul>
    </div>
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
    <article class="operation card" id={operation.id} aria-labelledby={`${operation.id}-title`}>
      <h3 id={`${operation.id}-title`}><span class={`method method-${operation.method.toLowerCase()}`}>{operation.method}</span> <code>{operation.path}</code>{operation.deprecated && <span class="badge"> deprecated</span>}</h3>
      {operation.summary !== '' && <p><strong>{operation.summary}</strong></p>}
      {operation.description !== '' && <p>{operation.description}</p>}
      {operation.parameters.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption>Parameters</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">In</th><th scope="col">Type</th><th scope="col">Required</th><th scope="col">Description</th></tr></thead>
            <tbody>{operation.parameters.map(parameter => <tr key={`${parameter.in as string}:${parameter.name as string}`}><td><code>{parameter.name}</code></td><td>{parameter.in}</td><td>{typeLabel(document, parameter.schema)}</td><td>{parameter.required === true ? 'yes' : 'no'}</td><td>{parameter.description ?? ''}</td></tr>)}</tbody>
          </table>
        </div>
      )}
      {operation.requestBody !== undefined && (
        <section>
          <h4>Request body {operation.requestBody.required === true ? '(required)' : ''}</h4>
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
            return (
              <div key={status}>
                <dt><code>{status}</code> {response.description}</dt>
                <dd>{json?.schema !== undefined && <SchemaView document={document} schema={json.schema} />}<Example value={mediaExample(document, json)} label={`Example ${status} response`} /></dd>
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

export function ApiReferencePage (props: { id: string, me: Me }): JSX.Element {
  const active = props.me.partner.status === 'active'
  const detail = useLoad(async () => await api<CatalogApiDetail>('GET', `/apis/${props.id}`), [props.id])
  const apps = useLoad(async () => active ? (await api<{ items: App[] }>('GET', '/apps')).items : [], [active])
  const [appId, setAppId] = useState('')
  const chosenApp = apps.data?.find(app => app.id === appId) ?? apps.data?.[0]
  const keys = useLoad(async () => chosenApp === undefined ? undefined : await api<AppDetail>('GET', `/apps/${chosenApp.id}`), [chosenApp?.id])
  const appKey = keys.data?.credentials.find(credential => credential.status === 'active')?.key
  if (detail.error !== undefined) return <><Heading>API</Heading><ErrorMessage error={detail.error} /></>
  if (detail.data === undefined) return <Loading />
  const document = detail.data.openapi
  const auth = detail.data.auth
  const ops = document !== null ? operations(document) : []
  return (
    <>
      <p class="breadcrumb"><Link to="/catalog">API catalog</Link> / {detail.data.name}</p>
      <Heading>{detail.data.name}</Heading>
      {detail.data.description !== '' && <p class="lead">{detail.data.description}</p>}
      <section aria-labelledby="overview-title" class="card">
        <h2 id="overview-title">Overview</h2>
        <p>Base URL: <code>{props.me.gatewayUrl}</code></p>
        <p>Authentication: {detail.data.auth.map(mode => AUTH_LABELS[mode] ?? mode).join(', ')}</p>
        <PlanList api={detail.data} />
        {active && apps.data !== undefined && apps.data.length > 0 && <RequestAccessForm apis={[detail.data]} apiId={detail.data.id} apps={apps.data} onDone={() => {}} />}
        {active && apps.data?.length === 0 && <p><Link to="/apps">Create an app</Link> to request access.</p>}
      </section>
      <section aria-labelledby="reference-title">
        <h2 id="reference-title">Reference</h2>
        {apps.data !== undefined && apps.data.length > 0 && (
          <div class="field narrow-field">
            <label for="snippet-app">Code samples and try-it use the key of</label>
            <select id="snippet-app" value={chosenApp?.id} onChange={event => { setAppId(event.currentTarget.value) }}>{apps.data.map(app => <option key={app.id} value={app.id}>{app.name}</option>)}</select>
          </div>
        )}
        {document === null
          ? <Empty title="No reference for this API">The operator registered it without an OpenAPI document.</Empty>
          : ops.length === 0
            ? <Empty title="The document lists no operations" />
            : (
              <>
                <nav aria-label="Operations" class="toc"><ul>{ops.map(operation => <li key={operation.id}><a href={`#${operation.id}`}><span class={`method method-${operation.method.toLowerCase()}`}>{operation.method}</span> {operation.path}</a></li>)}</ul></nav>
                {ops.map(operation => <OperationView key={operation.id} document={document} operation={operation} baseUrl={props.me.gatewayUrl} appKey={appKey} auth={auth} />)}
              </>
              )}
      </section>
    </>
  )
}
