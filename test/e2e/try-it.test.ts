// The try-it console in a real browser (Debian's chromium through playwright-core): a partner
// calls an operation of the API reference through the gateway — a cross-origin call the
// gateway allows for the portal's origin — with the API key and with an HMAC signature made
// by WebCrypto, and a wrong secret shows the gateway's string-to-sign. Screenshots land in
// test-results/ for a person to look at.
import { existsSync, mkdirSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, waitForPropagation, type TestStack } from '../helpers/stack.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'
import { ensurePortalBuilt } from './portal-build.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const SCREENSHOTS = 'test-results'
const PASSWORD = 'correct horse battery staple'

const ORDERS_OPENAPI = {
  openapi: '3.0.3',
  info: { title: 'Orders', version: '1.0.0', description: 'Create and read orders.' },
  paths: {
    '/orders': {
      post: {
        summary: 'Create an order',
        parameters: [{ name: 'dryRun', in: 'query', schema: { type: 'boolean' }, example: true }],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Order' }, example: { id: 'o-1', total: 42.5 } } } },
        responses: { 201: { description: 'Created' } }
      }
    },
    '/orders/{id}': {
      get: { summary: 'Get one order', parameters: [{ name: 'id', in: 'path', required: true, description: 'The order id', schema: { type: 'string', example: 'o 1' } }], responses: { 200: { description: 'The order' } } }
    }
  },
  components: { schemas: { Order: { type: 'object', required: ['id'], properties: { id: { type: 'string' }, total: { type: 'number' } } } } }
}

describe.skipIf(!existsSync(CHROMIUM))('try-it console in Chromium', { timeout: 120_000 }, () => {
  let stack: TestStack
  let upstream: TestUpstream
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let app: { key: string, secret: string, apiKey: string }

  async function screenshot (name: string): Promise<void> {
    await page.screenshot({ path: `${SCREENSHOTS}/e2e-try-it-${name}.png`, fullPage: true })
  }

  async function openOperation (summary: string): Promise<Locator> {
    await page.goto('/portal/catalog')
    await page.getByRole('link', { name: 'Orders' }).click()
    await page.getByRole('heading', { name: 'Orders', level: 1 }).waitFor()
    const operation = page.locator('article.operation', { hasText: summary })
    await operation.getByText('Try it').click()
    return operation
  }

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true })
    await ensurePortalBuilt()
    upstream = await startUpstream('orders')
    stack = await startStack({ database: 'pglite', redis: false })
    const plan = await stack.admin('POST', '/admin/v1/plans', { name: 'standard', rateLimit: { perSecond: 50, burst: 100 }, quota: { perDay: 1000 } })
    expect(plan.status).toBe(201)
    const orders = await stack.admin('POST', '/admin/v1/apis/import', { document: ORDERS_OPENAPI, upstream: { targets: [{ url: upstream.url }] }, autoApprove: true, planIds: [plan.body.id] })
    expect(orders.status).toBe(201)
    // the operator lets the portal call the API from the browser, and says where both live
    expect((await stack.admin('PATCH', `/admin/v1/apis/${orders.body.id as string}`, { cors: { origins: [], portal: true } })).status).toBe(200)
    expect((await stack.admin('PUT', '/admin/v1/settings', { gatewayUrl: stack.gatewayUrls[0], portalOrigin: stack.controlUrl })).status).toBe(200)

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
    context = await browser.newContext({ viewport: { width: 1200, height: 900 }, baseURL: stack.controlUrl })
    page = await context.newPage()
    await page.goto('/portal/signup')
    await page.getByLabel('Company name').fill(`Initrode-${randomBytes(3).toString('hex')}`)
    await page.getByLabel('Work email').fill(`dev-${randomBytes(3).toString('hex')}@example.com`)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign up' }).click()
    await page.getByRole('heading', { name: 'Apps' }).waitFor()
    await page.getByLabel('New app name').fill('initrode-erp')
    await page.getByRole('button', { name: 'Create app' }).click()
    await page.getByRole('heading', { name: 'Your new credentials' }).waitFor()
    app = {
      key: await page.getByRole('textbox', { name: 'App key', exact: true }).inputValue(),
      secret: await page.getByRole('textbox', { name: 'Secret', exact: true }).inputValue(),
      apiKey: await page.getByRole('textbox', { name: 'API key', exact: true }).inputValue()
    }
    await page.getByRole('button', { name: 'I have stored them safely' }).click()
    await page.getByRole('link', { name: 'initrode-erp' }).click()
    await page.getByLabel('API', { exact: true }).selectOption({ label: 'Orders' })
    await page.getByRole('button', { name: 'Request access' }).click()
    await page.getByText('Access to Orders is approved.').waitFor()
    await waitForPropagation(stack)
  })

  afterAll(async () => {
    await context?.close().catch(() => {})
    await browser?.close()
    await stack?.close()
    await upstream?.close()
  })

  it('calls an operation with the API key and shows the 200 with its headers, body and duration', async () => {
    const operation = await openOperation('Get one order')
    const form = operation.getByRole('form', { name: 'Try GET /orders/{id}' })
    await expect(form.getByLabel(/^id/).inputValue()).resolves.toBe('o 1')
    await form.getByLabel('API key').and(form.locator('input[type=password]')).fill(app.apiKey)
    const before = upstream.received.length
    await form.getByRole('button', { name: 'Send request' }).click()
    const answer = form.getByRole('region', { name: /Response/ })
    await answer.getByText('200 OK').waitFor()
    await expect(answer.getByText(/in \d+ ms/).count()).resolves.toBe(1)
    const body = JSON.parse(await answer.getByLabel('Body', { exact: true }).textContent() as string) as { url: string, method: string, headers: Record<string, string> }
    expect(body).toMatchObject({ method: 'GET', url: '/orders/o%201' })
    expect(body.headers.origin).toBe(stack.controlUrl)
    expect(body.headers['x-api-key']).toBeUndefined()
    await answer.getByText(/Headers \(\d+\)/).click()
    await expect(answer.locator('details pre').textContent()).resolves.toMatch(/x-ratelimit-remaining: \d+/)
    // the preflight the browser sent first was the gateway's to answer
    expect(upstream.received.slice(before).map(request => request.method)).toEqual(['GET'])
    await screenshot('01-api-key-200')
  })

  it('signs a POST with its JSON body in the browser, and a wrong secret shows the string-to-sign the gateway computed', async () => {
    const operation = await openOperation('Create an order')
    const form = operation.getByRole('form', { name: 'Try POST /orders' })
    await form.getByRole('radio', { name: 'HMAC signature' }).check()
    await expect(form.getByLabel('App key').inputValue()).resolves.toBe(app.key)
    await expect(form.getByLabel(/^Request body/).inputValue()).resolves.toBe('{\n  "id": "o-1",\n  "total": 42.5\n}')
    await form.getByLabel(/^Request body/).fill('{"id":"o-2","total":7}')
    await form.getByLabel('Secret').fill(app.secret)
    await form.getByRole('button', { name: 'Send request' }).click()
    const answer = form.getByRole('region', { name: /Response/ })
    await answer.getByText('200 OK').waitFor()
    const echoed = JSON.parse(await answer.getByLabel('Body', { exact: true }).textContent() as string) as { url: string, body: string }
    expect(echoed).toMatchObject({ url: '/orders?dryRun=true', body: '{"id":"o-2","total":7}' })
    await screenshot('02-hmac-200')

    await form.getByLabel('Secret').fill('not-the-secret')
    await form.getByRole('button', { name: 'Send request' }).click()
    await answer.getByText('401 Unauthorized').waitFor()
    await form.getByText('The signature does not match.').waitFor()
    const server = await form.getByTestId('server-string-to-sign').textContent()
    expect(server).toMatch(new RegExp(`^POST#application/json##application/json##x-ca-key:${app.key}#x-ca-nonce:[0-9a-f]{32}#x-ca-signature-method:HmacSHA256#x-ca-timestamp:\\d+#/orders\\?dryRun=true$`))
    await expect(form.locator('.message.error pre').nth(1).textContent()).resolves.toBe(server)
    await expect(answer.getByLabel('Body', { exact: true }).textContent()).resolves.toContain('BAD_SIGNATURE')
    await screenshot('03-hmac-wrong-secret-401')
  })

  it("says what is missing when the gateway does not allow the portal's origin", async () => {
    const apis = await stack.admin('GET', '/admin/v1/apis')
    const orders = apis.body.items.find((item: { name: string }) => item.name === 'Orders')
    expect((await stack.admin('PATCH', `/admin/v1/apis/${orders.id as string}`, { cors: null })).status).toBe(200)
    await waitForPropagation(stack)
    const operation = await openOperation('Get one order')
    const form = operation.getByRole('form', { name: 'Try GET /orders/{id}' })
    await form.getByLabel('API key').and(form.locator('input[type=password]')).fill(app.apiKey)
    await form.getByRole('button', { name: 'Send request' }).click()
    await form.getByRole('alert').filter({ hasText: /does not allow this page's origin/ }).waitFor()
    await screenshot('04-no-cors')
    expect((await stack.admin('PATCH', `/admin/v1/apis/${orders.id as string}`, { cors: { origins: [], portal: true } })).status).toBe(200)
  })
})
