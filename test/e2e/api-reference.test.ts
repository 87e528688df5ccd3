// The API reference and the catalog search in a real browser (Debian's chromium through
// playwright-core), against the whole product: an operator imports YAML documents, a partner
// finds the API by searching, reads a reference that keeps the document's order and shows
// allOf, enums, constraints, response headers, security schemes and tag groups, with the
// gateway (never the upstream) as the server, downloads the document, and calls the API.
// Screenshots land in test-results/ for a person to look at.
import { existsSync, mkdirSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import YAML from 'yaml'
import { startStack, type TestStack } from '../helpers/stack.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'
import { ensurePortalBuilt } from './portal-build.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const SCREENSHOTS = 'test-results'
const PASSWORD = 'correct horse battery staple'

// key order deliberately not alphabetical: /zoo-pets/{id} before /zoo-pets, zeta before alpha
function zooYaml (upstreamUrl: string): string {
  return `openapi: 3.0.3
info:
  title: Zoo
  version: 4.2.0
  description: Adopt animals from the city zoo.
servers:
  - url: ${upstreamUrl}
tags:
  - name: pets
    description: Animals you can adopt
  - name: keepers
    description: The people who look after them
paths:
  /zoo-pets/{id}:
    get:
      tags: [pets]
      summary: Get one pet
      operationId: getPet
      parameters:
        - name: id
          in: path
          required: true
          description: The pet's number
          schema: { type: integer, minimum: 1, maximum: 99999 }
      responses:
        "200":
          description: The pet
          headers:
            X-Rate-Limit-Remaining:
              description: Calls left in this minute
              schema: { type: integer, minimum: 0 }
          content:
            application/json:
              schema: { $ref: '#/components/schemas/Pet' }
  /zoo-pets:
    get:
      tags: [pets]
      summary: List pets up for adoption
      parameters:
        - name: status
          in: query
          schema: { type: string, enum: [available, pending, sold], default: available }
      responses:
        "200":
          description: The pets
          content:
            application/json:
              schema:
                type: array
                items:
                  allOf:
                    - $ref: '#/components/schemas/Pet'
                    - type: object
                      properties:
                        adoptable: { type: boolean }
    post:
      tags: [pets]
      summary: Adopt a pet
      deprecated: true
      security:
        - zooKey: []
      requestBody:
        required: true
        content:
          application/json:
            schema:
              oneOf:
                - $ref: '#/components/schemas/Pet'
                - $ref: '#/components/schemas/Keeper'
      responses:
        "201": { description: Adopted }
  /zoo-keepers:
    get:
      tags: [keepers]
      summary: List keepers
      responses:
        "200":
          description: Keepers
          content:
            application/json:
              schema: { type: array, items: { $ref: '#/components/schemas/Keeper' } }
components:
  securitySchemes:
    zooKey:
      type: apiKey
      in: header
      name: X-Zoo-Key
      description: The zoo's own key
  schemas:
    Pet:
      type: object
      required: [zeta, alpha]
      properties:
        zeta: { type: string, pattern: '^[A-Z]', minLength: 2, maxLength: 40, description: Name of the pet }
        alpha: { type: integer, format: int64 }
        species: { type: string, enum: [cat, dog, owl] }
        nickname: { type: string, nullable: true }
        legacyCode: { type: string, deprecated: true }
    Keeper:
      type: object
      properties:
        name: { type: string }
`
}

function tenantYaml (upstreamUrl: string): string {
  return `openapi: 3.0.3
info: { title: Tenant orders, version: '1', description: Orders of each tenant }
servers: [{ url: '${upstreamUrl}' }]
paths:
  /{tenant}/orders:
    get:
      summary: Orders of a tenant
      parameters: [{ name: tenant, in: path, required: true, schema: { type: string } }]
      responses: { "200": { description: The orders } }
`
}

function unique (label: string): string {
  return `${label}-${randomBytes(3).toString('hex')}`
}

describe.skipIf(!existsSync(CHROMIUM))('API reference and catalog search in Chromium', { timeout: 120_000 }, () => {
  let stack: TestStack
  let upstream: TestUpstream
  let browser: Browser
  let zooId: string
  let tenantId: string
  let gateway: string
  const contexts: BrowserContext[] = []

  async function importYaml (text: string, query: string): Promise<string> {
    const response = await fetch(`${stack.controlUrl}/admin/v1/apis/import?${query}`, { method: 'POST', headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/yaml' }, body: text })
    const body = await response.json() as { id: string }
    expect(response.status, JSON.stringify(body)).toBe(201)
    return body.id
  }

  async function newPage (): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, baseURL: stack.controlUrl })
    contexts.push(context)
    const page = await context.newPage()
    // the reference works offline: nothing but the control server is ever asked for
    page.on('request', request => { if (!request.url().startsWith(stack.controlUrl)) throw new Error(`unexpected request to ${request.url()}`) })
    return page
  }

  async function screenshot (page: Page, name: string): Promise<void> {
    await page.screenshot({ path: `${SCREENSHOTS}/e2e-reference-${name}.png`, fullPage: true })
  }

  async function signUp (page: Page): Promise<void> {
    await page.goto('/portal/signup')
    await page.getByLabel('Company name').fill(unique('Zoo friends'))
    await page.getByLabel('Work email').fill(`${unique('dev')}@example.com`)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign up' }).click()
    await page.getByRole('heading', { name: 'Apps' }).waitFor()
  }

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true })
    await ensurePortalBuilt()
    upstream = await startUpstream('zoo')
    stack = await startStack({ database: 'pglite', redis: false })
    gateway = stack.gatewayUrls[0]
    expect((await stack.admin('POST', '/admin/v1/plans', { name: 'standard', rateLimit: { perSecond: 50, burst: 100 } })).status).toBe(201)
    zooId = await importYaml(zooYaml(upstream.url), 'autoApprove=true')
    tenantId = await importYaml(tenantYaml(upstream.url), 'autoApprove=true&basePath=/tenant-orders')
    expect((await stack.admin('PUT', '/admin/v1/settings', { gatewayUrl: gateway })).status).toBe(200)
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  })

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {})
    await browser?.close()
    await stack?.close()
    await upstream?.close()
  })

  it('finds an API by an operation\'s words and opens the reference at that operation', async () => {
    const page = await newPage()
    await signUp(page)
    await page.getByRole('link', { name: 'API catalog' }).click()
    await page.getByRole('link', { name: 'Zoo' }).waitFor()
    await page.getByLabel('Search APIs').fill('adopt')
    await page.getByRole('status').filter({ hasText: '1 API match “adopt”' }).waitFor()
    const cards = page.getByRole('list', { name: 'APIs' }).locator(':scope > li')
    await expect(cards.count()).resolves.toBe(1)
    const matches = page.getByRole('list', { name: 'Matching operations of Zoo' })
    await expect(matches.locator('li').allTextContents()).resolves.toEqual(['GET /zoo-pets List pets up for adoption', 'POST /zoo-pets Adopt a pet'])
    await expect(page.locator('.tag').allTextContents()).resolves.toEqual(['pets', 'keepers'])
    await screenshot(page, '01-search-adopt')

    await page.getByLabel('Search APIs').fill('tenant')
    await page.getByRole('status').filter({ hasText: '1 API match “tenant”' }).waitFor()
    await expect(cards.first().getByRole('heading').textContent()).resolves.toBe('Tenant orders')
    await page.getByLabel('Search APIs').fill('keepers owl nothing-like-this')
    await page.getByText('No API matches “keepers owl nothing-like-this”').waitFor()
    await screenshot(page, '02-search-no-match')

    await page.getByLabel('Search APIs').fill('getPet')
    await page.getByRole('link', { name: /GET\s*\/zoo-pets\/\{id\}/ }).click()
    await page.getByRole('heading', { name: 'Zoo', level: 1 }).waitFor()
    expect(page.url()).toContain('#get-zoo-pets-id-')
    await page.locator('#get-zoo-pets-id-').waitFor()
  })

  it('renders the reference faithfully: the document\'s order, allOf, enums, constraints, headers, security and tag groups, with the gateway as the server', async () => {
    const page = await newPage()
    await signUp(page)
    await page.goto(`/portal/catalog/${zooId}`)
    await page.getByRole('heading', { name: 'Zoo', level: 1 }).waitFor()

    // servers: the gateway's URL, never the upstream's
    await expect(page.getByText('Base URL:').textContent()).resolves.toBe(`Base URL: ${gateway} · version 4.2.0`)
    expect(await page.content()).not.toContain(upstream.url)

    // tags as groups, in the document's order, operations in the document's order
    await expect(page.locator('.tag-title').allTextContents()).resolves.toEqual(['pets', 'keepers'])
    await expect(page.locator('article.operation h3 .method').allTextContents()).resolves.toEqual(['GET', 'GET', 'POST', 'GET'])
    await expect(page.locator('article.operation h3 code').allTextContents()).resolves.toEqual(['/zoo-pets/{id}', '/zoo-pets', '/zoo-pets', '/zoo-keepers'])
    await expect(page.getByRole('region', { name: 'Tag pets' }).locator('p.muted').first().textContent()).resolves.toBe('Animals you can adopt')

    const getPet = page.locator('article.operation', { hasText: 'Get one pet' })
    // the Pet schema: its $ref name, properties in the order written, required, constraints, enum, nullable, deprecated
    const pet = getPet.locator('dd .schema').first()
    await expect(pet.locator(':scope > .type').textContent()).resolves.toBe('Pet')
    await expect(pet.locator(':scope > .properties > li > .property-name').allTextContents()).resolves.toEqual(['zeta', 'alpha', 'species', 'nickname', 'legacyCode'])
    const zeta = pet.locator(':scope > .properties > li').nth(0)
    await expect(zeta.textContent()).resolves.toMatch(/zeta required string.*length 2–40.*pattern \^\[A-Z\].*Name of the pet/)
    await expect(pet.locator(':scope > .properties > li').nth(1).textContent()).resolves.toContain('integer (int64)')
    await expect(pet.locator(':scope > .properties > li').nth(2).locator('.enum').textContent()).resolves.toBe('one of: "cat""dog""owl"')
    await expect(pet.locator(':scope > .properties > li').nth(3).textContent()).resolves.toContain('string | nullnullable')
    await expect(pet.locator(':scope > .properties > li').nth(4).locator('.badge-deprecated').count()).resolves.toBe(1)
    // parameter constraints and the response header
    await expect(getPet.getByRole('table', { name: 'Parameters' }).textContent()).resolves.toContain('integer≥ 1≤ 99999')
    const headers = getPet.getByRole('table', { name: 'Headers of the 200 response' })
    await expect(headers.textContent()).resolves.toContain('X-Rate-Limit-Remaining')
    await expect(headers.textContent()).resolves.toContain('Calls left in this minute')

    // allOf in array items: no longer "array of any"
    const list = page.locator('article.operation', { hasText: 'List pets up for adoption' })
    await expect(list.locator('dd .schema').first().locator(':scope > .type').textContent()).resolves.toBe('array of all of (Pet & object)')
    await expect(list.locator('.composition').first().textContent()).resolves.toMatch(/All of:.*Pet.*zeta.*adoptable/)
    await expect(list.getByRole('table', { name: 'Parameters' }).textContent()).resolves.toMatch(/one of: "available""pending""sold".*default available|default available.*one of: "available""pending""sold"/)

    // oneOf request body, deprecation and the operation's security
    const adopt = page.locator('article.operation', { hasText: 'Adopt a pet' })
    await expect(adopt.locator('section .schema').first().locator(':scope > .type').textContent()).resolves.toBe('one of (Pet | Keeper)')
    await expect(adopt.locator('h3 .badge-deprecated').count()).resolves.toBe(1)
    await expect(adopt.getByText('Security: zooKey').count()).resolves.toBe(1)
    await expect(page.getByRole('region', { name: 'Security schemes of the document' }).textContent()).resolves.toContain('zooKey: API key in header X-Zoo-Key')
    await screenshot(page, '03-reference')
    await getPet.scrollIntoViewIfNeeded()
    await page.screenshot({ path: `${SCREENSHOTS}/e2e-reference-04-schema-detail.png` })
  })

  it('downloads the document as JSON and YAML with the gateway as the server, in the operator\'s order', async () => {
    const page = await newPage()
    await signUp(page)
    await page.goto(`/portal/catalog/${zooId}`)
    const jsonLink = page.getByRole('link', { name: 'Download JSON' })
    const yamlLink = page.getByRole('link', { name: 'Download YAML' })
    const [download] = await Promise.all([page.waitForEvent('download'), yamlLink.click()])
    expect(download.suggestedFilename()).toBe('zoo.openapi.yaml')
    const texts = await page.evaluate(async (hrefs: string[]) => await Promise.all(hrefs.map(async href => await (await fetch(href)).text())), [await jsonLink.getAttribute('href') as string, await yamlLink.getAttribute('href') as string])
    const [json, yaml] = texts
    for (const text of texts) expect(text).not.toContain(upstream.url)
    expect(JSON.parse(json).servers).toEqual([{ url: gateway }])
    expect(Object.keys(YAML.parse(yaml).paths)).toEqual(['/zoo-pets/{id}', '/zoo-pets', '/zoo-keepers'])
    expect(YAML.parse(yaml)).toEqual(JSON.parse(json))
  })

  it('lets a partner request access from the reference and call the API, at its route prefix when it has one', async () => {
    const page = await newPage()
    await signUp(page)
    await page.getByLabel('New app name').fill('zoo-app')
    await page.getByRole('button', { name: 'Create app' }).click()
    const apiKey = await page.getByRole('textbox', { name: 'API key', exact: true }).inputValue()
    await page.getByRole('button', { name: 'I have stored them safely' }).click()

    for (const [id, name] of [[zooId, 'Zoo'], [tenantId, 'Tenant orders']]) {
      await page.goto(`/portal/catalog/${id}`)
      await page.getByRole('heading', { name, level: 1 }).waitFor()
      await page.getByRole('button', { name: 'Request access' }).click()
      await page.getByText(`Access to ${name} is approved.`).waitFor()
    }
    await expect(page.getByText('Base URL:').textContent()).resolves.toBe(`Base URL: ${gateway}/tenant-orders · version 1`)
    await page.locator('article.operation').getByText('Code samples').click()
    await expect(page.locator('article.operation pre').last().textContent()).resolves.toContain(`${gateway}/tenant-orders/`)
    await screenshot(page, '05-prefixed-api')

    const call = async (path: string): Promise<Response> => {
      const deadline = Date.now() + 10_000
      for (;;) {
        const response = await fetch(gateway + path, { headers: { 'x-api-key': apiKey } })
        if (response.status === 200 || Date.now() > deadline) return response
        await response.text()
        await new Promise(resolve => setTimeout(resolve, 100))
      }
    }
    const pets = await call('/zoo-pets/7')
    expect(pets.status).toBe(200)
    expect((await pets.json() as { url: string }).url).toBe('/zoo-pets/7')
    const orders = await call('/tenant-orders/acme/orders')
    expect(orders.status).toBe(200)
    // the prefix is the gateway's: the upstream gets the path as documented
    expect((await orders.json() as { url: string }).url).toBe('/acme/orders')
    // unknown paths are still 404, not swallowed by a catch-all
    expect((await fetch(`${gateway}/acme/orders`, { headers: { 'x-api-key': apiKey } })).status).toBe(404)
  })
})
