// Client side of Alibaba Cloud API Gateway's app signature: produces the headers a
// partner sends so that the gateway (src/gateway/auth/hmac.ts) accepts the request.
// Used by the demo, the portal's code snippets and the integration tests; behaves like
// the published SDKs (every X-Ca-* header is signed, names keep their casing).
import { createHash, createHmac, randomUUID } from 'node:crypto'
import {
  buildStringToSign,
  isExcludedFromHeaderBlock,
  isFormContentType,
  mergeSigningParameters,
  type ParameterSource
} from './string-to-sign.js'

export const SIGNATURE_METHODS = ['HmacSHA256', 'HmacSHA1'] as const
export type SignatureMethod = typeof SIGNATURE_METHODS[number]
export const STAGES = ['RELEASE', 'TEST', 'PRE'] as const
export type Stage = typeof STAGES[number]

const HMAC_ALGORITHMS: Record<SignatureMethod, string> = { HmacSHA256: 'sha256', HmacSHA1: 'sha1' }

export interface SignableRequest {
  method: string
  /** Path and query as sent, e.g. `/v1/orders?id=7`. */
  url: string
  headers?: Record<string, string>
  body?: string | Buffer
}

export interface SignRequestOptions {
  signatureMethod?: SignatureMethod
  /** Further headers to sign besides the X-Ca-* ones, by name (any casing). */
  signedHeaders?: readonly string[]
  timestamp?: number
  nonce?: string
  /** Adds Content-MD5 of the body (of an empty body when there is none). */
  contentMd5?: boolean
  stage?: Stage
}

export function computeSignature (stringToSign: string, secret: string, method: SignatureMethod = 'HmacSHA256'): string {
  return createHmac(HMAC_ALGORITHMS[method], secret).update(stringToSign, 'utf8').digest('base64')
}

export function contentMd5 (body: string | Buffer): string {
  return createHash('md5').update(body).digest('base64')
}

function findHeader (headers: Record<string, string>, name: string): [string, string] | undefined {
  const wanted = name.toLowerCase()
  for (const [headerName, value] of Object.entries(headers)) {
    if (headerName.toLowerCase() === wanted) return [headerName, value]
  }
  return undefined
}

// Replaces a header whatever casing the caller used for it, so that it is sent once.
function setHeader (headers: Record<string, string>, name: string, value: string): void {
  const existing = findHeader(headers, name)
  if (existing !== undefined) delete headers[existing[0]]
  headers[name] = value
}

function searchParamsToSource (params: URLSearchParams): ParameterSource {
  const source: Record<string, string[]> = {}
  for (const [name, value] of params) (source[name] ??= []).push(value)
  return source
}

/** Returns every header to send: the caller's, the X-Ca-* ones and the signature. */
export function signRequest (
  request: SignableRequest,
  key: string,
  secret: string,
  options: SignRequestOptions = {}
): Record<string, string> {
  const signatureMethod = options.signatureMethod ?? 'HmacSHA256'
  const headers: Record<string, string> = { ...request.headers }
  setHeader(headers, 'X-Ca-Key', key)
  setHeader(headers, 'X-Ca-Timestamp', String(options.timestamp ?? Date.now()))
  setHeader(headers, 'X-Ca-Nonce', options.nonce ?? randomUUID())
  setHeader(headers, 'X-Ca-Signature-Method', signatureMethod)
  if (options.stage !== undefined) setHeader(headers, 'X-Ca-Stage', options.stage)
  if (options.contentMd5 === true) setHeader(headers, 'Content-MD5', contentMd5(request.body ?? ''))
  // Accept is signed, and curl and fetch add `Accept: */*` when none is given: sending one
  // explicitly keeps what is signed and what is sent the same, as the published SDKs do
  if (findHeader(headers, 'accept') === undefined) setHeader(headers, 'Accept', 'application/json')

  const extraNames = new Set((options.signedHeaders ?? []).map(name => name.toLowerCase()))
  const signedHeaders = Object.entries(headers).filter(([name]) => {
    const lower = name.toLowerCase()
    return (lower.startsWith('x-ca-') || extraNames.has(lower)) && !isExcludedFromHeaderBlock(lower)
  })
  for (const name of options.signedHeaders ?? []) {
    // a listed header the request does not carry is signed with an empty value
    if (findHeader(headers, name) === undefined) signedHeaders.push([name, ''])
  }

  const queryStart = request.url.indexOf('?')
  const path = queryStart === -1 ? request.url : request.url.slice(0, queryStart)
  const query = new URLSearchParams(queryStart === -1 ? '' : request.url.slice(queryStart + 1))
  const contentType = findHeader(headers, 'content-type')?.[1]
  const form = isFormContentType(contentType) && request.body !== undefined
    ? searchParamsToSource(new URLSearchParams(request.body.toString()))
    : undefined

  const stringToSign = buildStringToSign({
    method: request.method,
    accept: findHeader(headers, 'accept')?.[1],
    contentMd5: findHeader(headers, 'content-md5')?.[1],
    contentType,
    date: findHeader(headers, 'date')?.[1],
    signedHeaders,
    path,
    parameters: mergeSigningParameters(searchParamsToSource(query), form)
  })
  setHeader(headers, 'X-Ca-Signature-Headers', signedHeaders.map(([name]) => name).join(','))
  setHeader(headers, 'X-Ca-Signature', computeSignature(stringToSign, secret, signatureMethod))
  return headers
}

/** The X-Ca-* values a browser puts in the query string of a WebSocket URL, as it cannot set headers. */
export const QUERY_SIGNATURE_PARAMETERS = ['x-ca-key', 'x-ca-timestamp', 'x-ca-nonce', 'x-ca-signature-method', 'x-ca-signature'] as const

/**
 * Signs a URL with query parameters instead of headers (for browsers opening WebSockets):
 * the string to sign is the one for a GET with no Accept, Content-MD5, Content-Type or
 * Date, the x-ca-key, x-ca-nonce, x-ca-signature-method and x-ca-timestamp values as
 * signed headers (lowercase names), and the path with the other query parameters.
 */
export function signQueryString (pathAndQuery: string, key: string, secret: string, options: Pick<SignRequestOptions, 'timestamp' | 'nonce' | 'signatureMethod'> = {}): string {
  const signatureMethod = options.signatureMethod ?? 'HmacSHA256'
  const queryStart = pathAndQuery.indexOf('?')
  const path = queryStart === -1 ? pathAndQuery : pathAndQuery.slice(0, queryStart)
  const query = new URLSearchParams(queryStart === -1 ? '' : pathAndQuery.slice(queryStart + 1))
  const values: Record<string, string> = {
    'x-ca-key': key,
    'x-ca-nonce': options.nonce ?? randomUUID(),
    'x-ca-signature-method': signatureMethod,
    'x-ca-timestamp': String(options.timestamp ?? Date.now())
  }
  const stringToSign = buildStringToSign({
    method: 'GET',
    signedHeaders: Object.entries(values),
    path,
    parameters: mergeSigningParameters(searchParamsToSource(query))
  })
  for (const [name, value] of Object.entries(values)) query.set(name, value)
  query.set('x-ca-signature', computeSignature(stringToSign, secret, signatureMethod))
  return `${path}?${query.toString()}`
}
