// Console operator accounts: sign-in with email and password into a session of their own,
// roles mapped onto the operator token scopes (viewer = read), CSRF on every write, login
// throttling, account management by admins, and no way from a partner session into /admin/v1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOperator } from '../../../src/control/services/operators.js'
import { verifyPassword } from '../../../src/control/services/passwords.js'
import { ConfigWriter } from '../../../src/store/config-writer.js'
import { DATABASE_KINDS } from '../../helpers/database.js'
import { startControlServer, type TestControlServer } from '../../helpers/control-server.js'
import { PortalClient } from '../partner/portal-client.js'
import { configVersion, createPlan, unique } from './fixtures.js'

const PASSWORD = 'operator password 1'

describe.each(DATABASE_KINDS)('console operators on %s', kind => {
  let server: TestControlServer

  beforeAll(async () => { server = await startControlServer(kind) })
  afterAll(async () => { await server?.close() })

  async function operator (role: 'admin' | 'viewer'): Promise<{ email: string, id: string }> {
    const email = `${unique(role)}@example.com`
    const created = await createOperator(new ConfigWriter(server.database.prisma, server.bus), 'cli', { email, role, password: PASSWORD })
    return { email, id: created.id }
  }

  async function signedIn (role: 'admin' | 'viewer'): Promise<{ client: PortalClient, email: string, id: string }> {
    const account = await operator(role)
    const client = new PortalClient(server.url)
    const response = await client.call('POST', '/admin/v1/session', { email: account.email.toUpperCase(), password: PASSWORD })
    expect(response.status, JSON.stringify(response.body)).toBe(200)
    return { client, ...account }
  }

  it('signs an admin in with a cookie of its own, sent only to /admin/v1, and audits its writes under its email', async () => {
    const account = await operator('admin')
    const client = new PortalClient(server.url)
    const login = await client.call('POST', '/admin/v1/session', { email: account.email, password: PASSWORD })
    expect(login.body).toEqual({ operator: { id: account.id, email: account.email, role: 'admin' }, csrfToken: expect.any(String), expiresAt: expect.any(String) })
    const cookie = login.headers.get('set-cookie') as string
    expect(cookie).toMatch(/^pgw_operator_session=[A-Za-z0-9_-]{40,}; Path=\/admin\/v1; HttpOnly; SameSite=Strict; Max-Age=7200$/)
    expect(login.headers.get('cache-control')).toBe('no-store')
    expect((await client.call('GET', '/admin/v1/session')).body.operator.email).toBe(account.email)

    const plan = await client.call('POST', '/admin/v1/plans', { name: unique('by-console') })
    expect(plan.status).toBe(201)
    const audit = await server.call('GET', `/admin/v1/audit?targetId=${plan.body.id as string}`)
    expect(audit.body.items[0]).toMatchObject({ actor: account.email, action: 'plan.create' })
    const stored = await server.database.prisma.operator.findUniqueOrThrow({ where: { id: account.id } })
    expect(stored.lastLoginAt).not.toBeNull()
    expect(await verifyPassword(PASSWORD, stored.passwordHash)).toBe(true)
  })

  it('refuses a session\'s writes without its CSRF token or as a form, writing nothing', async () => {
    const { client } = await signedIn('admin')
    const before = await configVersion(server)
    const withoutToken = await client.call('POST', '/admin/v1/plans', { name: unique('csrf') }, { csrf: false })
    expect({ status: withoutToken.status, code: withoutToken.body.error.code }).toEqual({ status: 403, code: 'CSRF_FAILED' })
    const wrongToken = await client.call('DELETE', '/admin/v1/session', undefined, { csrf: 'not-the-token' })
    expect(wrongToken.status).toBe(403)
    const form = await client.call('POST', '/admin/v1/plans', 'name=evil', { headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    expect({ status: form.status, code: form.body.error.code }).toEqual({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' })
    expect(await configVersion(server)).toBe(before)
  })

  it('lets a viewer read everything and change nothing, but sign out', async () => {
    const { client } = await signedIn('viewer')
    const plan = await createPlan(server)
    for (const path of ['/admin/v1/plans', '/admin/v1/partners', '/admin/v1/audit', '/admin/v1/operators', '/admin/v1/session']) {
      expect({ path, status: (await client.call('GET', path)).status }).toEqual({ path, status: 200 })
    }
    const before = await configVersion(server)
    const writes: Array<[string, string, unknown]> = [
      ['POST', '/admin/v1/plans', { name: unique('nope') }],
      ['PATCH', `/admin/v1/plans/${plan.id as string}`, { maxConnections: 1 }],
      ['DELETE', `/admin/v1/plans/${plan.id as string}`, undefined],
      ['POST', '/admin/v1/operators', { email: 'escalate@example.com', role: 'admin' }],
      ['POST', '/admin/v1/admin-tokens', { name: 'escalate', scopes: ['admin'] }]
    ]
    for (const [method, path, body] of writes) {
      const response = await client.call(method, path, body)
      expect({ path, status: response.status, code: response.body.error.code }).toEqual({ path, status: 403, code: 'FORBIDDEN' })
    }
    expect(await configVersion(server)).toBe(before)
    expect((await client.call('DELETE', '/admin/v1/session')).status).toBe(204)
    expect((await client.call('GET', '/admin/v1/plans')).status).toBe(401)
  })

  it('never lets a partner\'s portal session into /admin/v1, nor an operator session into the partner API', async () => {
    const partner = new PortalClient(server.url)
    expect((await partner.signup(unique('Partner Co'), `${unique('dev')}@example.com`)).status).toBe(201)
    for (const [method, path, body] of [['GET', '/admin/v1/partners', undefined], ['GET', '/admin/v1/session', undefined], ['POST', '/admin/v1/plans', { name: unique('partner') }]] as const) {
      const response = await partner.call(method, path, body)
      expect({ path, status: response.status, code: response.body.error.code }).toEqual({ path, status: 401, code: 'UNAUTHORIZED' })
    }
    const { client } = await signedIn('admin')
    expect((await client.call('GET', '/partner/v1/me')).status).toBe(401)
  })

  it('refuses a wrong password without telling which part was wrong, and throttles repeated failures', async () => {
    const account = await operator('admin')
    const client = new PortalClient(server.url)
    const wrong = await client.call('POST', '/admin/v1/session', { email: account.email, password: 'not the password' })
    const unknown = await client.call('POST', '/admin/v1/session', { email: 'nobody@example.com', password: PASSWORD })
    expect([wrong.body, unknown.body].map(body => body.error.code)).toEqual(['INVALID_LOGIN', 'INVALID_LOGIN'])
    expect(wrong.headers.get('set-cookie')).toBeNull()
    for (let attempt = 0; attempt < 4; attempt++) await client.call('POST', '/admin/v1/session', { email: account.email, password: 'still wrong!' })
    const throttled = await client.call('POST', '/admin/v1/session', { email: account.email, password: PASSWORD })
    expect({ status: throttled.status, code: throttled.body.error.code }).toEqual({ status: 429, code: 'TOO_MANY_LOGIN_ATTEMPTS' })
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0)
  })

  it('lets admins create operators with a generated password shown once, change roles at once, and end sessions on a new password', async () => {
    const { client: admin } = await signedIn('admin')
    const email = `${unique('new')}@example.com`
    const created = await admin.call('POST', '/admin/v1/operators', { email, role: 'viewer' })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ email, role: 'viewer', password: expect.stringMatching(/^[A-Za-z0-9_-]{27}$/) })
    expect(JSON.stringify((await admin.call('GET', '/admin/v1/operators')).body)).not.toContain(created.body.password)

    const colleague = new PortalClient(server.url)
    expect((await colleague.call('POST', '/admin/v1/session', { email, password: created.body.password })).body.operator.role).toBe('viewer')
    expect((await colleague.call('POST', '/admin/v1/plans', { name: unique('v') })).status).toBe(403)
    // the role is read on every request: promoted, the same session may write
    expect((await admin.call('PATCH', `/admin/v1/operators/${created.body.id as string}`, { role: 'admin' })).body.role).toBe('admin')
    expect((await colleague.call('POST', '/admin/v1/plans', { name: unique('v') })).status).toBe(201)
    expect((await admin.call('PATCH', `/admin/v1/operators/${created.body.id as string}`, { password: 'a brand new password' })).status).toBe(200)
    expect((await colleague.call('GET', '/admin/v1/plans')).status).toBe(401)
    const audit = await server.call('GET', `/admin/v1/audit?targetId=${created.body.id as string}`)
    expect(audit.body.items.map((item: any) => item.action)).toEqual(['operator.update', 'operator.update', 'operator.create'])
    expect(JSON.stringify(audit.body)).not.toContain('a brand new password')

    expect((await admin.call('DELETE', `/admin/v1/operators/${created.body.id as string}`)).status).toBe(204)
    expect((await colleague.call('POST', '/admin/v1/session', { email, password: 'a brand new password' })).status).toBe(401)
    const duplicate = await admin.call('POST', '/admin/v1/operators', { email: email.toUpperCase(), role: 'viewer', password: 'long enough password' })
    expect(duplicate.status).toBe(201)
    expect((await admin.call('POST', '/admin/v1/operators', { email, role: 'viewer' })).status).toBe(409)
  })

  it('keeps at least one admin', async () => {
    await server.database.prisma.operator.deleteMany({ where: { role: 'admin' } })
    const { client, id } = await signedIn('admin')
    const demote = await client.call('PATCH', `/admin/v1/operators/${id}`, { role: 'viewer' })
    const remove = await client.call('DELETE', `/admin/v1/operators/${id}`)
    expect([demote.status, remove.status]).toEqual([409, 409])
    expect(demote.body.error.message).toMatch(/last admin/)
  })

  it('still takes operator tokens for scripts', async () => {
    expect((await server.call('GET', '/admin/v1/operators')).status).toBe(200)
    expect((await server.call('POST', '/admin/v1/plans', { name: unique('script') })).status).toBe(201)
  })
})
