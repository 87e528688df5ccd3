// The partner API over real HTTP: accounts, sessions, CSRF, throttling, pending partners,
// apps and credentials, catalog, access requests, usage — and that partners stay apart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startControlServer, type TestControlServer } from '../../helpers/control-server.js'
import { DATABASE_KINDS } from '../../helpers/database.js'
import { PETSTORE, PortalClient } from './portal-client.js'

let counter = 0
const unique = (label: string): string => `${label}-${Date.now().toString(36)}-${counter++}`

describe.each(DATABASE_KINDS)('partner API on %s', kind => {
  let server: TestControlServer
  let apiId: string
  let autoApiId: string
  let goldPlanId: string
  let silverPlanId: string

  async function newPartner (): Promise<{ client: PortalClient, email: string, partnerId: string }> {
    const client = new PortalClient(server.url)
    const email = `${unique('dev')}@example.com`
    const response = await client.signup(unique('Company'), email)
    expect(response.status).toBe(201)
    return { client, email, partnerId: response.body.partner.id }
  }

  beforeAll(async () => {
    server = await startControlServer(kind)
    const prisma = server.database.prisma
    goldPlanId = (await prisma.plan.create({ data: { name: unique('gold'), quotaPerDay: 1000, quotaPerMonth: 20000, rateLimitPerSecond: 10 } })).id
    silverPlanId = (await prisma.plan.create({ data: { name: unique('silver'), quotaPerDay: 100 } })).id
    const imported = await server.call('POST', '/admin/v1/apis/import', { document: PETSTORE, name: unique('petstore'), planIds: [goldPlanId] })
    expect(imported.status).toBe(201)
    apiId = imported.body.id
    // the same paths again, under a route prefix of its own: the Petstore's routes are taken
    const auto = await server.call('POST', '/admin/v1/apis/import', { document: PETSTORE, name: unique('auto'), basePath: `/${unique('auto')}`, autoApprove: true, upstream: { targets: [{ url: 'http://127.0.0.1:9' }] } })
    expect(auto.status).toBe(201)
    autoApiId = auto.body.id
  })

  afterAll(async () => { await server?.close() })

  it('signs up, sets an HttpOnly SameSite session cookie and stores only a scrypt hash and a session hash', async () => {
    const client = new PortalClient(server.url)
    const email = `${unique('Signup')}@Example.com`
    const response = await client.signup('  Signup Co ' + unique(''), email)
    expect(response.status).toBe(201)
    expect(response.body.partner.status).toBe('active')
    expect(response.body.user.email).toBe(email.toLowerCase())
    const cookie = response.headers.get('set-cookie') as string
    expect(cookie).toMatch(/^pgw_session=[\w-]{40,};/)
    expect(cookie).toMatch(/HttpOnly/)
    expect(cookie).toMatch(/SameSite=Lax/)
    expect(cookie).toMatch(/Path=\//)
    expect(cookie).not.toMatch(/Secure/)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const user = await server.database.prisma.partnerUser.findUniqueOrThrow({ where: { email: email.toLowerCase() } })
    expect(user.passwordHash).toMatch(/^scrypt\$16384\$8\$1\$[\w-]+\$[\w-]+$/)
    const sessions = await server.database.prisma.portalSession.findMany({ where: { userId: user.id } })
    expect(sessions).toHaveLength(1)
    expect(client.cookie).not.toContain(sessions[0].tokenHash)
    expect((await client.call('GET', '/partner/v1/me')).body.partner.id).toBe(response.body.partner.id)
  })

  it('refuses duplicate emails and weak passwords', async () => {
    const { email } = await newPartner()
    const again = await new PortalClient(server.url).signup(unique('Other'), email)
    expect(again.status).toBe(409)
    const weak = await new PortalClient(server.url).call('POST', '/partner/v1/signup', { companyName: unique('Weak'), email: `${unique('w')}@example.com`, password: 'short' })
    expect(weak.status).toBe(400)
    expect(weak.body.error.code).toBe('VALIDATION_FAILED')
  })

  it('logs in and out; a logged-out or unknown session gets 401', async () => {
    const { email } = await newPartner()
    const client = new PortalClient(server.url)
    expect((await client.call('GET', '/partner/v1/me')).status).toBe(401)
    expect((await client.login(email, 'wrong password!')).body.error.code).toBe('INVALID_LOGIN')
    expect((await client.login(email.toUpperCase())).status).toBe(200)
    const cookie = client.cookie
    expect((await client.call('GET', '/partner/v1/apps')).status).toBe(200)
    expect((await client.call('POST', '/partner/v1/logout')).status).toBe(204)
    expect(client.cookie).toBeUndefined()
    client.cookie = cookie
    expect((await client.call('GET', '/partner/v1/apps')).status).toBe(401)
  })

  it('rejects state-changing requests without the CSRF token, or with a wrong one, with 403 CSRF_FAILED', async () => {
    const { client } = await newPartner()
    for (const csrf of [false, 'not-the-token', '']) {
      const response = await client.call('POST', '/partner/v1/apps', { name: 'csrf' }, { csrf })
      expect(response.status).toBe(403)
      expect(response.body.error.code).toBe('CSRF_FAILED')
    }
    expect((await client.call('POST', '/partner/v1/logout', undefined, { csrf: false })).body.error.code).toBe('CSRF_FAILED')
    // a cross-site form can post text/plain with JSON inside; it is refused before anything else
    const form = await client.call('POST', '/partner/v1/apps', '{"name":"x"}', { csrf: false, headers: { 'content-type': 'text/plain' } })
    expect(form.status).toBe(415)
    expect((await client.call('GET', '/partner/v1/apps')).body.items).toEqual([])
    expect((await client.call('POST', '/partner/v1/apps', { name: 'csrf' })).status).toBe(201)
  })

  it('throttles failed logins per email with 429 and Retry-After, even for the right password', async () => {
    const { email } = await newPartner()
    const client = new PortalClient(server.url)
    for (let attempt = 0; attempt < 5; attempt++) expect((await client.login(email, `wrong-${attempt}-password`)).status).toBe(401)
    const throttled = await client.login(email)
    expect(throttled.status).toBe(429)
    expect(throttled.body.error.code).toBe('TOO_MANY_LOGIN_ATTEMPTS')
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0)
  })

  it('manages apps: the secret only at creation, rename, suspend/resume, rotate with overlap, revoke, delete', async () => {
    const { client } = await newPartner()
    const created = await client.call('POST', '/partner/v1/apps', { name: 'erp' })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ name: 'erp', status: 'active' })
    expect(created.body.secret).toEqual(expect.any(String))
    expect(created.body.apiKey).toMatch(/^pgw_ak_/)
    const id = created.body.id
    const detail = await client.call('GET', `/partner/v1/apps/${id as string}`)
    expect(JSON.stringify(detail.body)).not.toContain(created.body.secret)
    expect(JSON.stringify(detail.body)).not.toContain(created.body.apiKey)
    expect(detail.body.credentials).toHaveLength(1)
    expect((await client.call('PATCH', `/partner/v1/apps/${id as string}`, { name: 'erp-2', status: 'suspended' })).body).toMatchObject({ name: 'erp-2', status: 'suspended' })
    expect((await client.call('PATCH', `/partner/v1/apps/${id as string}`, { status: 'active' })).body.status).toBe('active')
    const rotated = await client.call('POST', `/partner/v1/apps/${id as string}/credentials`, { overlapSeconds: 3600 })
    expect(rotated.status).toBe(201)
    expect(rotated.body.secret).toEqual(expect.any(String))
    expect(rotated.body.previous).toHaveLength(1)
    expect(rotated.body.previous[0]).toMatchObject({ key: created.body.key, status: 'expiring' })
    expect(Date.parse(rotated.body.previous[0].expiresAt) - Date.now()).toBeGreaterThan(3500_000)
    const revoke = await client.call('DELETE', `/partner/v1/apps/${id as string}/credentials/${created.body.credentialId as string}`)
    expect(revoke.status).toBe(204)
    const after = await client.call('GET', `/partner/v1/apps/${id as string}`)
    expect(after.body.credentials.find((each: any) => each.id === created.body.credentialId).status).toBe('revoked')
    const audit = await server.database.prisma.auditLog.findMany({ where: { targetId: id } })
    expect(audit.map(entry => entry.action)).toEqual(expect.arrayContaining(['app.create', 'app.suspend', 'app.resume', 'credential.rotate', 'credential.revoke']))
    expect(audit.every(entry => entry.actor.startsWith('partner:'))).toBe(true)
    expect((await client.call('DELETE', `/partner/v1/apps/${id as string}`)).status).toBe(204)
    expect((await client.call('GET', `/partner/v1/apps/${id as string}`)).status).toBe(404)
  })

  it('keeps partners apart: another partner\'s app, credentials, requests and usage answer 404', async () => {
    const alice = await newPartner()
    const bob = await newPartner()
    const app = (await alice.client.call('POST', '/partner/v1/apps', { name: 'alice-app' })).body
    const request = await alice.client.call('POST', '/partner/v1/access-requests', { appId: app.id, apiId, planId: goldPlanId })
    expect(request.status).toBe(201)
    const attempts: Array<[string, string, unknown?]> = [
      ['GET', `/partner/v1/apps/${app.id as string}`],
      ['PATCH', `/partner/v1/apps/${app.id as string}`, { name: 'stolen' }],
      ['DELETE', `/partner/v1/apps/${app.id as string}`],
      ['POST', `/partner/v1/apps/${app.id as string}/credentials`, {}],
      ['DELETE', `/partner/v1/apps/${app.id as string}/credentials/${app.credentialId as string}`],
      ['GET', `/partner/v1/apps/${app.id as string}/usage`],
      ['POST', '/partner/v1/access-requests', { appId: app.id, apiId: autoApiId, planId: goldPlanId }],
      ['DELETE', `/partner/v1/access-requests/${request.body.id as string}`]
    ]
    for (const [method, path, body] of attempts) {
      const response = await bob.client.call(method, path, body)
      expect({ method, path, status: response.status, code: response.body?.error?.code }).toEqual({ method, path, status: 404, code: 'NOT_FOUND' })
    }
    expect((await bob.client.call('GET', '/partner/v1/apps')).body.items).toEqual([])
    expect((await bob.client.call('GET', '/partner/v1/access-requests')).body.items).toEqual([])
    expect((await bob.client.call('GET', `/partner/v1/access-requests?appId=${app.id as string}`)).body.items).toEqual([])
    const still = await alice.client.call('GET', `/partner/v1/apps/${app.id as string}`)
    expect(still.body.name).toBe('alice-app')
    expect(still.body.credentials[0].status).toBe('active')
  })

  it('lists the catalog with the offered plans and serves the OpenAPI document', async () => {
    const { client } = await newPartner()
    const catalog = await client.call('GET', '/partner/v1/apis')
    const api = catalog.body.items.find((item: any) => item.id === apiId)
    expect(api).toMatchObject({ description: 'Pets for partners', hasReference: true, auth: ['hmac', 'apikey'] })
    expect(api.plans.map((plan: any) => plan.id)).toEqual([goldPlanId])
    const auto = catalog.body.items.find((item: any) => item.id === autoApiId)
    expect(auto.plans.map((plan: any) => plan.id)).toEqual(expect.arrayContaining([goldPlanId, silverPlanId]))
    const detail = await client.call('GET', `/partner/v1/apis/${apiId}`)
    // the upstream's address is replaced by the gateway's
    const { gatewayUrl } = (await client.call('GET', '/partner/v1/me')).body
    expect(detail.body.openapi).toEqual({ ...PETSTORE, servers: [{ url: gatewayUrl }] })
    expect((await client.call('GET', '/partner/v1/apis/00000000-0000-7000-8000-000000000000')).status).toBe(404)
  })

  it('requests access: pending until an operator approves or rejects, at once for auto-approving APIs', async () => {
    const { client } = await newPartner()
    const app = (await client.call('POST', '/partner/v1/apps', { name: 'access' })).body
    const notOffered = await client.call('POST', '/partner/v1/access-requests', { appId: app.id, apiId, planId: silverPlanId })
    expect(notOffered.status).toBe(400)
    const requested = await client.call('POST', '/partner/v1/access-requests', { appId: app.id, apiId, planId: goldPlanId })
    expect(requested.body).toMatchObject({ status: 'requested', appName: 'access' })
    expect((await client.call('POST', '/partner/v1/access-requests', { appId: app.id, apiId, planId: goldPlanId })).status).toBe(409)
    const auto = await client.call('POST', '/partner/v1/access-requests', { appId: app.id, apiId: autoApiId, planId: silverPlanId })
    expect(auto.body.status).toBe('approved')

    // operators work the queue through /admin/v1/grants
    const queue = await server.call('GET', '/admin/v1/grants?status=requested&limit=200')
    const pending = queue.body.items.find((item: any) => item.id === requested.body.id)
    expect(pending).toMatchObject({ appId: app.id, status: 'requested', planId: goldPlanId })
    const version = await server.database.prisma.configState.findUniqueOrThrow({ where: { id: 1 } })
    expect((await server.call('PATCH', `/admin/v1/grants/${requested.body.id as string}`, { status: 'approved' })).body.status).toBe('approved')
    expect((await server.database.prisma.configState.findUniqueOrThrow({ where: { id: 1 } })).version).toBeGreaterThan(version.version)
    const mine = await client.call('GET', `/partner/v1/access-requests?appId=${app.id as string}`)
    expect(mine.body.items.map((item: any) => item.status).sort()).toEqual(['approved', 'approved'])

    const other = (await client.call('POST', '/partner/v1/apps', { name: 'rejected' })).body
    const second = await client.call('POST', '/partner/v1/access-requests', { appId: other.id, apiId, planId: goldPlanId })
    expect((await server.call('PATCH', `/admin/v1/grants/${second.body.id as string}`, { status: 'rejected' })).body.status).toBe('rejected')
    expect((await client.call('GET', `/partner/v1/access-requests?appId=${other.id as string}`)).body.items[0].status).toBe('rejected')
    // asking again after a rejection goes back to the operator
    expect((await client.call('POST', '/partner/v1/access-requests', { appId: other.id, apiId, planId: goldPlanId })).body.status).toBe('requested')
  })

  it('reports usage per API: 30 days, today and this month against the plan quota, rejections', async () => {
    const { client } = await newPartner()
    const app = (await client.call('POST', '/partner/v1/apps', { name: 'usage' })).body
    await client.call('POST', '/partner/v1/access-requests', { appId: app.id, apiId: autoApiId, planId: goldPlanId })
    const today = new Date(new Date().toISOString().slice(0, 10))
    const daysAgo = (days: number): Date => new Date(today.getTime() - days * 86400_000)
    await server.database.prisma.usageDaily.createMany({
      data: [
        { appId: app.id, apiId: autoApiId, day: today, calls: 7n, rejected: 2n },
        { appId: app.id, apiId: autoApiId, day: daysAgo(3), calls: 5n, rejected: 0n },
        { appId: app.id, apiId: autoApiId, day: daysAgo(40), calls: 100n, rejected: 1n }
      ]
    })
    const usage = await client.call('GET', `/partner/v1/apps/${app.id as string}/usage`)
    expect(usage.status).toBe(200)
    expect(usage.body.days).toHaveLength(30)
    expect(usage.body.to).toBe(today.toISOString().slice(0, 10))
    const api = usage.body.apis[0]
    expect(api).toMatchObject({ apiId: autoApiId, grantStatus: 'approved', today: { calls: 7, rejected: 2 }, total: { calls: 12, rejected: 2 } })
    expect(api.plan).toMatchObject({ id: goldPlanId, quotaPerDay: 1000, quotaPerMonth: 20000 })
    expect(api.series.at(-1)).toEqual({ day: usage.body.to, calls: 7, rejected: 2 })
    expect(api.series.at(-4).calls).toBe(5)
    expect(api.month.calls).toBe(today.getUTCDate() > 3 ? 12 : 7)
  })

  it('holds new partners as pending when approval is required; they can log in and browse but not operate apps', async () => {
    expect((await server.call('PUT', '/admin/v1/settings', { requirePartnerApproval: true })).body.requirePartnerApproval).toBe(true)
    try {
      const client = new PortalClient(server.url)
      const email = `${unique('pending')}@example.com`
      const signup = await client.signup(unique('Pending Co'), email)
      expect(signup.body.partner.status).toBe('pending')
      const blocked = await client.call('POST', '/partner/v1/apps', { name: 'x' })
      expect(blocked.status).toBe(403)
      expect(blocked.body.error.code).toBe('PARTNER_PENDING')
      expect((await client.call('GET', '/partner/v1/apps')).body.error.code).toBe('PARTNER_PENDING')
      expect((await client.call('GET', '/partner/v1/apis')).status).toBe(200)
      expect((await server.call('PATCH', `/admin/v1/partners/${signup.body.partner.id as string}`, { status: 'active' })).status).toBe(200)
      expect((await client.call('POST', '/partner/v1/apps', { name: 'x' })).status).toBe(201)
    } finally {
      await server.call('PUT', '/admin/v1/settings', { requirePartnerApproval: false })
    }
  })
})
