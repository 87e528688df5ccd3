// OAuth2 access tokens: verified locally against the signing keys in the snapshot, with no
// call to the control server per request. The grant and app checks that follow in the
// permission policy make a revocation effective at once, however long the token still runs.
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet } from 'jose'
import { CLOCK_TOLERANCE_SECONDS, TOKEN_ALGORITHM, TOKEN_AUDIENCE } from '../../domain/oauth.js'
import type { SnapshotSigningKey } from '../../store/config-snapshot.js'

interface VerifiedToken { appId: string, clientId: string, scopes: Set<string>, notBefore: number, expiresAt: number }

export interface TokenKeySet {
  jwks: ReturnType<typeof createLocalJWKSet>
  /** epoch seconds at which each retired key stopped signing */
  retiredAt: Map<string, number>
  /**
   * Tokens already verified against these keys, until they expire: a signature check costs
   * more than the rest of a request's policies, and a client sends the same token for its
   * whole lifetime. A new snapshot brings new keys and an empty cache.
   */
  verified: Map<string, VerifiedToken>
}

/** Verified tokens kept per key set; past it the oldest are forgotten (and verified again if seen). */
const MAX_VERIFIED_TOKENS = 10_000

/** Built once per snapshot: jose's key set caches the imported keys between requests. */
export function compileTokenKeySet (keys: SnapshotSigningKey[]): TokenKeySet {
  const jwks: JSONWebKeySet = { keys: keys.map(key => ({ ...key.publicJwk, kid: key.kid, alg: key.algorithm, use: 'sig' })) }
  const retiredAt = new Map<string, number>()
  for (const key of keys) if (key.retiredAt != null) retiredAt.set(key.kid, Math.floor(key.retiredAt / 1000))
  return { jwks: createLocalJWKSet(jwks), retiredAt, verified: new Map() }
}

export function readBearerToken (authorization: string | undefined): string | undefined {
  if (authorization === undefined || !/^Bearer\s+/i.test(authorization)) return undefined
  const token = authorization.replace(/^Bearer\s+/i, '').trim()
  return token === '' ? undefined : token
}

/** A `WWW-Authenticate: Bearer` value (RFC 6750 §3); the description keeps to the characters the grammar allows. */
export function bearerChallenge (error?: string, description?: string): string {
  if (error === undefined) return 'Bearer realm="partner-gateway"'
  const params = [`error="${error}"`]
  if (description !== undefined) params.push(`error_description="${description.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "'")}"`)
  return `Bearer ${params.join(', ')}`
}

export type TokenVerification =
  | { ok: true, appId: string, clientId: string, scopes: Set<string> }
  | { ok: false, code: 'INVALID_TOKEN' | 'EXPIRED_TOKEN', message: string }

export async function verifyAccessToken (token: string, keys: TokenKeySet, issuer: string, nowSeconds = Math.floor(Date.now() / 1000)): Promise<TokenVerification> {
  const known = keys.verified.get(token)
  if (known !== undefined) {
    if (nowSeconds + CLOCK_TOLERANCE_SECONDS < known.notBefore) return { ok: false, code: 'INVALID_TOKEN', message: 'The access token\'s nbf claim is not valid' }
    if (nowSeconds - CLOCK_TOLERANCE_SECONDS < known.expiresAt) return { ok: true, appId: known.appId, clientId: known.clientId, scopes: known.scopes }
    keys.verified.delete(token)
    return { ok: false, code: 'EXPIRED_TOKEN', message: 'The access token has expired' }
  }
  try {
    const { payload, protectedHeader } = await jwtVerify(token, keys.jwks, {
      issuer,
      audience: TOKEN_AUDIENCE,
      algorithms: [TOKEN_ALGORITHM],
      // RFC 9068: only access tokens, not some other JWT signed by the same key
      typ: 'at+jwt',
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: new Date(nowSeconds * 1000),
      requiredClaims: ['sub', 'exp', 'iat', 'scope']
    })
    if (typeof payload.sub !== 'string' || typeof payload.scope !== 'string' || typeof payload.client_id !== 'string') return { ok: false, code: 'INVALID_TOKEN', message: 'The access token lacks sub, scope or client_id' }
    // a retired key signs nothing new: a token claiming a later issue time was not made by us
    const retiredAt = protectedHeader.kid === undefined ? undefined : keys.retiredAt.get(protectedHeader.kid)
    if (retiredAt !== undefined && (payload.iat as number) > retiredAt + CLOCK_TOLERANCE_SECONDS) return { ok: false, code: 'INVALID_TOKEN', message: 'The access token is signed by a retired key' }
    const verified = { appId: payload.sub, clientId: payload.client_id, scopes: new Set(payload.scope.split(' ')), notBefore: payload.nbf ?? -Infinity, expiresAt: payload.exp as number }
    if (keys.verified.size >= MAX_VERIFIED_TOKENS) keys.verified.delete(keys.verified.keys().next().value as string)
    keys.verified.set(token, verified)
    return { ok: true, appId: verified.appId, clientId: verified.clientId, scopes: verified.scopes }
  } catch (error) {
    if (error instanceof errors.JWTExpired) return { ok: false, code: 'EXPIRED_TOKEN', message: 'The access token has expired' }
    if (error instanceof errors.JWTClaimValidationFailed) return { ok: false, code: 'INVALID_TOKEN', message: `The access token's ${error.claim} claim is not valid` }
    return { ok: false, code: 'INVALID_TOKEN', message: 'The access token is not valid' }
  }
}
