// CORS per API through the real operator API and gateway: preflights answered by the
// gateway (never forwarded, authenticated or counted), refusals in the JSON error format,
// and the headers a browser needs on every actual response, refusals included.
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signRequest } from '../../helpers/sign-request.js'
import { provision, startStack, waitForPropagation, type Provisioned, type TestStack } from '../../helpers/stack.js'
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js'

const ORIGIN = 'https://app.example.com'
const PORTAL = 'http://portal.example.test:8081'

describe('CORS at the gateway', () => {
  let stack: TestStack
  let upstream: TestUpstream
  let gateway: string
  let withCors: Provisioned & { prefix: string }
  let withoutCors: Provisioned & { prefix: string }

  async function provisionApi (plan: Parameters<typeof provision>[1]['plan']): Promise<Provisioned & { prefix: string }> {
    const app = await provision(stack, { upstreamUrls: [upstream.url], plan })
    const api = await stack.admin('GET', `/admin/v1/apis/${app.apiId}`)
    return { ...app, prefix: api.body.routes[0].path }
  }

  function preflight (path: string, origin: string, method = 'GET', requestHeaders?: string): Promise<Response> {
    return fetch(gateway + path, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, ...(requestHeaders !== undefined ? { 'access-control-request-headers': requestHeaders } : {}) } })
  }

  async function recordedUsage (appId: string): Promise<{ calls: number, rejected: number }> {
    const rows = await stack.control.database.prisma.usageDaily.findMany({ where: { appId } })
    return { calls: rows.reduce((sum, row) => sum + Number(row.calls), 0), rejected: rows.reduce((sum, row) => sum + Number(row.rejected), 0) }
  }

  beforeAll(async () => {
    stack = await startStack({ database: 'pglite', redis: false })
    gateway = stack.gatewayUrls[0]
    upstream = await startUpstream('orders', (request, response) => {
      // an upstream that answers CORS on its own, which the gateway must not pass on for an API whose CORS it owns
      response.setHeader('access-control-allow-origin', '*')
      response.setHeader('vary', 'Accept-Encoding')
      response.setHeader('content-type', 'application/json')
      response.end(JSON.stringify({ method: request.method, url: request.url }))
    })
    withCors = await provisionApi({ quota: { perDay: 2 } })
    withoutCors = await provisionApi({})
    const patched = await stack.admin('PATCH', `/admin/v1/apis/${withCors.apiId}`, { cors: { origins: ['https://App.Example.COM'], portal: true, exposeHeaders: ['X-Order-Id'], maxAgeSeconds: 120 } })
    expect(patched.status, JSON.stringify(patched.body)).toBe(200)
    expect(patched.body.cors).toEqual({ origins: [ORIGIN], portal: true, exposeHeaders: ['X-Order-Id'], maxAgeSeconds: 120 })
    expect((await stack.admin('PUT', '/admin/v1/settings', { portalOrigin: PORTAL })).body.portalOrigin).toBe(PORTAL)
    await waitForPropagation(stack)
  })

  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
  })

  it('refuses CORS settings that allow nothing, too much or are malformed', async () => {
    const attempts = await Promise.all([
      { origins: '*', credentials: true },
      { origins: [] },
      { origins: ['https://app.example.com/path'] },
      { origins: ['*.example.com'] },
      { origins: '*', maxAgeSeconds: -1 }
    ].map(async cors => await stack.admin('PATCH', `/admin/v1/apis/${withoutCors.apiId}`, { cors })))
    for (const attempt of attempts) expect({ status: attempt.status, code: attempt.body.error.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' })
    expect(attempts[0].body.error.message).toMatch(/credentials cannot be combined/)
    expect((await stack.admin('GET', `/admin/v1/apis/${withoutCors.apiId}`)).body.cors).toBeNull()
    for (const portalOrigin of ['https://portal.example.com/portal', 'portal.example.com', '*']) {
      expect((await stack.admin('PUT', '/admin/v1/settings', { portalOrigin })).status).toBe(400)
    }
    expect((await stack.admin('GET', '/admin/v1/settings')).body.portalOrigin).toBe(PORTAL)
  })

  it('answers a preflight itself: no credentials asked, nothing forwarded, nothing counted against the quota', async () => {
    const before = upstream.received.length
    for (let index = 0; index < 5; index++) {
      const response = await preflight(`${withCors.prefix}/orders`, ORIGIN, 'POST', 'x-api-key, content-type')
      expect(response.status).toBe(204)
      expect(Object.fromEntries([...response.headers].filter(([name]) => name.startsWith('access-control-') || name === 'vary'))).toEqual({
        'access-control-allow-origin': ORIGIN,
        'access-control-allow-methods': 'GET, HEAD, POST, PUT, PATCH, DELETE',
        'access-control-allow-headers': 'x-api-key, content-type',
        'access-control-max-age': '120',
        vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers'
      })
      expect(await response.text()).toBe('')
    }
    expect(upstream.received.length).toBe(before)

    // the quota of 2 a day is still whole: two calls pass, the third is refused, and a page can read why
    for (let index = 0; index < 2; index++) {
      const call = await fetch(`${gateway}${withCors.prefix}/orders`, { headers: { origin: ORIGIN, 'x-api-key': withCors.apiKey } })
      expect(call.status).toBe(200)
      await call.text()
    }
    const refused = await fetch(`${gateway}${withCors.prefix}/orders`, { headers: { origin: ORIGIN, 'x-api-key': withCors.apiKey } })
    expect(refused.status).toBe(429)
    expect((await refused.json() as { error: { code: string } }).error.code).toBe('QUOTA_EXCEEDED')
    expect(refused.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    expect(refused.headers.get('access-control-expose-headers')?.split(', ')).toEqual(expect.arrayContaining(['retry-after', 'x-quota-remaining-day', 'x-order-id']))
    expect(upstream.received.filter(request => request.method === 'OPTIONS')).toEqual([])

    const deadline = Date.now() + 10_000
    while ((await recordedUsage(withCors.appId)).rejected < 1 && Date.now() < deadline) await sleep(50)
    await sleep(400)
    expect(await recordedUsage(withCors.appId)).toEqual({ calls: 2, rejected: 1 })
  })

  it('refuses a preflight from an origin the API does not allow with 403 CORS_ORIGIN_NOT_ALLOWED', async () => {
    const response = await preflight(`${withCors.prefix}/orders`, 'https://evil.example.com')
    expect(response.status).toBe(403)
    expect(response.headers.get('access-control-allow-origin')).toBeNull()
    expect(await response.json()).toEqual({ error: { code: 'CORS_ORIGIN_NOT_ALLOWED', message: expect.stringContaining('https://evil.example.com'), requestId: expect.any(String) } })
    const metrics = await (await fetch(`${gateway}/metrics`)).text()
    expect(metrics).toMatch(/gateway_rejections_total\{api="api-[0-9a-f]+",reason="CORS_ORIGIN_NOT_ALLOWED"\} [1-9]/)
    expect(metrics).toMatch(/gateway_requests_total\{api="api-[0-9a-f]+"[^}]*status="204"[^}]*outcome="preflight"\} 5/)
  })

  it("allows the portal's origin on an API that opts in", async () => {
    const response = await preflight(`${withCors.prefix}/orders`, PORTAL, 'GET', 'x-ca-key')
    expect(response.status).toBe(204)
    expect(response.headers.get('access-control-allow-origin')).toBe(PORTAL)
  })

  it('lets an allowed page read a 401, and the string-to-sign the gateway computed for a wrong signature', async () => {
    const missing = await fetch(`${gateway}${withCors.prefix}/orders`, { headers: { origin: ORIGIN } })
    expect(missing.status).toBe(401)
    expect((await missing.json() as { error: { code: string } }).error.code).toBe('MISSING_CREDENTIALS')
    expect(missing.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    expect(missing.headers.get('vary')).toBe('Origin')

    const path = `${withCors.prefix}/orders?b=2&a=1`
    const signed = signRequest({ method: 'GET', url: path }, withCors.key, 'not-the-secret')
    const badSignature = await fetch(gateway + path, { headers: { ...signed, origin: ORIGIN } })
    expect(badSignature.status).toBe(401)
    expect((await badSignature.json() as { error: { code: string } }).error.code).toBe('BAD_SIGNATURE')
    expect(badSignature.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    expect(badSignature.headers.get('access-control-expose-headers')?.split(', ')).toContain('x-ca-error-message')
    expect(badSignature.headers.get('x-ca-error-message')).toContain(`#${withCors.prefix}/orders?a=1&b=2`)
  })

  it("puts the gateway's CORS headers in place of the upstream's on a proxied answer", async () => {
    const response = await fetch(`${gateway}${withCors.prefix}/anything`, { headers: { origin: ORIGIN, 'x-api-key': withCors.apiKey } })
    await response.text()
    // the quota is used up by now; the refusal and the proxied answer carry the same CORS headers, so use the API without a quota
    const patched = await stack.admin('PATCH', `/admin/v1/apis/${withoutCors.apiId}`, { cors: { origins: [ORIGIN] } })
    expect(patched.status).toBe(200)
    await waitForPropagation(stack)
    const proxied = await fetch(`${gateway}${withoutCors.prefix}/anything`, { headers: { origin: ORIGIN, 'x-api-key': withoutCors.apiKey } })
    expect(proxied.status).toBe(200)
    expect(proxied.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    expect(proxied.headers.get('vary')).toBe('Accept-Encoding, Origin')
    await proxied.text()

    const other = await fetch(`${gateway}${withoutCors.prefix}/anything`, { headers: { origin: 'https://evil.example.com', 'x-api-key': withoutCors.apiKey } })
    expect(other.status).toBe(200)
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
    await other.text()

    expect((await stack.admin('PATCH', `/admin/v1/apis/${withoutCors.apiId}`, { cors: null })).body.cors).toBeNull()
    await waitForPropagation(stack)
  })

  it('leaves an API without CORS alone: an OPTIONS is routed like any request and answers carry no CORS headers', async () => {
    const response = await preflight(`${withoutCors.prefix}/orders`, ORIGIN)
    expect(response.status).toBe(401)
    expect((await response.json() as { error: { code: string } }).error.code).toBe('MISSING_CREDENTIALS')
    expect(response.headers.get('access-control-allow-origin')).toBeNull()

    const before = upstream.received.length
    const forwarded = await fetch(`${gateway}${withoutCors.prefix}/orders`, { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'GET', 'x-api-key': withoutCors.apiKey } })
    expect(forwarded.status).toBe(200)
    expect(upstream.received.slice(before).map(request => request.method)).toEqual(['OPTIONS'])
    // the upstream's own answer passes unchanged when the gateway does no CORS for the API
    expect(forwarded.headers.get('access-control-allow-origin')).toBe('*')
    expect(forwarded.headers.get('vary')).toBe('Accept-Encoding')
    await forwarded.text()
  })
})
