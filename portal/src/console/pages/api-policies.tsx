// The policies of one API, in the order the gateway runs them: CORS, IP restriction and
// request limits before authentication, the response cache once the call has been counted.
// Each has its own form and is saved on its own (the fields: src/gateway/policies/*/).
import type { JSX } from 'preact'
import { useMemo, useState } from 'preact/hooks'
import { listEntries, listText } from '../../ip-restriction.js'
import { adminApi, type Api, type ApiPolicies, type CachedRoute, type CorsConfig, type RequestLimitsConfig, type ResponseCacheConfig, type Route } from '../admin-api.js'
import { API_IP_RESTRICTION, Entries, PolicyCard, type PolicyScreen } from '../policy-card.js'
import { formatNumber } from '../ui.js'

const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']
const DEFAULT_CORS_METHODS = CORS_METHODS.slice(0, 6)

/** A number field's value: empty = not given (the policy's default). */
function optionalNumber (text: string): number | undefined {
  return text.trim() === '' ? undefined : Number(text)
}

function numberText (value: number | undefined): string {
  return value === undefined ? '' : String(value)
}

/** Bytes in the largest binary unit that states them exactly. */
function formatBytes (bytes: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${formatNumber(bytes / size)} ${unit}`
  }
  return `${formatNumber(bytes)} bytes`
}

function TextField (props: { id: string, label: string, hint?: string, value: string, onInput: (value: string) => void, placeholder?: string, rows?: number, disabled?: boolean }): JSX.Element {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <textarea id={props.id} class="mono" rows={props.rows ?? 3} spellcheck={false} autoComplete="off" placeholder={props.placeholder} disabled={props.disabled} aria-describedby={props.hint === undefined ? undefined : `${props.id}-hint`} value={props.value} onInput={event => { props.onInput(event.currentTarget.value) }} />
      {props.hint !== undefined && <p class="hint" id={`${props.id}-hint`}>{props.hint}</p>}
    </div>
  )
}

function NumberField (props: { id: string, label: string, hint?: string, value: string, onInput: (value: string) => void, min: number, max: number, placeholder?: string }): JSX.Element {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <input id={props.id} type="number" inputMode="numeric" step={1} min={props.min} max={props.max} placeholder={props.placeholder} aria-describedby={props.hint === undefined ? undefined : `${props.id}-hint`} value={props.value} onInput={event => { props.onInput(event.currentTarget.value) }} />
      {props.hint !== undefined && <p class="hint" id={`${props.id}-hint`}>{props.hint}</p>}
    </div>
  )
}

function Checkbox (props: { id: string, label: string, checked: boolean, onChange: (checked: boolean) => void, disabled?: boolean }): JSX.Element {
  return <label class="checkbox" for={props.id}><input id={props.id} type="checkbox" checked={props.checked} disabled={props.disabled} onChange={event => { props.onChange(event.currentTarget.checked) }} /> {props.label}</label>
}

interface CorsDraft { anyOrigin: boolean, origins: string, portal: boolean, methods: string[], headers: string, exposeHeaders: string, credentials: boolean, maxAgeSeconds: string }

function CorsFields (props: { draft: CorsDraft, onChange: (draft: CorsDraft) => void, idPrefix: string }): JSX.Element {
  const { draft, idPrefix } = props
  const set = (change: Partial<CorsDraft>): void => { props.onChange({ ...draft, ...change }) }
  return (
    <>
      <fieldset class="field checkboxes">
        <legend>Origins allowed to call from a browser</legend>
        <label class="checkbox" for={`${idPrefix}-listed`}><input id={`${idPrefix}-listed`} type="radio" name={`${idPrefix}-origins-kind`} checked={!draft.anyOrigin} onChange={() => { set({ anyOrigin: false }) }} /> These origins</label>
        <label class="checkbox" for={`${idPrefix}-any`}><input id={`${idPrefix}-any`} type="radio" name={`${idPrefix}-origins-kind`} checked={draft.anyOrigin} onChange={() => { set({ anyOrigin: true }) }} /> Any origin (*)</label>
        <TextField id={`${idPrefix}-origins`} label="Origins" hint="One per line: scheme, host and port, as browsers send them." placeholder="https://shop.example.com" disabled={draft.anyOrigin} value={draft.origins} onInput={origins => { set({ origins }) }} />
        <Checkbox id={`${idPrefix}-portal`} label="Also the partner portal (its try-it console)" checked={draft.portal} disabled={draft.anyOrigin} onChange={portal => { set({ portal }) }} />
      </fieldset>
      <fieldset class="field checkboxes">
        <legend>Methods</legend>
        {CORS_METHODS.map(method => <Checkbox key={method} id={`${idPrefix}-method-${method}`} label={method} checked={draft.methods.includes(method)} onChange={checked => { set({ methods: CORS_METHODS.filter(each => each === method ? checked : draft.methods.includes(each)) }) }} />)}
      </fieldset>
      <div class="list-fields">
        <TextField id={`${idPrefix}-headers`} label="Request headers allowed" hint="One per line; empty: whatever the preflight asks for." placeholder="x-api-key" value={draft.headers} onInput={headers => { set({ headers }) }} />
        <TextField id={`${idPrefix}-expose`} label="Response headers pages may read" hint="Besides the rate-limit, quota and error headers, always readable." placeholder="x-order-id" value={draft.exposeHeaders} onInput={exposeHeaders => { set({ exposeHeaders }) }} />
      </div>
      <Checkbox id={`${idPrefix}-credentials`} label="Allow credentials (cookies, HTTP authentication)" checked={draft.credentials} onChange={credentials => { set({ credentials }) }} />
      <div class="inline-form">
        <NumberField id={`${idPrefix}-max-age`} label="Preflight cached for (seconds)" min={0} max={86_400} placeholder="600" value={draft.maxAgeSeconds} onInput={maxAgeSeconds => { set({ maxAgeSeconds }) }} />
      </div>
    </>
  )
}

const CORS: PolicyScreen<CorsConfig, CorsDraft> = {
  name: 'cors',
  title: 'CORS',
  noun: 'the CORS settings',
  unset: 'Browsers may not call the API from other origins: the gateway adds no CORS headers and routes OPTIONS requests like any other.',
  removal: 'Web pages on other origins can no longer read its answers once the gateways have the change (about a second).',
  summary: config => [
    ['Origins', config.origins === '*'
      ? 'any (*)'
      : <><Entries entries={config.origins} empty={config.portal === true ? '' : 'none'} />{config.portal === true && <span>{config.origins.length > 0 ? 'and ' : ''}the partner portal</span>}</>],
    ['Methods', config.methods?.join(', ') ?? `${DEFAULT_CORS_METHODS.join(', ')} (default)`],
    ['Request headers', <Entries entries={config.headers} empty="whatever the preflight asks for" />],
    ['Readable response headers', <Entries entries={config.exposeHeaders} empty="the rate-limit, quota and error headers" />],
    ['Credentials', config.credentials === true ? 'allowed' : 'not allowed'],
    ['Preflight cached for', config.maxAgeSeconds === undefined ? '600 s (default)' : `${formatNumber(config.maxAgeSeconds)} s`]
  ],
  draft: config => ({
    anyOrigin: config?.origins === '*',
    origins: config === null || config.origins === '*' ? '' : listText(config.origins),
    portal: config?.portal === true,
    methods: config?.methods ?? DEFAULT_CORS_METHODS,
    headers: listText(config?.headers),
    exposeHeaders: listText(config?.exposeHeaders),
    credentials: config?.credentials === true,
    maxAgeSeconds: numberText(config?.maxAgeSeconds)
  }),
  config: draft => {
    const headers = listEntries(draft.headers)
    const exposeHeaders = listEntries(draft.exposeHeaders)
    const maxAgeSeconds = optionalNumber(draft.maxAgeSeconds)
    // the default methods are left out, so that the stored configuration keeps following the default
    const defaultMethods = draft.methods.length === DEFAULT_CORS_METHODS.length && DEFAULT_CORS_METHODS.every(method => draft.methods.includes(method))
    return {
      origins: draft.anyOrigin ? '*' : listEntries(draft.origins),
      ...(!draft.anyOrigin && draft.portal ? { portal: true } : {}),
      ...(defaultMethods ? {} : { methods: draft.methods }),
      ...(headers.length > 0 ? { headers } : {}),
      ...(exposeHeaders.length > 0 ? { exposeHeaders } : {}),
      ...(draft.credentials ? { credentials: true } : {}),
      ...(maxAgeSeconds !== undefined ? { maxAgeSeconds } : {})
    }
  },
  Fields: CorsFields
}

interface RequestLimitsDraft { maxBodyBytes: string, maxHeaderBytes: string, maxUrlLength: string, contentTypes: string }

function RequestLimitsFields (props: { draft: RequestLimitsDraft, onChange: (draft: RequestLimitsDraft) => void, idPrefix: string }): JSX.Element {
  const { draft, idPrefix } = props
  const set = (change: Partial<RequestLimitsDraft>): void => { props.onChange({ ...draft, ...change }) }
  return (
    <>
      <p class="hint">Empty fields set no limit of their own; the gateway-wide limits apply in any case.</p>
      <div class="inline-form">
        <NumberField id={`${idPrefix}-body`} label="Largest body (bytes)" hint="0: no body at all" min={0} max={10 * 1024 ** 3} value={draft.maxBodyBytes} onInput={maxBodyBytes => { set({ maxBodyBytes }) }} />
        <NumberField id={`${idPrefix}-headers`} label="Largest headers (bytes)" hint="256 to 65536" min={256} max={65_536} value={draft.maxHeaderBytes} onInput={maxHeaderBytes => { set({ maxHeaderBytes }) }} />
        <NumberField id={`${idPrefix}-url`} label="Longest path and query (bytes)" hint="16 to 65536" min={16} max={65_536} value={draft.maxUrlLength} onInput={maxUrlLength => { set({ maxUrlLength }) }} />
      </div>
      <TextField id={`${idPrefix}-types`} label="Body media types" hint="One per line (application/json, or text/* for all of a type); empty: any." placeholder={'application/json\ntext/*'} value={draft.contentTypes} onInput={contentTypes => { set({ contentTypes }) }} />
    </>
  )
}

const REQUEST_LIMITS: PolicyScreen<RequestLimitsConfig, RequestLimitsDraft> = {
  name: 'requestLimits',
  title: 'Request limits',
  noun: 'the request limits',
  unset: 'Only the gateway-wide limits apply.',
  removal: 'Only the gateway-wide limits apply once the gateways have the change (about a second).',
  summary: config => [
    ['Largest body', config.maxBodyBytes === undefined ? 'no limit of its own' : config.maxBodyBytes === 0 ? 'no body' : formatBytes(config.maxBodyBytes)],
    ['Largest headers', config.maxHeaderBytes === undefined ? 'no limit of its own' : formatBytes(config.maxHeaderBytes)],
    ['Longest path and query', config.maxUrlLength === undefined ? 'no limit of its own' : `${formatNumber(config.maxUrlLength)} bytes`],
    ['Body media types', <Entries entries={config.contentTypes} empty="any" />]
  ],
  draft: config => ({ maxBodyBytes: numberText(config?.maxBodyBytes), maxHeaderBytes: numberText(config?.maxHeaderBytes), maxUrlLength: numberText(config?.maxUrlLength), contentTypes: listText(config?.contentTypes) }),
  config: draft => {
    const maxBodyBytes = optionalNumber(draft.maxBodyBytes)
    const maxHeaderBytes = optionalNumber(draft.maxHeaderBytes)
    const maxUrlLength = optionalNumber(draft.maxUrlLength)
    const contentTypes = listEntries(draft.contentTypes)
    return {
      ...(maxBodyBytes !== undefined ? { maxBodyBytes } : {}),
      ...(maxHeaderBytes !== undefined ? { maxHeaderBytes } : {}),
      ...(maxUrlLength !== undefined ? { maxUrlLength } : {}),
      ...(contentTypes.length > 0 ? { contentTypes } : {})
    }
  },
  Fields: RequestLimitsFields
}

type Sharing = 'default' | 'per-app' | 'shared'

interface CachedRouteDraft { path: string, host: string | null, cached: boolean, ttlSeconds: string, sharing: Sharing, /** false: listed in the configuration, but no route of the API has this path and host */ known: boolean }
interface ResponseCacheDraft { routes: CachedRouteDraft[], ttlSeconds: string, maxBodyBytes: string, public: boolean }

/** How the configuration names a route: host and path prefix, as the gateway compares them. */
function routeName (host: string | null | undefined, path: string): string {
  return `${host?.toLowerCase() ?? ''}${path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path}`
}

function sharingOf (isPublic: boolean | undefined): Sharing {
  return isPublic === undefined ? 'default' : isPublic ? 'shared' : 'per-app'
}

function ResponseCacheFields (props: { draft: ResponseCacheDraft, onChange: (draft: ResponseCacheDraft) => void, idPrefix: string }): JSX.Element {
  const { draft, idPrefix } = props
  const set = (change: Partial<ResponseCacheDraft>): void => { props.onChange({ ...draft, ...change }) }
  const setRoute = (index: number, change: Partial<CachedRouteDraft>): void => {
    set({ routes: draft.routes.map((route, each) => each === index ? { ...route, ...change } : route) })
  }
  return (
    <>
      <div class="table-wrap">
        <table class="cached-routes">
          <caption>Routes whose GET answers are cached <span class="small-text muted">(tick at least one; to stop caching, remove the policy)</span></caption>
          <thead><tr><th scope="col">Route</th><th scope="col">Fresh for (seconds)</th><th scope="col">Entries</th></tr></thead>
          <tbody>
            {draft.routes.map((route, index) => {
              const name = routeName(route.host, route.path)
              return (
                <tr key={name} data-route={name}>
                  <td>
                    <label class="checkbox" for={`${idPrefix}-route-${index}`}>
                      <input id={`${idPrefix}-route-${index}`} type="checkbox" checked={route.cached} onChange={event => { setRoute(index, { cached: event.currentTarget.checked }) }} />
                      <span><span class="visually-hidden">Cache </span><code>{route.path}</code>{route.host !== null && <span class="muted"> on {route.host}</span>}{!route.known && <span class="muted"> (no such route)</span>}</span>
                    </label>
                  </td>
                  <td><input type="number" inputMode="numeric" step={1} min={1} max={31_536_000} aria-label={`Fresh for (seconds), ${name}`} placeholder="API default" disabled={!route.cached} value={route.ttlSeconds} onInput={event => { setRoute(index, { ttlSeconds: event.currentTarget.value }) }} /></td>
                  <td>
                    <select aria-label={`Entries of ${name}`} disabled={!route.cached} value={route.sharing} onChange={event => { setRoute(index, { sharing: event.currentTarget.value as Sharing }) }}>
                      <option value="default">as the API default</option>
                      <option value="per-app">one per app</option>
                      <option value="shared">shared by every app</option>
                    </select>
                  </td>
                </tr>
              )
            })}
          </tbody>
        </table>
      </div>
      <div class="inline-form">
        <NumberField id={`${idPrefix}-ttl`} label="Fresh for, by default (seconds)" hint="When the upstream's answer sets no max-age, s-maxage or Expires." min={1} max={31_536_000} placeholder="60" value={draft.ttlSeconds} onInput={ttlSeconds => { set({ ttlSeconds }) }} />
        <NumberField id={`${idPrefix}-max-body`} label="Largest answer stored (bytes)" hint="Larger answers are passed on, not stored." min={1} max={16_777_216} placeholder="1048576" value={draft.maxBodyBytes} onInput={maxBodyBytes => { set({ maxBodyBytes }) }} />
      </div>
      <Checkbox id={`${idPrefix}-public`} label="By default, answers are the same for every app: one entry serves them all" checked={draft.public} onChange={isPublic => { set({ public: isPublic }) }} />
    </>
  )
}

function cachedRouteSummary (route: CachedRoute, config: ResponseCacheConfig): string {
  const ttl = route.ttlSeconds ?? config.ttlSeconds
  const shared = route.public ?? config.public ?? false
  return `${route.host === undefined || route.host === null ? '' : `on ${route.host}, `}fresh for ${ttl === undefined ? '60 s (default)' : `${formatNumber(ttl)} s`}, ${shared ? 'shared by every app' : 'one entry per app'}`
}

/** The response cache's screen for an API: its form lists the API's routes to tick. */
function responseCacheScreen (apiRoutes: Route[]): PolicyScreen<ResponseCacheConfig, ResponseCacheDraft> {
  return {
    name: 'responseCache',
    title: 'Response cache',
    noun: 'the response cache',
    unset: 'Every call goes to the upstream.',
    removal: 'Every call goes to the upstream again once the gateways have the change (about a second); the cached answers are no longer served.',
    summary: config => [
      ['Routes', (
        <ul class="cached-route-list">
          {config.routes.map(route => <li key={routeName(route.host, route.path)}><code>{route.path}</code> <span class="muted">{cachedRouteSummary(route, config)}</span></li>)}
        </ul>
      )],
      ['Defaults', `fresh for ${config.ttlSeconds === undefined ? '60 s' : `${formatNumber(config.ttlSeconds)} s`} when the upstream does not say, ${config.public === true ? 'shared by every app' : 'one entry per app'}`],
      ['Largest answer stored', config.maxBodyBytes === undefined ? '1 MiB (default)' : formatBytes(config.maxBodyBytes)]
    ],
    draft: config => {
      const listed = new Map((config?.routes ?? []).map(route => [routeName(route.host, route.path), route]))
      const rows = new Map<string, CachedRouteDraft>()
      for (const route of apiRoutes) {
        const name = routeName(route.host, route.path)
        const cached = listed.get(name)
        rows.set(name, { path: route.path, host: route.host, cached: cached !== undefined, ttlSeconds: numberText(cached?.ttlSeconds), sharing: sharingOf(cached?.public), known: true })
      }
      for (const [name, route] of listed) {
        if (!rows.has(name)) rows.set(name, { path: route.path, host: route.host ?? null, cached: true, ttlSeconds: numberText(route.ttlSeconds), sharing: sharingOf(route.public), known: false })
      }
      return { routes: [...rows.values()], ttlSeconds: numberText(config?.ttlSeconds), maxBodyBytes: numberText(config?.maxBodyBytes), public: config?.public === true }
    },
    config: draft => {
      const ttlSeconds = optionalNumber(draft.ttlSeconds)
      const maxBodyBytes = optionalNumber(draft.maxBodyBytes)
      return {
        routes: draft.routes.filter(route => route.cached).map(route => {
          const routeTtl = optionalNumber(route.ttlSeconds)
          return {
            path: route.path,
            ...(route.host !== null ? { host: route.host } : {}),
            ...(routeTtl !== undefined ? { ttlSeconds: routeTtl } : {}),
            ...(route.sharing !== 'default' ? { public: route.sharing === 'shared' } : {})
          }
        }),
        ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
        ...(maxBodyBytes !== undefined ? { maxBodyBytes } : {}),
        ...(draft.public ? { public: true } : {})
      }
    },
    Fields: ResponseCacheFields
  }
}

export function ApiPolicySection (props: { api: Api }): JSX.Element {
  const [policies, setPolicies] = useState<ApiPolicies>(props.api)
  const responseCache = useMemo(() => responseCacheScreen(props.api.routes), [props.api.routes])
  const subject = `the API ${props.api.name}`
  function save<Name extends keyof ApiPolicies> (name: Name): (config: ApiPolicies[Name]) => Promise<void> {
    return async config => { setPolicies(await adminApi<Api>('PATCH', `/apis/${props.api.id}`, { [name]: config })) }
  }
  return (
    <section aria-labelledby="policies-title">
      <h2 id="policies-title">Policies</h2>
      <p class="hint">Run by the gateway on every call, in this order: CORS, IP restriction and request limits before any credential is checked; the response cache once the call is authenticated and counted. A saved change reaches every gateway within about a second.</p>
      <PolicyCard screen={CORS} config={policies.cors} subject={subject} save={save('cors')} />
      <PolicyCard screen={API_IP_RESTRICTION} config={policies.ipRestriction} subject={subject} save={save('ipRestriction')} />
      <PolicyCard screen={REQUEST_LIMITS} config={policies.requestLimits} subject={subject} save={save('requestLimits')} />
      <PolicyCard screen={responseCache} config={policies.responseCache} subject={subject} save={save('responseCache')} />
    </section>
  )
}
