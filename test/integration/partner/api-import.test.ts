// POST /admin/v1/apis/import and PUT /admin/v1/apis/{id}/document: validation with the
// parser's messages, derived routes and the same route checks as POST /apis, JSON or YAML
// raw or wrapped, Swagger 2.0, and updates that keep grants and say what changed.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import YAML from 'yaml'
import { startControlServer, type TestControlServer } from '../../helpers/control-server.js'
import { DATABASE_KINDS } from '../../helpers/database.js'
import { configVersion, expectRefused, unique } from '../control/fixtures.js'
import { PETSTORE } from './portal-client.js'

const run = promisify(execFile)

/** The Petstore with its two first segments renamed, so that every test has routes of its own. */
function petstore (segment: string, overrides: Record<string, unknown> = {}): any {
  const text = JSON.stringify(PETSTORE).replaceAll('"/pets', `"/${segment}`).replaceAll('"/stores', `"/${segment}-stores`)
  return { ...JSON.parse(text), info: { ...PETSTORE.info, title: unique('Petstore') }, ...overrides }
}

// a YAML document whose key order is not alphabetical, with a comment and an anchor
function yamlDocument (segment: string, title: string): string {
  return `# Orders API, as the team writes it
openapi: 3.0.3
info:
  title: ${title}
  version: 2.1.0
servers:
  - url: http://10.0.0.7:8080/internal
paths:
  /${segment}/{id}:
    get:
      summary: Get one order
      parameters:
        - { name: id, in: path, required: true, schema: { type: string } }
      responses:
        "200":
          description: The order
          content:
            application/json:
              schema: { $ref: '#/components/schemas/Order' }
  /${segment}:
    post:
      summary: Create an order
      responses:
        "201": { description: Created }
components:
  schemas:
    Order:
      type: object
      properties:
        zeta: { type: string }
        alpha: { type: integer }
`
}

const SWAGGER = {
  swagger: '2.0',
  info: { title: 'Legacy pets', version: '0.9' },
  host: '10.1.2.3:8080',
  basePath: '/legacy',
  schemes: ['http'],
  paths: {
    '/old-pets': {
      get: { summary: 'List old pets', produces: ['application/json'], responses: { 200: { description: 'pets', schema: { type: 'array', items: { $ref: '#/definitions/Pet' } } } } }
    }
  },
  definitions: { Pet: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 } } } }
}

describe.each(DATABASE_KINDS)('OpenAPI import on %s', kind => {
  let server: TestControlServer
  beforeAll(async () => { server = await startControlServer(kind) })
  afterAll(async () => { await server?.close() })

  async function raw (method: string, url: string, body: string, contentType: string): Promise<{ status: number, body: any }> {
    const response = await fetch(server.url + url, { method, headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': contentType }, body })
    const text = await response.text()
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text) }
  }

  it('derives one prefix route per first path segment, the upstream from servers[0], and keeps the document', async () => {
    const document = petstore('pets')
    const response = await server.call('POST', '/admin/v1/apis/import', { document })
    expect(response.status).toBe(201)
    expect(response.body).toMatchObject({ name: document.info.title, description: 'Pets for partners', auth: ['hmac', 'apikey'], autoApprove: false, upstreamCreated: true, basePath: null })
    expect(response.body.routes.map((route: any) => [route.path, route.methods, route.stripPrefix])).toEqual([
      ['/pets', ['DELETE', 'GET', 'POST'], false],
      ['/pets-stores', ['GET'], false]
    ])
    const api = await server.database.prisma.api.findUniqueOrThrow({ where: { id: response.body.id }, select: { openapi: true, openapiSource: true, upstream: { include: { targets: true } } } })
    expect(api.upstream.targets.map(target => target.url)).toEqual(['http://127.0.0.1:9/v1'])
    expect(api.openapi).toEqual(document)
    expect(JSON.parse(api.openapiSource as string)).toEqual(document)
    const audit = await server.database.prisma.auditLog.findFirst({ where: { targetId: response.body.id, action: 'api.import' } })
    expect(audit).not.toBeNull()
    // the same title again is a conflict, not a crash
    expect((await server.call('POST', '/admin/v1/apis/import', { document, basePath: `/${unique('other')}` })).status).toBe(409)
  })

  it('uses a given upstream id, plan ids and options', async () => {
    const first = await server.call('POST', '/admin/v1/apis/import', { document: petstore(unique('a')), name: unique('pets-a'), stripPrefix: true, auth: ['apikey'], autoApprove: true })
    expect(first.status).toBe(201)
    const second = await server.call('POST', '/admin/v1/apis/import', { document: { ...petstore(unique('b')), servers: [] }, name: unique('pets-b'), upstreamId: first.body.upstreamId })
    expect(second.status).toBe(201)
    expect(second.body).toMatchObject({ upstreamId: first.body.upstreamId, upstreamCreated: false })
    expect(first.body).toMatchObject({ auth: ['apikey'], autoApprove: true })
    expect(first.body.routes[0].stripPrefix).toBe(true)
    const missing = await server.call('POST', '/admin/v1/apis/import', { document: petstore(unique('c')), planIds: ['00000000-0000-7000-8000-000000000000'] })
    expect(missing.status).toBe(400)
  })

  it('refuses a route another API serves with 409 naming that API, as POST /apis does, and writes nothing', async () => {
    const segment = unique('shared')
    const upstream = await server.call('POST', '/admin/v1/upstreams', { name: unique('up'), targets: [{ url: 'http://127.0.0.1:9' }] })
    const owner = await server.call('POST', '/admin/v1/apis', { name: unique('Owner'), upstreamId: upstream.body.id, auth: ['apikey'], routes: [{ path: `/${segment}`, methods: ['GET'] }] })
    expect(owner.status).toBe(201)
    const apisBefore = await server.database.prisma.api.count()
    await expectRefused(server, async () => await server.call('POST', '/admin/v1/apis/import', { document: petstore(segment) }), 409, 'CONFLICT', new RegExp(`/${segment} is already served by the API ${owner.body.name as string}`))
    // an imported API is protected the same way, from imports and from POST /apis
    const imported = await server.call('POST', '/admin/v1/apis/import', { document: petstore(unique('mine')) })
    const prefix = imported.body.routes[0].path as string
    await expectRefused(server, async () => await server.call('POST', '/admin/v1/apis/import', { document: petstore(prefix.slice(1)) }), 409, 'CONFLICT', new RegExp(imported.body.name))
    await expectRefused(server, async () => await server.call('POST', '/admin/v1/apis', { name: unique('late'), upstreamId: upstream.body.id, auth: ['apikey'], routes: [{ path: prefix }] }), 409, 'CONFLICT', new RegExp(imported.body.name))
    expect(await server.database.prisma.api.count()).toBe(apisBefore + 1)
  })

  it('refuses paths that start with a template unless a route prefix or the catch-all is given', async () => {
    const title = unique('Tenant Orders')
    const document = { openapi: '3.0.3', info: { title, version: '1' }, servers: [{ url: 'http://127.0.0.1:9' }], paths: { '/{tenant}/orders': { get: { parameters: [{ name: 'tenant', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'ok' } } } } } }
    const slug = title.toLowerCase().replace(/[^a-z0-9]+/g, '-')
    await expectRefused(server, async () => await server.call('POST', '/admin/v1/apis/import', { document }), 400, 'ROUTE_PREFIX_REQUIRED', new RegExp(`starts with a template \\(\\{tenant\\}\\).*basePath=/${slug}: partners then call /${slug}/\\{tenant\\}/orders and the upstream gets /\\{tenant\\}/orders.*catchAll=true`))
    const prefixed = await server.call('POST', '/admin/v1/apis/import', { document, basePath: `/${slug}/` })
    expect(prefixed.status).toBe(201)
    expect(prefixed.body).toMatchObject({ basePath: `/${slug}`, routes: [{ path: `/${slug}`, methods: ['GET'], stripPrefix: true }] })
    const catchAll = await server.call('POST', '/admin/v1/apis/import', { document, name: unique('catch-all'), catchAll: true })
    expect(catchAll.status).toBe(201)
    expect(catchAll.body.routes).toEqual([expect.objectContaining({ path: '/', methods: ['GET'], stripPrefix: false })])
    await expectRefused(server, async () => await server.call('POST', '/admin/v1/apis/import', { document, name: unique('root'), basePath: '/' }), 400, 'BAD_REQUEST', /catchAll/)
  })

  it('refuses documents with paths under /healthz, /readyz or /metrics, and accepts them under a route prefix', async () => {
    for (const reserved of ['/healthz', '/readyz/details', '/metrics/all']) {
      const document = { openapi: '3.0.3', info: { title: unique('Ops'), version: '1' }, servers: [{ url: 'http://127.0.0.1:9' }], paths: { [reserved]: { get: { responses: { 200: { description: 'ok' } } } } } }
      await expectRefused(server, async () => await server.call('POST', '/admin/v1/apis/import', { document }), 409, 'RESERVED_PATH', /which the gateway answers itself: give a route prefix.*basePath=\//)
      expect((await server.call('POST', '/admin/v1/apis/import', { document, basePath: `/${unique('ops')}` })).status).toBe(201)
    }
  })

  it('takes raw YAML with the options in the query, as curl --data-binary sends a file, and keeps its text', async () => {
    const segment = unique('orders')
    const title = unique('Orders')
    const text = yamlDocument(segment, title)
    const directory = mkdtempSync(path.join(tmpdir(), 'pgw-openapi-'))
    try {
      writeFileSync(path.join(directory, 'openapi.yaml'), text)
      const { stdout } = await run('curl', ['-sS', '--data-binary', `@${path.join(directory, 'openapi.yaml')}`, '-H', 'content-type: application/yaml', '-H', `authorization: Bearer ${server.adminToken}`,
        `${server.url}/admin/v1/apis/import?upstreamUrl=http://127.0.0.1:9&auth=apikey&auth=hmac&autoApprove=true`])
      const body = JSON.parse(stdout)
      expect(body).toMatchObject({ name: title, auth: ['apikey', 'hmac'], autoApprove: true, routes: [{ path: `/${segment}`, methods: ['GET', 'POST'] }] })
      const stored = await fetch(`${server.url}/admin/v1/apis/${body.id as string}/document`, { headers: { authorization: `Bearer ${server.adminToken}` } })
      expect(stored.headers.get('content-type')).toMatch(/^application\/yaml/)
      // byte for byte: comments, order, quoting
      expect(await stored.text()).toBe(text)
      const api = await server.database.prisma.api.findUniqueOrThrow({ where: { id: body.id }, include: { upstream: { include: { targets: true } } } })
      expect(api.upstream.targets.map(target => target.url)).toEqual(['http://127.0.0.1:9'])
    } finally {
      rmSync(directory, { recursive: true, force: true })
    }
  })

  it('takes YAML as text/yaml, text/plain, wrapped as a string, and raw JSON with query options', async () => {
    for (const contentType of ['text/yaml', 'text/plain; charset=utf-8', 'application/vnd.oai.openapi']) {
      const response = await raw('POST', `/admin/v1/apis/import?upstreamUrl=http://127.0.0.1:9&name=${unique('y')}`, yamlDocument(unique('y'), unique('Y')), contentType)
      expect({ contentType, status: response.status }).toEqual({ contentType, status: 201 })
    }
    const text = yamlDocument(unique('wrapped'), unique('Wrapped'))
    const wrapped = await server.call('POST', '/admin/v1/apis/import', { document: text, upstream: { targets: [{ url: 'http://127.0.0.1:9' }] } })
    expect(wrapped.status).toBe(201)
    expect((await server.database.prisma.api.findUniqueOrThrow({ where: { id: wrapped.body.id } })).openapiSource).toBe(text)
    const json = JSON.stringify(petstore(unique('rawjson')), null, 4)
    const rawJson = await raw('POST', '/admin/v1/apis/import?stripPrefix=true&planIds=', json, 'application/json')
    expect(rawJson.status).toBe(400)
    const rawJsonOk = await raw('POST', '/admin/v1/apis/import?stripPrefix=true', json, 'application/json')
    expect(rawJsonOk.status).toBe(201)
    expect(rawJsonOk.body.routes[0].stripPrefix).toBe(true)
    expect((await server.database.prisma.api.findUniqueOrThrow({ where: { id: rawJsonOk.body.id } })).openapiSource).toBe(json)
  })

  it('explains bad YAML, bad options and unsupported bodies with 4xx, never a 500', async () => {
    const badYaml = await raw('POST', '/admin/v1/apis/import', 'openapi: 3.0.3\ninfo: [unclosed\npaths: {}\n', 'application/yaml')
    expect(badYaml.status).toBe(400)
    expect(badYaml.body.error).toMatchObject({ code: 'INVALID_OPENAPI', message: expect.stringMatching(/valid YAML: .* at line 3, column 1/) })
    expect((await raw('POST', '/admin/v1/apis/import', '- just\n- a list\n', 'text/yaml')).body.error.code).toBe('INVALID_OPENAPI')
    expect((await raw('POST', '/admin/v1/apis/import?bogus=1', yamlDocument('q', 'Q'), 'text/yaml')).body.error.code).toBe('VALIDATION_FAILED')
    expect((await server.call('POST', '/admin/v1/apis/import', { document: yamlDocument('w', 'W'), upstreamUrls: ['x'] })).body.error.code).toBe('VALIDATION_FAILED')
    expect((await raw('POST', '/admin/v1/apis/import', 'a=b', 'application/x-www-form-urlencoded')).status).toBe(415)
    expect((await raw('POST', '/admin/v1/apis/import', '', 'application/yaml')).body.error.code).toBe('BAD_REQUEST')
    const bomb = 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n' + Array.from({ length: 8 }, (_, index) => `${String.fromCharCode(98 + index)}: &${String.fromCharCode(98 + index)} [${Array(10).fill(`*${String.fromCharCode(97 + index)}`).join(',')}]`).join('\n') + '\nopenapi: 3.0.3\n'
    expect((await raw('POST', '/admin/v1/apis/import', bomb, 'application/yaml')).body.error).toEqual({ code: 'INVALID_OPENAPI', message: expect.stringMatching(/Excessive alias count/), requestId: expect.any(String) })
  })

  it('converts Swagger 2.0, JSON or YAML, to OpenAPI 3 with the upstream from host and basePath', async () => {
    const json = await server.call('POST', '/admin/v1/apis/import', { document: SWAGGER, name: unique('legacy') })
    expect(json.status).toBe(201)
    expect(json.body).toMatchObject({ convertedFrom: 'swagger-2.0', routes: [{ path: '/old-pets', methods: ['GET'] }] })
    const api = await server.database.prisma.api.findUniqueOrThrow({ where: { id: json.body.id }, include: { upstream: { include: { targets: true } } } })
    expect(api.upstream.targets.map(target => target.url)).toEqual(['http://10.1.2.3:8080/legacy'])
    const converted = JSON.parse(api.openapiSource as string)
    expect(converted.openapi).toMatch(/^3\.0\./)
    expect(converted.paths['/old-pets'].get.responses['200'].content['application/json'].schema.items.$ref).toBe('#/components/schemas/Pet')
    expect(Object.keys(converted.components.schemas.Pet.properties)).toEqual(['name', 'age'])

    const yaml = await raw('POST', `/admin/v1/apis/import?name=${unique('legacy-yaml')}&basePath=/${unique('legacy')}`, YAML.stringify(SWAGGER), 'application/yaml')
    expect(yaml.status).toBe(201)
    const stored = await server.database.prisma.api.findUniqueOrThrow({ where: { id: yaml.body.id } })
    expect(stored.openapiSource).toMatch(/^openapi: 3\.0\.\d+\n/)
    expect((await server.call('POST', '/admin/v1/apis/import', { document: { ...SWAGGER, swagger: '1.2' }, name: unique('older') })).body.error).toMatchObject({ code: 'INVALID_OPENAPI', message: expect.stringMatching(/Swagger 1\.2 is not supported/) })
  })

  it('refuses invalid documents with 400 and the parser\'s messages', async () => {
    const { version, ...info } = PETSTORE.info
    const invalid = await server.call('POST', '/admin/v1/apis/import', { document: { ...petstore(unique('v')), info } })
    expect(invalid.status).toBe(400)
    expect(invalid.body.error.code).toBe('INVALID_OPENAPI')
    expect(invalid.body.error.message).toMatch(/version/)
    const badParameter = petstore(unique('bad'))
    badParameter.paths[Object.keys(badParameter.paths)[1]].parameters[0].required = false
    const parameter = await server.call('POST', '/admin/v1/apis/import', { document: badParameter, name: unique('bad-param') })
    expect(parameter.status).toBe(400)
    expect(parameter.body.error.code).toBe('INVALID_OPENAPI')
    expect((await server.call('POST', '/admin/v1/apis/import', { document: 42 })).status).toBe(400)
    expect((await server.call('POST', '/admin/v1/apis/import', '{"document": {')).body.error.code).toBe('MALFORMED_JSON')
  })

  it('never fetches external $refs', async () => {
    const document = petstore(unique('ext'))
    document.paths[Object.keys(document.paths)[0]].get.responses['200'].content['application/json'].schema = { $ref: 'http://169.254.169.254/latest/meta-data.json' }
    const response = await server.call('POST', '/admin/v1/apis/import', { document, name: unique('external') })
    expect(response.status).toBe(400)
    expect(response.body.error.message).toMatch(/External \$refs/)
    const swagger = await server.call('POST', '/admin/v1/apis/import', { document: { ...SWAGGER, definitions: { Pet: { $ref: 'http://169.254.169.254/x.json' } } }, name: unique('external') })
    expect(swagger.body.error.message).toMatch(/External \$refs/)
  })

  it('needs an upstream when servers[0] is missing or relative', async () => {
    const response = await server.call('POST', '/admin/v1/apis/import', { document: { ...petstore(unique('rel')), servers: [{ url: '/v1' }] }, name: unique('relative') })
    expect(response.status).toBe(400)
    expect(response.body.error.message).toMatch(/upstream/)
    const empty = await server.call('POST', '/admin/v1/apis/import', { document: { ...PETSTORE, paths: {} }, name: unique('empty') })
    expect(empty.body.error.code).toBe('INVALID_OPENAPI')
  })

  it('updates an API from a new document version: routes reconciled, grants kept, the diff answered and audited', async () => {
    const segment = unique('shop')
    const v1 = petstore(segment)
    const imported = await server.call('POST', '/admin/v1/apis/import', { document: v1, stripPrefix: true })
    expect(imported.status).toBe(201)
    const apiId = imported.body.id as string
    const plan = await server.call('POST', '/admin/v1/plans', { name: unique('plan') })
    const partner = await server.call('POST', '/admin/v1/partners', { name: unique('partner') })
    const app = await server.call('POST', `/admin/v1/partners/${partner.body.id as string}/apps`, { name: 'shop-app' })
    const grant = await server.call('POST', '/admin/v1/grants', { appId: app.body.id, apiId, planId: plan.body.id })
    expect(grant.body.status).toBe('approved')
    const mainRoute = imported.body.routes.find((route: any) => route.path === `/${segment}`)

    // v2: DELETE /{segment}/{id} dropped, PATCH added, the stores paths gone, /invoices new, Pet gains a field
    const v2 = structuredClone(v1)
    v2.info.version = '2.0.0'
    delete v2.paths[`/${segment}/{id}`].delete
    v2.paths[`/${segment}/{id}`].patch = { summary: 'Rename a pet', responses: { 200: { description: 'renamed' } } }
    v2.paths[`/${segment}`].get.summary = 'List the pets'
    delete v2.paths[`/${segment}-stores/{id}/orders`]
    v2.paths[`/${segment}-invoices`] = { get: { summary: 'Invoices', responses: { 200: { description: 'ok' } } } }
    v2.components.schemas.Pet.properties.tag = { type: 'string' }
    const before = await configVersion(server)
    const updated = await server.call('PUT', `/admin/v1/apis/${apiId}/document`, v2)
    expect(updated.status, JSON.stringify(updated.body)).toBe(200)
    expect(await configVersion(server)).toBe(before + 1n)
    expect(updated.body.diff).toEqual({
      version: { before: '1.0.0', after: '2.0.0' },
      routes: {
        added: [{ path: `/${segment}-invoices`, methods: ['GET'] }],
        removed: [{ path: `/${segment}-stores`, methods: ['GET'] }],
        changed: [{ path: `/${segment}`, methodsBefore: ['DELETE', 'GET', 'POST'], methodsAfter: ['GET', 'PATCH', 'POST'] }]
      },
      operations: {
        added: [`PATCH /${segment}/{id}`, `GET /${segment}-invoices`],
        removed: [`DELETE /${segment}/{id}`, `GET /${segment}-stores/{id}/orders`],
        changed: [`GET /${segment}`]
      },
      schemas: { added: [], removed: [], changed: ['Pet'] }
    })
    // the route kept its id and options; the new one gets the import's default
    expect(updated.body.routes).toEqual([
      { id: mainRoute.id, path: `/${segment}`, methods: ['GET', 'PATCH', 'POST'], stripPrefix: true, websocket: false },
      { id: expect.any(String), path: `/${segment}-invoices`, methods: ['GET'], stripPrefix: false, websocket: false }
    ])
    expect((await server.call('GET', `/admin/v1/grants/${grant.body.id as string}`)).body).toMatchObject({ status: 'approved', apiId })
    const audit = await server.call('GET', `/admin/v1/audit?targetId=${apiId}&limit=1`)
    expect(audit.body.items[0]).toMatchObject({ action: 'api.document.update', details: { diff: updated.body.diff } })
    expect((await server.database.prisma.api.findUniqueOrThrow({ where: { id: apiId } })).openapiSource).toBe(JSON.stringify(v2))

    // YAML raw works for updates too; the same document again changes nothing
    const again = await raw('PUT', `/admin/v1/apis/${apiId}/document`, YAML.stringify(v2), 'application/yaml')
    expect(again.body.diff).toMatchObject({ routes: { added: [], removed: [], changed: [] }, operations: { added: [], removed: [], changed: [] } })
  })

  it('refuses an update whose routes another API serves, or that starts with a template, and changes nothing', async () => {
    const mine = await server.call('POST', '/admin/v1/apis/import', { document: petstore(unique('mine')) })
    const theirs = await server.call('POST', '/admin/v1/apis/import', { document: petstore(unique('theirs')) })
    const taken = theirs.body.routes[0].path.slice(1) as string
    await expectRefused(server, async () => await server.call('PUT', `/admin/v1/apis/${mine.body.id as string}/document`, { document: petstore(taken) }), 409, 'CONFLICT', new RegExp(theirs.body.name))
    const templated = { openapi: '3.0.3', info: { title: 't', version: '2' }, paths: { '/{tenant}/x': { get: { parameters: [{ name: 'tenant', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'ok' } } } } } }
    await expectRefused(server, async () => await server.call('PUT', `/admin/v1/apis/${mine.body.id as string}/document`, { document: templated }), 400, 'ROUTE_PREFIX_REQUIRED')
    expect((await server.call('GET', `/admin/v1/apis/${mine.body.id as string}`)).body.routes.map((route: any) => route.path)).toEqual(mine.body.routes.map((route: any) => route.path))
    // under a route prefix it is accepted; the prefix is remembered for the next version
    const prefixed = await server.call('PUT', `/admin/v1/apis/${mine.body.id as string}/document?basePath=/${unique('tenant')}`, JSON.stringify({ document: templated }), { 'content-type': 'application/json' })
    expect(prefixed.status).toBe(200)
    expect(prefixed.body.diff.routes.removed).toHaveLength(2)
    const next = await server.call('PUT', `/admin/v1/apis/${mine.body.id as string}/document`, { document: { ...templated, info: { title: 't', version: '3' } } })
    expect(next.body).toMatchObject({ basePath: prefixed.body.basePath, diff: { routes: { added: [], removed: [], changed: [] } } })
    await expectRefused(server, async () => await server.call('PUT', '/admin/v1/apis/00000000-0000-7000-8000-000000000000/document', { document: templated }), 404, 'NOT_FOUND')
  })

  it('reads and writes operator settings', async () => {
    expect((await server.call('GET', '/admin/v1/settings')).body).toEqual({ requirePartnerApproval: false, requirePartnerApprovalByConfig: false, gatewayUrl: null, portalOrigin: null })
    expect((await server.call('PUT', '/admin/v1/settings', { gatewayUrl: 'https://api.example.com/' })).body.gatewayUrl).toBe('https://api.example.com')
    expect((await server.call('PUT', '/admin/v1/settings', { gatewayUrl: null })).body.gatewayUrl).toBeNull()
    expect((await server.call('PUT', '/admin/v1/settings', { gatewayUrl: 'ftp://x' })).status).toBe(400)
  })
})
