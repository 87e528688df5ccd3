// POST /admin/v1/apis/import: validation with the parser's messages, derived routes, upstreams.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startControlServer, type TestControlServer } from '../../helpers/control-server.js'
import { PETSTORE } from './portal-client.js'

describe('OpenAPI import', () => {
  let server: TestControlServer
  beforeAll(async () => { server = await startControlServer('pglite') })
  afterAll(async () => { await server?.close() })

  it('derives one prefix route per first path segment, the upstream from servers[0], and keeps the document', async () => {
    const response = await server.call('POST', '/admin/v1/apis/import', { document: PETSTORE })
    expect(response.status).toBe(201)
    expect(response.body).toMatchObject({ name: 'Petstore', description: 'Pets for partners', auth: ['hmac', 'apikey'], autoApprove: false, upstreamCreated: true })
    expect(response.body.routes.map((route: any) => [route.path, route.methods, route.stripPrefix])).toEqual([
      ['/pets', ['DELETE', 'GET', 'POST'], false],
      ['/stores', ['GET'], false]
    ])
    const api = await server.database.prisma.api.findUniqueOrThrow({ where: { id: response.body.id }, select: { openapi: true, upstream: { include: { targets: true } } } })
    expect(api.upstream.targets.map(target => target.url)).toEqual(['http://127.0.0.1:9/v1'])
    expect(api.openapi).toEqual(PETSTORE)
    const audit = await server.database.prisma.auditLog.findFirst({ where: { targetId: response.body.id, action: 'api.import' } })
    expect(audit).not.toBeNull()
    // the same title again is a conflict, not a crash
    expect((await server.call('POST', '/admin/v1/apis/import', { document: PETSTORE })).status).toBe(409)
  })

  it('uses a given upstream id, plan ids and options', async () => {
    const first = await server.call('POST', '/admin/v1/apis/import', { document: PETSTORE, name: 'pets-a', stripPrefix: true, auth: ['apikey'], autoApprove: true })
    const second = await server.call('POST', '/admin/v1/apis/import', { document: { ...PETSTORE, servers: [] }, name: 'pets-b', upstreamId: first.body.upstreamId })
    expect(second.status).toBe(201)
    expect(second.body).toMatchObject({ upstreamId: first.body.upstreamId, upstreamCreated: false })
    expect(first.body).toMatchObject({ auth: ['apikey'], autoApprove: true })
    expect(first.body.routes[0].stripPrefix).toBe(true)
    const missing = await server.call('POST', '/admin/v1/apis/import', { document: PETSTORE, name: 'pets-c', planIds: ['00000000-0000-7000-8000-000000000000'] })
    expect(missing.status).toBe(400)
  })

  it('refuses invalid documents with 400 and the parser\'s messages', async () => {
    const { version, ...info } = PETSTORE.info
    const invalid = await server.call('POST', '/admin/v1/apis/import', { document: { ...PETSTORE, info } })
    expect(invalid.status).toBe(400)
    expect(invalid.body.error.code).toBe('INVALID_OPENAPI')
    expect(invalid.body.error.message).toMatch(/version/)
    const badParameter = structuredClone(PETSTORE) as any
    badParameter.paths['/pets/{id}'].parameters[0].required = false
    const parameter = await server.call('POST', '/admin/v1/apis/import', { document: badParameter, name: 'bad-param' })
    expect(parameter.status).toBe(400)
    expect(parameter.body.error.code).toBe('INVALID_OPENAPI')
    const swagger = await server.call('POST', '/admin/v1/apis/import', { document: { swagger: '2.0', info: { title: 'x', version: '1' }, paths: {} } })
    expect(swagger.body.error.code).toBe('INVALID_OPENAPI')
    expect((await server.call('POST', '/admin/v1/apis/import', { document: 'not an object' })).status).toBe(400)
    expect((await server.call('POST', '/admin/v1/apis/import', '{"document": {')).body.error.code).toBe('MALFORMED_JSON')
  })

  it('never fetches external $refs', async () => {
    const document = structuredClone(PETSTORE) as any
    document.paths['/pets'].get.responses['200'].content['application/json'].schema = { $ref: 'http://169.254.169.254/latest/meta-data.json' }
    const response = await server.call('POST', '/admin/v1/apis/import', { document, name: 'external' })
    expect(response.status).toBe(400)
    expect(response.body.error.message).toMatch(/External \$refs/)
  })

  it('needs an upstream when servers[0] is missing or relative', async () => {
    const response = await server.call('POST', '/admin/v1/apis/import', { document: { ...PETSTORE, servers: [{ url: '/v1' }] }, name: 'relative' })
    expect(response.status).toBe(400)
    expect(response.body.error.message).toMatch(/upstream/)
    const empty = await server.call('POST', '/admin/v1/apis/import', { document: { ...PETSTORE, paths: {} }, name: 'empty' })
    expect(empty.body.error.code).toBe('INVALID_OPENAPI')
  })

  it('reads and writes operator settings', async () => {
    expect((await server.call('GET', '/admin/v1/settings')).body).toEqual({ requirePartnerApproval: false, requirePartnerApprovalByConfig: false, gatewayUrl: null, portalOrigin: null })
    expect((await server.call('PUT', '/admin/v1/settings', { gatewayUrl: 'https://api.example.com/' })).body.gatewayUrl).toBe('https://api.example.com')
    expect((await server.call('PUT', '/admin/v1/settings', { gatewayUrl: null })).body.gatewayUrl).toBeNull()
    expect((await server.call('PUT', '/admin/v1/settings', { gatewayUrl: 'ftp://x' })).status).toBe(400)
  })
})
