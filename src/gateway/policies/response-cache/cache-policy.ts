// What the gateway's response cache may store and serve: RFC 9111's rules for a shared
// cache, kept to what a gateway in front of APIs needs. Stored: 200 answers to GET, for as
// long as the upstream's s-maxage, max-age or Expires say (else the route's TTL), never one
// marked no-store, private or no-cache (there is no revalidation here), none that sets a
// cookie, none with `Vary: *`. Served while fresh, unless the request asks otherwise.
// No I/O here: the unit (index.ts) and the stores do that.
import { hash } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { REQUEST_ID_HEADER } from '../../../domain/request-id.js'
import { connectionListed, HOP_BY_HOP } from '../../proxy/proxy-request.js'

export type CacheDirectives = ReadonlyMap<string, string | true>

const NO_DIRECTIVES: CacheDirectives = new Map()

/**
 * Cache-Control's directives (RFC 9111 §5.2): names lowercased, quoted values unquoted
 * (`private="set-cookie, x-user"` is one directive). A directive given twice keeps its
 * first value, as §4.2.1 allows.
 */
export function parseCacheControl (value: string | string[] | undefined): CacheDirectives {
  if (value === undefined) return NO_DIRECTIVES
  const text = Array.isArray(value) ? value.join(',') : value
  const directives = new Map<string, string | true>()
  let index = 0
  while (index < text.length) {
    let end = index
    while (end < text.length && text[end] !== ',' && text[end] !== '=') end++
    const name = text.slice(index, end).trim().toLowerCase()
    let argument: string | true = true
    if (text[end] === '=') {
      end++
      while (text[end] === ' ') end++
      if (text[end] === '"') {
        const close = text.indexOf('"', end + 1)
        argument = text.slice(end + 1, close === -1 ? text.length : close)
        end = close === -1 ? text.length : close + 1
        while (end < text.length && text[end] !== ',') end++
      } else {
        const start = end
        while (end < text.length && text[end] !== ',') end++
        argument = text.slice(start, end).trim()
      }
    }
    if (name !== '' && !directives.has(name)) directives.set(name, argument)
    index = end + 1
  }
  return directives
}

/** The largest delta-seconds a cache must understand; bigger values mean it (RFC 9111 §1.2.2). */
const MAX_DELTA_SECONDS = 2_147_483_648

/** A delta-seconds value; undefined when absent, 0 when malformed (a bad max-age makes a response stale, §4.2.1). */
function deltaSeconds (directives: CacheDirectives, name: string): number | undefined {
  const value = directives.get(name)
  if (value === undefined) return undefined
  if (value === true || !/^[0-9]+$/.test(value)) return 0
  return Math.min(Number(value), MAX_DELTA_SECONDS)
}

export interface RequestCacheDirectives {
  /** neither look up nor store (§5.2.1.5) */
  noStore: boolean
  /** do not answer from the cache, but the fresh answer may be stored (§5.2.1.4) */
  noCache: boolean
  /** the oldest answer the client accepts, in seconds (§5.2.1.1) */
  maxAgeSeconds: number | undefined
}

const NO_REQUEST_DIRECTIVES: RequestCacheDirectives = { noStore: false, noCache: false, maxAgeSeconds: undefined }

export function requestCacheDirectives (headers: IncomingHttpHeaders): RequestCacheDirectives {
  const value = headers['cache-control']
  if (value === undefined) return NO_REQUEST_DIRECTIVES
  const directives = parseCacheControl(value)
  return { noStore: directives.has('no-store'), noCache: directives.has('no-cache'), maxAgeSeconds: deltaSeconds(directives, 'max-age') }
}

export interface FreshnessSettings {
  /** how long a response the upstream gave no expiry stays fresh */
  defaultTtlSeconds: number
  /** the longest any response is kept, whatever the upstream says */
  maxTtlSeconds: number
}

export interface UpstreamAnswer {
  statusCode: number
  headers: IncomingHttpHeaders
  /** when its headers arrived, ms since the epoch */
  receivedAt: number
  /** from sending the request to the headers' arrival, ms */
  responseDelayMs: number
  /** the request sent the upstream an Authorization header of its own (not the gateway's credentials) */
  forwardedAuthorization: boolean
}

export type NotStoredReason = 'status' | 'no-store' | 'private' | 'no-cache' | 'set-cookie' | 'vary-any' | 'authorization' | 'stale'

export type StoreDecision =
  | { store: false, reason: NotStoredReason }
  | {
    store: true
    /** the age the response had when it arrived (RFC 9111 §4.2.3's corrected initial age), ms */
    initialAgeMs: number
    /** how long it stays in the cache from its arrival, ms */
    ttlMs: number
    /** request header names its variants differ by, lowercased and sorted; empty = one variant */
    vary: string[]
  }

/** Whether, and for how long, a shared cache may keep this answer to a GET. */
export function storeDecision (answer: UpstreamAnswer, settings: FreshnessSettings): StoreDecision {
  const { statusCode, headers } = answer
  if (statusCode !== 200) return { store: false, reason: 'status' }
  const directives = parseCacheControl(headers['cache-control'])
  if (directives.has('no-store')) return { store: false, reason: 'no-store' }
  // a shared cache must not store it (§5.2.2.7); the gateway cannot tell which user it belongs to
  if (directives.has('private')) return { store: false, reason: 'private' }
  // it may be stored only to be revalidated before each use (§5.2.2.4), which this cache does not do
  if (directives.has('no-cache')) return { store: false, reason: 'no-cache' }
  if (headers['set-cookie'] !== undefined) return { store: false, reason: 'set-cookie' }
  const vary = varyNames(headers.vary)
  if (vary === '*') return { store: false, reason: 'vary-any' }
  // an answer to a request the upstream authorised by itself is that user's, unless it says otherwise (§3.5)
  if (answer.forwardedAuthorization && !directives.has('public') && !directives.has('s-maxage') && !directives.has('must-revalidate')) {
    return { store: false, reason: 'authorization' }
  }
  const lifetimeMs = freshnessLifetimeSeconds(directives, headers, answer.receivedAt, settings.defaultTtlSeconds) * 1000
  const initialAgeMs = correctedInitialAgeMs(headers, answer.receivedAt, answer.responseDelayMs)
  const ttlMs = Math.min(lifetimeMs - initialAgeMs, settings.maxTtlSeconds * 1000)
  if (ttlMs <= 0) return { store: false, reason: 'stale' }
  return { store: true, initialAgeMs, ttlMs, vary }
}

/** RFC 9111 §4.2.1: s-maxage, else max-age, else Expires − Date, else the route's TTL. */
export function freshnessLifetimeSeconds (directives: CacheDirectives, headers: IncomingHttpHeaders, receivedAt: number, defaultTtlSeconds: number): number {
  const sharedMaxAge = deltaSeconds(directives, 's-maxage')
  if (sharedMaxAge !== undefined) return sharedMaxAge
  const maxAge = deltaSeconds(directives, 'max-age')
  if (maxAge !== undefined) return maxAge
  const expires = headers.expires
  if (expires !== undefined) {
    // an invalid date, "0" included, means already expired (§5.3)
    const expiresAt = Date.parse(expires)
    if (Number.isNaN(expiresAt)) return 0
    const date = headers.date === undefined ? Number.NaN : Date.parse(headers.date)
    return Math.max(0, Math.floor((expiresAt - (Number.isNaN(date) ? receivedAt : date)) / 1000))
  }
  return defaultTtlSeconds
}

/**
 * RFC 9111 §4.2.3: the age an answer already had on arrival, from the Age an upstream cache
 * gave it plus the time in transit, or from its Date if that says more. Date has whole seconds,
 * so the apparent age is counted in whole seconds too (an answer is not a second old at birth).
 */
export function correctedInitialAgeMs (headers: IncomingHttpHeaders, receivedAt: number, responseDelayMs: number): number {
  const ageHeader = headers.age
  const ageValue = ageHeader !== undefined && /^[0-9]+$/.test(ageHeader) ? Math.min(Number(ageHeader), MAX_DELTA_SECONDS) : 0
  const date = headers.date === undefined ? Number.NaN : Date.parse(headers.date)
  const apparentAgeSeconds = Number.isNaN(date) ? 0 : Math.max(0, Math.floor(receivedAt / 1000) - Math.floor(date / 1000))
  return Math.max(apparentAgeSeconds * 1000, ageValue * 1000 + responseDelayMs)
}

/** Vary's request header names, lowercased, sorted and deduplicated; '*' when it names any. */
export function varyNames (vary: string | string[] | undefined): string[] | '*' {
  if (vary === undefined) return []
  const names = new Set<string>()
  for (const name of (Array.isArray(vary) ? vary.join(',') : vary).split(',')) {
    const trimmed = name.trim().toLowerCase()
    if (trimmed === '*') return '*'
    if (trimmed !== '') names.add(trimmed)
  }
  return [...names].sort()
}

/** What a stored answer's age is now, ms. */
export function currentAgeMs (initialAgeMs: number, receivedAt: number, now: number): number {
  return initialAgeMs + Math.max(0, now - receivedAt)
}

/** The Age header of an answer from the cache: whole seconds (§5.1). */
export function ageHeader (ageMs: number): string {
  return String(Math.floor(ageMs / 1000))
}

/** Whether a fresh stored answer of this age may answer this request (§5.2.1.1). */
export function acceptableAge (request: RequestCacheDirectives, ageMs: number): boolean {
  return request.maxAgeSeconds === undefined || ageMs <= request.maxAgeSeconds * 1000
}

// The cache's own headers are set for each answer; the length follows the stored body
const NOT_STORED_HEADERS = new Set(['age', 'x-cache', 'content-length', 'set-cookie', REQUEST_ID_HEADER])

/**
 * The upstream's headers as a stored answer replays them: without hop-by-hop headers and
 * the cache's own; a repeated header joined into one line (Set-Cookie, the exception, is never stored).
 */
export function storedHeaders (headers: IncomingHttpHeaders): Record<string, string> {
  const listed = connectionListed(headers)
  const stored: Record<string, string> = {}
  for (const name in headers) {
    const value = headers[name]
    if (value === undefined || HOP_BY_HOP.has(name) || NOT_STORED_HEADERS.has(name) || listed?.has(name) === true) continue
    stored[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return stored
}

/** A query string with its parameters in name order (values of one name keep theirs): `b=2&a=1` and `a=1&b=2` are one entry. */
export function normaliseQuery (query: string): string {
  if (query === '') return ''
  const parameters = query.split('&').filter(parameter => parameter !== '')
  if (parameters.length < 2) return parameters.join('&')
  const named = parameters.map(parameter => {
    const equals = parameter.indexOf('=')
    return { name: equals === -1 ? parameter : parameter.slice(0, equals), parameter }
  })
  // Array.prototype.sort is stable: repeated names keep their order, which may matter upstream
  named.sort((first, second) => first.name < second.name ? -1 : first.name > second.name ? 1 : 0)
  return named.map(entry => entry.parameter).join('&')
}

export interface CacheKeyParts {
  /** the API's cache generation: a purge moves every key of the API */
  generation: number
  apiId: string
  upstreamId: string
  /** the request's Host, lowercased */
  host: string
  /** the route's host and prefix */
  route: string
  /** the upstream path (after the route's prefix strip) */
  upstreamPath: string
  /** the query string, normalised */
  query: string
  /** the calling app, or undefined when the route's answers are the same for every app */
  appId: string | undefined
}

function digest (text: string): string {
  return hash('sha256', text, 'base64url')
}

/** The key of a request's entry: a hash, so that a long URL costs a store no more than a short one. */
export function cacheKey (parts: CacheKeyParts): string {
  return digest(`${parts.generation}\n${parts.apiId}\n${parts.upstreamId}\n${parts.host}\n${parts.route}\n${parts.upstreamPath}\n${parts.query}\n${parts.appId ?? '*'}`)
}

/** The key of one variant under an entry whose answers vary by these request headers. */
export function variantKey (key: string, vary: readonly string[], headers: IncomingHttpHeaders): string {
  let text = key
  for (const name of vary) {
    const value = headers[name]
    // an absent header matches only an absent one; whitespace around list members is not part of the value (RFC 9111 §4.1)
    text += value === undefined ? `\n${name}` : `\n${name}:${(Array.isArray(value) ? value.join(',') : value).split(',').map(part => part.trim()).join(',')}`
  }
  return digest(text)
}
