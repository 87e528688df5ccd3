// /admin/v1/upstreams: targets, balancing, health checks and timeouts; refused when in use.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DATABASE_KINDS } from '../../helpers/database.js'
import { startControlServer, type TestControlServer } from '../../helpers/control-server.js'
import { MISSING_ID, createApi, createUpstream, expectAuditedWrite, expectRefused, readAllPages, unique } from './fixtures.js'

describe.each(DATABASE_KINDS)('operator upstreams API on %s', kind => {
  let server: TestControlServer
  beforeAll(async () => { server = await startControlServer(kind) })
  afterAll(async () => { await server?.close() })

  it('creates, reads, updates and deletes an upstream, each write audited and versioned once', async () => {
    const name = unique('orders')
    const created = await expectAuditedWrite(server, 'upstream.create', async () => await server.call('POST', '/admin/v1/upstreams', {
      name,
      targets: [{ url: 'http://10.0.0.1:8080/base', weight: 3 }, { url: 'https://orders.internal' }],
      loadBalancing: 'least-connections',
      healthCheck: { path: '/health', intervalMs: 10_000 },
      timeouts: { connectMs: 1000, responseMs: 2000 }
    }))
    expect(created.status).toBe(201)
    expect(created.body).toEqual({
      id: expect.any(String),
      name,
      targets: [{ url: 'http://10.0.0.1:8080/base', weight: 3 }, { url: 'https://orders.internal', weight: 1 }],
      loadBalancing: 'least-connections',
      healthCheck: { path: '/health', intervalMs: 10_000, timeoutMs: 2000, healthyThreshold: 2, unhealthyThreshold: 3 },
      timeouts: { connectMs: 1000, responseMs: 2000 },
      tls: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String)
    })
    const id = created.body.id as string
    expect((await server.call('GET', `/admin/v1/upstreams/${id}`)).body).toEqual(created.body)

    const updated = await expectAuditedWrite(server, 'upstream.update', async () => await server.call('PATCH', `/admin/v1/upstreams/${id}`, { targets: [{ url: 'http://10.0.0.2:8080', weight: 5 }], loadBalancing: 'round-robin', healthCheck: null }))
    expect(updated.body).toMatchObject({ name, targets: [{ url: 'http://10.0.0.2:8080', weight: 5 }], loadBalancing: 'round-robin', healthCheck: null, timeouts: { connectMs: 1000, responseMs: 2000 } })
    // fields left out stay as they were
    const renamed = await server.call('PATCH', `/admin/v1/upstreams/${id}`, { name: `${name}-v2` })
    expect(renamed.body).toMatchObject({ name: `${name}-v2`, targets: [{ url: 'http://10.0.0.2:8080', weight: 5 }] })

    const deleted = await expectAuditedWrite(server, 'upstream.delete', async () => await server.call('DELETE', `/admin/v1/upstreams/${id}`), id)
    expect(deleted.status).toBe(204)
    expect(deleted.body).toBeUndefined()
    expect((await server.call('GET', `/admin/v1/upstreams/${id}`)).status).toBe(404)
  })

  it('applies defaults: round-robin, weight 1, no health check, 5 s / 30 s timeouts', async () => {
    const created = await createUpstream(server)
    expect(created).toMatchObject({ loadBalancing: 'round-robin', targets: [{ weight: 1 }], healthCheck: null, timeouts: { connectMs: 5000, responseMs: 30_000 } })
    // a short interval brings the default probe timeout down with it
    const frequent = await createUpstream(server, { healthCheck: { path: '/ping', intervalMs: 500 } })
    expect(frequent.healthCheck).toMatchObject({ intervalMs: 500, timeoutMs: 500 })
  })

  it('pages through upstreams with limit and cursor', async () => {
    for (let index = 0; index < 5; index++) await createUpstream(server)
    const all = await server.call('GET', '/admin/v1/upstreams?limit=200')
    const { ids, pages } = await readAllPages(server, '/admin/v1/upstreams', 2)
    expect(ids).toEqual(all.body.items.map((item: { id: string }) => item.id))
    expect(ids.length).toBeGreaterThanOrEqual(5)
    expect(pages).toBe(Math.ceil(ids.length / 2))
    expect(all.body.items[0].targets).toEqual(expect.any(Array))
    expect((await server.call('GET', '/admin/v1/upstreams?cursor=bogus')).body.error.code).toBe('INVALID_CURSOR')
    expect((await server.call('GET', '/admin/v1/upstreams?limit=0')).status).toBe(400)
    expect((await server.call('GET', '/admin/v1/upstreams?limit=201')).status).toBe(400)
  })

  it('refuses bad targets, health checks and timeouts with 400 VALIDATION_FAILED and writes nothing', async () => {
    const bodies: unknown[] = [
      { targets: [] },
      { targets: Array.from({ length: 65 }, (_, index) => ({ url: `http://10.0.0.${index}` })) },
      { targets: [{ url: 'ftp://files.internal' }] },
      { targets: [{ url: 'http://user:secret@backend.internal' }] },
      { targets: [{ url: 'http://backend.internal/?debug=1' }] },
      { targets: [{ url: 'http://backend.internal?' }] },
      { targets: [{ url: 'http://backend.internal/#top' }] },
      { targets: [{ url: 'http:/backend.internal' }] },
      { targets: [{ url: '/relative/path' }] },
      { targets: [{ url: 'not a url' }] },
      { targets: [{ url: 'http://backend.internal/a b' }] },
      { targets: [{ url: 'http://backend.internal:99999' }] },
      { targets: [{ url: 'http://backend.internal', weight: 0 }] },
      { targets: [{ url: 'http://backend.internal', weight: 1001 }] },
      { targets: [{ url: 'http://backend.internal', weight: 1.5 }] },
      { targets: [{ url: 'http://backend.internal', weight: '2' }] },
      { targets: [{ url: 'http://backend.internal', extra: 1 }] },
      { targets: 'http://backend.internal' },
      { targets: [{ url: 'http://backend.internal' }], loadBalancing: 'random' },
      { targets: [{ url: 'http://backend.internal' }], healthCheck: { path: 'health' } },
      { targets: [{ url: 'http://backend.internal' }], healthCheck: { intervalMs: 1000 } },
      { targets: [{ url: 'http://backend.internal' }], healthCheck: { path: '/h', intervalMs: 1000, timeoutMs: 5000 } },
      { targets: [{ url: 'http://backend.internal' }], healthCheck: { path: '/h', unknown: true } },
      { targets: [{ url: 'http://backend.internal' }], timeouts: { connectMs: 0 } },
      { targets: [{ url: 'http://backend.internal' }], timeouts: { connectMs: 100, extra: 1 } },
      { targets: [{ url: 'http://backend.internal' }], color: 'blue' }
    ]
    for (const body of bodies) {
      await expectRefused(server, async () => await server.call('POST', '/admin/v1/upstreams', { name: unique('bad'), ...(body as object) }), 400, 'VALIDATION_FAILED')
    }
    await expectRefused(server, async () => await server.call('POST', '/admin/v1/upstreams', { targets: [{ url: 'http://backend.internal' }] }), 400, 'VALIDATION_FAILED')
    await expectRefused(server, async () => await server.call('POST', '/admin/v1/upstreams', { name: 42, targets: [{ url: 'http://backend.internal' }] }), 400, 'VALIDATION_FAILED')
    await expectRefused(server, async () => await server.call('POST', '/admin/v1/upstreams', { name: 'nul\u0000byte', targets: [{ url: 'http://backend.internal' }] }), 400, 'VALIDATION_FAILED')
    const existing = await createUpstream(server)
    await expectRefused(server, async () => await server.call('PATCH', `/admin/v1/upstreams/${existing.id as string}`, {}), 400, 'VALIDATION_FAILED')
    await expectRefused(server, async () => await server.call('PATCH', `/admin/v1/upstreams/${existing.id as string}`, { targets: [{ url: 'http://u:p@x' }] }), 400, 'VALIDATION_FAILED')
    expect((await server.call('GET', `/admin/v1/upstreams/${existing.id as string}`)).body.targets).toEqual(existing.targets)
  })

  it('accepts IPv6 and upper-case schemes', async () => {
    const created = await createUpstream(server, { targets: [{ url: 'http://[::1]:8080/api' }, { url: 'HTTPS://Backend.Internal' }] })
    expect(created.targets.map((target: { url: string }) => target.url)).toEqual(['http://[::1]:8080/api', 'HTTPS://Backend.Internal'])
  })

  it('refuses a duplicate name with 409 on create and on rename', async () => {
    const first = await createUpstream(server)
    const second = await createUpstream(server)
    await expectRefused(server, async () => await server.call('POST', '/admin/v1/upstreams', { name: first.name, targets: [{ url: 'http://x.internal' }] }), 409, 'CONFLICT', new RegExp(first.name))
    await expectRefused(server, async () => await server.call('PATCH', `/admin/v1/upstreams/${second.id as string}`, { name: first.name }), 409, 'CONFLICT')
    // renaming to its own name is not a clash
    expect((await server.call('PATCH', `/admin/v1/upstreams/${first.id as string}`, { name: first.name })).status).toBe(200)
  })

  it('answers 404 for unknown ids and 400 for malformed ones', async () => {
    await expectRefused(server, async () => await server.call('GET', `/admin/v1/upstreams/${MISSING_ID}`), 404, 'NOT_FOUND')
    await expectRefused(server, async () => await server.call('PATCH', `/admin/v1/upstreams/${MISSING_ID}`, { name: 'x' }), 404, 'NOT_FOUND')
    await expectRefused(server, async () => await server.call('DELETE', `/admin/v1/upstreams/${MISSING_ID}`), 404, 'NOT_FOUND')
    await expectRefused(server, async () => await server.call('GET', '/admin/v1/upstreams/123'), 400, 'VALIDATION_FAILED')
  })

  it('refuses to delete an upstream an API uses, naming the API, and keeps it', async () => {
    const upstream = await createUpstream(server)
    const api = await createApi(server, { upstreamId: upstream.id })
    await expectRefused(server, async () => await server.call('DELETE', `/admin/v1/upstreams/${upstream.id as string}`), 409, 'CONFLICT', new RegExp(api.name))
    const still = await server.call('GET', `/admin/v1/upstreams/${upstream.id as string}`)
    expect(still.status).toBe(200)
    expect(still.body.targets).toEqual(upstream.targets)
    // once the API moves elsewhere the upstream can go
    const other = await createUpstream(server)
    expect((await server.call('PATCH', `/admin/v1/apis/${api.id as string}`, { upstreamId: other.id })).status).toBe(200)
    expect((await server.call('DELETE', `/admin/v1/upstreams/${upstream.id as string}`)).status).toBe(204)
  })
})
