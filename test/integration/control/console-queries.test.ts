// What the console asks of /admin/v1 beyond plain lists: partners searched by name or email
// and filtered by status, a partner's portal users, the audit log by actor, target and time,
// and the reason of a rejected access request kept in the audit log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startControlServer, type TestControlServer } from '../../helpers/control-server.js'
import { PortalClient } from '../partner/portal-client.js'
import { createApi, createApp, createPlan, MISSING_ID, unique } from './fixtures.js'

describe('operator API queries for the console', () => {
  let server: TestControlServer
  beforeAll(async () => { server = await startControlServer('postgresql') })
  afterAll(async () => { await server?.close() })

  it('searches partners by part of the name or email in any case, and filters by status', async () => {
    const tag = unique('zq')
    const byName = await server.call('POST', '/admin/v1/partners', { name: `Acme ${tag} Ltd` })
    const byEmail = await server.call('POST', '/admin/v1/partners', { name: unique('Other'), email: `ops@${tag}.example.com`, status: 'pending' })
    await server.call('POST', '/admin/v1/partners', { name: unique('Unrelated') })
    const found = await server.call('GET', `/admin/v1/partners?q=${tag.toUpperCase()}`)
    expect(found.body.items.map((partner: any) => partner.id).sort()).toEqual([byName.body.id, byEmail.body.id].sort())
    const pending = await server.call('GET', `/admin/v1/partners?q=${tag}&status=pending`)
    expect(pending.body.items.map((partner: any) => partner.id)).toEqual([byEmail.body.id])
    expect((await server.call('GET', '/admin/v1/partners?status=gone')).status).toBe(400)
  })

  it('lists a partner\'s portal users without their password hashes', async () => {
    const portal = new PortalClient(server.url)
    const email = `${unique('dev')}@example.com`
    const signup = await portal.signup(unique('Portal Co'), email)
    const users = await server.call('GET', `/admin/v1/partners/${signup.body.partner.id as string}/users`)
    expect(users.body).toEqual({ items: [{ id: signup.body.user.id, email, createdAt: expect.any(String), lastLoginAt: expect.any(String) }] })
    expect((await server.call('GET', `/admin/v1/partners/${MISSING_ID}/users`)).status).toBe(404)
  })

  it('filters the audit log by actor, target type and time', async () => {
    const token = await server.call('POST', '/admin/v1/admin-tokens', { name: unique('robot'), scopes: ['admin'] })
    const robot = { authorization: `Bearer ${token.body.token as string}` }
    const before = new Date().toISOString()
    const plan = await server.call('POST', '/admin/v1/plans', { name: unique('p') }, robot)
    const partner = await server.call('POST', '/admin/v1/partners', { name: unique('partner') }, robot)
    const after = new Date(Date.now() + 1000).toISOString()
    const byActor = await server.call('GET', `/admin/v1/audit?actor=${token.body.name as string}`)
    expect(byActor.body.items.map((entry: any) => entry.targetId)).toEqual([partner.body.id, plan.body.id])
    const byType = await server.call('GET', `/admin/v1/audit?actor=${token.body.name as string}&targetType=plan`)
    expect(byType.body.items.map((entry: any) => entry.targetId)).toEqual([plan.body.id])
    expect((await server.call('GET', `/admin/v1/audit?actor=${token.body.name as string}&from=${after}`)).body.items).toEqual([])
    expect((await server.call('GET', `/admin/v1/audit?actor=${token.body.name as string}&to=${before}`)).body.items).toEqual([])
    expect((await server.call('GET', `/admin/v1/audit?actor=${token.body.name as string}&from=${before}&to=${after}`)).body.items).toHaveLength(2)
    expect((await server.call('GET', '/admin/v1/audit?from=yesterday')).status).toBe(400)
  })

  it('keeps the reason of a rejection in the audit log, not in the grant', async () => {
    const app = await createApp(server)
    const plan = await createPlan(server)
    const api = await createApi(server)
    const grant = await server.call('POST', '/admin/v1/grants', { appId: app.id, apiId: api.id, planId: plan.id, status: 'requested' })
    const rejected = await server.call('PATCH', `/admin/v1/grants/${grant.body.id as string}`, { status: 'rejected', reason: 'no production use yet' })
    expect(rejected.body).not.toHaveProperty('reason')
    expect(rejected.body.status).toBe('rejected')
    const audit = await server.call('GET', `/admin/v1/audit?targetId=${grant.body.id as string}&limit=1`)
    expect(audit.body.items[0]).toMatchObject({ action: 'grant.reject', details: { status: 'rejected', reason: 'no production use yet' } })
  })
})
