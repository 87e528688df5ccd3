// The partner portal in a real browser (Debian's chromium through playwright-core) against
// the whole product — control server and gateway — started as `partner-gateway start` does.
// Every test leaves a screenshot in test-results/ for a person to look at.
import { existsSync, mkdirSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signRequest } from '../helpers/sign-request.js'
import { startStack, type TestStack } from '../helpers/stack.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'
import { ensurePortalBuilt } from './portal-build.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const SCREENSHOTS = 'test-results'
const PASSWORD = 'correct horse battery staple'

const ORDERS_OPENAPI = {
  openapi: '3.0.3',
  info: { title: 'Orders', version: '1.0.0', description: 'Create and read orders.' },
  servers: [{ url: 'http://orders.invalid' }],
  paths: {
    '/orders': {
      get: { summary: 'List orders', parameters: [{ name: 'status', in: 'query', required: true, schema: { type: 'string', enum: ['open', 'closed'] } }], responses: { 200: { description: 'The orders', content: { 'application/json': { schema: { type: 'array', items: { $ref: '#/components/schemas/Order' } } } } } } },
      post: { summary: 'Create an order', requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Order' }, example: { id: 'o-1', total: 42.5 } } } }, responses: { 201: { description: 'Created' } } }
    },
    '/orders/{id}': {
      get: { summary: 'Get one order', parameters: [{ name: 'id', in: 'path', required: true, description: 'The order id', schema: { type: 'string', example: 'o-1' } }], responses: { 200: { description: 'The order', content: { 'application/json': { schema: { $ref: '#/components/schemas/Order' } } } }, 404: { description: 'No such order' } } }
    }
  },
  components: { schemas: { Order: { type: 'object', required: ['id'], properties: { id: { type: 'string', description: 'Order id' }, total: { type: 'number' } } } } }
}

function unique (label: string): string {
  return `${label}-${randomBytes(3).toString('hex')}`
}

describe.skipIf(!existsSync(CHROMIUM))('partner portal in Chromium', { timeout: 120_000 }, () => {
  let stack: TestStack
  let upstream: TestUpstream
  let attacker: TestUpstream
  let browser: Browser
  let planId: string
  let ordersApiId: string
  const contexts: BrowserContext[] = []

  async function newPage (viewport = { width: 1200, height: 900 }): Promise<Page> {
    const context = await browser.newContext({ viewport, baseURL: stack.controlUrl })
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.controlUrl })
    contexts.push(context)
    const page = await context.newPage()
    page.on('dialog', dialog => { void dialog.accept() })
    return page
  }

  async function screenshot (page: Page, name: string): Promise<void> {
    await page.screenshot({ path: `${SCREENSHOTS}/e2e-${name}.png`, fullPage: true })
  }

  async function signUp (page: Page, company: string): Promise<string> {
    const email = `${unique('dev')}@example.com`
    await page.goto('/portal/')
    await page.getByRole('heading', { name: 'Log in' }).waitFor()
    await page.getByRole('link', { name: 'Create a partner account' }).click()
    await page.getByLabel('Company name').fill(company)
    await page.getByLabel('Work email').fill(email)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign up' }).click()
    await page.getByRole('heading', { name: 'Apps' }).waitFor()
    return email
  }

  async function createApp (page: Page, name: string): Promise<{ id: string, key: string, secret: string, apiKey: string }> {
    await page.goto('/portal/apps')
    await page.getByLabel('New app name').fill(name)
    await page.getByRole('button', { name: 'Create app' }).click()
    await page.getByRole('heading', { name: 'Your new credentials' }).waitFor()
    const key = await page.getByRole('textbox', { name: 'App key', exact: true }).inputValue()
    const apiKey = await page.getByRole('textbox', { name: 'API key', exact: true }).inputValue()
    await page.getByRole('button', { name: 'Copy Secret' }).click()
    await page.getByRole('button', { name: 'Copy Secret' }).getByText('Copied').waitFor()
    const secret = await page.evaluate(async () => await (globalThis as any).navigator.clipboard.readText() as string)
    expect(secret).toBe(await page.getByRole('textbox', { name: 'Secret', exact: true }).inputValue())
    const href = await page.getByRole('link', { name: `Open ${name}` }).getAttribute('href')
    return { id: (href as string).split('/').pop() as string, key, secret, apiKey }
  }

  async function signedCall (key: string, secret: string, path: string): Promise<Response> {
    const headers = signRequest({ method: 'GET', url: path, headers: { accept: 'application/json' } }, key, secret)
    return await fetch(stack.gatewayUrls[0] + path, { headers })
  }

  /** Waits until the gateway's snapshot has the change (a new credential, grant or IP rule) and the call gets `status`. */
  async function callUntil (key: string, secret: string, path: string, status: number): Promise<Response> {
    const deadline = Date.now() + 10_000
    for (;;) {
      const response = await signedCall(key, secret, path)
      if (response.status === status || Date.now() > deadline) return response
      await response.text()
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }

  async function callUntilOk (key: string, secret: string, path: string): Promise<Response> {
    return await callUntil(key, secret, path, 200)
  }

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true })
    await ensurePortalBuilt()
    upstream = await startUpstream('orders')
    // a page on another origin of the same site (another port of 127.0.0.1) that tries a cross-site form post
    attacker = await startUpstream('attacker', (_request, response) => {
      response.setHeader('content-type', 'text/html')
      response.end(`<!doctype html><form id="f" method="POST" enctype="text/plain" action="${stack.controlUrl}/partner/v1/apps"><input name='{"name":"evil","x":"' value='"}'></form><script>document.getElementById('f').submit()</script>`)
    })
    stack = await startStack({ database: 'pglite', redis: false })
    const plan = await stack.admin('POST', '/admin/v1/plans', { name: 'standard', rateLimit: { perSecond: 50, burst: 100 }, quota: { perDay: 1000, perMonth: 20000 } })
    planId = plan.status === 201
      ? plan.body.id
      // the operator's plans endpoint is not everywhere yet: the same row, straight into the database
      : (await stack.control.database.prisma.plan.create({ data: { name: 'standard', rateLimitPerSecond: 50, rateLimitBurst: 100, quotaPerDay: 1000, quotaPerMonth: 20000 } })).id
    const orders = await stack.admin('POST', '/admin/v1/apis/import', { document: ORDERS_OPENAPI, upstream: { targets: [{ url: upstream.url }] }, planIds: [planId] })
    expect(orders.status).toBe(201)
    ordersApiId = orders.body.id
    const echo = await stack.admin('POST', '/admin/v1/apis/import', { document: { ...ORDERS_OPENAPI, info: { title: 'Echo', version: '1', description: 'Echoes requests; access is approved at once.' }, paths: { '/echo/{anything}': { get: { summary: 'Echo', parameters: [{ name: 'anything', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'What the upstream received' } } } } } }, upstream: { targets: [{ url: upstream.url }] }, autoApprove: true, planIds: [planId] })
    expect(echo.status).toBe(201)
    expect((await stack.admin('PUT', '/admin/v1/settings', { gatewayUrl: stack.gatewayUrls[0] })).status).toBe(200)
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  })

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {})
    await browser?.close()
    await stack?.close()
    await upstream?.close()
    await attacker?.close()
  })

  it('signs up, creates an app, copies the secret, calls the gateway with it, sees the usage and rotates', async () => {
    const page = await newPage()
    await signUp(page, unique('Acme'))
    await screenshot(page, '01-apps-empty')
    const app = await createApp(page, 'acme-erp')
    await screenshot(page, '02-secret-shown-once')
    await page.getByRole('button', { name: 'I have stored them safely' }).click()
    await expect(page.getByRole('textbox', { name: 'Secret', exact: true }).count()).resolves.toBe(0)

    await page.getByRole('link', { name: 'acme-erp' }).click()
    await page.getByRole('heading', { name: /acme-erp/ }).waitFor()
    await page.getByLabel('Plan').waitFor()
    await page.getByLabel('API', { exact: true }).selectOption({ label: 'Echo' })
    await page.getByRole('button', { name: 'Request access' }).click()
    await page.getByText('Access to Echo is approved.').waitFor()

    const response = await callUntilOk(app.key, app.secret, '/echo/hello?x=1')
    expect(response.status).toBe(200)
    expect((await response.json() as { url: string }).url).toBe('/echo/hello?x=1')
    const byApiKey = await fetch(`${stack.gatewayUrls[0]}/echo/again`, { headers: { 'x-api-key': app.apiKey } })
    expect(byApiKey.status).toBe(200)
    await byApiKey.text()

    // the gateway flushes its counts every 200 ms here; the page shows them on refresh
    const today = page.getByRole('article', { name: 'Usage of Echo' }).locator('.quota-figure').first()
    for (let attempt = 0; attempt < 50; attempt++) {
      await page.getByRole('button', { name: 'Refresh' }).click()
      if (await today.count() > 0 && (await today.textContent())?.startsWith('2 /') === true) break
      await page.waitForTimeout(200)
    }
    expect(await today.textContent()).toBe('2 / 1,000')
    await screenshot(page, '03-app-usage')

    await page.getByLabel('Keep the current credential valid for').selectOption({ label: '1 hour' })
    await page.getByRole('button', { name: 'Rotate credentials' }).click()
    await page.getByRole('heading', { name: 'Your new credentials' }).waitFor()
    const newKey = await page.getByRole('textbox', { name: 'App key', exact: true }).inputValue()
    const newSecret = await page.getByRole('textbox', { name: 'Secret', exact: true }).inputValue()
    await page.getByText(/The previous credential stays valid until/).waitFor()
    await expect(page.locator(`tr[data-key="${app.key}"] .badge`).textContent()).resolves.toBe('expiring')
    await screenshot(page, '04-rotated')
    expect((await callUntilOk(newKey, newSecret, '/echo/new')).status).toBe(200)
    expect((await signedCall(app.key, app.secret, '/echo/old')).status).toBe(200)

    await page.getByRole('button', { name: `Revoke ${app.key}` }).click()
    await expect(page.locator(`tr[data-key="${app.key}"] .badge`).filter({ hasText: 'revoked' }).waitFor()).resolves.toBeUndefined()
  })

  it('requests access, sees it pending, and approved after the operator approves; reads the API reference with signing snippets', async () => {
    const page = await newPage()
    await signUp(page, unique('Globex'))
    const app = await createApp(page, 'globex-shop')
    await page.getByRole('link', { name: 'Access requests' }).click()
    await page.getByRole('heading', { name: 'Access requests' }).waitFor()
    await page.getByLabel('App', { exact: true }).selectOption({ label: 'globex-shop' })
    await page.getByLabel('API', { exact: true }).selectOption({ label: 'Orders' })
    await page.getByRole('button', { name: 'Request access' }).click()
    await page.getByText('Request sent: an operator will review access to Orders.').waitFor()
    await page.getByRole('cell', { name: /requested/ }).waitFor()
    await screenshot(page, '05-access-requested')
    expect((await signedCall(app.key, app.secret, '/orders/o-1')).status).toBe(403)

    const queue = await stack.admin('GET', `/admin/v1/grants?status=requested&appId=${app.id}`)
    const pending = queue.body.items.find((item: any) => item.apiId === ordersApiId)
    expect(pending).toMatchObject({ status: 'requested', planId })
    expect((await stack.admin('PATCH', `/admin/v1/grants/${pending.id as string}`, { status: 'approved' })).body.status).toBe('approved')
    await page.getByRole('button', { name: 'Refresh' }).click()
    await page.getByRole('cell', { name: /approved/ }).waitFor()
    await screenshot(page, '06-access-approved')
    const call = await callUntilOk(app.key, app.secret, '/orders/o-1')
    expect(call.status).toBe(200)
    await call.text()

    await page.getByRole('link', { name: 'API catalog' }).click()
    await page.getByRole('link', { name: 'Orders' }).click()
    await page.getByRole('heading', { name: 'Orders', level: 1 }).waitFor()
    const operation = page.locator('article.operation', { hasText: 'Get one order' })
    await expect(operation.getByRole('cell', { name: 'The order id' }).count()).resolves.toBe(1)
    await operation.getByText('Code samples').click()
    await expect(operation.locator('pre').last().textContent()).resolves.toContain('-H "X-Api-Key: $API_KEY"')
    await expect(operation.locator('pre').last().textContent()).resolves.toContain(`${stack.gatewayUrls[0]}/orders/o-1`)
    await operation.getByRole('button', { name: 'bash + openssl' }).click()
    await expect(operation.locator('pre').last().textContent()).resolves.toContain(`app_key='${app.key}'`)
    await operation.getByRole('button', { name: 'Node.js' }).click()
    await expect(operation.locator('pre').last().textContent()).resolves.toContain("createHmac('sha256', appSecret)")
    await operation.getByRole('button', { name: 'Python' }).click()
    await expect(operation.locator('pre').last().textContent()).resolves.toContain('hmac.new(app_secret.encode()')
    await screenshot(page, '07-api-reference')
  })

  it('keeps two partners apart in the portal and in the partner API', async () => {
    const alice = await newPage()
    await signUp(alice, unique('Alice Co'))
    const aliceApp = await createApp(alice, 'alice-app')
    const bob = await newPage({ width: 390, height: 844 })
    await signUp(bob, unique('Bob Co'))
    await bob.getByText('No apps yet').waitFor()
    await bob.goto(`/portal/apps/${aliceApp.id}`)
    await bob.getByRole('alert').filter({ hasText: `App ${aliceApp.id} does not exist` }).waitFor()
    await screenshot(bob, '08-isolation-other-partners-app')
    const attempts = await bob.evaluate(async id => {
      const me = await (await fetch('/partner/v1/me')).json() as { csrfToken: string }
      const headers = { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken }
      return await Promise.all([
        fetch(`/partner/v1/apps/${id}`).then(response => response.status),
        fetch(`/partner/v1/apps/${id}`, { method: 'PATCH', headers, body: '{"name":"mine"}' }).then(response => response.status),
        fetch(`/partner/v1/apps/${id}/credentials`, { method: 'POST', headers, body: '{}' }).then(response => response.status),
        fetch(`/partner/v1/apps/${id}/usage`).then(response => response.status),
        fetch(`/partner/v1/apps/${id}`, { method: 'DELETE', headers: { 'x-csrf-token': me.csrfToken } }).then(response => response.status)
      ])
    }, aliceApp.id)
    expect(attempts).toEqual([404, 404, 404, 404, 404])
    await alice.goto(`/portal/apps/${aliceApp.id}`)
    await alice.getByRole('heading', { name: /alice-app/ }).waitFor()
    await screenshot(alice, '09-isolation-owner-still-sees-app')
  })

  it('refuses state-changing requests without the CSRF token, from the page itself and from a cross-site form', async () => {
    const page = await newPage()
    await signUp(page, unique('Initech'))
    const result = await page.evaluate(async () => {
      const response = await fetch('/partner/v1/apps', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"no-token"}' })
      return { status: response.status, body: await response.json() }
    })
    expect(result).toEqual({ status: 403, body: { error: { code: 'CSRF_FAILED', message: expect.any(String), requestId: expect.any(String) } } })

    const evil = await page.context().newPage()
    await evil.goto(attacker.url)
    await evil.waitForURL(`${stack.controlUrl}/partner/v1/apps`)
    await expect(evil.textContent('body')).resolves.toMatch(/UNSUPPORTED_MEDIA_TYPE|CSRF_FAILED/)
    await screenshot(evil, '10-csrf-cross-site-form-refused')
    await page.reload()
    await page.getByText('No apps yet').waitFor()
    await screenshot(page, '11-csrf-no-app-created')
  })

  it('locks an app to its servers\' addresses: a bad entry shows the API\'s message and stores nothing, the saved lists are what the operator API reads and what the gateway enforces', async () => {
    const page = await newPage()
    await signUp(page, unique('Vandelay'))
    const app = await createApp(page, 'vandelay-import')
    await page.getByRole('button', { name: 'I have stored them safely' }).click()
    await page.getByRole('link', { name: 'vandelay-import' }).click()
    await page.getByLabel('API', { exact: true }).selectOption({ label: 'Echo' })
    await page.getByRole('button', { name: 'Request access' }).click()
    await page.getByText('Access to Echo is approved.').waitFor()
    expect((await callUntilOk(app.key, app.secret, '/echo/before')).status).toBe(200)

    const form = page.getByRole('form', { name: 'IP restriction of this app' })
    await form.getByLabel('Allowed addresses').fill('198.51.100.10\n203.0.113.0/24')
    await form.getByLabel('Denied addresses').fill('203.0.113.300')
    await form.getByRole('button', { name: 'Save IP restriction' }).click()
    await form.getByRole('alert').filter({ hasText: 'ipRestriction.deny: 203.0.113.300 is not an IP address or CIDR' }).waitFor()
    await screenshot(page, '12-ip-restriction-refused')
    expect((await stack.admin('GET', `/admin/v1/apps/${app.id}`)).body.ipRestriction).toBeNull()

    await form.getByLabel('Denied addresses').fill('203.0.113.66')
    await form.getByRole('button', { name: 'Save IP restriction' }).click()
    await form.getByText('Saved: the gateways apply the lists within a few seconds.').waitFor()
    expect((await stack.admin('GET', `/admin/v1/apps/${app.id}`)).body.ipRestriction).toEqual({ allow: ['198.51.100.10', '203.0.113.0/24'], deny: ['203.0.113.66'] })
    await screenshot(page, '13-ip-restriction-saved')
    // this test calls from 127.0.0.1, which the allow list leaves out
    const refused = await callUntil(app.key, app.secret, '/echo/after', 403)
    expect(refused.status).toBe(403)
    expect((await refused.json() as any).error).toMatchObject({ code: 'IP_NOT_ALLOWED', message: expect.stringContaining('the app vandelay-import') })

    await page.reload()
    await expect(form.getByLabel('Allowed addresses').inputValue()).resolves.toBe('198.51.100.10\n203.0.113.0/24')
    await form.getByRole('button', { name: 'Remove restriction' }).click()
    await form.getByText('Removed: the credentials work from every address.').waitFor()
    expect((await stack.admin('GET', `/admin/v1/apps/${app.id}`)).body.ipRestriction).toBeNull()
    expect((await callUntilOk(app.key, app.secret, '/echo/again')).status).toBe(200)
  })
})
