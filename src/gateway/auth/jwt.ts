// OAuth2 access tokens: verified locally against the signing keys in the snapshot, with no
// call to the control server per request. The grant and app checks that follow in the
// permission policy make a revocation effective at once, however long the token still runs.
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet } from 'jose'
import { CLOCK_TOLERANCE_SECONDS, TOKEN_ALGORITHM, TOKEN_AUDIENCE } from '../../domain/oauth.js'
import type { SnapshotSigningKey } from '../../store/config-snapshot.js'

export type TokenKeySet = ReturnType<typeof createLocalJWKSet>

export function compileTokenKeySet (keys: SnapshotSigningKey[]): TokenKeySet {
  const jwks: JSONWebKeySet = { keys: keys.map(key => ({ ...key.publicJwk, kid: key.kid, alg: key.algorithm })) }
  return createLocalJWKSet(jwks)
}

export function readBearerToken (authorization: string | undefined): string | undefined {
  if (authorization === undefined || !/^Bearer\s+/i.test(authorization)) return undefined
  const token = authorization.replace(/^Bearer\s+/i, '').trim()
  return token === '' ? undefined : token
}

export type TokenVerification =
  | { ok: true, appId: string, clientId: string, scopes: Set<string> }
  | { ok: false, code: 'INVALID_TOKEN' | 'EXPIRED_TOKEN', message: string }

export async function verifyAccessToken (token: string, keys: TokenKeySet, issuer: string): Promise<TokenVerification> {
  try {
    const { payload } = await jwtVerify(token, keys, { issuer, audience: TOKEN_AUDIENCE, algorithms: [TOKEN_ALGORITHM], clockTolerance: CLOCK_TOLERANCE_SECONDS, requiredClaims: ['sub', 'exp', 'scope'] })
    if (typeof payload.sub !== 'string' || typeof payload.scope !== 'string' || typeof payload.client_id !== 'string') return { ok: false, code: 'INVALID_TOKEN', message: 'The access token lacks sub, scope or client_id' }
    return { ok: true, appId: payload.sub, clientId: payload.client_id, scopes: new Set(payload.scope.split(' ')) }
  } catch (error) {
    if (error instanceof errors.JWTExpired) return { ok: false, code: 'EXPIRED_TOKEN', message: 'The access token has expired' }
    if (error instanceof errors.JWTClaimValidationFailed) return { ok: false, code: 'INVALID_TOKEN', message: `The access token's ${error.claim} claim is not valid` }
    return { ok: false, code: 'INVALID_TOKEN', message: 'The access token is not valid' }
  }
}
