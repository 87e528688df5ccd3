// /admin/v1/grants: which app may call which API on which plan, through its lifecycle.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DATABASE_KINDS } from '../../helpers/database.js'
import { startControlServer, type TestControlServer } from '../../helpers/control-server.js'
import { MISSING_ID, createApi, createApp, createPlan, createUpstream, expectAuditedWrite, expectRefused, readAllPages } from './fixtures.js'

describe.each(DATABASE_KINDS)('operator grants API on %s', kind => {
  let server: TestControlServer
  let upstreamId: string
  beforeAll(async () => {
    server = await startControlServer(kind)
    upstreamId = (await createUpstream(server)).id
  })
  afterAll(async () => { await server?.close() })

  it('runs a grant from request to approval, plan change, revocation and deletion, each write audited once', async () => {
    const [api, plan, otherPlan, app] = [await createApi(server, { upstreamId }), await createPlan(server), await createPlan(server), await createApp(server)]
    const requested = await expectAuditedWrite(server, 'grant.create', async () => await server.call('POST', '/admin/v1/grants', { appId: app.id, apiId: api.id, planId: plan.id, status: 'requested' }))
    expect(requested.status).toBe(201)
    const partner = await server.call('GET', `/admin/v1/partners/${app.partnerId as string}`)
    expect(requested.body).toEqual({
      id: expect.any(String), appId: app.id, apiId: api.id, planId: plan.id, status: 'requested', createdAt: expect.any(String), updatedAt: expect.any(String),
      partnerId: app.partnerId, partnerName: partner.body.name, appName: app.name, apiName: api.name, planName: plan.name
    })
    const id = requested.body.id as string
    expect((await server.call('GET', `/admin/v1/grants/${id}`)).body).toEqual(requested.body)

    const approved = await expectAuditedWrite(server, 'grant.approve', async () => await server.call('PATCH', `/admin/v1/grants/${id}`, { status: 'approved' }))
    expect(approved.body.status).toBe('approved')
    const moved = await expectAuditedWrite(server, 'grant.update', async () => await server.call('PATCH', `/admin/v1/grants/${id}`, { planId: otherPlan.id }))
    expect(moved.body).toMatchObject({ status: 'approved', planId: otherPlan.id })
    const revoked = await expectAuditedWrite(server, 'grant.revoke', async () => await server.call('PATCH', `/admin/v1/grants/${id}`, { status: 'revoked' }))
    expect(revoked.body.status).toBe('revoked')
    expect((await server.call('PATCH', `/admin/v1/grants/${id}`, { status: 'approved' })).body.status).toBe('approved')

    const deleted = await expectAuditedWrite(server, 'grant.delete', async () => await server.call('DELETE', `/admin/v1/grants/${id}`), id)
    expect(deleted.status).toBe(204)
    expect((await server.call('GET', `/admin/v1/grants/${id}`)).status).toBe(404)
    const audit = await server.call('GET', `/admin/v1/audit?targetId=${id}`)
    expect(audit.body.items.map((entry: { action: string }) => entry.action)).toEqual(['grant.delete', 'grant.approve', 'grant.revoke', 'grant.update', 'grant.approve', 'grant.create'])
  })

  it('approves operator grants by default, and rejects requested ones', async () => {
    const [api, plan, app] = [await createApi(server, { upstreamId }), await createPlan(server), await createApp(server)]
    const grant = await server.call('POST', '/admin/v1/grants', { appId: app.id, apiId: api.id, planId: plan.id })
    expect(grant.body.status).toBe('approved')
    const other = await createApi(server, { upstreamId })
    const requested = await server.call('POST', '/admin/v1/grants', { appId: app.id, apiId: other.id, planId: plan.id, status: 'requested' })
    await expectAuditedWrite(server, 'grant.reject', async () => await server.call('PATCH', `/admin/v1/grants/${requested.body.id as string}`, { status: 'rejected' }))
  })

  it('refuses a second grant of one API to one app with 409, keeping the first', async () => {
    const [api, plan, otherPlan, app] = [await createApi(server, { upstreamId }), await createPlan(server), await createPlan(server), await createApp(server)]
    const first = await server.call('POST', '/admin/v1/grants', { appId: app.id, apiId: api.id, planId: plan.id })
    await expectRefused(server, async () => await server.call('POST', '/admin/v1/grants', { appId: app.id, apiId: api.id, planId: otherPlan.id }), 409, 'CONFLICT', new RegExp(first.body.id))
    expect((await server.call('GET', `/admin/v1/grants/${first.body.id as string}`)).body).toEqual(first.body)
  })

  it('answers 404 for an unknown app, API, plan or grant', async () => {
    const [api, plan, app] = [await createApi(server, { upstreamId }), await createPlan(server), await createApp(server)]
    await expectRefused(server, async () => await server.call('POST', '/admin/v1/grants', { appId: MISSING_ID, apiId: api.id, planId: plan.id }), 404, 'NOT_FOUND', /App/)
    await expectRefused(server, async () => await server.call('POST', '/admin/v1/grants', { appId: app.id, apiId: MISSING_ID, planId: plan.id }), 404, 'NOT_FOUND', /API/)
    await expectRefused(server, async () => await server.call('POST', '/admin/v1/grants', { appId: app.id, apiId: api.id, planId: MISSING_ID }), 404, 'NOT_FOUND', /Plan/)
    const grant = await server.call('POST', '/admin/v1/grants', { appId: app.id, apiId: api.id, planId: plan.id })
    await expectRefused(server, async () => await server.call('PATCH', `/admin/v1/grants/${grant.body.id as string}`, { planId: MISSING_ID }), 404, 'NOT_FOUND', /Plan/)
    await expectRefused(server, async () => await server.call('GET', `/admin/v1/grants/${MISSING_ID}`), 404, 'NOT_FOUND')
    await expectRefused(server, async () => await server.call('PATCH', `/admin/v1/grants/${MISSING_ID}`, { status: 'revoked' }), 404, 'NOT_FOUND')
    await expectRefused(server, async () => await server.call('DELETE', `/admin/v1/grants/${MISSING_ID}`), 404, 'NOT_FOUND')
  })

  it('refuses malformed grants with 400 VALIDATION_FAILED', async () => {
    const [api, plan, app] = [await createApi(server, { upstreamId }), await createPlan(server), await createApp(server)]
    const valid = { appId: app.id, apiId: api.id, planId: plan.id }
    for (const body of [{ ...valid, status: 'revoked' }, { ...valid, status: 'rejected' }, { ...valid, appId: 'x' }, { ...valid, planId: 7 }, { ...valid, note: 'hi' }, { appId: app.id, apiId: api.id }]) {
      await expectRefused(server, async () => await server.call('POST', '/admin/v1/grants', body), 400, 'VALIDATION_FAILED')
    }
    const grant = await server.call('POST', '/admin/v1/grants', valid)
    for (const body of [{}, { status: 'requested' }, { status: 'paused' }, { appId: app.id }]) {
      await expectRefused(server, async () => await server.call('PATCH', `/admin/v1/grants/${grant.body.id as string}`, body), 400, 'VALIDATION_FAILED')
    }
    for (const query of ['status=paused', 'appId=x', 'apiId=1', 'limit=0', 'cursor=zzz']) {
      expect((await server.call('GET', `/admin/v1/grants?${query}`)).status).toBe(400)
    }
  })

  it('filters grants by app, API and status, page by page', async () => {
    const app = await createApp(server)
    const plan = await createPlan(server)
    const apis = [await createApi(server, { upstreamId }), await createApi(server, { upstreamId }), await createApi(server, { upstreamId })]
    const grants = []
    for (const api of apis) grants.push((await server.call('POST', '/admin/v1/grants', { appId: app.id, apiId: api.id, planId: plan.id })).body)
    await server.call('PATCH', `/admin/v1/grants/${grants[1].id as string}`, { status: 'revoked' })
    const { ids, pages } = await readAllPages(server, `/admin/v1/grants?appId=${app.id as string}`, 2)
    expect(ids).toEqual(grants.map(grant => grant.id))
    expect(pages).toBe(2)
    expect((await server.call('GET', `/admin/v1/grants?appId=${app.id as string}&status=revoked`)).body.items.map((grant: { id: string }) => grant.id)).toEqual([grants[1].id])
    expect((await server.call('GET', `/admin/v1/grants?apiId=${apis[2].id as string}`)).body.items.map((grant: { id: string }) => grant.id)).toEqual([grants[2].id])
    expect((await server.call('GET', `/admin/v1/grants?appId=${app.id as string}&apiId=${apis[1].id as string}&status=approved`)).body.items).toEqual([])
  })

  it('goes away with its app', async () => {
    const [api, plan, app] = [await createApi(server, { upstreamId }), await createPlan(server), await createApp(server)]
    const grant = await server.call('POST', '/admin/v1/grants', { appId: app.id, apiId: api.id, planId: plan.id })
    expect((await server.call('DELETE', `/admin/v1/apps/${app.id as string}`)).status).toBe(204)
    expect((await server.call('GET', `/admin/v1/grants/${grant.body.id as string}`)).status).toBe(404)
    expect((await server.call('DELETE', `/admin/v1/plans/${plan.id as string}`)).status).toBe(204)
  })
})
