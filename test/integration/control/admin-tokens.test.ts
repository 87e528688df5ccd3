// /admin/v1/admin-tokens and the createAdminToken service the CLI calls: shown once, stored
// as a hash, scope "read" limited to GET, revocation effective on the next request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sha256Hex } from '../../../src/domain/crypto.js'
import { createAdminToken } from '../../../src/control/services/admin-tokens.js'
import { DATABASE_KINDS } from '../../helpers/database.js'
import { startControlServer, type TestControlServer } from '../../helpers/control-server.js'
import { MISSING_ID, configVersion, createPlan, expectAuditedWrite, expectRefused, readAllPages, unique } from './fixtures.js'

describe.each(DATABASE_KINDS)('operator tokens API on %s', kind => {
  let server: TestControlServer
  beforeAll(async () => { server = await startControlServer(kind) })
  afterAll(async () => { await server?.close() })

  const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

  it('shows a new token once, stores only its hash, and lists tokens without them', async () => {
    const created = await expectAuditedWrite(server, 'admin-token.create', async () => await server.call('POST', '/admin/v1/admin-tokens', { name: 'ci', scopes: ['admin'] }))
    expect(created.status).toBe(201)
    expect(created.body).toEqual({ id: expect.any(String), name: 'ci', scopes: ['admin'], token: expect.stringMatching(/^pgw_op_[A-Za-z0-9_-]{40,}$/), createdAt: expect.any(String) })
    const stored = await server.database.prisma.adminToken.findUniqueOrThrow({ where: { id: created.body.id } })
    expect(stored.tokenHash).toBe(sha256Hex(created.body.token))
    const listed = await server.call('GET', '/admin/v1/admin-tokens?limit=200')
    expect(listed.body.items).toContainEqual({ id: created.body.id, name: 'ci', scopes: ['admin'], createdAt: created.body.createdAt, revokedAt: null })
    expect(JSON.stringify(listed.body)).not.toContain(created.body.token)
    expect(JSON.stringify(listed.body)).not.toContain(stored.tokenHash)
    // the token works, and its writes are audited under its name
    const plan = await server.call('POST', '/admin/v1/plans', { name: unique('by-ci') }, bearer(created.body.token))
    expect(plan.status).toBe(201)
    expect((await server.call('GET', `/admin/v1/audit?targetId=${plan.body.id as string}`)).body.items[0]).toMatchObject({ actor: 'ci', action: 'plan.create' })
  })

  it('lets a read-only token GET but answers 403 to every write, writing nothing', async () => {
    const reader = await server.call('POST', '/admin/v1/admin-tokens', { name: 'dashboards', scopes: ['read'] })
    const plan = await createPlan(server)
    const headers = bearer(reader.body.token)
    for (const path of ['/admin/v1/plans', `/admin/v1/plans/${plan.id as string}`, '/admin/v1/upstreams', '/admin/v1/apis', '/admin/v1/grants', '/admin/v1/admin-tokens', '/admin/v1/audit']) {
      expect({ path, status: (await server.call('GET', path, undefined, headers)).status }).toEqual({ path, status: 200 })
    }
    const writes: Array<[string, string, unknown]> = [
      ['POST', '/admin/v1/plans', { name: unique('nope') }],
      ['PATCH', `/admin/v1/plans/${plan.id as string}`, { maxConnections: 1 }],
      ['DELETE', `/admin/v1/plans/${plan.id as string}`, undefined],
      ['POST', '/admin/v1/upstreams', { name: unique('nope'), targets: [{ url: 'http://x.internal' }] }],
      ['POST', '/admin/v1/admin-tokens', { name: 'escalate', scopes: ['admin'] }],
      ['DELETE', `/admin/v1/admin-tokens/${reader.body.id as string}`, undefined]
    ]
    for (const [method, path, body] of writes) {
      await expectRefused(server, async () => await server.call(method, path, body, headers), 403, 'FORBIDDEN')
    }
    expect((await server.call('GET', `/admin/v1/plans/${plan.id as string}`)).body).toEqual(plan)
  })

  it('revokes a token: 204, audited, and the token gets 401 from then on', async () => {
    const token = await server.call('POST', '/admin/v1/admin-tokens', { name: 'temporary', scopes: ['admin'] })
    expect((await server.call('GET', '/admin/v1/plans', undefined, bearer(token.body.token))).status).toBe(200)
    const revoked = await expectAuditedWrite(server, 'admin-token.revoke', async () => await server.call('DELETE', `/admin/v1/admin-tokens/${token.body.id as string}`), token.body.id)
    expect(revoked.status).toBe(204)
    for (const method of ['GET', 'POST']) {
      const response = await server.call(method, '/admin/v1/plans', method === 'POST' ? { name: unique('late') } : undefined, bearer(token.body.token))
      expect({ method, status: response.status, code: response.body.error.code }).toEqual({ method, status: 401, code: 'UNAUTHORIZED' })
    }
    const listed = await server.call('GET', '/admin/v1/admin-tokens?limit=200')
    const entry = listed.body.items.find((item: { id: string }) => item.id === token.body.id)
    expect(entry.revokedAt).toEqual(expect.any(String))
    // revoking again keeps the first revocation time
    expect((await server.call('DELETE', `/admin/v1/admin-tokens/${token.body.id as string}`)).status).toBe(204)
    expect((await server.call('GET', '/admin/v1/admin-tokens?limit=200')).body.items.find((item: { id: string }) => item.id === token.body.id).revokedAt).toBe(entry.revokedAt)
  })

  it('refuses bad tokens requests', async () => {
    for (const body of [{ name: 'x', scopes: [] }, { name: 'x', scopes: ['root'] }, { name: 'x', scopes: 'admin' }, { name: 'x' }, { scopes: ['read'] }, { name: 'x', scopes: ['read'], token: 'mine' }, { name: 'x', scopes: ['read', 'read'] }]) {
      await expectRefused(server, async () => await server.call('POST', '/admin/v1/admin-tokens', body), 400, 'VALIDATION_FAILED')
    }
    await expectRefused(server, async () => await server.call('DELETE', `/admin/v1/admin-tokens/${MISSING_ID}`), 404, 'NOT_FOUND')
    for (const authorization of ['Bearer pgw_op_not-a-real-token', 'Basic abc', 'Bearer']) {
      expect((await server.call('GET', '/admin/v1/plans', undefined, { authorization })).status).toBe(401)
    }
  })

  it('pages through tokens', async () => {
    for (let index = 0; index < 3; index++) await server.call('POST', '/admin/v1/admin-tokens', { name: unique('paged'), scopes: ['read'] })
    const all = await server.call('GET', '/admin/v1/admin-tokens?limit=200')
    const { ids, pages } = await readAllPages(server, '/admin/v1/admin-tokens', 2)
    expect(ids).toEqual(all.body.items.map((item: { id: string }) => item.id))
    expect(pages).toBe(Math.ceil(ids.length / 2))
  })

  it('creates tokens from the service the CLI uses, audited under the given actor', async () => {
    const before = await configVersion(server)
    const created = await createAdminToken(server.fastify.configWriter, 'cli', 'from-cli', ['read'])
    expect(created).toMatchObject({ name: 'from-cli', scopes: ['read'], token: expect.stringMatching(/^pgw_op_/) })
    expect(await configVersion(server)).toBe(before + 1n)
    expect((await server.call('GET', `/admin/v1/audit?targetId=${created.id}`)).body.items[0]).toMatchObject({ actor: 'cli', action: 'admin-token.create', details: { name: 'from-cli', scopes: ['read'] } })
    expect((await server.call('GET', '/admin/v1/apis', undefined, bearer(created.token))).status).toBe(200)
  })
})
