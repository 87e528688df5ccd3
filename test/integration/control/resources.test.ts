// Upstreams, plans, APIs, grants and operator tokens through the real operator API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DATABASE_KINDS } from '../../helpers/database.js'
import { startControlServer, type TestControlServer } from '../../helpers/control-server.js'

describe.each(DATABASE_KINDS)('operator resources on %s', kind => {
  let server: TestControlServer
  beforeAll(async () => { server = await startControlServer(kind) })
  afterAll(async () => { await server?.close() })

  async function version (): Promise<bigint> {
    return BigInt((await server.call('GET', '/admin/v1/config/version')).body.version)
  }

  async function upstream (name: string): Promise<string> {
    const created = await server.call('POST', '/admin/v1/upstreams', { name, targets: [{ url: 'http://127.0.0.1:9000/base', weight: 3 }, { url: 'https://backend.internal' }] })
    expect(created.status).toBe(201)
    return created.body.id
  }

  it('creates an upstream with targets, defaults and timeouts, and replaces targets on update', async () => {
    const created = await server.call('POST', '/admin/v1/upstreams', { name: 'orders-backend', targets: [{ url: 'http://127.0.0.1:9000' }], loadBalancing: 'least-connections', healthCheck: { path: '/health' }, timeouts: { connectMs: 1000, responseMs: 2000 } })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ name: 'orders-backend', targets: [{ url: 'http://127.0.0.1:9000', weight: 1 }], loadBalancing: 'least-connections', healthCheck: { path: '/health', intervalMs: 5000 }, timeouts: { connectMs: 1000, responseMs: 2000 } })
    const updated = await server.call('PATCH', `/admin/v1/upstreams/${created.body.id}`, { targets: [{ url: 'http://127.0.0.1:9001', weight: 2 }], healthCheck: null })
    expect(updated.body).toMatchObject({ targets: [{ url: 'http://127.0.0.1:9001', weight: 2 }], healthCheck: null })
    expect((await server.call('GET', '/admin/v1/upstreams?limit=1')).body.items).toHaveLength(1)
  })

  it('rejects bad upstream targets', async () => {
    for (const targets of [[], [{ url: 'ftp://x' }], [{ url: 'http://user:pw@x' }], [{ url: 'http://x/?q=1' }], [{ url: 'not a url' }], [{ url: 'http://x', weight: 0 }]]) {
      const response = await server.call('POST', '/admin/v1/upstreams', { name: `bad-${Math.random()}`, targets })
      expect({ targets, status: response.status, code: response.body.error.code }).toEqual({ targets, status: 400, code: 'VALIDATION_FAILED' })
    }
  })

  it('creates plans with rate limits and quotas', async () => {
    const created = await server.call('POST', '/admin/v1/plans', { name: 'gold', rateLimit: { perSecond: 50 }, quota: { perDay: 1000, perMonth: 20000 }, maxConnections: 5 })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ rateLimit: { perSecond: 50, burst: 50 }, quota: { perDay: 1000, perMonth: 20000 }, maxConnections: 5 })
    const cleared = await server.call('PATCH', `/admin/v1/plans/${created.body.id}`, { rateLimit: null })
    expect(cleared.body.rateLimit).toBeNull()
    expect((await server.call('POST', '/admin/v1/plans', { name: 'gold' })).status).toBe(409)
    expect((await server.call('POST', '/admin/v1/plans', { name: 'neg', rateLimit: { perSecond: -1 } })).status).toBe(400)
  })

  it('creates an API with normalised routes and refuses a route another API serves', async () => {
    const upstreamId = await upstream('api-backend')
    const created = await server.call('POST', '/admin/v1/apis', { name: 'orders', upstreamId, auth: ['hmac', 'apikey'], routes: [{ path: '/v1/orders/', methods: ['get', 'POST'], stripPrefix: true }] })
    expect(created.status).toBe(400)
    const valid = await server.call('POST', '/admin/v1/apis', { name: 'orders', upstreamId, auth: ['hmac', 'apikey'], routes: [{ path: '/v1/orders/', methods: ['GET', 'POST'], stripPrefix: true }] })
    expect(valid.status).toBe(201)
    expect(valid.body.routes[0]).toMatchObject({ path: '/v1/orders', methods: ['GET', 'POST'], stripPrefix: true, websocket: false, host: null })
    const clash = await server.call('POST', '/admin/v1/apis', { name: 'orders-2', upstreamId, auth: ['apikey'], routes: [{ path: '/v1/orders', methods: ['POST'] }] })
    expect(clash.status).toBe(409)
    expect(clash.body.error.message).toContain('orders')
    const otherMethod = await server.call('POST', '/admin/v1/apis', { name: 'orders-delete', upstreamId, auth: ['apikey'], routes: [{ path: '/v1/orders', methods: ['DELETE'] }] })
    expect(otherMethod.status).toBe(201)
    for (const routes of [[{ path: 'v1' }], [{ path: '/a/../b' }], [{ path: '/a//b' }]]) {
      expect((await server.call('POST', '/admin/v1/apis', { name: `bad-${Math.random()}`, upstreamId, auth: ['apikey'], routes })).status).toBe(400)
    }
    expect((await server.call('POST', '/admin/v1/apis', { name: 'x', upstreamId, auth: ['basic'], routes: [{ path: '/x' }] })).status).toBe(400)
    expect((await server.call('POST', '/admin/v1/apis', { name: 'x', upstreamId: '00000000-0000-7000-8000-000000000000', auth: ['jwt'], routes: [{ path: '/x' }] })).status).toBe(404)
    const inUse = await server.call('DELETE', `/admin/v1/upstreams/${upstreamId}`)
    expect(inUse.status).toBe(409)
    expect((await server.call('GET', `/admin/v1/upstreams/${upstreamId}`)).status).toBe(200)
  })

  it('runs a grant through its lifecycle, audited and versioned once per write', async () => {
    const upstreamId = await upstream('grant-backend')
    const api = (await server.call('POST', '/admin/v1/apis', { name: 'grant-api', upstreamId, auth: ['apikey'], routes: [{ path: '/grant-api' }] })).body
    const plan = (await server.call('POST', '/admin/v1/plans', { name: 'grant-plan' })).body
    const partner = (await server.call('POST', '/admin/v1/partners', { name: 'Grant Co' })).body
    const app = (await server.call('POST', `/admin/v1/partners/${partner.id as string}/apps`, { name: 'erp' })).body
    const before = await version()
    const grant = await server.call('POST', '/admin/v1/grants', { appId: app.id, apiId: api.id, planId: plan.id })
    expect(grant.status).toBe(201)
    expect(grant.body.status).toBe('approved')
    expect(await version()).toBe(before + 1n)
    expect((await server.call('POST', '/admin/v1/grants', { appId: app.id, apiId: api.id, planId: plan.id })).status).toBe(409)
    expect((await server.call('PATCH', `/admin/v1/grants/${grant.body.id as string}`, { status: 'revoked' })).body.status).toBe('revoked')
    expect((await server.call('GET', `/admin/v1/grants?appId=${app.id as string}&status=revoked`)).body.items).toHaveLength(1)
    expect((await server.call('DELETE', `/admin/v1/plans/${plan.id as string}`)).status).toBe(409)
    const audit = await server.call('GET', `/admin/v1/audit?targetId=${grant.body.id as string}`)
    expect(audit.body.items.map((entry: { action: string }) => entry.action)).toEqual(['grant.revoke', 'grant.create'])
    expect((await server.call('POST', '/admin/v1/grants', { appId: app.id, apiId: '00000000-0000-7000-8000-000000000000', planId: plan.id })).status).toBe(404)
  })

  it('issues operator tokens: read scope may only read, revoked tokens stop working', async () => {
    const read = await server.call('POST', '/admin/v1/admin-tokens', { name: 'dashboards', scopes: ['read'] })
    expect(read.status).toBe(201)
    expect(read.body.token).toMatch(/^pgw_op_/)
    const asReader = { authorization: `Bearer ${read.body.token as string}` }
    expect((await server.call('GET', '/admin/v1/partners', undefined, asReader)).status).toBe(200)
    const forbidden = await server.call('POST', '/admin/v1/partners', { name: 'Nope' }, asReader)
    expect(forbidden.status).toBe(403)
    expect(forbidden.body.error.code).toBe('FORBIDDEN')
    const listed = await server.call('GET', '/admin/v1/admin-tokens')
    expect(JSON.stringify(listed.body)).not.toContain(read.body.token)
    expect((await server.call('DELETE', `/admin/v1/admin-tokens/${read.body.id as string}`)).status).toBe(204)
    expect((await server.call('GET', '/admin/v1/partners', undefined, asReader)).status).toBe(401)
  })

  it('rotates credentials with an overlap window and revokes at once', async () => {
    const partner = (await server.call('POST', '/admin/v1/partners', { name: 'Rotate Co' })).body
    const app = (await server.call('POST', `/admin/v1/partners/${partner.id as string}/apps`, { name: 'rotator' })).body
    expect(app).toMatchObject({ key: expect.any(String), secret: expect.any(String), apiKey: expect.stringMatching(/^pgw_ak_/) })
    const rotated = await server.call('POST', `/admin/v1/apps/${app.id as string}/credentials`, { overlapSeconds: 600 })
    expect(rotated.status).toBe(201)
    expect(rotated.body.previous[0]).toMatchObject({ key: app.key, status: 'expiring' })
    const detail = await server.call('GET', `/admin/v1/apps/${app.id as string}`)
    expect(JSON.stringify(detail.body)).not.toContain(app.secret)
    expect(detail.body.credentials.map((credential: { status: string }) => credential.status)).toEqual(['expiring', 'active'])
    const now = await server.call('POST', `/admin/v1/apps/${app.id as string}/credentials`, { overlapSeconds: 0 })
    expect(now.body.previous.map((credential: { status: string }) => credential.status)).toEqual(['revoked', 'revoked'])
    expect((await server.call('DELETE', `/admin/v1/apps/${app.id as string}/credentials/no-such-key`)).status).toBe(404)
  })
})
