// OAuth2 client credentials end to end: the token endpoint, the published keys, and the
// gateway verifying tokens locally — including with a standard OAuth2 client library.
import { freePort } from '../../helpers/ports.js'
import * as oauthClient from 'openid-client'
import { SignJWT, generateKeyPair, decodeJwt, importJWK, type JWTPayload } from 'jose'
import { SecretBox } from '../../../src/domain/crypto.js'
import { resolveMasterKey } from '../../../src/store/master-key.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { provision, startStack, waitForPropagation, type Provisioned, type TestStack } from '../../helpers/stack.js'
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js'

describe('OAuth2 client credentials', () => {
  let stack: TestStack
  let upstream: TestUpstream
  let app: Provisioned
  let apiName: string
  let prefix: string
  let issuer: string

  beforeAll(async () => {
    const port = await freePort()
    issuer = `http://127.0.0.1:${port}`
    stack = await startStack({ database: 'postgresql', redis: true, config: { controlPort: port, publicUrl: issuer, tokenTtlSeconds: 600 } })
    upstream = await startUpstream()
    app = await provision(stack, { upstreamUrls: [upstream.url], auth: ['jwt'] })
    const api = (await stack.admin('GET', `/admin/v1/apis/${app.apiId}`)).body
    apiName = api.name
    prefix = api.routes[0].path
    await waitForPropagation(stack)
  })
  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
  })

  async function token (body: Record<string, string>, basic?: [string, string]): Promise<{ status: number, body: any, headers: Headers }> {
    const response = await fetch(`${issuer}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(basic !== undefined ? { authorization: `Basic ${Buffer.from(`${basic[0]}:${basic[1]}`).toString('base64')}` } : {}) },
      body: new URLSearchParams(body).toString()
    })
    return { status: response.status, body: await response.json(), headers: response.headers }
  }

  async function callGateway (accessToken: string): Promise<Response> {
    return await fetch(`${stack.gatewayUrls[0]}${prefix}/orders`, { headers: { authorization: `Bearer ${accessToken}` } })
  }

  it('issues a token with HTTP Basic and with form fields', async () => {
    const basic = await token({ grant_type: 'client_credentials' }, [app.key, app.secret])
    expect(basic.status).toBe(200)
    expect(basic.body).toMatchObject({ token_type: 'Bearer', expires_in: 600, scope: apiName })
    expect(basic.headers.get('cache-control')).toBe('no-store')
    const claims = decodeJwt(basic.body.access_token)
    expect(claims).toMatchObject({ iss: issuer, sub: app.appId, aud: 'partner-gateway', scope: apiName, client_id: app.key })
    expect(claims.jti).toEqual(expect.any(String))
    const form = await token({ grant_type: 'client_credentials', client_id: app.key, client_secret: app.secret })
    expect(form.status).toBe(200)
  })

  it('answers bad clients and requests with RFC 6749 errors', async () => {
    const wrongSecret = await token({ grant_type: 'client_credentials' }, [app.key, 'wrong'])
    expect(wrongSecret.status).toBe(401)
    expect(wrongSecret.body.error).toBe('invalid_client')
    expect(wrongSecret.headers.get('www-authenticate')).toMatch(/^Basic/)
    expect((await token({ grant_type: 'client_credentials', client_id: 'nobody', client_secret: 'x' })).body.error).toBe('invalid_client')
    expect((await token({ grant_type: 'password' }, [app.key, app.secret])).body.error).toBe('unsupported_grant_type')
    expect((await token({}, [app.key, app.secret])).body.error).toBe('invalid_request')
    const both = await token({ grant_type: 'client_credentials', client_id: app.key, client_secret: app.secret }, [app.key, app.secret])
    expect(both.body.error).toBe('invalid_request')
    const unknownScope = await token({ grant_type: 'client_credentials', scope: `${apiName} other-api` }, [app.key, app.secret])
    expect(unknownScope).toMatchObject({ status: 400, body: { error: 'invalid_scope' } })
  })

  it('throttles repeated failed client authentications', async () => {
    const other = await provision(stack, { upstreamUrls: [upstream.url], auth: ['jwt'] })
    for (let attempt = 0; attempt < 10; attempt++) await token({ grant_type: 'client_credentials' }, [other.key, 'wrong'])
    const throttled = await token({ grant_type: 'client_credentials' }, [other.key, other.secret])
    expect(throttled.status).toBe(429)
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0)
  })

  it('publishes the keys and the server metadata', async () => {
    await token({ grant_type: 'client_credentials' }, [app.key, app.secret])
    const jwks = await (await fetch(`${issuer}/.well-known/jwks.json`)).json() as { keys: Array<Record<string, string>> }
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: expect.any(String) })
    expect(jwks.keys[0].d).toBeUndefined()
    const metadata = await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json() as Record<string, unknown>
    expect(metadata).toMatchObject({ issuer, token_endpoint: `${issuer}/oauth/token`, jwks_uri: `${issuer}/.well-known/jwks.json`, grant_types_supported: ['client_credentials'] })
  })

  it('lets the gateway accept a valid token and strip it before the upstream', async () => {
    const { body } = await token({ grant_type: 'client_credentials' }, [app.key, app.secret])
    await waitForPropagation(stack)
    const response = await callGateway(body.access_token)
    expect(response.status).toBe(200)
    const echoed = await response.json() as { headers: Record<string, string> }
    expect(echoed.headers.authorization).toBeUndefined()
    expect(echoed.headers['x-app-id']).toBe(app.appId)
  })

  /** Signs with the stack's own active key, to test the gateway's claim checks one at a time. */
  async function signWithStackKey (claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
    const row = await stack.control.database.prisma.signingKey.findFirstOrThrow({ where: { retiredAt: null }, orderBy: { createdAt: 'desc' } })
    const privateKey = await importJWK(JSON.parse(new SecretBox(resolveMasterKey(stack.control.config).key).decrypt(row.privateJwkCiphertext)), 'EdDSA')
    const now = Math.floor(Date.now() / 1000)
    return await new SignJWT({ iss: issuer, sub: app.appId, aud: 'partner-gateway', iat: now, nbf: now, exp: now + 600, scope: apiName, client_id: app.key, ...claims })
      .setProtectedHeader({ alg: 'EdDSA', kid: row.kid, typ: 'at+jwt', ...header }).sign(privateKey)
  }

  async function refusal (response: Response): Promise<{ status: number, code: string, challenge: string | null }> {
    return { status: response.status, code: ((await response.json()) as { error: { code: string } }).error.code, challenge: response.headers.get('www-authenticate') }
  }

  it('rejects tampered, expired, not yet valid, wrong-issuer, wrong-audience and foreign-key tokens', async () => {
    const { body } = await token({ grant_type: 'client_credentials' }, [app.key, app.secret])
    await waitForPropagation(stack)
    expect((await callGateway(await signWithStackKey({}))).status).toBe(200)
    const now = Math.floor(Date.now() / 1000)
    const invalid = { status: 401, code: 'INVALID_TOKEN', challenge: expect.stringMatching(/^Bearer error="invalid_token", error_description="[^"]+"$/) }

    const [header, , signature] = (body.access_token as string).split('.')
    const forgedPayload = Buffer.from(JSON.stringify({ ...decodeJwt(body.access_token), sub: '00000000-0000-7000-8000-000000000000' })).toString('base64url')
    expect(await refusal(await callGateway(`${header}.${forgedPayload}.${signature}`))).toEqual(invalid)
    expect(await refusal(await callGateway(await signWithStackKey({ exp: now - 120, iat: now - 720, nbf: now - 720 })))).toEqual({ ...invalid, code: 'EXPIRED_TOKEN' })
    expect(await refusal(await callGateway(await signWithStackKey({ nbf: now + 300 })))).toEqual(invalid)
    expect(await refusal(await callGateway(await signWithStackKey({ aud: 'some-other-service' })))).toEqual(invalid)
    expect(await refusal(await callGateway(await signWithStackKey({ iss: 'https://impostor.example' })))).toEqual(invalid)
    expect(await refusal(await callGateway(await signWithStackKey({}, { typ: 'JWT' })))).toEqual(invalid)

    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' })
    const kid = JSON.parse(Buffer.from(header, 'base64url').toString()).kid as string
    const foreign = await new SignJWT({ scope: apiName, client_id: app.key }).setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' })
      .setIssuer(issuer).setSubject(app.appId).setAudience('partner-gateway').setIssuedAt().setExpirationTime('10m').sign(privateKey)
    expect(await refusal(await callGateway(foreign))).toEqual(invalid)
    expect(await refusal(await callGateway('not.a.jwt'))).toEqual(invalid)

    const missing = await refusal(await fetch(`${stack.gatewayUrls[0]}${prefix}/orders`))
    expect(missing).toEqual({ status: 401, code: 'MISSING_CREDENTIALS', challenge: 'Bearer realm="partner-gateway"' })
  })

  it('rejects the tokens of a revoked credential at once', async () => {
    const other = await provision(stack, { upstreamUrls: [upstream.url], auth: ['jwt'], grant: false })
    await stack.admin('POST', '/admin/v1/grants', { appId: other.appId, apiId: app.apiId, planId: app.planId })
    const accessToken = (await token({ grant_type: 'client_credentials' }, [other.key, other.secret])).body.access_token as string
    await waitForPropagation(stack)
    expect((await callGateway(accessToken)).status).toBe(200)
    expect((await stack.admin('DELETE', `/admin/v1/apps/${other.appId}/credentials/${other.key}`)).status).toBe(204)
    await waitForPropagation(stack)
    expect(await refusal(await callGateway(accessToken))).toMatchObject({ status: 401, code: 'INVALID_TOKEN' })
  })

  it('rejects a token whose scope lacks the API, and tokens of a suspended app or revoked grant at once', async () => {
    const second = await provision(stack, { upstreamUrls: [upstream.url], auth: ['jwt'] })
    const secondPrefix = (await stack.admin('GET', `/admin/v1/apis/${second.apiId}`)).body.routes[0].path
    await waitForPropagation(stack)
    const own = (await token({ grant_type: 'client_credentials' }, [second.key, second.secret])).body.access_token as string
    const foreign = await fetch(`${stack.gatewayUrls[0]}${prefix}/orders`, { headers: { authorization: `Bearer ${own}` } })
    expect(foreign.status).toBe(401)
    expect((await fetch(`${stack.gatewayUrls[0]}${secondPrefix}/x`, { headers: { authorization: `Bearer ${own}` } })).status).toBe(200)

    await stack.admin('PATCH', `/admin/v1/apps/${second.appId}`, { status: 'suspended' })
    await waitForPropagation(stack)
    expect((await fetch(`${stack.gatewayUrls[0]}${secondPrefix}/x`, { headers: { authorization: `Bearer ${own}` } })).status).toBe(403)
    await stack.admin('PATCH', `/admin/v1/apps/${second.appId}`, { status: 'active' })
    await stack.admin('PATCH', `/admin/v1/grants/${second.grantId as string}`, { status: 'revoked' })
    await waitForPropagation(stack)
    expect((await fetch(`${stack.gatewayUrls[0]}${secondPrefix}/x`, { headers: { authorization: `Bearer ${own}` } })).status).toBe(403)
  })

  it('keeps accepting tokens signed before a key rotation', async () => {
    const before = (await token({ grant_type: 'client_credentials' }, [app.key, app.secret])).body.access_token as string
    const rotated = await stack.admin('POST', '/admin/v1/signing-keys/rotate')
    expect(rotated.status).toBe(201)
    await waitForPropagation(stack)
    const after = (await token({ grant_type: 'client_credentials' }, [app.key, app.secret])).body.access_token as string
    const kid = (jwt: string): string => JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString()).kid
    expect(kid(after)).toBe(rotated.body.kid)
    expect(kid(before)).not.toBe(kid(after))
    expect((await callGateway(before)).status).toBe(200)
    expect((await callGateway(after)).status).toBe(200)
    const jwks = await (await fetch(`${issuer}/.well-known/jwks.json`)).json() as { keys: Array<{ kid: string }> }
    expect(jwks.keys.map(key => key.kid)).toEqual(expect.arrayContaining([kid(before), kid(after)]))
  })

  it('works with a standard OAuth2 client library (openid-client), as a partner would use it', async () => {
    const configuration = await oauthClient.discovery(new URL(issuer), app.key, app.secret, undefined, { algorithm: 'oauth2', execute: [oauthClient.allowInsecureRequests] })
    const tokens = await oauthClient.clientCredentialsGrant(configuration, { scope: apiName })
    expect(tokens.token_type.toLowerCase()).toBe('bearer')
    const response = await callGateway(tokens.access_token)
    expect(response.status).toBe(200)
  })
})
