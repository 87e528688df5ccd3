// /admin/v1/apis: routes (normalised prefixes, no two APIs on the same host+prefix+method),
// the upstream, auth modes and the plans offered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DATABASE_KINDS } from '../../helpers/database.js'
import { startControlServer, type TestControlServer } from '../../helpers/control-server.js'
import { MISSING_ID, createApi, createApp, createPlan, createUpstream, expectAuditedWrite, expectRefused, readAllPages, unique } from './fixtures.js'

describe.each(DATABASE_KINDS)('operator APIs API on %s', kind => {
  let server: TestControlServer
  let upstreamId: string
  beforeAll(async () => {
    server = await startControlServer(kind)
    upstreamId = (await createUpstream(server)).id
  })
  afterAll(async () => { await server?.close() })

  function apiBody (overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return { name: unique('api'), upstreamId, auth: ['apikey'], routes: [{ path: `/${unique('p')}` }], ...overrides }
  }

  it('creates, reads, updates and deletes an API, each write audited and versioned once', async () => {
    const plan = await createPlan(server)
    const name = unique('orders')
    const prefix = `/${unique('orders')}`
    const created = await expectAuditedWrite(server, 'api.create', async () => await server.call('POST', '/admin/v1/apis', {
      name,
      description: 'Orders of the shop',
      upstreamId,
      auth: ['hmac', 'jwt'],
      routes: [{ path: `${prefix}/`, methods: ['POST', 'GET'], stripPrefix: true }, { path: `${prefix}/stream`, host: 'API.Example.com', websocket: true }],
      autoApprove: true,
      planIds: [plan.id]
    }))
    expect(created.status).toBe(201)
    expect(created.body).toEqual({
      id: expect.any(String),
      name,
      description: 'Orders of the shop',
      upstreamId,
      auth: ['hmac', 'jwt'],
      routes: [
        { id: expect.any(String), path: prefix, methods: ['GET', 'POST'], host: null, stripPrefix: true, websocket: false },
        { id: expect.any(String), path: `${prefix}/stream`, methods: [], host: 'api.example.com', stripPrefix: false, websocket: true }
      ],
      autoApprove: true,
      planIds: [plan.id],
      hasOpenApi: false,
      cors: null,
      ipRestriction: null,
      requestLimits: null,
      responseCache: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String)
    })
    const id = created.body.id as string
    expect((await server.call('GET', `/admin/v1/apis/${id}`)).body).toEqual(created.body)

    // fields left out stay; routes, when given, replace the old ones
    const described = await expectAuditedWrite(server, 'api.update', async () => await server.call('PATCH', `/admin/v1/apis/${id}`, { description: 'v2', auth: ['apikey'] }))
    expect(described.body).toMatchObject({ description: 'v2', auth: ['apikey'], routes: created.body.routes, planIds: [plan.id] })
    const rerouted = await server.call('PATCH', `/admin/v1/apis/${id}`, { routes: [{ path: `${prefix}/v2` }] })
    expect(rerouted.body.routes).toEqual([{ id: expect.any(String), path: `${prefix}/v2`, methods: [], host: null, stripPrefix: false, websocket: false }])
    const otherUpstream = await createUpstream(server)
    expect((await server.call('PATCH', `/admin/v1/apis/${id}`, { upstreamId: otherUpstream.id, planIds: [], autoApprove: false })).body).toMatchObject({ upstreamId: otherUpstream.id, planIds: [], autoApprove: false })

    const deleted = await expectAuditedWrite(server, 'api.delete', async () => await server.call('DELETE', `/admin/v1/apis/${id}`), id)
    expect(deleted.status).toBe(204)
    expect((await server.call('GET', `/admin/v1/apis/${id}`)).status).toBe(404)
    // its prefix is free again
    expect((await server.call('POST', '/admin/v1/apis', apiBody({ routes: [{ path: `${prefix}/v2` }] }))).status).toBe(201)
  })

  it('pages through APIs with limit and cursor', async () => {
    for (let index = 0; index < 3; index++) await createApi(server, { upstreamId })
    const all = await server.call('GET', '/admin/v1/apis?limit=200')
    const { ids, pages } = await readAllPages(server, '/admin/v1/apis', 2)
    expect(ids).toEqual(all.body.items.map((item: { id: string }) => item.id))
    expect(pages).toBe(Math.ceil(ids.length / 2))
    expect(all.body.items[0].routes.length).toBeGreaterThan(0)
  })

  it('normalises route prefixes', async () => {
    const cases: Array<[string, string]> = [['/', '/'], ['/a/', '/a'], ['/a/b-c_d.e~f', '/a/b-c_d.e~f'], ['/v1/items:batch', '/v1/items:batch']]
    for (const [input, expected] of cases) {
      const created = await server.call('POST', '/admin/v1/apis', apiBody({ routes: [{ path: input, host: `${unique('h')}.example.com` }] }))
      expect({ input, status: created.status, path: created.body.routes?.[0].path }).toEqual({ input, status: 201, path: expected })
    }
  })

  it('refuses bad routes, auth modes and fields with 400 VALIDATION_FAILED and writes nothing', async () => {
    const bodies: Array<Record<string, unknown>> = [
      { routes: [{ path: 'v1/orders' }] },
      { routes: [{ path: '' }] },
      { routes: [{ path: '/a/../b' }] },
      { routes: [{ path: '/a/./b' }] },
      { routes: [{ path: '/..' }] },
      { routes: [{ path: '/a//b' }] },
      { routes: [{ path: '//' }] },
      { routes: [{ path: '/a b' }] },
      { routes: [{ path: '/a%2e%2e' }] },
      { routes: [{ path: '/a?x=1' }] },
      { routes: [{ path: '/a#x' }] },
      { routes: [{ path: '/a\\b' }] },
      { routes: [{ path: '/caf\u00e9' }] },
      { routes: [{ path: '/nul\u0000' }] },
      { routes: [] },
      { routes: Array.from({ length: 101 }, (_, index) => ({ path: `/many-${index}` })) },
      { routes: [{ path: '/x', methods: ['FETCH'] }] },
      { routes: [{ path: '/x', methods: ['get'] }] },
      { routes: [{ path: '/x', methods: 'GET' }] },
      { routes: [{ path: '/x', methods: ['GET', 'GET'] }] },
      { routes: [{ path: '/x', host: 'bad host' }] },
      { routes: [{ path: '/x', stripPrefix: 'yes' }] },
      { routes: [{ path: '/x', websocket: true, methods: ['POST'] }] },
      { routes: [{ path: '/x', timeoutMs: 5 }] },
      { auth: [] },
      { auth: ['basic'] },
      { auth: ['hmac', 'hmac'] },
      { auth: 'hmac' },
      { upstreamId: 'not-a-uuid' },
      { autoApprove: 'true' },
      { planIds: ['nope'] },
      { description: 42 },
      { description: 'nul\u0000' },
      { name: '  ' },
      { openapi: {} }
    ]
    for (const body of bodies) {
      await expectRefused(server, async () => await server.call('POST', '/admin/v1/apis', apiBody(body)), 400, 'VALIDATION_FAILED')
    }
    for (const field of ['name', 'upstreamId', 'auth', 'routes']) {
      const body = apiBody()
      delete body[field]
      await expectRefused(server, async () => await server.call('POST', '/admin/v1/apis', body), 400, 'VALIDATION_FAILED')
    }
    const api = await createApi(server, { upstreamId })
    await expectRefused(server, async () => await server.call('PATCH', `/admin/v1/apis/${api.id as string}`, { routes: [{ path: '/../etc' }] }), 400, 'VALIDATION_FAILED')
    await expectRefused(server, async () => await server.call('PATCH', `/admin/v1/apis/${api.id as string}`, {}), 400, 'VALIDATION_FAILED')
    expect((await server.call('GET', `/admin/v1/apis/${api.id as string}`)).body.routes).toEqual(api.routes)
  })

  it('answers 404 naming an unknown upstream or plan, and for unknown ids', async () => {
    await expectRefused(server, async () => await server.call('POST', '/admin/v1/apis', apiBody({ upstreamId: MISSING_ID })), 404, 'NOT_FOUND', /Upstream/)
    await expectRefused(server, async () => await server.call('POST', '/admin/v1/apis', apiBody({ planIds: [MISSING_ID] })), 404, 'NOT_FOUND', new RegExp(`Plan ${MISSING_ID}`))
    const api = await createApi(server, { upstreamId })
    await expectRefused(server, async () => await server.call('PATCH', `/admin/v1/apis/${api.id as string}`, { upstreamId: MISSING_ID }), 404, 'NOT_FOUND', /Upstream/)
    await expectRefused(server, async () => await server.call('GET', `/admin/v1/apis/${MISSING_ID}`), 404, 'NOT_FOUND')
    await expectRefused(server, async () => await server.call('PATCH', `/admin/v1/apis/${MISSING_ID}`, { description: 'x' }), 404, 'NOT_FOUND')
    await expectRefused(server, async () => await server.call('DELETE', `/admin/v1/apis/${MISSING_ID}`), 404, 'NOT_FOUND')
  })

  it('refuses a duplicate name with 409 on create and on rename', async () => {
    const first = await createApi(server, { upstreamId })
    const second = await createApi(server, { upstreamId })
    await expectRefused(server, async () => await server.call('POST', '/admin/v1/apis', apiBody({ name: first.name })), 409, 'CONFLICT', new RegExp(first.name))
    await expectRefused(server, async () => await server.call('PATCH', `/admin/v1/apis/${second.id as string}`, { name: first.name }), 409, 'CONFLICT')
  })

  it('refuses a route another API serves for the same host and method, naming that API', async () => {
    const prefix = `/${unique('shared')}`
    const owner = await createApi(server, { upstreamId, routes: [{ path: prefix, methods: ['GET', 'POST'] }] })
    const clashes: Array<Record<string, unknown>> = [
      { path: prefix, methods: ['POST'] },
      { path: `${prefix}/`, methods: ['GET'] },
      { path: prefix }
    ]
    for (const route of clashes) {
      await expectRefused(server, async () => await server.call('POST', '/admin/v1/apis', apiBody({ routes: [route] })), 409, 'CONFLICT', new RegExp(owner.name))
    }
    // another method, another host, or a longer prefix is not a clash
    expect((await server.call('POST', '/admin/v1/apis', apiBody({ routes: [{ path: prefix, methods: ['DELETE'] }] }))).status).toBe(201)
    expect((await server.call('POST', '/admin/v1/apis', apiBody({ routes: [{ path: prefix, host: 'tenant.example.com' }] }))).status).toBe(201)
    expect((await server.call('POST', '/admin/v1/apis', apiBody({ routes: [{ path: `${prefix}/sub` }] }))).status).toBe(201)
    // the same host is a clash again, whatever its case
    await expectRefused(server, async () => await server.call('POST', '/admin/v1/apis', apiBody({ routes: [{ path: prefix, host: 'Tenant.Example.com', methods: ['GET'] }] })), 409, 'CONFLICT')
    // two routes of one request
    await expectRefused(server, async () => await server.call('POST', '/admin/v1/apis', apiBody({ routes: [{ path: '/twice' }, { path: '/twice/', methods: ['GET'] }] })), 409, 'CONFLICT')
    // an update may keep its own routes but not take another API's
    const other = await createApi(server, { upstreamId })
    expect((await server.call('PATCH', `/admin/v1/apis/${owner.id as string}`, { routes: [{ path: prefix, methods: ['GET', 'POST', 'PUT'] }] })).status).toBe(200)
    await expectRefused(server, async () => await server.call('PATCH', `/admin/v1/apis/${other.id as string}`, { routes: [{ path: prefix, methods: ['PUT'] }] }), 409, 'CONFLICT', new RegExp(owner.name))
    expect((await server.call('GET', `/admin/v1/apis/${other.id as string}`)).body.routes).toEqual(other.routes)
  })

  it('refuses routes on the paths the gateway answers itself, on create and on update', async () => {
    for (const path of ['/healthz', '/readyz/', '/metrics']) {
      await expectRefused(server, async () => await server.call('POST', '/admin/v1/apis', apiBody({ routes: [{ path }] })), 409, 'RESERVED_PATH', /the gateway answers \/(healthz|readyz|metrics) itself/i)
    }
    const api = await createApi(server, { upstreamId })
    await expectRefused(server, async () => await server.call('PATCH', `/admin/v1/apis/${api.id as string}`, { routes: [{ path: '/metrics', methods: ['GET'] }] }), 409, 'RESERVED_PATH')
    // below a reserved path is another path
    expect((await server.call('POST', '/admin/v1/apis', apiBody({ routes: [{ path: `/metrics/${unique('m')}` }] }))).status).toBe(201)
  })

  it('lets only one of two concurrent APIs claim the same route', async () => {
    const prefix = `/${unique('race')}`
    const responses = await Promise.all(Array.from({ length: 4 }, async () => await server.call('POST', '/admin/v1/apis', apiBody({ routes: [{ path: prefix }] }))))
    expect(responses.map(response => response.status).sort()).toEqual([201, 409, 409, 409])
  })

  it('deletes an API together with its grants', async () => {
    const api = await createApi(server, { upstreamId })
    const plan = await createPlan(server)
    const app = await createApp(server)
    const grant = await server.call('POST', '/admin/v1/grants', { appId: app.id, apiId: api.id, planId: plan.id })
    expect((await server.call('DELETE', `/admin/v1/apis/${api.id as string}`)).status).toBe(204)
    expect((await server.call('GET', `/admin/v1/grants/${grant.body.id as string}`)).status).toBe(404)
    expect((await server.call('GET', `/admin/v1/plans/${plan.id as string}`)).status).toBe(200)
  })
})
