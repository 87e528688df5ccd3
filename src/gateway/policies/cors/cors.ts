// CORS per API (the Fetch standard's "CORS protocol"). The gateway answers preflights
// itself — never forwarded, authenticated or counted — and marks actual responses, errors
// included, so that a page on an allowed origin (the portal's try-it console among them)
// can read the status, the error code and the rate-limit headers. An API without a CORS
// configuration compiles to no policy at all: the request path only checks for one.
import { Type, type Static } from 'typebox'

/** A serialised origin as browsers send it: scheme, host and optional port, nothing else. */
const Origin = Type.String({ maxLength: 300, pattern: '^https?://(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$', description: 'e.g. https://app.example.com' })
const HeaderName = Type.String({ minLength: 1, maxLength: 100, pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" })
export const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

export const CorsConfig = Type.Object({
  origins: Type.Union([Type.Literal('*'), Type.Array(Origin, { maxItems: 100, uniqueItems: true })], { description: 'origins allowed to call the API from a browser, or "*" for any' }),
  portal: Type.Optional(Type.Boolean({ description: "also allow the partner portal's origin (setting portalOrigin), for its try-it console" })),
  methods: Type.Optional(Type.Array(Type.String({ enum: [...CORS_METHODS] }), { minItems: 1, maxItems: 7, uniqueItems: true, description: 'default GET, HEAD, POST, PUT, PATCH, DELETE' })),
  headers: Type.Optional(Type.Array(HeaderName, { maxItems: 50, uniqueItems: true, description: 'request headers allowed; absent = those the preflight asks for' })),
  exposeHeaders: Type.Optional(Type.Array(HeaderName, { maxItems: 50, uniqueItems: true, description: 'response headers scripts may read, besides the rate-limit and error headers always exposed' })),
  credentials: Type.Optional(Type.Boolean({ description: 'allow cookies and HTTP authentication (never with origins "*")' })),
  maxAgeSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400, description: 'how long browsers may cache a preflight answer; default 600' }))
}, { additionalProperties: false })
export type CorsConfig = Static<typeof CorsConfig>

/** What the schema cannot say: a configuration that would allow nothing, or too much. */
export function corsConfigProblem (config: CorsConfig): string | undefined {
  if (config.origins === '*' && config.credentials === true) return 'cors.credentials cannot be combined with cors.origins "*": list the origins that may send credentials'
  if (config.origins !== '*' && config.origins.length === 0 && config.portal !== true) return 'cors.origins is empty and cors.portal is not set: no origin would be allowed'
  return undefined
}

/** Origins compare lowercased; browsers send them so, operators may not type them so. */
export function normaliseCorsConfig (config: CorsConfig): CorsConfig {
  return config.origins === '*' ? config : { ...config, origins: config.origins.map(origin => origin.toLowerCase()) }
}

const DEFAULT_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE'
const DEFAULT_MAX_AGE_SECONDS = 600
// what a script needs to understand a refusal: the error detail HMAC clients print, the
// limits and when to retry, and the bearer challenge
const ALWAYS_EXPOSED = [
  'x-ca-error-message', 'www-authenticate', 'retry-after',
  'ratelimit-policy', 'ratelimit', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset',
  'x-quota-limit-day', 'x-quota-remaining-day', 'x-quota-limit-month', 'x-quota-remaining-month'
]

export interface CorsPolicy {
  anyOrigin: boolean
  origins: ReadonlySet<string>
  credentials: boolean
  allowMethods: string
  /** undefined: the preflight's Access-Control-Request-Headers are allowed as asked */
  allowHeaders: string | undefined
  exposeHeaders: string
  maxAge: string
}

export function compileCorsPolicy (config: CorsConfig, portalOrigin: string | null): CorsPolicy {
  const origins = new Set(config.origins === '*' ? [] : config.origins.map(origin => origin.toLowerCase()))
  if (config.portal === true && portalOrigin !== null) origins.add(portalOrigin.toLowerCase())
  const exposed = new Set([...ALWAYS_EXPOSED, ...(config.exposeHeaders ?? []).map(name => name.toLowerCase())])
  return {
    anyOrigin: config.origins === '*',
    origins,
    credentials: config.credentials === true,
    allowMethods: config.methods?.join(', ') ?? DEFAULT_METHODS,
    allowHeaders: config.headers?.join(', '),
    exposeHeaders: [...exposed].join(', '),
    maxAge: String(config.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS)
  }
}

/** A request is a preflight when it is an OPTIONS asking for another method (Fetch §3.2.2). */
export function preflightMethod (method: string, headers: Readonly<Record<string, string | string[] | undefined>>): string | undefined {
  if (method !== 'OPTIONS') return undefined
  const requested = headers['access-control-request-method']
  return typeof requested === 'string' && headers.origin !== undefined ? requested.toUpperCase() : undefined
}

function allowedOrigin (policy: CorsPolicy, origin: string): string | undefined {
  // with credentials the origin must be echoed: browsers refuse "*" then
  if (policy.anyOrigin) return policy.credentials ? origin : '*'
  return policy.origins.has(origin.toLowerCase()) ? origin : undefined
}

/**
 * Headers for the gateway's own answer to a preflight, or undefined when the origin is
 * not allowed. The browser itself compares the method and headers it asked for with
 * these, as the standard leaves it to.
 */
export function preflightHeaders (policy: CorsPolicy, origin: string, requestedHeaders: string | undefined): Record<string, string> | undefined {
  const allowOrigin = allowedOrigin(policy, origin)
  if (allowOrigin === undefined) return undefined
  const headers: Record<string, string> = {
    'access-control-allow-origin': allowOrigin,
    'access-control-allow-methods': policy.allowMethods,
    'access-control-max-age': policy.maxAge,
    vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers'
  }
  const allowHeaders = policy.allowHeaders ?? requestedHeaders
  if (allowHeaders !== undefined && allowHeaders !== '') headers['access-control-allow-headers'] = allowHeaders
  if (policy.credentials) headers['access-control-allow-credentials'] = 'true'
  return headers
}

/** The answer differs by Origin unless every origin gets "*": caches must know. */
export function variesByOrigin (policy: CorsPolicy): boolean {
  return !policy.anyOrigin || policy.credentials
}

/**
 * Headers for an actual response (proxied or refused). A request from an origin that is
 * not allowed still runs — CORS protects the reader, not the server — but gets nothing
 * that lets its page read the answer.
 */
export function actualResponseHeaders (policy: CorsPolicy, origin: string | undefined): Record<string, string> | undefined {
  const allowOrigin = origin === undefined ? undefined : allowedOrigin(policy, origin)
  const varies = variesByOrigin(policy)
  if (allowOrigin === undefined) return varies ? { vary: 'Origin' } : undefined
  const headers: Record<string, string> = { 'access-control-allow-origin': allowOrigin, 'access-control-expose-headers': policy.exposeHeaders }
  if (varies) headers.vary = 'Origin'
  if (policy.credentials) headers['access-control-allow-credentials'] = 'true'
  return headers
}

/**
 * An upstream response header as the client gets it on an API whose CORS the gateway
 * answers: the upstream's own Access-Control-* headers give way (two Allow-Origin values
 * make browsers refuse the response) and its Vary is merged with the gateway's.
 */
export function upstreamHeaderUnderCors (name: string, value: string | string[], gatewayVary: string | undefined): string | string[] | undefined {
  if (name.startsWith('access-control-')) return undefined
  if (name === 'vary' && gatewayVary !== undefined) return `${Array.isArray(value) ? value.join(', ') : value}, ${gatewayVary}`
  return value
}
