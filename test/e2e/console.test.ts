// The operator console in a real browser (Debian's chromium through playwright-core) against
// the whole product, started as `partner-gateway start` does. An operator onboards a partner
// end to end and cuts it off again; a viewer's writes fail in the screens and in the API; a
// partner's session reaches neither. Every screen leaves a screenshot in test-results/.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, type TestStack } from '../helpers/stack.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'
import { ensurePortalBuilt } from './portal-build.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const SCREENSHOTS = 'test-results'
const PASSWORD = 'operator password 1'

const INVENTORY_OPENAPI = `openapi: 3.0.3
info:
  title: Inventory
  version: 2.1.0
  description: Stock levels per warehouse.
paths:
  /inventory/{sku}:
    get:
      summary: Stock of one article
      parameters:
        - { name: sku, in: path, required: true, schema: { type: string } }
      responses:
        '200': { description: The stock }
`

function unique (label: string): string {
  return `${label}-${randomBytes(3).toString('hex')}`
}

describe.skipIf(!existsSync(CHROMIUM))('operator console in Chromium', { timeout: 180_000 }, () => {
  let stack: TestStack
  let upstream: TestUpstream
  let shop: TestUpstream
  let browser: Browser
  let ordersApiId: string
  const contexts: BrowserContext[] = []

  async function newPage (): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: stack.controlUrl })
    contexts.push(context)
    return await context.newPage()
  }

  async function screenshot (page: Page, name: string): Promise<void> {
    await page.screenshot({ path: `${SCREENSHOTS}/console-${name}.png`, fullPage: true })
  }

  async function createOperator (role: 'admin' | 'viewer'): Promise<string> {
    const email = `${unique(role)}@example.com`
    const created = await stack.admin('POST', '/admin/v1/operators', { email, role, password: PASSWORD })
    expect(created.status).toBe(201)
    return email
  }

  async function signIn (page: Page, email: string): Promise<void> {
    await page.goto('/console/')
    await page.getByRole('heading', { name: 'Operator sign-in' }).waitFor()
    await page.getByLabel('Email').fill(email)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor()
  }

  async function openPartners (page: Page): Promise<void> {
    await page.getByRole('link', { name: 'Partners' }).click()
    await page.getByRole('heading', { name: 'Partners', level: 1 }).waitFor()
  }

  /** Answers the console's confirmation dialog, after checking it asks what `title` says. */
  async function confirm (page: Page, title: RegExp, screenshotName?: string): Promise<void> {
    const dialog = page.getByRole('dialog')
    await dialog.getByRole('heading', { name: title }).waitFor()
    if (screenshotName !== undefined) await screenshot(page, screenshotName)
    await dialog.locator('button[type="submit"]').click()
    await dialog.waitFor({ state: 'hidden' })
  }

  async function callWithApiKey (apiKey: string, urlPath: string): Promise<number> {
    const response = await fetch(stack.gatewayUrls[0] + urlPath, { headers: { 'x-api-key': apiKey } })
    await response.text()
    return response.status
  }

  /** Calls until the gateway's snapshot has caught up and the call gets `status`. */
  async function callUntil (apiKey: string, urlPath: string, status: number): Promise<number> {
    const deadline = Date.now() + 10_000
    for (;;) {
      const got = await callWithApiKey(apiKey, urlPath)
      if (got === status || Date.now() > deadline) return got
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }

  async function partnerSignsUp (page: Page, company: string): Promise<string> {
    const email = `${unique('dev')}@example.com`
    await page.goto('/portal/signup')
    await page.getByLabel('Company name').fill(company)
    await page.getByLabel('Work email').fill(email)
    await page.getByLabel('Password').fill('correct horse battery staple')
    await page.getByRole('button', { name: 'Sign up' }).click()
    await page.getByRole('heading', { name: 'Apps' }).waitFor()
    return email
  }

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true })
    await ensurePortalBuilt()
    upstream = await startUpstream('orders')
    // a shop's web page, on an origin of its own, for the CORS policy
    shop = await startUpstream('shop', (_request, response) => {
      response.setHeader('content-type', 'text/html')
      response.end('<!doctype html><title>Shop</title><h1>Shop</h1>')
    })
    stack = await startStack({ database: 'pglite', redis: false, config: { nodeReportIntervalMs: 300 } })
    const plan = await stack.admin('POST', '/admin/v1/plans', { name: 'standard', rateLimit: { perSecond: 50, burst: 100 }, quota: { perDay: 1000, perMonth: 20000 } })
    expect(plan.status).toBe(201)
    expect((await stack.admin('POST', '/admin/v1/plans', { name: 'gold', rateLimit: { perSecond: 500 }, quota: { perDay: 100000 } })).status).toBe(201)
    const up = await stack.admin('POST', '/admin/v1/upstreams', { name: 'orders-service', targets: [{ url: upstream.url, weight: 1 }] })
    const orders = await stack.admin('POST', '/admin/v1/apis', { name: 'Orders', upstreamId: up.body.id, auth: ['apikey', 'hmac'], routes: [{ path: '/orders' }] })
    expect(orders.status).toBe(201)
    ordersApiId = orders.body.id
    expect((await stack.admin('PUT', '/admin/v1/settings', { requirePartnerApproval: true, gatewayUrl: stack.gatewayUrls[0] })).status).toBe(200)
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  })

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {})
    await browser?.close()
    await stack?.close()
    await upstream?.close()
    await shop?.close()
  })

  it('approves a new partner, creates an app with a plan, sees its calls on the overview, revokes its credential and the next calls are refused; every step is audited under the operator', async () => {
    const company = unique('Umbrella')
    const partnerPage = await newPage()
    await partnerSignsUp(partnerPage, company)
    await partnerPage.getByText('Your account is waiting for approval.').waitFor()

    const email = await createOperator('admin')
    const page = await newPage()
    await signIn(page, email)
    await openPartners(page)
    await page.getByLabel('Search by name or email').fill(company)
    await page.getByLabel('Status').selectOption('pending')
    await page.getByRole('button', { name: 'Search' }).click()
    const row = page.locator(`tr[data-partner="${company}"]`)
    await row.waitFor()
    await expect(page.locator('tbody tr').count()).resolves.toBe(1)
    await screenshot(page, '01-partners-pending')
    await row.getByRole('button', { name: `Approve ${company}` }).click()
    await page.getByLabel('Status').selectOption('')
    await page.getByRole('button', { name: 'Search' }).click()
    await row.locator('.badge', { hasText: 'active' }).waitFor()
    await partnerPage.reload()
    await partnerPage.getByLabel('New app name').waitFor()

    await row.getByRole('link', { name: company }).click()
    await page.getByRole('heading', { name: new RegExp(company) }).waitFor()
    await page.getByText(/^dev-.*@example.com$/).waitFor()
    await page.getByLabel('App name').fill('umbrella-erp')
    await page.getByLabel('Access to API').selectOption({ label: 'Orders' })
    await page.getByLabel('On plan').selectOption({ label: 'gold' })
    await page.getByRole('button', { name: 'Create app' }).click()
    await page.getByRole('heading', { name: 'Your new credentials' }).waitFor()
    const key = await page.getByRole('textbox', { name: 'App key', exact: true }).inputValue()
    const apiKey = await page.getByRole('textbox', { name: 'API key', exact: true }).inputValue()
    await page.getByRole('link', { name: 'umbrella-erp' }).first().waitFor()
    await screenshot(page, '02-partner-app-created')
    await page.getByRole('button', { name: 'I have stored them safely' }).click()
    await expect(page.getByRole('textbox', { name: 'Secret', exact: true }).count()).resolves.toBe(0)

    expect(await callUntil(apiKey, '/orders/1', 200)).toBe(200)
    const grants = await stack.admin('GET', `/admin/v1/grants?apiId=${ordersApiId}&status=approved`)
    const appId = (await page.getByRole('link', { name: 'umbrella-erp' }).first().getAttribute('href') as string).split('/').pop() as string
    expect(grants.body.items.filter((grant: any) => grant.appId === appId).map((grant: any) => grant.planId)).toHaveLength(1)

    for (let call = 0; call < 4; call++) expect(await callWithApiKey(apiKey, `/orders/${call}`)).toBe(200)

    // the overview refreshes by itself: the calls appear without reloading the page
    await page.getByRole('link', { name: 'Overview' }).click()
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor()
    const topApp = page.locator('tr[data-app="umbrella-erp"]')
    await topApp.waitFor({ timeout: 15_000 })
    await expect.poll(async () => await topApp.locator('td').nth(2).textContent(), { timeout: 15_000 }).toBe('5')
    await expect(topApp.locator('td').nth(1).textContent()).resolves.toBe(company)
    const ordersRow = page.locator('tr[data-api="Orders"]')
    await expect.poll(async () => await ordersRow.locator('td').last().textContent(), { timeout: 15_000 }).toBe('5')
    await expect(page.locator('tr[data-node]').count()).resolves.toBe(1)
    await expect(page.locator('tr[data-node] .badge').textContent()).resolves.toBe('up')
    await screenshot(page, '03-overview')

    await topApp.getByRole('link', { name: 'umbrella-erp' }).click()
    await page.getByRole('heading', { name: /umbrella-erp/ }).waitFor()
    await page.locator(`tr[data-key="${key}"]`).waitFor()
    await page.getByLabel('Plan of this grant').waitFor()
    await expect(page.getByLabel('Plan of this grant').locator('option:checked').textContent()).resolves.toBe('gold')
    await screenshot(page, '04-app')
    await page.getByRole('button', { name: `Revoke ${key}` }).click()
    await confirm(page, new RegExp(`Revoke the credential ${key}`), '05-confirm-revoke')
    await page.locator(`tr[data-key="${key}"] .badge`, { hasText: 'revoked' }).waitFor()
    expect(await callUntil(apiKey, '/orders/9', 401)).toBe(401)
    expect(await callWithApiKey(apiKey, '/orders/10')).toBe(401)
    await page.getByRole('link', { name: 'Overview' }).click()
    await page.locator('tr[data-reason="UNKNOWN_KEY"]').waitFor({ timeout: 15_000 })
    await screenshot(page, '06-overview-refused')

    await page.getByRole('link', { name: 'Audit log' }).click()
    await page.getByLabel('Actor (operator email, token name or cli)').fill(email)
    await page.getByRole('button', { name: 'Filter' }).click()
    await page.getByRole('cell', { name: 'credential.revoke' }).waitFor()
    const actions = await page.locator('table.audit tbody tr td:nth-child(3)').allTextContents()
    expect(actions).toEqual(['credential.revoke', 'grant.create', 'app.create', 'partner.update'])
    expect(new Set(await page.locator('table.audit tbody tr td:nth-child(2)').allTextContents())).toEqual(new Set([email]))
    await screenshot(page, '07-audit')
  })

  it('covers the other screens: APIs with an OpenAPI file picked in the browser, plans, access requests, grants, signing keys and operators', async () => {
    const email = await createOperator('admin')
    const page = await newPage()
    await signIn(page, email)

    await page.getByRole('link', { name: 'APIs' }).click()
    await page.getByRole('heading', { name: 'APIs', level: 1 }).waitFor()
    const file = path.join(SCREENSHOTS, 'inventory.yaml')
    writeFileSync(file, INVENTORY_OPENAPI)
    await page.getByLabel('OpenAPI 3 document (JSON or YAML)').setInputFiles(file)
    await page.getByText('inventory.yaml: Inventory 2.1.0, 1 paths').waitFor()
    await page.getByLabel('Upstream target URL').nth(1).fill(upstream.url)
    await screenshot(page, '08-apis')
    await page.getByRole('button', { name: 'Import API' }).click()
    await page.getByRole('heading', { name: 'Inventory', level: 1 }).waitFor()
    await page.getByRole('cell', { name: '/inventory' }).waitFor()
    await page.locator(`tr[data-target="${upstream.url}"]`).getByText('healthy on 1 node').waitFor({ timeout: 15_000 })
    await screenshot(page, '09-api-detail')

    await page.getByRole('link', { name: 'Plans' }).click()
    await page.getByLabel('Name').fill('trial')
    await page.getByLabel('Requests per second').last().fill('5')
    await page.getByLabel('Quota per day').last().fill('100')
    await page.getByRole('button', { name: 'Create plan' }).click()
    await page.locator('tr[data-plan="trial"]').getByText('5/s, burst 5').waitFor()
    await screenshot(page, '10-plans')

    // two partners ask for access; one is approved on a plan, the other rejected with a reason
    const partner = await stack.admin('POST', '/admin/v1/partners', { name: unique('Initech') })
    const apps = await Promise.all(['tps-reports', 'printer'].map(async name => (await stack.admin('POST', `/admin/v1/partners/${partner.body.id as string}/apps`, { name })).body))
    for (const app of apps) expect((await stack.admin('POST', '/admin/v1/grants', { appId: app.id, apiId: ordersApiId, planId: (await stack.admin('GET', '/admin/v1/plans')).body.items[0].id, status: 'requested' })).status).toBe(201)
    await page.getByRole('link', { name: 'Access requests' }).click()
    const first = page.getByRole('listitem', { name: 'Request of tps-reports for Orders' })
    await first.getByLabel('Plan').selectOption({ label: 'trial — 5/s (burst 5), 100/day' })
    await screenshot(page, '11-access-requests')
    await first.getByRole('button', { name: 'Approve' }).click()
    await page.getByText('Approved: tps-reports may call Orders.').waitFor()
    const second = page.getByRole('listitem', { name: 'Request of printer for Orders' })
    await second.getByLabel('Reason for rejecting').fill('PC load letter')
    await second.getByRole('button', { name: 'Reject' }).click()
    await confirm(page, /Reject the request of printer/)
    await page.getByText('No open requests').waitFor()
    const grants = (await stack.admin('GET', `/admin/v1/grants?apiId=${ordersApiId}`)).body.items
    expect(grants.find((grant: any) => grant.appId === apps[0].id)).toMatchObject({ status: 'approved' })
    expect(grants.find((grant: any) => grant.appId === apps[1].id)).toMatchObject({ status: 'rejected' })
    const rejection = (await stack.admin('GET', `/admin/v1/audit?targetId=${grants.find((grant: any) => grant.appId === apps[1].id).id as string}`)).body.items[0]
    expect(rejection).toMatchObject({ actor: email, action: 'grant.reject', details: { reason: 'PC load letter' } })

    await page.getByRole('link', { name: 'Grants' }).click()
    const grantRow = page.locator('tr', { hasText: 'tps-reports' })
    await grantRow.getByLabel('Plan of this grant').selectOption({ label: 'gold' })
    await expect.poll(async () => (await stack.admin('GET', `/admin/v1/grants?appId=${apps[0].id as string}`)).body.items[0].planId).not.toBe(grants.find((grant: any) => grant.appId === apps[0].id).planId)
    await screenshot(page, '12-grants')
    await grantRow.getByRole('button', { name: 'Revoke access' }).click()
    await confirm(page, /Revoke this access/)
    await expect.poll(async () => (await stack.admin('GET', `/admin/v1/grants?appId=${apps[0].id as string}`)).body.items[0].status).toBe('revoked')

    await page.getByRole('link', { name: 'Signing keys' }).click()
    await page.getByRole('button', { name: 'Rotate signing key' }).click()
    await confirm(page, /Rotate the token signing key/)
    await page.getByText(/New tokens are now signed with key/).waitFor()
    await screenshot(page, '13-signing-keys')

    await page.getByRole('link', { name: 'Operators' }).click()
    const colleague = `${unique('colleague')}@example.com`
    await page.getByLabel('Email').fill(colleague)
    await page.getByRole('button', { name: 'Add operator' }).click()
    const password = await page.getByRole('textbox', { name: 'Password' }).inputValue()
    expect(password).toMatch(/^[A-Za-z0-9_-]{27}$/)
    await screenshot(page, '14-operators')
    const login = await fetch(`${stack.controlUrl}/admin/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: colleague, password }) })
    expect((await login.json() as any).operator.role).toBe('viewer')
  })

  it('asks before a destructive action: cancelled, nothing changes; confirmed, it is done and audited under the operator', async () => {
    const partner = await stack.admin('POST', '/admin/v1/partners', { name: unique('Soylent') })
    const app = await stack.admin('POST', `/admin/v1/partners/${partner.body.id as string}/apps`, { name: 'green' })
    const email = await createOperator('admin')
    const page = await newPage()
    await signIn(page, email)
    const versionBefore = (await stack.admin('GET', '/admin/v1/config/version')).body.version

    await page.goto(`/console/apps/${app.body.id as string}`)
    await page.getByRole('button', { name: 'Suspend app' }).click()
    await page.getByRole('dialog').getByRole('heading', { name: 'Suspend green?' }).waitFor()
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click()
    await page.getByRole('dialog').waitFor({ state: 'hidden' })
    await page.getByRole('button', { name: 'Rotate credentials' }).click()
    await page.getByRole('dialog').getByRole('heading', { name: 'Rotate the credentials of green?' }).waitFor()
    await page.keyboard.press('Escape')
    await page.getByRole('dialog').waitFor({ state: 'hidden' })
    expect((await stack.admin('GET', '/admin/v1/config/version')).body.version).toBe(versionBefore)
    expect((await stack.admin('GET', `/admin/v1/apps/${app.body.id as string}`)).body).toMatchObject({ status: 'active', credentials: [{ status: 'active' }] })

    await page.getByRole('button', { name: 'Suspend app' }).click()
    await confirm(page, /Suspend green/)
    await page.getByRole('button', { name: 'Resume app' }).waitFor()
    await page.goto(`/console/partners/${partner.body.id as string}`)
    await page.getByRole('button', { name: `Suspend ${partner.body.name as string}` }).click()
    await confirm(page, /Suspend Soylent/)
    await page.getByRole('button', { name: `Resume ${partner.body.name as string}` }).waitFor()
    const audit = (await stack.admin('GET', `/admin/v1/audit?actor=${encodeURIComponent(email)}`)).body.items
    expect(audit.map((entry: any) => [entry.action, entry.targetId])).toEqual([['partner.update', partner.body.id], ['app.suspend', app.body.id]])
  })

  it('refuses a viewer\'s writes in the screens and through the API', async () => {
    const pending = await stack.admin('POST', '/admin/v1/partners', { name: unique('Hooli'), status: 'pending' })
    const page = await newPage()
    await signIn(page, await createOperator('viewer'))
    await openPartners(page)
    await page.getByText('You are signed in as a viewer').waitFor()
    const approve = page.getByRole('button', { name: `Approve ${pending.body.name as string}` })
    await expect(approve.isDisabled()).resolves.toBe(true)
    await screenshot(page, '15-viewer')
    // a viewer who re-enables the button in the browser's developer tools gets the API's refusal
    await approve.evaluate(button => { button.removeAttribute('disabled') })
    await approve.click()
    await page.getByRole('alert').filter({ hasText: 'A viewer may only read' }).waitFor()
    await screenshot(page, '16-viewer-write-refused')
    const statuses = await page.evaluate(async id => {
      const session = await (await fetch('/admin/v1/session')).json() as { csrfToken: string }
      const headers = { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken }
      return await Promise.all([
        fetch(`/admin/v1/partners/${id}`, { method: 'PATCH', headers, body: '{"status":"active"}' }).then(response => response.status),
        fetch('/admin/v1/plans', { method: 'POST', headers, body: '{"name":"viewer-plan"}' }).then(response => response.status),
        fetch('/admin/v1/signing-keys/rotate', { method: 'POST', headers: { 'x-csrf-token': session.csrfToken } }).then(response => response.status),
        fetch('/admin/v1/partners').then(response => response.status)
      ])
    }, pending.body.id as string)
    expect(statuses).toEqual([403, 403, 403, 200])
    expect((await stack.admin('GET', `/admin/v1/partners/${pending.body.id as string}`)).body.status).toBe('pending')
    await page.goto(`/console/apis/${ordersApiId}`)
    await expect(page.getByRole('button', { name: 'Set up CORS' }).isDisabled()).resolves.toBe(true)
  })

  it('keeps a partner\'s portal session out of the console and /admin/v1', async () => {
    const page = await newPage()
    await partnerSignsUp(page, unique('Partner Inc'))
    await page.goto('/console/')
    await page.getByRole('heading', { name: 'Operator sign-in' }).waitFor()
    await screenshot(page, '17-partner-session-at-console')
    const statuses = await page.evaluate(async () => await Promise.all(['/admin/v1/partners', '/admin/v1/session', '/admin/v1/audit'].map(async url => (await fetch(url)).status)))
    expect(statuses).toEqual([401, 401, 401])
  })

  it('edits an API\'s policies in forms: a denied address is refused by the gateway until the rule is removed, a listed origin\'s page reads the answers, a refused save changes nothing', async () => {
    const targets = await stack.admin('POST', '/admin/v1/upstreams', { name: 'storefront-service', targets: [{ url: upstream.url, weight: 1 }] })
    const storefront = await stack.admin('POST', '/admin/v1/apis', { name: 'Storefront', upstreamId: targets.body.id, auth: ['apikey'], routes: [{ path: '/storefront' }, { path: '/catalog', methods: ['GET'] }] })
    expect(storefront.status).toBe(201)
    const apiId = storefront.body.id as string
    const partner = await stack.admin('POST', '/admin/v1/partners', { name: unique('Shopify') })
    const app = (await stack.admin('POST', `/admin/v1/partners/${partner.body.id as string}/apps`, { name: 'shop-web' })).body
    const planId = (await stack.admin('GET', '/admin/v1/plans')).body.items[0].id
    expect((await stack.admin('POST', '/admin/v1/grants', { appId: app.id, apiId, planId })).status).toBe(201)
    expect(await callUntil(app.apiKey, '/storefront/1', 200)).toBe(200)
    // a web page on another origin that calls the API with the app's API key
    const shopPage = await newPage()
    await shopPage.goto(shop.url)
    const callFromShop = async (): Promise<string> => await shopPage.evaluate(async ({ url, apiKey }) => {
      try {
        const response = await fetch(url, { headers: { 'x-api-key': apiKey } })
        return `${response.status} ${(await response.json() as { url?: string }).url ?? ''}`
      } catch {
        return 'blocked'
      }
    }, { url: `${stack.gatewayUrls[0]}/storefront/from-shop`, apiKey: app.apiKey as string })
    expect(await callFromShop()).toBe('blocked')

    const page = await newPage()
    await signIn(page, await createOperator('admin'))
    await page.goto(`/console/apis/${apiId}`)
    await page.getByRole('heading', { name: 'Policies' }).waitFor()
    await expect(page.locator('[data-policy] .badge').allTextContents()).resolves.toEqual(['not set', 'not set', 'not set', 'not set'])

    const cors = page.locator('[data-policy="cors"]')
    await cors.getByRole('button', { name: 'Set up CORS' }).click()
    await cors.getByLabel('Origins', { exact: true }).fill(`${shop.url}\nhttps://Shop.Example.com`)
    await cors.getByLabel('OPTIONS').check()
    await cors.getByLabel('Request headers allowed').fill('x-api-key')
    await cors.getByLabel('Preflight cached for (seconds)').fill('120')
    await screenshot(page, '18-api-cors-form')
    await cors.getByRole('button', { name: 'Save CORS' }).click()
    await cors.getByText('https://shop.example.com', { exact: true }).waitFor()
    expect((await stack.admin('GET', `/admin/v1/apis/${apiId}`)).body.cors).toEqual({ origins: [shop.url, 'https://shop.example.com'], methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], headers: ['x-api-key'], maxAgeSeconds: 120 })
    await expect.poll(callFromShop, { timeout: 10_000, interval: 100 }).toBe('200 /storefront/from-shop')

    const ipRestriction = page.locator('[data-policy="ipRestriction"]')
    await ipRestriction.getByRole('button', { name: 'Set up IP restriction' }).click()
    await ipRestriction.getByLabel('Denied addresses').fill('127.0.0.1')
    await ipRestriction.getByRole('button', { name: 'Save IP restriction' }).click()
    await ipRestriction.getByText('127.0.0.1', { exact: true }).waitFor()
    expect(await callUntil(app.apiKey, '/storefront/2', 403)).toBe(403)
    const refused = await fetch(`${stack.gatewayUrls[0]}/storefront/3`, { headers: { 'x-api-key': app.apiKey } })
    expect(refused.status).toBe(403)
    expect((await refused.json() as any).error.code).toBe('IP_NOT_ALLOWED')

    // one bad entry: the API's message beside the form, the form as typed, the stored lists untouched
    await ipRestriction.getByRole('button', { name: 'Edit IP restriction' }).click()
    await ipRestriction.getByLabel('Allowed addresses').fill('10.0.0.0/8')
    await ipRestriction.getByLabel('Denied addresses').fill('127.0.0.1\n10.0.0.0/33')
    await ipRestriction.getByRole('button', { name: 'Save IP restriction' }).click()
    await ipRestriction.getByRole('form').getByRole('alert').filter({ hasText: 'ipRestriction.deny: 10.0.0.0/33 is not a CIDR: the prefix length of an IPv4 address is 0 to 32' }).waitFor()
    await expect(ipRestriction.getByLabel('Denied addresses').inputValue()).resolves.toBe('127.0.0.1\n10.0.0.0/33')
    expect((await stack.admin('GET', `/admin/v1/apis/${apiId}`)).body.ipRestriction).toEqual({ deny: ['127.0.0.1'] })
    await screenshot(page, '19-api-policy-refused')
    await ipRestriction.getByRole('button', { name: 'Cancel' }).click()

    const requestLimits = page.locator('[data-policy="requestLimits"]')
    await requestLimits.getByRole('button', { name: 'Set up Request limits' }).click()
    await requestLimits.getByLabel('Largest body (bytes)').fill('1048576')
    await requestLimits.getByLabel('Body media types').fill('application/json\nTEXT/*')
    await requestLimits.getByRole('button', { name: 'Save Request limits' }).click()
    await requestLimits.getByText('1 MiB').waitFor()
    expect((await stack.admin('GET', `/admin/v1/apis/${apiId}`)).body.requestLimits).toEqual({ maxBodyBytes: 1_048_576, contentTypes: ['application/json', 'text/*'] })

    const responseCache = page.locator('[data-policy="responseCache"]')
    await responseCache.getByRole('button', { name: 'Set up Response cache' }).click()
    await responseCache.getByLabel('Cache /catalog').check()
    await responseCache.getByLabel('Fresh for (seconds), /catalog').fill('300')
    await responseCache.getByLabel('Entries of /catalog').selectOption('shared')
    await responseCache.getByLabel('Fresh for, by default (seconds)').fill('30')
    await responseCache.screenshot({ path: `${SCREENSHOTS}/console-20-api-response-cache-form.png` })
    await responseCache.getByRole('button', { name: 'Save Response cache' }).click()
    await responseCache.getByText('fresh for 300 s, shared by every app').waitFor()
    expect((await stack.admin('GET', `/admin/v1/apis/${apiId}`)).body.responseCache).toEqual({ routes: [{ path: '/catalog', ttlSeconds: 300, public: true }], ttlSeconds: 30 })
    await expect(page.locator('[data-policy] .badge').allTextContents()).resolves.toEqual(['on', 'on', 'on', 'on'])
    await screenshot(page, '21-api-policies')

    await ipRestriction.getByRole('button', { name: 'Remove IP restriction' }).click()
    await confirm(page, /Remove the IP restriction of the API Storefront\?/)
    await ipRestriction.getByText('Every address may call the API.').waitFor()
    expect((await stack.admin('GET', `/admin/v1/apis/${apiId}`)).body.ipRestriction).toBeNull()
    expect(await callUntil(app.apiKey, '/storefront/4', 200)).toBe(200)

    // the app's own list, on the app's page
    await page.goto(`/console/apps/${app.id as string}`)
    const appIpRestriction = page.locator('[data-policy="ipRestriction"]')
    await appIpRestriction.getByRole('button', { name: 'Set up IP restriction' }).click()
    await appIpRestriction.getByLabel('Allowed addresses').fill('203.0.113.0/24')
    await appIpRestriction.getByRole('button', { name: 'Save IP restriction' }).click()
    await appIpRestriction.getByText('203.0.113.0/24', { exact: true }).waitFor()
    expect((await stack.admin('GET', `/admin/v1/apps/${app.id as string}`)).body.ipRestriction).toEqual({ allow: ['203.0.113.0/24'] })
    expect(await callUntil(app.apiKey, '/storefront/5', 403)).toBe(403)
    await screenshot(page, '22-app-policies')
  })
})
