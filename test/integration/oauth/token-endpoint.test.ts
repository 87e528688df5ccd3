// The token endpoint, the published keys, the metadata and key rotation on the control
// server alone, on both databases.
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { DATABASE_KINDS } from '../../helpers/database.js'
import { startControlServer, type TestControlServer } from '../../helpers/control-server.js'
import { fetchFrom } from '../../helpers/from-address.js'

const ISSUER = 'https://api.partner-gateway.test'
const TTL = 120

interface TokenResponse { status: number, body: any, headers: Headers }

describe.each(DATABASE_KINDS)('OAuth2 token endpoint on %s', kind => {
  let server: TestControlServer
  let app: { id: string, key: string, secret: string }
  let apis: string[]

  beforeAll(async () => {
    server = await startControlServer(kind, { config: { publicUrl: `${ISSUER}/`, tokenTtlSeconds: TTL } })
    app = await provisionApp(['orders', 'billing'])
    apis = ['billing', 'orders']
  })
  afterAll(async () => { await server?.close() })

  async function admin (method: string, path: string, body?: unknown): Promise<any> {
    const response = await server.call(method, path, body)
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`)
    return response.body
  }

  /** A partner with one app granted the named APIs (created when missing). */
  async function provisionApp (apiNames: string[], suffix = Math.random().toString(36).slice(2, 8)): Promise<{ id: string, key: string, secret: string }> {
    const upstream = await admin('POST', '/admin/v1/upstreams', { name: `up-${suffix}`, targets: [{ url: 'http://127.0.0.1:9' }] })
    const plan = await admin('POST', '/admin/v1/plans', { name: `plan-${suffix}` })
    const partner = await admin('POST', '/admin/v1/partners', { name: `partner-${suffix}` })
    const created = await admin('POST', `/admin/v1/partners/${partner.id as string}/apps`, { name: `app-${suffix}` })
    for (const name of apiNames) {
      const existing = (await admin('GET', '/admin/v1/apis?limit=100')).items.find((api: { name: string }) => api.name === name)
      const api = existing ?? await admin('POST', '/admin/v1/apis', { name, upstreamId: upstream.id, auth: ['jwt'], routes: [{ path: `/${name}` }] })
      await admin('POST', '/admin/v1/grants', { appId: created.id, apiId: api.id, planId: plan.id })
    }
    return { id: created.id, key: created.key, secret: created.secret }
  }

  function basic (id: string, secret: string): string {
    return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`
  }

  async function token (form: Record<string, string> | string, authorization?: string, contentType = 'application/x-www-form-urlencoded'): Promise<TokenResponse> {
    const response = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': contentType, ...(authorization !== undefined ? { authorization } : {}) },
      body: typeof form === 'string' ? form : new URLSearchParams(form).toString()
    })
    return { status: response.status, body: await response.json(), headers: response.headers }
  }

  /** A token request with HTTP Basic from another client address. */
  async function tokenFrom (localAddress: string, authorization: string): Promise<TokenResponse> {
    const { response, text } = await fetchFrom(localAddress, `${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
      body: 'grant_type=client_credentials'
    })
    return { status: response.status, body: JSON.parse(text), headers: response.headers as unknown as Headers }
  }

  async function jwks (): Promise<JSONWebKeySet> {
    return await (await fetch(`${server.url}/.well-known/jwks.json`)).json() as JSONWebKeySet
  }

  it('creates one signing key on first use, even for concurrent first requests', async () => {
    expect(await server.database.prisma.signingKey.count()).toBe(0)
    const responses = await Promise.all(Array.from({ length: 5 }, async () => await token({ grant_type: 'client_credentials' }, basic(app.key, app.secret))))
    expect(responses.map(response => response.status)).toEqual([200, 200, 200, 200, 200])
    expect(new Set(responses.map(response => decodeProtectedHeader(response.body.access_token).kid)).size).toBe(1)
    const keys = await server.database.prisma.signingKey.findMany()
    expect(keys).toHaveLength(1)
    expect(keys[0].privateJwkCiphertext).not.toContain('"d"')
    expect(JSON.parse(server.secretBox.decrypt(keys[0].privateJwkCiphertext))).toMatchObject({ kty: 'OKP', crv: 'Ed25519', d: expect.any(String) })
  })

  it('issues a signed token with HTTP Basic, not to be cached', async () => {
    const response = await token({ grant_type: 'client_credentials' }, basic(app.key, app.secret))
    expect(response.status).toBe(200)
    expect(response.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: TTL, scope: 'billing orders' })
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(response.headers.get('pragma')).toBe('no-cache')
    const { payload, protectedHeader } = await jwtVerify(response.body.access_token, createLocalJWKSet(await jwks()), { issuer: ISSUER, audience: 'partner-gateway', typ: 'at+jwt' })
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', kid: expect.any(String) })
    expect(payload).toMatchObject({ sub: app.id, client_id: app.key, scope: 'billing orders', jti: expect.any(String) })
    expect((payload.exp as number) - (payload.iat as number)).toBe(TTL)
    expect(payload.nbf).toBe(payload.iat)
  })

  it('issues a token with client_id and client_secret form fields', async () => {
    const response = await token({ grant_type: 'client_credentials', client_id: app.key, client_secret: app.secret })
    expect(response.status).toBe(200)
    expect(decodeJwt(response.body.access_token)).toMatchObject({ sub: app.id, client_id: app.key })
  })

  it('narrows the scope to the requested APIs and refuses APIs without a grant', async () => {
    const one = await token({ grant_type: 'client_credentials', scope: 'orders' }, basic(app.key, app.secret))
    expect(one.body.scope).toBe('orders')
    expect(decodeJwt(one.body.access_token).scope).toBe('orders')
    expect((await token({ grant_type: 'client_credentials', scope: ' orders  billing orders' }, basic(app.key, app.secret))).body.scope).toBe('orders billing')
    for (const scope of ['orders shipping', 'shipping', 'ORDERS']) {
      const refused = await token({ grant_type: 'client_credentials', scope }, basic(app.key, app.secret))
      expect({ scope, status: refused.status, error: refused.body.error }).toEqual({ scope, status: 400, error: 'invalid_scope' })
    }
    const ungranted = await provisionApp([])
    expect((await token({ grant_type: 'client_credentials' }, basic(ungranted.key, ungranted.secret))).body.error).toBe('invalid_scope')
  })

  it('answers unknown clients and wrong secrets with invalid_client, 401 and a Basic challenge', async () => {
    for (const [what, attempt] of [
      ['wrong secret (Basic)', token({ grant_type: 'client_credentials' }, basic(app.key, 'wrong'))],
      ['wrong secret (form)', token({ grant_type: 'client_credentials', client_id: app.key, client_secret: 'wrong' })],
      ['unknown client', token({ grant_type: 'client_credentials', client_id: 'nobody', client_secret: 'x' })],
      ['no client authentication', token({ grant_type: 'client_credentials' })],
      ['client_id without secret', token({ grant_type: 'client_credentials', client_id: app.key })],
      ['malformed Basic', token({ grant_type: 'client_credentials' }, `Basic ${Buffer.from('no-colon').toString('base64')}`)]
    ] as const) {
      const response = await attempt
      expect({ what, status: response.status, error: response.body.error, challenge: response.headers.get('www-authenticate') })
        .toEqual({ what, status: 401, error: 'invalid_client', challenge: 'Basic realm="partner-gateway", charset="UTF-8"' })
      expect(response.body.error_description).toEqual(expect.any(String))
    }
  })

  it('answers malformed requests with invalid_request or unsupported_grant_type, 400', async () => {
    const cases: Array<[string, Promise<TokenResponse>, string]> = [
      ['wrong grant type', token({ grant_type: 'password', username: 'u', password: 'p' }, basic(app.key, app.secret)), 'unsupported_grant_type'],
      ['authorization_code', token({ grant_type: 'authorization_code', code: 'x' }, basic(app.key, app.secret)), 'unsupported_grant_type'],
      ['missing grant type', token({}, basic(app.key, app.secret)), 'invalid_request'],
      ['two client authentication methods', token({ grant_type: 'client_credentials', client_id: app.key, client_secret: app.secret }, basic(app.key, app.secret)), 'invalid_request'],
      ['Basic and another client_id', token({ grant_type: 'client_credentials', client_id: 'other' }, basic(app.key, app.secret)), 'invalid_request'],
      ['repeated parameter', token('grant_type=client_credentials&grant_type=client_credentials', basic(app.key, app.secret)), 'invalid_request'],
      ['JSON body', token(JSON.stringify({ grant_type: 'client_credentials' }), basic(app.key, app.secret), 'application/json'), 'invalid_request'],
      ['oversized body', token(`grant_type=client_credentials&scope=${'x'.repeat(10_000)}`, basic(app.key, app.secret)), 'invalid_request']
    ]
    for (const [what, attempt, error] of cases) {
      const response = await attempt
      expect({ what, status: response.status, error: response.body.error }).toEqual({ what, status: 400, error })
      expect(response.headers.get('cache-control')).toBe('no-store')
    }
    // a matching client_id next to HTTP Basic is one method, not two
    expect((await token({ grant_type: 'client_credentials', client_id: app.key }, basic(app.key, app.secret))).status).toBe(200)
  })

  it('refuses revoked credentials and suspended apps', async () => {
    const other = await provisionApp(['orders'])
    await admin('PATCH', `/admin/v1/apps/${other.id}`, { status: 'suspended' })
    expect(await token({ grant_type: 'client_credentials' }, basic(other.key, other.secret))).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } })
    await admin('PATCH', `/admin/v1/apps/${other.id}`, { status: 'active' })
    expect((await token({ grant_type: 'client_credentials' }, basic(other.key, other.secret))).status).toBe(200)
    await server.call('DELETE', `/admin/v1/apps/${other.id}/credentials/${other.key}`)
    expect(await token({ grant_type: 'client_credentials' }, basic(other.key, other.secret))).toMatchObject({ status: 401, body: { error: 'invalid_client' } })
  })

  it('throttles a client_id from one address after 10 failed authentications, even with the right secret', async () => {
    const target = await provisionApp(['orders'])
    const bystander = await provisionApp(['orders'])
    for (let attempt = 0; attempt < 10; attempt++) expect((await token({ grant_type: 'client_credentials' }, basic(target.key, `wrong-${attempt}`))).status).toBe(401)
    const throttled = await token({ grant_type: 'client_credentials' }, basic(target.key, target.secret))
    expect(throttled).toMatchObject({ status: 429, body: { error: 'invalid_client' } })
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(200)
    expect((await token({ grant_type: 'client_credentials' }, basic(bystander.key, bystander.secret))).status).toBe(200)
  })

  it('does not lock an app out of tokens when another address fails its secret over and over', async () => {
    const target = await provisionApp(['orders'])
    const attacker = '127.0.0.2'
    const statuses = []
    for (let attempt = 0; attempt < 15; attempt++) statuses.push((await tokenFrom(attacker, basic(target.key, `guess-${attempt}`))).status)
    expect(statuses).toEqual([...Array(10).fill(401), ...Array(5).fill(429)])
    expect((await tokenFrom(attacker, basic(target.key, target.secret))).status).toBe(429)
    // the app itself, from its own address, still gets its token
    expect((await token({ grant_type: 'client_credentials' }, basic(target.key, target.secret))).status).toBe(200)
    expect((await tokenFrom('127.0.0.3', basic(target.key, target.secret))).status).toBe(200)
  })

  it('bounds one address\'s failed authentications across client_ids, leaving other addresses alone', async () => {
    const attacker = '127.0.0.4'
    for (let attempt = 0; attempt < 100; attempt++) expect((await tokenFrom(attacker, basic(`made-up-${attempt}`, 'x'))).status).toBe(401)
    expect((await tokenFrom(attacker, basic(app.key, app.secret))).status).toBe(429)
    expect((await tokenFrom('127.0.0.5', basic(app.key, app.secret))).status).toBe(200)
  })

  it('answers a server failure with server_error and keeps the details in the log', async () => {
    const spy = vi.spyOn(server.database.prisma.grant, 'findMany').mockRejectedValueOnce(new Error('connection to 10.0.0.5 lost'))
    try {
      const response = await token({ grant_type: 'client_credentials' }, basic(app.key, app.secret))
      expect(response).toMatchObject({ status: 500, body: { error: 'server_error' } })
      expect(JSON.stringify(response.body)).not.toContain('10.0.0.5')
    } finally {
      spy.mockRestore()
    }
  })

  it('publishes RFC 8414 metadata', async () => {
    const response = await fetch(`${server.url}/.well-known/oauth-authorization-server`)
    expect(response.status).toBe(200)
    const metadata = await response.json() as Record<string, unknown>
    expect(metadata).toMatchObject({
      issuer: ISSUER,
      token_endpoint: `${ISSUER}/oauth/token`,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      response_types_supported: []
    })
    expect(metadata.scopes_supported).toEqual(expect.arrayContaining(apis))
  })

  it('publishes public keys only', async () => {
    const { keys } = await jwks()
    expect(keys).toHaveLength(1)
    expect(keys[0]).toEqual({ kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: expect.any(String), alg: 'EdDSA', use: 'sig' })
  })

  it('rotates keys through the operator API: audited, versioned, the old key published until its tokens expire', async () => {
    const before = await token({ grant_type: 'client_credentials' }, basic(app.key, app.secret))
    const oldKid = decodeProtectedHeader(before.body.access_token).kid as string
    const version = BigInt((await admin('GET', '/admin/v1/config/version')).version)

    const rotated = await server.call('POST', '/admin/v1/signing-keys/rotate')
    expect(rotated).toMatchObject({ status: 201, body: { kid: expect.any(String), retired: [oldKid] } })
    expect(BigInt((await admin('GET', '/admin/v1/config/version')).version)).toBe(version + 1n)
    expect((await admin('GET', '/admin/v1/audit?action=signing-key.rotate')).items[0]).toMatchObject({ actor: 'bootstrap', targetId: rotated.body.kid, details: { retired: [oldKid] } })

    const after = await token({ grant_type: 'client_credentials' }, basic(app.key, app.secret))
    expect(decodeProtectedHeader(after.body.access_token).kid).toBe(rotated.body.kid)
    const keySet = createLocalJWKSet(await jwks())
    await jwtVerify(before.body.access_token, keySet)
    await jwtVerify(after.body.access_token, keySet)
    expect((await admin('GET', '/admin/v1/signing-keys')).items).toEqual([
      { kid: rotated.body.kid, alg: 'EdDSA', createdAt: expect.any(String), retiredAt: null },
      { kid: oldKid, alg: 'EdDSA', createdAt: expect.any(String), retiredAt: expect.any(String) }
    ])

    // once every token of the old key has expired (TTL + 30 s leeway), it is no longer published
    await server.database.prisma.signingKey.update({ where: { kid: oldKid }, data: { retiredAt: new Date(Date.now() - (TTL + 31) * 1000) } })
    expect((await jwks()).keys.map(key => key.kid)).toEqual([rotated.body.kid])
    expect((await admin('GET', '/admin/v1/signing-keys')).items.map((key: { kid: string }) => key.kid)).toEqual([rotated.body.kid])
  })

  it('lets only operators with the admin scope rotate keys', async () => {
    const reader = await admin('POST', '/admin/v1/admin-tokens', { name: `reader-${kind}`, scopes: ['read'] })
    const response = await fetch(`${server.url}/admin/v1/signing-keys/rotate`, { method: 'POST', headers: { authorization: `Bearer ${reader.token as string}` } })
    expect(response.status).toBe(403)
    expect((await fetch(`${server.url}/admin/v1/signing-keys`, { headers: { authorization: `Bearer ${reader.token as string}` } })).status).toBe(200)
    expect((await fetch(`${server.url}/admin/v1/signing-keys/rotate`, { method: 'POST' })).status).toBe(401)
  })
})

describe('OAuth2 token endpoint behind a load balancer (TRUSTED_PROXIES)', () => {
  const balancer = '127.0.0.6'
  let server: TestControlServer

  beforeAll(async () => {
    server = await startControlServer('pglite', { config: { publicUrl: `${ISSUER}/`, trustedProxies: [balancer] } })
  })
  afterAll(async () => { await server?.close() })

  async function provisionApp (): Promise<{ key: string, secret: string }> {
    const suffix = Math.random().toString(36).slice(2, 8)
    const call = async (method: string, path: string, body?: unknown): Promise<any> => (await server.call(method, path, body)).body
    const upstream = await call('POST', '/admin/v1/upstreams', { name: `up-${suffix}`, targets: [{ url: 'http://127.0.0.1:9' }] })
    const plan = await call('POST', '/admin/v1/plans', { name: `plan-${suffix}` })
    const partner = await call('POST', '/admin/v1/partners', { name: `partner-${suffix}` })
    const created = await call('POST', `/admin/v1/partners/${partner.id as string}/apps`, { name: `app-${suffix}` })
    const api = await call('POST', '/admin/v1/apis', { name: `api-${suffix}`, upstreamId: upstream.id, auth: ['jwt'], routes: [{ path: `/${suffix}` }] })
    await call('POST', '/admin/v1/grants', { appId: created.id, apiId: api.id, planId: plan.id })
    return { key: created.key, secret: created.secret }
  }

  async function tokenFrom (peer: string, forwardedFor: string, key: string, secret: string): Promise<number> {
    const { response } = await fetchFrom(peer, `${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`, 'x-forwarded-for': forwardedFor },
      body: 'grant_type=client_credentials'
    })
    return response.status
  }

  it('throttles the client the balancer names, not the balancer', async () => {
    const target = await provisionApp()
    for (let attempt = 0; attempt < 10; attempt++) expect(await tokenFrom(balancer, '203.0.113.7', target.key, `guess-${attempt}`)).toBe(401)
    expect(await tokenFrom(balancer, '203.0.113.7', target.key, target.secret)).toBe(429)
    // every other client comes through the same balancer and still gets its token
    expect(await tokenFrom(balancer, '203.0.113.8', target.key, target.secret)).toBe(200)
  })

  it('does not take X-Forwarded-For from a peer it does not trust', async () => {
    const target = await provisionApp()
    const attacker = '127.0.0.7'
    // a new forged address on every try would escape a throttle that believed it
    for (let attempt = 0; attempt < 10; attempt++) expect(await tokenFrom(attacker, `198.51.100.${attempt}`, target.key, `guess-${attempt}`)).toBe(401)
    expect(await tokenFrom(attacker, '198.51.100.99', target.key, target.secret)).toBe(429)
  })
})
