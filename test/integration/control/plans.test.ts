// /admin/v1/plans: rate limit with burst, quotas, WebSocket connections; refused when in use.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DATABASE_KINDS } from '../../helpers/database.js'
import { startControlServer, type TestControlServer } from '../../helpers/control-server.js'
import { MISSING_ID, createApi, createApp, createPlan, expectAuditedWrite, expectRefused, readAllPages, unique } from './fixtures.js'

describe.each(DATABASE_KINDS)('operator plans API on %s', kind => {
  let server: TestControlServer
  beforeAll(async () => { server = await startControlServer(kind) })
  afterAll(async () => { await server?.close() })

  it('creates, reads, updates and deletes a plan, each write audited and versioned once', async () => {
    const name = unique('gold')
    const created = await expectAuditedWrite(server, 'plan.create', async () => await server.call('POST', '/admin/v1/plans', { name, rateLimit: { perSecond: 20, burst: 40 }, quota: { perDay: 10_000, perMonth: 200_000 }, maxConnections: 10 }))
    expect(created.status).toBe(201)
    expect(created.body).toEqual({ id: expect.any(String), name, rateLimit: { perSecond: 20, burst: 40 }, quota: { perDay: 10_000, perMonth: 200_000 }, maxConnections: 10, createdAt: expect.any(String), updatedAt: expect.any(String) })
    const id = created.body.id as string
    expect((await server.call('GET', `/admin/v1/plans/${id}`)).body).toEqual(created.body)

    const updated = await expectAuditedWrite(server, 'plan.update', async () => await server.call('PATCH', `/admin/v1/plans/${id}`, { rateLimit: { perSecond: 5 }, quota: { perMonth: 1000 } }))
    expect(updated.body).toMatchObject({ name, rateLimit: { perSecond: 5, burst: 5 }, quota: { perDay: null, perMonth: 1000 }, maxConnections: 10 })
    const cleared = await server.call('PATCH', `/admin/v1/plans/${id}`, { rateLimit: null, quota: null, maxConnections: null })
    expect(cleared.body).toMatchObject({ name, rateLimit: null, quota: { perDay: null, perMonth: null }, maxConnections: null })

    const deleted = await expectAuditedWrite(server, 'plan.delete', async () => await server.call('DELETE', `/admin/v1/plans/${id}`), id)
    expect(deleted.status).toBe(204)
    expect((await server.call('GET', `/admin/v1/plans/${id}`)).status).toBe(404)
  })

  it('defaults the burst to the rate and leaves everything else unlimited', async () => {
    expect(await createPlan(server, { rateLimit: { perSecond: 7 } })).toMatchObject({ rateLimit: { perSecond: 7, burst: 7 }, quota: { perDay: null, perMonth: null }, maxConnections: null })
    expect(await createPlan(server)).toMatchObject({ rateLimit: null, quota: { perDay: null, perMonth: null }, maxConnections: null })
  })

  it('pages through plans with limit and cursor', async () => {
    for (let index = 0; index < 4; index++) await createPlan(server)
    const all = await server.call('GET', '/admin/v1/plans?limit=200')
    const { ids, pages } = await readAllPages(server, '/admin/v1/plans', 3)
    expect(ids).toEqual(all.body.items.map((item: { id: string }) => item.id))
    expect(pages).toBe(Math.ceil(ids.length / 3))
  })

  it('refuses bad limits with 400 VALIDATION_FAILED and writes nothing', async () => {
    const bodies: unknown[] = [
      { rateLimit: { perSecond: 0 } },
      { rateLimit: { perSecond: -1 } },
      { rateLimit: { perSecond: 1.5 } },
      { rateLimit: { perSecond: '10' } },
      { rateLimit: { burst: 10 } },
      { rateLimit: { perSecond: 10, burst: 0 } },
      { rateLimit: { perSecond: 10, window: 'minute' } },
      { quota: { perDay: 0 } },
      { quota: { perDay: 3_000_000_000 } },
      { quota: { perYear: 5 } },
      { quota: 100 },
      { maxConnections: 0 },
      { maxConnections: 'many' },
      { tier: 'gold' }
    ]
    for (const body of bodies) {
      await expectRefused(server, async () => await server.call('POST', '/admin/v1/plans', { name: unique('bad'), ...(body as object) }), 400, 'VALIDATION_FAILED')
    }
    await expectRefused(server, async () => await server.call('POST', '/admin/v1/plans', {}), 400, 'VALIDATION_FAILED')
    await expectRefused(server, async () => await server.call('POST', '/admin/v1/plans', { name: '' }), 400, 'VALIDATION_FAILED')
    await expectRefused(server, async () => await server.call('POST', '/admin/v1/plans', '{"name":'), 400, 'MALFORMED_JSON')
    const plan = await createPlan(server)
    await expectRefused(server, async () => await server.call('PATCH', `/admin/v1/plans/${plan.id as string}`, {}), 400, 'VALIDATION_FAILED')
    await expectRefused(server, async () => await server.call('PATCH', `/admin/v1/plans/${plan.id as string}`, { quota: { perMonth: -5 } }), 400, 'VALIDATION_FAILED')
  })

  it('refuses a duplicate name with 409 on create and on rename', async () => {
    const first = await createPlan(server)
    const second = await createPlan(server)
    await expectRefused(server, async () => await server.call('POST', '/admin/v1/plans', { name: first.name }), 409, 'CONFLICT', new RegExp(first.name))
    await expectRefused(server, async () => await server.call('PATCH', `/admin/v1/plans/${second.id as string}`, { name: first.name }), 409, 'CONFLICT')
  })

  it('answers 404 for unknown ids', async () => {
    await expectRefused(server, async () => await server.call('GET', `/admin/v1/plans/${MISSING_ID}`), 404, 'NOT_FOUND')
    await expectRefused(server, async () => await server.call('PATCH', `/admin/v1/plans/${MISSING_ID}`, { maxConnections: 1 }), 404, 'NOT_FOUND')
    await expectRefused(server, async () => await server.call('DELETE', `/admin/v1/plans/${MISSING_ID}`), 404, 'NOT_FOUND')
  })

  it('refuses to delete a plan a grant uses, and keeps the plan and the grant', async () => {
    const plan = await createPlan(server)
    const api = await createApi(server)
    const app = await createApp(server)
    const grant = await server.call('POST', '/admin/v1/grants', { appId: app.id, apiId: api.id, planId: plan.id })
    expect(grant.status).toBe(201)
    await expectRefused(server, async () => await server.call('DELETE', `/admin/v1/plans/${plan.id as string}`), 409, 'CONFLICT', /grant/)
    expect((await server.call('GET', `/admin/v1/plans/${plan.id as string}`)).body).toEqual(plan)
    expect((await server.call('GET', `/admin/v1/grants/${grant.body.id as string}`)).body).toMatchObject({ planId: plan.id, status: 'approved' })
  })

  it('refuses to delete a plan an API offers, naming the API', async () => {
    const plan = await createPlan(server)
    const api = await createApi(server, { planIds: [plan.id] })
    await expectRefused(server, async () => await server.call('DELETE', `/admin/v1/plans/${plan.id as string}`), 409, 'CONFLICT', new RegExp(api.name))
    expect((await server.call('PATCH', `/admin/v1/apis/${api.id as string}`, { planIds: [] })).status).toBe(200)
    expect((await server.call('DELETE', `/admin/v1/plans/${plan.id as string}`)).status).toBe(204)
  })
})
