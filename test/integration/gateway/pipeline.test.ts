// The gateway's request pipeline end to end over real HTTP: control API → snapshot →
// auth → permission → limits → proxy, on PostgreSQL + Redis and on the embedded default.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signRequest } from '../../helpers/sign-request.js'
import { provision, startStack, waitForPropagation, type Provisioned, type TestStack } from '../../helpers/stack.js'
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js'

const SETUPS = [
  { name: 'PostgreSQL + Redis', database: 'postgresql' as const, redis: true },
  { name: 'embedded PGlite + in-memory counters', database: 'pglite' as const, redis: false }
]

describe.each(SETUPS)('gateway pipeline on $name', setup => {
  let stack: TestStack
  let upstream: TestUpstream
  let app: Provisioned
  let prefix: string
  let gateway: string

  beforeAll(async () => {
    stack = await startStack({ database: setup.database, redis: setup.redis })
    upstream = await startUpstream()
    app = await provision(stack, { upstreamUrls: [upstream.url], plan: { rateLimit: { perSecond: 1000, burst: 1000 } } })
    const api = await stack.admin('GET', `/admin/v1/apis/${app.apiId}`)
    prefix = api.body.routes[0].path
    gateway = stack.gatewayUrls[0]
    await waitForPropagation(stack)
  })
  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
  })

  async function signedFetch (method: string, pathAndQuery: string, init: { body?: string, headers?: Record<string, string>, secret?: string, timestamp?: number, nonce?: string, signedHeaders?: string[], contentMd5?: boolean } = {}): Promise<Response> {
    const headers = signRequest({ method, url: pathAndQuery, headers: init.headers, body: init.body }, app.key, init.secret ?? app.secret, {
      timestamp: init.timestamp, nonce: init.nonce, signedHeaders: init.signedHeaders, contentMd5: init.contentMd5
    })
    return await fetch(gateway + pathAndQuery, { method, headers, body: init.body })
  }

  it('proxies a call made with an API key and tells the upstream who called', async () => {
    const response = await fetch(`${gateway}${prefix}/orders/7?expand=items`, { headers: { 'x-api-key': app.apiKey, 'x-app-id': 'forged', 'x-partner-id': 'forged' } })
    expect(response.status).toBe(200)
    const echoed = await response.json() as { url: string, headers: Record<string, string> }
    expect(echoed.url).toBe('/orders/7?expand=items')
    expect(echoed.headers['x-app-id']).toBe(app.appId)
    expect(echoed.headers['x-partner-id']).toBe(app.partnerId)
    expect(echoed.headers['x-request-id']).toMatch(/\S+/)
    expect(echoed.headers['x-api-key']).toBeUndefined()
    expect(response.headers.get('x-ratelimit-limit')).toBe('1000')
  })

  it('keeps a valid incoming X-Request-Id', async () => {
    const response = await fetch(`${gateway}${prefix}/id`, { headers: { 'x-api-key': app.apiKey, 'x-request-id': 'trace-123' } })
    const echoed = await response.json() as { headers: Record<string, string> }
    expect(echoed.headers['x-request-id']).toBe('trace-123')
  })

  it('accepts an HMAC-signed GET with a query string and strips the signature headers', async () => {
    const response = await signedFetch('GET', `${prefix}/orders?b=2&a=1&empty=`)
    expect(response.status).toBe(200)
    const echoed = await response.json() as { headers: Record<string, string> }
    expect(Object.keys(echoed.headers).filter(name => name.startsWith('x-ca-'))).toEqual([])
  })

  it('accepts a signed POST with a JSON body and Content-MD5', async () => {
    const body = JSON.stringify({ item: 'book', quantity: 2 })
    const response = await signedFetch('POST', `${prefix}/orders`, { body, headers: { 'Content-Type': 'application/json' }, contentMd5: true })
    expect(response.status).toBe(200)
    expect(((await response.json()) as { body: string }).body).toBe(body)
  })

  it('rejects a body that does not match its signed Content-MD5', async () => {
    const headers = signRequest({ method: 'POST', url: `${prefix}/orders`, headers: { 'Content-Type': 'application/json' }, body: '{"a":1}' }, app.key, app.secret, { contentMd5: true })
    const response = await fetch(`${gateway}${prefix}/orders`, { method: 'POST', headers, body: '{"a":2}' })
    expect(response.status).toBe(401)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('BAD_SIGNATURE')
  })

  it('accepts a signed form POST whose parameters are part of the signature, and forwards the body', async () => {
    const body = 'name=Widget&count=3&note='
    const response = await signedFetch('POST', `${prefix}/forms?z=1`, { body, headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8' } })
    expect(response.status).toBe(200)
    expect(((await response.json()) as { body: string }).body).toBe(body)
  })

  it('accepts extra signed headers, including an empty one', async () => {
    const response = await signedFetch('GET', `${prefix}/h`, { headers: { 'X-Custom-Trace': 'abc', 'X-Empty': '' }, signedHeaders: ['X-Custom-Trace', 'X-Empty'] })
    expect(response.status).toBe(200)
  })

  it('answers a wrong secret with BAD_SIGNATURE and the server string-to-sign, never the secret', async () => {
    const response = await signedFetch('GET', `${prefix}/orders?a=1`, { secret: 'not-the-secret' })
    expect(response.status).toBe(401)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('BAD_SIGNATURE')
    const header = response.headers.get('x-ca-error-message') ?? ''
    expect(header).toContain(`GET#`)
    expect(header).toContain(`${prefix}/orders?a=1`)
    expect(header).not.toContain(app.secret)
  })

  it('rejects a timestamp outside the window and a replayed nonce', async () => {
    const stale = await signedFetch('GET', `${prefix}/t`, { timestamp: Date.now() - 16 * 60_000 })
    expect(((await stale.json()) as { error: { code: string } }).error.code).toBe('EXPIRED_TIMESTAMP')
    const future = await signedFetch('GET', `${prefix}/t`, { timestamp: Date.now() + 16 * 60_000 })
    expect(((await future.json()) as { error: { code: string } }).error.code).toBe('EXPIRED_TIMESTAMP')
    const first = await signedFetch('GET', `${prefix}/t`, { nonce: 'nonce-once' })
    expect(first.status).toBe(200)
    const replay = await signedFetch('GET', `${prefix}/t`, { nonce: 'nonce-once' })
    expect(replay.status).toBe(401)
    expect(((await replay.json()) as { error: { code: string } }).error.code).toBe('REPLAYED_NONCE')
  })

  it('refuses a replay signed near the window edge as a replay, then as expired: never served twice', async () => {
    // the nonce is kept only until its signed timestamp leaves the 15-minute window
    const headers = signRequest({ method: 'GET', url: `${prefix}/edge` }, app.key, app.secret, { timestamp: Date.now() - 15 * 60_000 + 1_500 })
    expect((await fetch(`${gateway}${prefix}/edge`, { headers })).status).toBe(200)
    const replay = await fetch(`${gateway}${prefix}/edge`, { headers })
    expect(((await replay.json()) as { error: { code: string } }).error.code).toBe('REPLAYED_NONCE')
    await new Promise(resolve => setTimeout(resolve, 2_500))
    const late = await fetch(`${gateway}${prefix}/edge`, { headers })
    expect(late.status).toBe(401)
    expect(((await late.json()) as { error: { code: string } }).error.code).toBe('EXPIRED_TIMESTAMP')
  })

  it('answers missing and unknown credentials with 401', async () => {
    const missing = await fetch(`${gateway}${prefix}/x`)
    expect(missing.status).toBe(401)
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('MISSING_CREDENTIALS')
    const unknown = await fetch(`${gateway}${prefix}/x`, { headers: { 'x-api-key': 'pgw_ak_unknown' } })
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('UNKNOWN_KEY')
  })

  it('answers unknown routes with 404 and never lets a path escape its route prefix', async () => {
    const unknown = await fetch(`${gateway}/no-such-api/x`, { headers: { 'x-api-key': app.apiKey } })
    expect(unknown.status).toBe(404)
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('ROUTE_NOT_FOUND')
    for (const attempt of [`${prefix}/../admin`, `${prefix}/%2e%2e/admin`, `${prefix}/..%2f..%2fadmin`]) {
      const response = await fetch(`${gateway}${attempt}`, { headers: { 'x-api-key': app.apiKey } })
      expect([400, 404]).toContain(response.status)
    }
    const before = upstream.received.length
    const inside = await fetch(`${gateway}${prefix}/a/../b`, { headers: { 'x-api-key': app.apiKey } })
    expect(inside.status).toBe(200)
    expect(upstream.received.slice(before)[0]?.url).toBe('/b')
  })

  it('forbids an app without a grant, and a suspended app, within a second of the change', async () => {
    const other = await provision(stack, { upstreamUrls: [upstream.url], grant: false })
    const otherPrefix = (await stack.admin('GET', `/admin/v1/apis/${other.apiId}`)).body.routes[0].path
    await waitForPropagation(stack)
    const notGranted = await fetch(`${gateway}${otherPrefix}/x`, { headers: { 'x-api-key': other.apiKey } })
    expect(notGranted.status).toBe(403)
    expect(((await notGranted.json()) as { error: { code: string } }).error.code).toBe('NOT_GRANTED')
    const crossApp = await fetch(`${gateway}${otherPrefix}/x`, { headers: { 'x-api-key': app.apiKey } })
    expect(crossApp.status).toBe(403)

    expect((await stack.admin('PATCH', `/admin/v1/apps/${app.appId}`, { status: 'suspended' })).status).toBe(200)
    const started = Date.now()
    let status = 0
    while (Date.now() - started < 1000) {
      status = (await fetch(`${gateway}${prefix}/x`, { headers: { 'x-api-key': app.apiKey } })).status
      if (status === 403) break
    }
    expect(status).toBe(403)
    await stack.admin('PATCH', `/admin/v1/apps/${app.appId}`, { status: 'active' })
    await waitForPropagation(stack)
    expect((await fetch(`${gateway}${prefix}/x`, { headers: { 'x-api-key': app.apiKey } })).status).toBe(200)
  })

  it('stops accepting a revoked credential and keeps a rotated one working for its overlap', async () => {
    const own = await provision(stack, { upstreamUrls: [upstream.url] })
    const ownPrefix = (await stack.admin('GET', `/admin/v1/apis/${own.apiId}`)).body.routes[0].path
    const rotated = await stack.admin('POST', `/admin/v1/apps/${own.appId}/credentials`, { overlapSeconds: 3600 })
    expect(rotated.status).toBe(201)
    await waitForPropagation(stack)
    expect((await fetch(`${gateway}${ownPrefix}/x`, { headers: { 'x-api-key': own.apiKey } })).status).toBe(200)
    expect((await fetch(`${gateway}${ownPrefix}/x`, { headers: { 'x-api-key': rotated.body.apiKey } })).status).toBe(200)
    expect((await stack.admin('DELETE', `/admin/v1/apps/${own.appId}/credentials/${own.key}`)).status).toBe(204)
    await waitForPropagation(stack)
    const revoked = await fetch(`${gateway}${ownPrefix}/x`, { headers: { 'x-api-key': own.apiKey } })
    expect(revoked.status).toBe(401)
    expect(((await revoked.json()) as { error: { code: string } }).error.code).toBe('UNKNOWN_KEY')
    expect((await fetch(`${gateway}${ownPrefix}/x`, { headers: { 'x-api-key': rotated.body.apiKey } })).status).toBe(200)
  })

  it('revoking a grant forbids the app at once', async () => {
    const own = await provision(stack, { upstreamUrls: [upstream.url] })
    const ownPrefix = (await stack.admin('GET', `/admin/v1/apis/${own.apiId}`)).body.routes[0].path
    await waitForPropagation(stack)
    expect((await fetch(`${gateway}${ownPrefix}/x`, { headers: { 'x-api-key': own.apiKey } })).status).toBe(200)
    expect((await stack.admin('PATCH', `/admin/v1/grants/${own.grantId as string}`, { status: 'revoked' })).status).toBe(200)
    await waitForPropagation(stack)
    expect((await fetch(`${gateway}${ownPrefix}/x`, { headers: { 'x-api-key': own.apiKey } })).status).toBe(403)
  })

  it('rate-limits with 429, Retry-After and the IETF headers, and counts usage per day', async () => {
    const limited = await provision(stack, { upstreamUrls: [upstream.url], plan: { rateLimit: { perSecond: 1, burst: 3 } } })
    const limitedPrefix = (await stack.admin('GET', `/admin/v1/apis/${limited.apiId}`)).body.routes[0].path
    await waitForPropagation(stack)
    const statuses: number[] = []
    let rejected: Response | undefined
    for (let index = 0; index < 5; index++) {
      const response = await fetch(`${gateway}${limitedPrefix}/x`, { headers: { 'x-api-key': limited.apiKey } })
      statuses.push(response.status)
      if (response.status === 429) rejected = response
    }
    expect(statuses.filter(status => status === 200)).toHaveLength(3)
    expect(rejected).toBeDefined()
    expect(Number(rejected?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(rejected?.headers.get('ratelimit-policy')).toMatch(/q=3/)
    expect(rejected?.headers.get('ratelimit')).toMatch(/r=0/)
    expect(((await rejected?.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED')

    const deadline = Date.now() + 3000
    let usage: { calls: number, rejected: number } | undefined
    while (Date.now() < deadline) {
      const response = await stack.admin('GET', `/admin/v1/apps/${limited.appId}/usage`)
      usage = response.body.items[0]
      if (usage?.calls === 3 && usage?.rejected === 2) break
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    expect(usage).toMatchObject({ calls: 3, rejected: 2 })
  })

  it('enforces a daily quota with QUOTA_EXCEEDED and the reset time', async () => {
    const quota = await provision(stack, { upstreamUrls: [upstream.url], plan: { quota: { perDay: 2 } } })
    const quotaPrefix = (await stack.admin('GET', `/admin/v1/apis/${quota.apiId}`)).body.routes[0].path
    await waitForPropagation(stack)
    for (let index = 0; index < 2; index++) {
      expect((await fetch(`${gateway}${quotaPrefix}/x`, { headers: { 'x-api-key': quota.apiKey } })).status).toBe(200)
    }
    const over = await fetch(`${gateway}${quotaPrefix}/x`, { headers: { 'x-api-key': quota.apiKey } })
    expect(over.status).toBe(429)
    const body = await over.json() as { error: { code: string, message: string } }
    expect(body.error.code).toBe('QUOTA_EXCEEDED')
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)
    expect(body.error.message).toContain(tomorrow)
  })
})
