// APIs: create one on an upstream target, import one from an OpenAPI file picked in the
// browser, and one API's routes, plans, upstream targets and policies.
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { parse as parseYaml } from 'yaml'
import { Empty, ErrorMessage, formatDate, Heading, Link, Loading, Notice, useLoad } from '../../components.js'
import { navigate } from '../../router.js'
import { adminApi, allPages, type Api, type Plan, type Upstream } from '../admin-api.js'
import { confirmed, useAction, useReadOnly } from '../ui.js'
import { ApiPolicySection } from './api-policies.js'
import { TargetHealth } from './target-health.js'

const AUTH_MODES: Array<[string, string]> = [['hmac', 'HMAC signature'], ['apikey', 'API key'], ['jwt', 'OAuth2 token']]

function AuthChoice (props: { value: string[], onChange: (value: string[]) => void, idPrefix: string }): JSX.Element {
  return (
    <fieldset class="field checkboxes">
      <legend>Authentication</legend>
      {AUTH_MODES.map(([mode, label]) => (
        <label key={mode} class="checkbox" for={`${props.idPrefix}-${mode}`}>
          <input id={`${props.idPrefix}-${mode}`} type="checkbox" checked={props.value.includes(mode)} onChange={event => { props.onChange(event.currentTarget.checked ? [...props.value, mode] : props.value.filter(each => each !== mode)) }} /> {label}
        </label>
      ))}
    </fieldset>
  )
}

function PlanChoice (props: { plans: Plan[], value: string[], onChange: (value: string[]) => void, idPrefix: string }): JSX.Element {
  return (
    <fieldset class="field checkboxes">
      <legend>Plans partners may request <span class="small-text muted">(none ticked: every plan)</span></legend>
      {props.plans.map(plan => (
        <label key={plan.id} class="checkbox" for={`${props.idPrefix}-${plan.id}`}>
          <input id={`${props.idPrefix}-${plan.id}`} type="checkbox" checked={props.value.includes(plan.id)} onChange={event => { props.onChange(event.currentTarget.checked ? [...props.value, plan.id] : props.value.filter(each => each !== plan.id)) }} /> {plan.name}
        </label>
      ))}
    </fieldset>
  )
}

function CreateApi (props: { plans: Plan[], onCreated: (api: { id: string }) => void }): JSX.Element {
  const readOnly = useReadOnly()
  const [name, setName] = useState('')
  const [target, setTarget] = useState('')
  const [path, setPath] = useState('')
  const [stripPrefix, setStripPrefix] = useState(false)
  const [auth, setAuth] = useState(['hmac', 'apikey'])
  const [planIds, setPlanIds] = useState<string[]>([])
  const action = useAction()
  const submit = (event: Event): void => {
    event.preventDefault()
    action.run(async () => {
      const upstream = await adminApi<Upstream>('POST', '/upstreams', { name: `${name.trim()} upstream`, targets: [{ url: target.trim(), weight: 1 }] })
      props.onCreated(await adminApi<Api>('POST', '/apis', { name: name.trim(), upstreamId: upstream.id, auth, routes: [{ path: path.trim(), stripPrefix }], planIds }))
    })
  }
  return (
    <form class="card stacked-form" onSubmit={submit} aria-labelledby="create-api-title">
      <h2 id="create-api-title">New API</h2>
      <label for="api-name">Name</label><input id="api-name" required maxLength={200} value={name} onInput={event => { setName(event.currentTarget.value) }} />
      <label for="api-target">Upstream target URL</label><input id="api-target" type="url" required placeholder="https://orders.internal:8443" value={target} onInput={event => { setTarget(event.currentTarget.value) }} />
      <label for="api-path">Route path prefix</label><input id="api-path" required placeholder="/v1/orders" pattern="/.*" value={path} onInput={event => { setPath(event.currentTarget.value) }} />
      <label class="checkbox" for="api-strip"><input id="api-strip" type="checkbox" checked={stripPrefix} onChange={event => { setStripPrefix(event.currentTarget.checked) }} /> Strip the prefix before proxying</label>
      <AuthChoice value={auth} onChange={setAuth} idPrefix="api-auth" />
      <PlanChoice plans={props.plans} value={planIds} onChange={setPlanIds} idPrefix="api-plan" />
      <button type="submit" disabled={readOnly || action.busy || auth.length === 0}>Create API</button>
      <ErrorMessage error={action.error} />
    </form>
  )
}

function ImportApi (props: { plans: Plan[], onCreated: (api: { id: string }) => void }): JSX.Element {
  const readOnly = useReadOnly()
  const [document, setDocument] = useState<{ file: string, content: Record<string, unknown> } | undefined>(undefined)
  const [readError, setReadError] = useState<unknown>(undefined)
  const [target, setTarget] = useState('')
  const [auth, setAuth] = useState(['hmac', 'apikey'])
  const [planIds, setPlanIds] = useState<string[]>([])
  const [autoApprove, setAutoApprove] = useState(false)
  const action = useAction()
  const pick = (event: Event): void => {
    const file = (event.currentTarget as HTMLInputElement).files?.[0]
    setDocument(undefined)
    setReadError(undefined)
    if (file === undefined) return
    file.text().then(text => {
      // YAML is a superset of JSON: one parser reads both
      const content = parseYaml(text) as unknown
      if (content === null || typeof content !== 'object' || Array.isArray(content)) throw new Error(`${file.name} is not an OpenAPI document`)
      setDocument({ file: file.name, content: content as Record<string, unknown> })
    }).catch((error: unknown) => { setReadError(error instanceof Error ? new Error(`${file.name} cannot be read: ${error.message}`) : error) })
  }
  const submit = (event: Event): void => {
    event.preventDefault()
    if (document === undefined) return
    action.run(async () => {
      props.onCreated(await adminApi<{ id: string }>('POST', '/apis/import', {
        document: document.content, auth, planIds, autoApprove, ...(target.trim() !== '' ? { upstream: { targets: [{ url: target.trim() }] } } : {})
      }))
    })
  }
  const info = document?.content.info as { title?: string, version?: string } | undefined
  return (
    <form class="card stacked-form" onSubmit={submit} aria-labelledby="import-api-title">
      <h2 id="import-api-title">Import from OpenAPI</h2>
      <label for="import-file">OpenAPI 3 document (JSON or YAML)</label>
      <input id="import-file" type="file" accept=".json,.yaml,.yml,application/json,application/yaml" required onChange={pick} />
      {document !== undefined && <p class="hint">{document.file}: {info?.title ?? 'untitled'} {info?.version ?? ''}, {Object.keys((document.content.paths as object | undefined) ?? {}).length} paths</p>}
      <ErrorMessage error={readError} />
      <label for="import-target">Upstream target URL</label>
      <input id="import-target" type="url" placeholder="the document's servers[0] when empty" value={target} onInput={event => { setTarget(event.currentTarget.value) }} />
      <AuthChoice value={auth} onChange={setAuth} idPrefix="import-auth" />
      <PlanChoice plans={props.plans} value={planIds} onChange={setPlanIds} idPrefix="import-plan" />
      <label class="checkbox" for="import-auto"><input id="import-auto" type="checkbox" checked={autoApprove} onChange={event => { setAutoApprove(event.currentTarget.checked) }} /> Approve access requests without an operator</label>
      <button type="submit" disabled={readOnly || action.busy || document === undefined || auth.length === 0}>Import API</button>
      <ErrorMessage error={action.error} />
    </form>
  )
}

export function ApisPage (): JSX.Element {
  const data = useLoad(async () => ({ apis: await allPages<Api>('/apis'), plans: await allPages<Plan>('/plans'), upstreams: await allPages<Upstream>('/upstreams') }), [])
  const onCreated = (api: { id: string }): void => { navigate(`/apis/${api.id}`) }
  return (
    <>
      <Heading>APIs</Heading>
      <ErrorMessage error={data.error} />
      {data.data === undefined && data.error === undefined && <Loading />}
      {data.data?.apis.length === 0 && <Empty title="No APIs yet">Create one below or import an OpenAPI document.</Empty>}
      {data.data !== undefined && data.data.apis.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">APIs</caption>
            <thead><tr><th scope="col">API</th><th scope="col">Routes</th><th scope="col">Authentication</th><th scope="col">Upstream</th><th scope="col">Approval</th></tr></thead>
            <tbody>
              {data.data.apis.map(api => (
                <tr key={api.id}>
                  <td><Link to={`/apis/${api.id}`}>{api.name}</Link></td>
                  <td class="mono">{api.routes.map(route => route.path).join(', ')}</td>
                  <td>{api.auth.join(', ')}</td>
                  <td>{data.data?.upstreams.find(upstream => upstream.id === api.upstreamId)?.targets.map(target => target.url).join(', ')}</td>
                  <td>{api.autoApprove ? 'automatic' : 'by an operator'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data.data !== undefined && (
        <div class="two-columns">
          <CreateApi plans={data.data.plans} onCreated={onCreated} />
          <ImportApi plans={data.data.plans} onCreated={onCreated} />
        </div>
      )}
    </>
  )
}

export function ApiDetailPage (props: { id: string }): JSX.Element {
  const readOnly = useReadOnly()
  const data = useLoad(async () => {
    const api = await adminApi<Api>('GET', `/apis/${props.id}`)
    return { api, upstream: await adminApi<Upstream>('GET', `/upstreams/${api.upstreamId}`), plans: await allPages<Plan>('/plans') }
  }, [props.id])
  const action = useAction()
  if (data.data === undefined) return data.error !== undefined ? <ErrorMessage error={data.error} /> : <Loading />
  const { api, upstream, plans } = data.data
  const remove = confirmed(`Delete the API ${api.name}?`, 'Its routes stop answering at once and every grant for it is deleted. This cannot be undone.', 'Delete API', async () => {
    await adminApi('DELETE', `/apis/${api.id}`)
    navigate('/apis')
  })
  return (
    <>
      <p class="breadcrumb"><Link to="/apis">APIs</Link> /</p>
      <Heading>{api.name}</Heading>
      {api.description !== '' && <p class="lead">{api.description}</p>}
      <p>Authentication: {api.auth.join(', ')} · access {api.autoApprove ? 'approved automatically' : 'approved by an operator'} · {api.hasOpenApi ? 'with an OpenAPI reference' : 'no OpenAPI reference'} · created {formatDate(api.createdAt)}</p>
      <h2>Routes</h2>
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Routes of {api.name}</caption>
          <thead><tr><th scope="col">Path prefix</th><th scope="col">Methods</th><th scope="col">Host</th><th scope="col">Prefix stripped</th><th scope="col">WebSocket</th></tr></thead>
          <tbody>{api.routes.map(route => <tr key={route.id}><td class="mono">{route.path}</td><td>{route.methods.length === 0 ? 'all' : route.methods.join(', ')}</td><td>{route.host ?? 'any'}</td><td>{route.stripPrefix ? 'yes' : 'no'}</td><td>{route.websocket ? 'yes' : 'no'}</td></tr>)}</tbody>
        </table>
      </div>
      <h2>Upstream {upstream.name}</h2>
      <p class="muted">{upstream.loadBalancing} · {upstream.healthCheck === null ? 'no active health check' : `health check ${upstream.healthCheck.path} every ${upstream.healthCheck.intervalMs} ms`}</p>
      <TargetHealth upstream={upstream} />
      <h2>Plans partners may request</h2>
      <p>{api.planIds.length === 0 ? 'every plan' : api.planIds.map(id => plans.find(plan => plan.id === id)?.name ?? id).join(', ')}</p>
      {api.planIds.length === 0 && plans.length === 0 && <Notice kind="warning">There are no plans yet: partners cannot request access.</Notice>}
      <ApiPolicySection api={api} />
      <h2>Danger zone</h2>
      <button type="button" class="danger" disabled={readOnly || action.busy} onClick={() => { action.run(remove) }}>Delete API</button>
      <ErrorMessage error={action.error} />
    </>
  )
}
