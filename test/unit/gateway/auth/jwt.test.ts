import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { bearerChallenge, compileTokenKeySet, readBearerToken, verifyAccessToken, type TokenKeySet } from '../../../../src/gateway/auth/jwt.js'

const ISSUER = 'https://control.example'
const NOW = 1_800_000_000
const APP_ID = '01900000-0000-7000-8000-000000000001'

interface SignOptions { claims?: JWTPayload, header?: Record<string, unknown>, key?: CryptoKey, kid?: string, alg?: string }

describe('access token verification', () => {
  let active: { privateKey: CryptoKey, kid: string }
  let retired: { privateKey: CryptoKey, kid: string }
  let keys: TokenKeySet
  const RETIRED_AT = NOW - 600

  beforeAll(async () => {
    const activePair = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    const retiredPair = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    active = { privateKey: activePair.privateKey, kid: 'active-key' }
    retired = { privateKey: retiredPair.privateKey, kid: 'retired-key' }
    keys = compileTokenKeySet([
      { kid: 'active-key', algorithm: 'EdDSA', publicJwk: { ...await exportJWK(activePair.publicKey) }, retiredAt: null },
      { kid: 'retired-key', algorithm: 'EdDSA', publicJwk: { ...await exportJWK(retiredPair.publicKey) }, retiredAt: RETIRED_AT * 1000 }
    ])
  })

  async function sign (options: SignOptions = {}): Promise<string> {
    const claims: JWTPayload = { iss: ISSUER, sub: APP_ID, aud: 'partner-gateway', iat: NOW, nbf: NOW, exp: NOW + 3600, jti: 'j1', scope: 'orders billing', client_id: 'app-key', ...options.claims }
    for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name]
    return await new SignJWT(claims)
      .setProtectedHeader({ alg: options.alg ?? 'EdDSA', kid: options.kid ?? active.kid, typ: 'at+jwt', ...options.header })
      .sign(options.key ?? active.privateKey)
  }

  it('accepts a token of ours and returns its app, client and scopes', async () => {
    expect(await verifyAccessToken(await sign(), keys, ISSUER, NOW + 10)).toEqual({ ok: true, appId: APP_ID, clientId: 'app-key', scopes: new Set(['orders', 'billing']) })
  })

  it('allows 30 s of clock skew on exp and nbf, and no more', async () => {
    const token = await sign()
    expect((await verifyAccessToken(token, keys, ISSUER, NOW + 3600 + 25)).ok).toBe(true)
    expect(await verifyAccessToken(token, keys, ISSUER, NOW + 3600 + 40)).toMatchObject({ ok: false, code: 'EXPIRED_TOKEN' })
    expect((await verifyAccessToken(token, keys, ISSUER, NOW - 25)).ok).toBe(true)
    expect(await verifyAccessToken(token, keys, ISSUER, NOW - 40)).toMatchObject({ ok: false, code: 'INVALID_TOKEN', message: expect.stringContaining('nbf') })
  })

  it('answers a token seen before from its cache, still checking its lifetime', async () => {
    const token = await sign({ claims: { jti: 'cached' } })
    expect((await verifyAccessToken(token, keys, ISSUER, NOW)).ok).toBe(true)
    expect(keys.verified.has(token)).toBe(true)
    expect((await verifyAccessToken(token, keys, ISSUER, NOW + 100)).ok).toBe(true)
    expect(await verifyAccessToken(token, keys, ISSUER, NOW - 40)).toMatchObject({ ok: false, code: 'INVALID_TOKEN' })
    expect(await verifyAccessToken(token, keys, ISSUER, NOW + 3600 + 40)).toMatchObject({ ok: false, code: 'EXPIRED_TOKEN' })
    expect(keys.verified.has(token)).toBe(false)
  })

  it('never caches a token that failed', async () => {
    const forged = (await sign({ claims: { jti: 'forged' } })).slice(0, -4) + 'AAAA'
    expect((await verifyAccessToken(forged, keys, ISSUER, NOW)).ok).toBe(false)
    expect(keys.verified.has(forged)).toBe(false)
  })

  it('rejects another issuer or audience', async () => {
    expect(await verifyAccessToken(await sign({ claims: { iss: 'https://elsewhere.example' } }), keys, ISSUER, NOW)).toMatchObject({ ok: false, code: 'INVALID_TOKEN', message: expect.stringContaining('iss') })
    expect(await verifyAccessToken(await sign({ claims: { aud: 'another-service' } }), keys, ISSUER, NOW)).toMatchObject({ ok: false, code: 'INVALID_TOKEN', message: expect.stringContaining('aud') })
  })

  it('rejects a tampered payload, a foreign key under our kid, an unknown kid and another algorithm', async () => {
    const [header, , signature] = (await sign()).split('.')
    const forged = Buffer.from(JSON.stringify({ iss: ISSUER, sub: 'someone-else', aud: 'partner-gateway', iat: NOW, exp: NOW + 3600, scope: 'orders', client_id: 'app-key' })).toString('base64url')
    expect(await verifyAccessToken(`${header}.${forged}.${signature}`, keys, ISSUER, NOW)).toMatchObject({ ok: false, code: 'INVALID_TOKEN' })

    const foreign = await generateKeyPair('EdDSA', { crv: 'Ed25519' })
    expect(await verifyAccessToken(await sign({ key: foreign.privateKey }), keys, ISSUER, NOW)).toMatchObject({ ok: false, code: 'INVALID_TOKEN' })
    expect(await verifyAccessToken(await sign({ key: foreign.privateKey, kid: 'unknown' }), keys, ISSUER, NOW)).toMatchObject({ ok: false, code: 'INVALID_TOKEN' })
    const es256 = await generateKeyPair('ES256')
    expect(await verifyAccessToken(await sign({ key: es256.privateKey, alg: 'ES256' }), keys, ISSUER, NOW)).toMatchObject({ ok: false, code: 'INVALID_TOKEN' })
    expect(await verifyAccessToken('not.a.jwt', keys, ISSUER, NOW)).toMatchObject({ ok: false, code: 'INVALID_TOKEN' })
  })

  it('rejects JWTs that are not access tokens or lack the claims the gateway relies on', async () => {
    expect((await verifyAccessToken(await sign({ header: { typ: 'JWT' } }), keys, ISSUER, NOW)).ok).toBe(false)
    for (const missing of ['client_id', 'scope', 'sub', 'exp', 'iat']) {
      expect({ missing, result: await verifyAccessToken(await sign({ claims: { [missing]: undefined } }), keys, ISSUER, NOW) }).toMatchObject({ missing, result: { ok: false, code: 'INVALID_TOKEN' } })
    }
  })

  it('accepts tokens a retired key signed before its retirement, not ones claiming to be newer', async () => {
    const before = await sign({ key: retired.privateKey, kid: retired.kid, claims: { iat: RETIRED_AT - 100, nbf: RETIRED_AT - 100, exp: RETIRED_AT + 3000 } })
    expect((await verifyAccessToken(before, keys, ISSUER, NOW)).ok).toBe(true)
    const after = await sign({ key: retired.privateKey, kid: retired.kid, claims: { iat: RETIRED_AT + 60, nbf: RETIRED_AT + 60, exp: RETIRED_AT + 3000 } })
    expect(await verifyAccessToken(after, keys, ISSUER, NOW)).toMatchObject({ ok: false, code: 'INVALID_TOKEN', message: expect.stringContaining('retired') })
  })
})

describe('bearer token syntax', () => {
  it('reads the token of an Authorization: Bearer header, case-insensitively', () => {
    expect(readBearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi')
    expect(readBearerToken('bearer   abc ')).toBe('abc')
    expect(readBearerToken('Bearer ')).toBeUndefined()
    expect(readBearerToken('Basic abc')).toBeUndefined()
    expect(readBearerToken(undefined)).toBeUndefined()
  })

  it('writes challenges whose description cannot break the header grammar', () => {
    expect(bearerChallenge()).toBe('Bearer realm="partner-gateway"')
    expect(bearerChallenge('invalid_token', 'The "x" claim \\ é')).toBe('Bearer error="invalid_token", error_description="The \'x\' claim \' \'"')
  })
})
