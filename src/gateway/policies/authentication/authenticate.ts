// Authentication. Finds which credential the request carries (HMAC signature,
// API key or bearer token), checks it is one the route's API accepts, and verifies it.
// Returns the credential's app and the request headers that carried secrets, which the
// proxy strips before the upstream sees them.
import { createHash } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import {
  BadSignatureError, DependencyUnavailableError, ExpiredTimestampError, ExpiredTokenError, InvalidTokenError, MissingCredentialsError, ReplayedNonceError, UnknownKeyError
} from '../../../domain/errors.js'
import { apiKeyLookupHash, readApiKey } from '../../auth/api-key.js'
import { errorMessageHeader, readHmacKey, verifyHmacSignature } from '../../auth/hmac.js'
import { bearerChallenge, readBearerToken, verifyAccessToken } from '../../auth/jwt.js'
import type { CompiledCredential, GatewaySnapshot } from '../../snapshot/compile.js'
import type { NonceStore } from '../../../limits/nonce-store.js'

export const HMAC_HEADERS = ['x-ca-key', 'x-ca-signature', 'x-ca-signature-headers', 'x-ca-timestamp', 'x-ca-nonce', 'x-ca-signature-method', 'x-ca-stage']

export interface Authenticated {
  appId: string
  /** the public app key of the credential used (for a token: the one it was issued to) */
  credentialKey: string
  mode: 'hmac' | 'apikey' | 'jwt'
  /** request headers that carried credentials; never forwarded */
  credentialHeaders: string[]
}

export interface AuthenticateOptions {
  nonceStore: NonceStore
  timestampWindowMs: number
  /** the `iss` access tokens must carry */
  tokenIssuer: string
}

function liveCredential (credential: CompiledCredential | undefined, nowMs: number): CompiledCredential {
  if (credential === undefined || (credential.expiresAt !== null && credential.expiresAt <= nowMs)) throw new UnknownKeyError()
  return credential
}

function queryRecord (search: string): Record<string, string | string[]> {
  const record: Record<string, string | string[]> = {}
  for (const [name, value] of new URLSearchParams(search)) {
    const existing = record[name]
    record[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value]
  }
  return record
}

function describeModes (modes: Set<string>): string {
  const names: Record<string, string> = { hmac: 'an HMAC signature (X-Ca-* headers)', apikey: 'an API key (X-Api-Key)', jwt: 'an OAuth2 bearer token' }
  return [...modes].map(mode => names[mode] ?? mode).join(' or ')
}

/** What authentication reads of a request: plain HTTP requests and WebSocket upgrades alike. */
export interface AuthRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
}

export type SetResponseHeader = (name: string, value: string) => void

/** The request, and how to answer it: the policy context is one. */
export interface AuthExchange extends AuthRequest {
  /** reads the (bounded) request body when the signature covers it */
  readBody: () => Promise<Buffer>
  setResponseHeader: SetResponseHeader
}

export async function authenticate (request: AuthExchange, snapshot: GatewaySnapshot, authModes: Set<string>, apiName: string, options: AuthenticateOptions): Promise<Authenticated> {
  const headers = request.headers
  const nowMs = Date.now()
  const hmacKey = readHmacKey(headers)
  if (hmacKey !== undefined && authModes.has('hmac')) {
    const credential = liveCredential(snapshot.credentialsByKey.get(hmacKey), nowMs)
    const rawUrl = request.url
    const queryStart = rawUrl.indexOf('?')
    const path = queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart)
    const query = queryStart === -1 ? {} : queryRecord(rawUrl.slice(queryStart + 1))
    const contentType = headers['content-type'] ?? ''
    const isForm = /^application\/x-www-form-urlencoded\b/i.test(contentType)
    const contentMd5 = headers['content-md5']
    let form: Record<string, string | string[]> | undefined
    if (isForm || contentMd5 !== undefined) {
      const body = await request.readBody()
      if (contentMd5 !== undefined && createHash('md5').update(body).digest('base64') !== contentMd5) {
        throw new BadSignatureError('Content-MD5 does not match the request body')
      }
      if (isForm) form = queryRecord(body.toString('utf8'))
    }
    const verification = verifyHmacSignature({ method: request.method, path, query, form, headers }, credential.secret, nowMs, options.timestampWindowMs)
    if (!verification.ok) {
      switch (verification.code) {
        case 'BAD_SIGNATURE':
          if (verification.stringToSign !== undefined) request.setResponseHeader('x-ca-error-message', errorMessageHeader(verification.stringToSign))
          throw new BadSignatureError(verification.message)
        case 'EXPIRED_TIMESTAMP': throw new ExpiredTimestampError(verification.message)
        case 'UNKNOWN_KEY': throw new UnknownKeyError()
        default: throw new MissingCredentialsError(verification.message)
      }
    }
    const nonce = headers['x-ca-nonce'] as string
    let fresh: boolean
    try {
      // a replay carries the signed timestamp, so it fails the window check once that leaves it
      fresh = await options.nonceStore.remember(credential.key, nonce, Math.max(1, verification.sentAtMs + options.timestampWindowMs - nowMs))
    } catch {
      throw new DependencyUnavailableError('The replay protection store is unavailable')
    }
    if (!fresh) throw new ReplayedNonceError(nonce)
    return { appId: credential.appId, credentialKey: credential.key, mode: 'hmac', credentialHeaders: HMAC_HEADERS }
  }
  const apiKey = readApiKey(headers)
  if (apiKey !== undefined && authModes.has('apikey')) {
    const credential = liveCredential(snapshot.credentialsByApiKeyHash.get(apiKeyLookupHash(apiKey.apiKey)), nowMs)
    return { appId: credential.appId, credentialKey: credential.key, mode: 'apikey', credentialHeaders: apiKey.fromAuthorization ? ['authorization'] : ['x-api-key'] }
  }
  const token = authModes.has('jwt') ? readBearerToken(headers.authorization) : undefined
  if (token !== undefined) {
    const verification = await verifyAccessToken(token, snapshot.tokenKeys, options.tokenIssuer)
    const rejected = (code: 'INVALID_TOKEN' | 'EXPIRED_TOKEN', message: string): never => {
      request.setResponseHeader('www-authenticate', bearerChallenge('invalid_token', message))
      throw code === 'EXPIRED_TOKEN' ? new ExpiredTokenError() : new InvalidTokenError(message)
    }
    if (!verification.ok) return rejected(verification.code, verification.message)
    if (!verification.scopes.has(apiName)) return rejected('INVALID_TOKEN', `The token's scope does not include the API ${apiName}`)
    // a token dies with the credential it was issued to
    const credential = snapshot.credentialsByKey.get(verification.clientId)
    if (credential === undefined || credential.appId !== verification.appId || (credential.expiresAt !== null && credential.expiresAt <= nowMs)) return rejected('INVALID_TOKEN', 'The credential the token was issued to is no longer valid')
    return { appId: verification.appId, credentialKey: verification.clientId, mode: 'jwt', credentialHeaders: ['authorization'] }
  }
  // RFC 6750 §3: a request without a token still learns that a bearer token would do
  if (authModes.has('jwt')) request.setResponseHeader('www-authenticate', bearerChallenge())
  throw new MissingCredentialsError(`This API needs ${describeModes(authModes)}`)
}
