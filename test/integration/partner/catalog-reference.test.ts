// The catalog as partners get it: the operator's document in its own order with the
// gateway's public URL as its only server (no upstream address anywhere), downloadable as
// JSON and YAML, and a search over names, descriptions, tags and operations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import YAML from 'yaml'
import { startControlServer, type TestControlServer } from '../../helpers/control-server.js'
import { DATABASE_KINDS } from '../../helpers/database.js'
import { unique } from '../control/fixtures.js'
import { PortalClient } from './portal-client.js'

const INTERNAL = ['10.0.0.7', '10.9.9.9', 'internal-only.example']
const GATEWAY = 'https://api.example.com'

// paths, properties and status codes deliberately out of alphabetical order
function billingYaml (segment: string, title: string): string {
  return `# internal notes: deployed on internal-only.example
openapi: 3.0.3
info:
  title: ${title}
  version: 3.0.0
  description: Invoices and refunds for marketplace sellers
servers:
  - url: http://10.0.0.7:8080/billing
tags:
  - name: invoices
    description: Money owed
  - name: refunds
paths:
  /${segment}/{id}:
    servers:
      - url: http://internal-only.example/v2
    get:
      tags: [invoices]
      summary: Fetch one invoice
      operationId: getInvoice
      parameters:
        - { name: id, in: path, required: true, schema: { type: string } }
      responses:
        "201": { description: Created later }
        "200":
          description: The invoice
          content:
            application/json:
              schema: { $ref: '#/components/schemas/Invoice' }
  /${segment}:
    post:
      tags: [refunds]
      summary: Issue a refund
      servers:
        - url: http://10.0.0.7:9090
      responses:
        "202": { description: Accepted }
components:
  schemas:
    Invoice:
      type: object
      properties:
        zeta: { type: string }
        alpha: { type: integer }
        middle: { type: boolean }
`
}

describe.each(DATABASE_KINDS)('partner catalog and reference on %s', kind => {
  let server: TestControlServer
  let partner: PortalClient
  let billingId: string
  let segment: string
  let prefixedId: string
  let prefix: string
  let plainId: string
  let billingTitle: string

  beforeAll(async () => {
    server = await startControlServer(kind)
    segment = unique('invoices')
    billingTitle = unique('Billing')
    const billing = await fetch(`${server.url}/admin/v1/apis/import?upstreamUrl=http://10.9.9.9:7000`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/yaml' },
      body: billingYaml(segment, billingTitle)
    })
    expect(billing.status).toBe(201)
    billingId = ((await billing.json()) as { id: string }).id
    prefix = `/${unique('tenant-shop')}`
    const prefixed = await server.call('POST', '/admin/v1/apis/import', {
      document: { openapi: '3.0.3', info: { title: unique('Tenant shop'), version: '1' }, servers: [{ url: 'http://10.0.0.7:1234' }], paths: { '/{tenant}/carts': { get: { summary: 'Carts of a tenant', parameters: [{ name: 'tenant', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'ok' } } } } } },
      basePath: prefix
    })
    expect(prefixed.status).toBe(201)
    prefixedId = prefixed.body.id
    const upstream = await server.call('POST', '/admin/v1/upstreams', { name: unique('plain'), targets: [{ url: 'http://10.9.9.9:7001' }] })
    const plain = await server.call('POST', '/admin/v1/apis', { name: unique('Weather feed'), description: 'Forecasts by city', upstreamId: upstream.body.id, auth: ['apikey'], routes: [{ path: `/${unique('forecast')}` }] })
    plainId = plain.body.id
    expect((await server.call('PUT', '/admin/v1/settings', { gatewayUrl: GATEWAY })).status).toBe(200)
    partner = new PortalClient(server.url)
    expect((await partner.signup(unique('Reader Co'), `${unique('reader')}@example.com`)).status).toBe(201)
  })
  afterAll(async () => { await server?.close() })

  it('serves the document in the order the operator wrote it, with the gateway as its only server', async () => {
    const detail = await partner.call('GET', `/partner/v1/apis/${billingId}`)
    expect(detail.status).toBe(200)
    const document = detail.body.openapi
    expect(Object.keys(document)).toEqual(['openapi', 'info', 'servers', 'tags', 'paths', 'components'])
    expect(Object.keys(document.paths)).toEqual([`/${segment}/{id}`, `/${segment}`])
    expect(Object.keys(document.components.schemas.Invoice.properties)).toEqual(['zeta', 'alpha', 'middle'])
    expect(document.servers).toEqual([{ url: GATEWAY }])
    expect(document.paths[`/${segment}/{id}`].servers).toBeUndefined()
    expect(document.paths[`/${segment}`].post.servers).toBeUndefined()
    for (const address of INTERNAL) expect(JSON.stringify(detail.body)).not.toContain(address)
    expect(detail.body.tags).toEqual(['invoices', 'refunds'])
  })

  it('puts the route prefix of the import into the served server URL', async () => {
    const detail = await partner.call('GET', `/partner/v1/apis/${prefixedId}`)
    expect(detail.body.openapi.servers).toEqual([{ url: GATEWAY + prefix }])
    expect(JSON.stringify(detail.body)).not.toContain('10.0.0.7')
  })

  it('downloads the document as JSON and as YAML, both rewritten, the YAML in the operator\'s own order', async () => {
    const json = await fetch(`${server.url}/partner/v1/apis/${billingId}/openapi.json`, { headers: { cookie: partner.cookie as string } })
    expect(json.status).toBe(200)
    expect(json.headers.get('content-type')).toMatch(/^application\/json/)
    expect(json.headers.get('content-disposition')).toBe(`attachment; filename="${billingTitle.toLowerCase()}.openapi.json"`)
    const jsonText = await json.text()
    for (const address of INTERNAL) expect(jsonText).not.toContain(address)
    expect(JSON.parse(jsonText)).toEqual((await partner.call('GET', `/partner/v1/apis/${billingId}`)).body.openapi)

    const yaml = await fetch(`${server.url}/partner/v1/apis/${billingId}/openapi.yaml`, { headers: { cookie: partner.cookie as string } })
    expect(yaml.headers.get('content-type')).toMatch(/^application\/yaml/)
    const yamlText = await yaml.text()
    for (const address of INTERNAL) expect(yamlText).not.toContain(address)
    expect(yamlText).not.toContain('internal notes')
    expect(yamlText.indexOf('"201"')).toBeLessThan(yamlText.indexOf('"200"'))
    expect(yamlText).toContain(`servers:\n  - url: ${GATEWAY}\n`)
    expect(YAML.parse(yamlText)).toEqual(JSON.parse(jsonText))

    expect((await fetch(`${server.url}/partner/v1/apis/${billingId}/openapi.yaml`)).status).toBe(401)
    expect((await partner.call('GET', `/partner/v1/apis/${plainId}/openapi.json`)).status).toBe(404)
  })

  it('finds APIs by name, description, tag, operation summary and path, every word required', async () => {
    const search = async (q: string): Promise<any[]> => (await partner.call('GET', `/partner/v1/apis?q=${encodeURIComponent(q)}`)).body.items
    const ids = async (q: string): Promise<string[]> => (await search(q)).map(item => item.id)
    expect(await ids(billingTitle)).toEqual([billingId])
    expect(await ids('marketplace SELLERS')).toEqual([billingId])
    expect(await ids('refunds')).toEqual([billingId])
    expect(await ids('forecasts')).toEqual([plainId])
    expect(await ids('carts')).toEqual([prefixedId])
    expect(await ids('getinvoice')).toEqual([billingId])
    expect(await ids(segment)).toEqual([billingId])
    expect(await ids('refund weather')).toEqual([])
    const [hit] = await search('fetch invoice')
    expect(hit.id).toBe(billingId)
    expect(hit.matches).toEqual([{ method: 'GET', path: `/${segment}/{id}`, summary: 'Fetch one invoice' }])
    // no query: the whole catalog, by name, without matches
    const all = (await partner.call('GET', '/partner/v1/apis?q=')).body.items
    expect(all.map((item: any) => item.id)).toEqual(expect.arrayContaining([billingId, prefixedId, plainId]))
    expect(all[0].matches).toBeUndefined()
  })
})
