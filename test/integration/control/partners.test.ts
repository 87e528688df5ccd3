import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DATABASE_KINDS } from '../../helpers/database.js'
import { startControlServer, type TestControlServer } from '../../helpers/control-server.js'

describe.each(DATABASE_KINDS)('operator partners API on %s', kind => {
  let server: TestControlServer
  beforeAll(async () => { server = await startControlServer(kind) })
  afterAll(async () => { await server?.close() })

  it('creates, reads, updates and deletes a partner', async () => {
    const created = await server.call('POST', '/admin/v1/partners', { name: 'Acme', email: 'ops@acme.test' })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ name: 'Acme', email: 'ops@acme.test', status: 'active' })
    const read = await server.call('GET', `/admin/v1/partners/${created.body.id}`)
    expect(read.body.name).toBe('Acme')
    const updated = await server.call('PATCH', `/admin/v1/partners/${created.body.id}`, { status: 'suspended' })
    expect(updated.status).toBe(200)
    expect(updated.body.status).toBe('suspended')
    expect((await server.call('DELETE', `/admin/v1/partners/${created.body.id}`)).status).toBe(204)
    expect((await server.call('GET', `/admin/v1/partners/${created.body.id}`)).status).toBe(404)
  })

  it('pages through partners with limit and cursor', async () => {
    for (const name of ['Page A', 'Page B', 'Page C']) await server.call('POST', '/admin/v1/partners', { name })
    const first = await server.call('GET', '/admin/v1/partners?limit=2')
    expect(first.body.items).toHaveLength(2)
    expect(first.body.nextCursor).toEqual(expect.any(String))
    const second = await server.call('GET', `/admin/v1/partners?limit=2&cursor=${first.body.nextCursor}`)
    const names = [...first.body.items, ...second.body.items].map((partner: { name: string }) => partner.name)
    expect(names).toEqual(expect.arrayContaining(['Page A', 'Page B', 'Page C']))
    expect(new Set(names).size).toBe(names.length)
    expect((await server.call('GET', '/admin/v1/partners?cursor=not-a-cursor')).body.error.code).toBe('INVALID_CURSOR')
  })

  it('rejects a duplicate name with 409 and writes nothing', async () => {
    await server.call('POST', '/admin/v1/partners', { name: 'Unique Co' })
    const before = await server.call('GET', '/admin/v1/config/version')
    const duplicate = await server.call('POST', '/admin/v1/partners', { name: 'Unique Co' })
    expect(duplicate.status).toBe(409)
    expect(duplicate.body.error.code).toBe('CONFLICT')
    const after = await server.call('GET', '/admin/v1/config/version')
    expect(after.body.version).toBe(before.body.version)
  })

  it('answers bad input with a clear 4xx JSON error', async () => {
    const cases: Array<[string, string, unknown, number, string]> = [
      ['POST', '/admin/v1/partners', '{"name":', 400, 'MALFORMED_JSON'],
      ['POST', '/admin/v1/partners', {}, 400, 'VALIDATION_FAILED'],
      ['POST', '/admin/v1/partners', { name: 42 }, 400, 'VALIDATION_FAILED'],
      ['POST', '/admin/v1/partners', { name: 'X', extra: true }, 400, 'VALIDATION_FAILED'],
      ['POST', '/admin/v1/partners', { name: '   ' }, 400, 'VALIDATION_FAILED'],
      ['PATCH', '/admin/v1/partners/00000000-0000-7000-8000-000000000000', { name: 'Y' }, 404, 'NOT_FOUND'],
      ['GET', '/admin/v1/partners/not-a-uuid', undefined, 400, 'VALIDATION_FAILED'],
      ['GET', '/admin/v1/nothing-here', undefined, 404, 'NOT_FOUND']
    ]
    for (const [method, path, body, status, code] of cases) {
      const response = await server.call(method, path, body)
      expect({ method, path, status: response.status, code: response.body?.error?.code }).toEqual({ method, path, status, code })
      expect(response.body.error.message).toEqual(expect.any(String))
    }
  })

  it('requires a valid operator token', async () => {
    const missing = await fetch(`${server.url}/admin/v1/partners`)
    expect(missing.status).toBe(401)
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED')
    const wrong = await server.call('GET', '/admin/v1/partners', undefined, { authorization: 'Bearer wrong-token-value' })
    expect(wrong.status).toBe(401)
  })

  it('records every change in the audit log and bumps the config version', async () => {
    const before = BigInt((await server.call('GET', '/admin/v1/config/version')).body.version)
    const created = await server.call('POST', '/admin/v1/partners', { name: 'Audited' })
    const after = BigInt((await server.call('GET', '/admin/v1/config/version')).body.version)
    expect(after).toBe(before + 1n)
    const audit = await server.call('GET', `/admin/v1/audit?targetId=${created.body.id}`)
    expect(audit.body.items[0]).toMatchObject({ actor: 'bootstrap', action: 'partner.create', targetType: 'partner', targetId: created.body.id })
  })
})

describe('the control API documentation', () => {
  let server: TestControlServer
  beforeAll(async () => { server = await startControlServer('pglite') })
  afterAll(async () => { await server?.close() })

  it('serves an OpenAPI 3 document of the operator, partner and OAuth2 endpoints, and a browsable page', async () => {
    const document = await (await fetch(`${server.url}/docs/json`)).json() as { openapi: string, paths: Record<string, unknown> }
    expect(document.openapi).toMatch(/^3\./)
    for (const path of ['/admin/v1/partners', '/admin/v1/apps/{id}/credentials', '/admin/v1/grants', '/admin/v1/apis/import', '/partner/v1/apps', '/oauth/token']) {
      expect(Object.keys(document.paths)).toContain(path)
    }
    const page = await fetch(`${server.url}/docs/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('<html')
  })
})
