// Response caching per route through the real operator API and gateway: what is stored and
// served (RFC 9111 as a shared cache), that every answer from the cache has passed
// authentication, permission and the limits and counts as a call, purges that reach the
// gateways, the memory bound, and the Redis store shared by two gateways.
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseMetrics } from '../../helpers/metrics-text.js'
import { provision, startStack, waitForPropagation, type Provisioned, type TestStack } from '../../helpers/stack.js'
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js'

/**
 * The upstream answers by the path's first segment after the route: its Cache-Control,
 * Vary, cookie or status, with a body that says which call of that URL it is.
 */
function cacheTestUpstream (): (request: IncomingMessage, response: ServerResponse) => void {
  const calls = new Map<string, number>()
  return (request, response) => {
    const url = request.url ?? '/'
    const call = (calls.get(url) ?? 0) + 1
    calls.set(url, call)
    const kind = url.split('/')[1]?.split('?')[0]
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-upstream-call': String(call) }
    let status = 200
    if (kind === 'max-age-1') headers['cache-control'] = 'max-age=1'
    if (kind === 'no-store') headers['cache-control'] = 'no-store'
    if (kind === 'private') headers['cache-control'] = 'private, max-age=60'
    if (kind === 's-maxage-0') headers['cache-control'] = 'max-age=60, s-maxage=0'
    if (kind === 'cookie') headers['set-cookie'] = 'session=1'
    if (kind === 'vary-any') headers.vary = '*'
    if (kind === 'vary') headers.vary = 'Accept-Language'
    if (kind === 'missing') status = 404
    const body: Record<string, unknown> = { url, call }
    if (kind === 'vary') body.language = request.headers['accept-language'] ?? null
    if (kind === 'big' || kind === 'big-chunked') body.padding = 'x'.repeat(1200)
    response.writeHead(status, headers)
    const text = JSON.stringify(body)
    if (kind === 'big-chunked' || kind === 'slow') {
      // no Content-Length: the size is known only as the body streams
      response.write(text.slice(0, 10))
      setTimeout(() => { response.end(text.slice(10)) }, kind === 'slow' ? 500 : 0)
      return
    }
    response.end(text)
  }
}

interface Answer { status: number, cache: string | null, age: string | null, body: string, headers: Headers }

// one Host for every gateway, as behind a load balancer: the Host is part of the cache key
const HOST = 'api.example.test'

async function call (url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  const response = await request(url, { method: method as 'GET', headers: { host: HOST, ...headers } })
  const body = await response.body.text()
  const received = new Headers()
  for (const [name, value] of Object.entries(response.headers)) if (value !== undefined) received.set(name, Array.isArray(value) ? value.join(', ') : value)
  return { status: response.statusCode, cache: received.get('x-cache'), age: received.get('age'), body, headers: received }
}

/** A second app (its own partner) on an existing API; with a grant on the plan unless `grant` is false. */
async function addApp (stack: TestStack, apiId: string, planId: string, grant = true): Promise<{ appId: string, apiKey: string }> {
  const suffix = randomBytes(4).toString('hex')
  const partner = (await stack.admin('POST', '/admin/v1/partners', { name: `partner-${suffix}` })).body
  const app = (await stack.admin('POST', `/admin/v1/partners/${partner.id as string}/apps`, { name: `app-${suffix}` })).body
  if (grant) expect((await stack.admin('POST', '/admin/v1/grants', { appId: app.id, apiId, planId })).status).toBe(201)
  return { appId: app.id, apiKey: app.apiKey }
}

describe('response cache (memory store)', () => {
  let stack: TestStack
  let upstream: TestUpstream
  let gateway: string
  let api: Provisioned
  let prefix: string
  let publicPrefix: string
  let uncachedPrefix: string

  const upstreamCalls = (path: string): number => upstream.received.filter(request => request.url === path).length
  const withKey = (headers: Record<string, string> = {}): Record<string, string> => ({ 'x-api-key': api.apiKey, ...headers })

  beforeAll(async () => {
    stack = await startStack({ database: 'pglite', redis: false })
    gateway = stack.gatewayUrls[0]
    upstream = await startUpstream('cache', cacheTestUpstream())
    const suffix = randomBytes(4).toString('hex')
    prefix = `/cached-${suffix}`
    publicPrefix = `/public-${suffix}`
    uncachedPrefix = `/uncached-${suffix}`
    api = await provision(stack, {
      upstreamUrls: [upstream.url],
      routes: [{ path: prefix, stripPrefix: true }, { path: publicPrefix, stripPrefix: true }, { path: uncachedPrefix, stripPrefix: true }]
    })
    const patched = await stack.admin('PATCH', `/admin/v1/apis/${api.apiId}`, {
      responseCache: { routes: [{ path: `${prefix}/` }, { path: publicPrefix, public: true, ttlSeconds: 30 }], ttlSeconds: 60, maxBodyBytes: 1000 }
    })
    expect(patched.status, JSON.stringify(patched.body)).toBe(200)
    expect(patched.body.responseCache).toEqual({ routes: [{ path: prefix }, { path: publicPrefix, public: true, ttlSeconds: 30 }], ttlSeconds: 60, maxBodyBytes: 1000 })
    await waitForPropagation(stack)
  }, 120_000)

  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
  })

  it('refuses a configuration that lists a route twice or is malformed', async () => {
    const attempts = await Promise.all([
      { routes: [{ path: '/a' }, { path: '/a/' }] },
      { routes: [] },
      { routes: [{ path: 'no-slash' }] },
      { routes: [{ path: '/a' }], ttlSeconds: 0 },
      { routes: [{ path: '/a' }], maxBodyBytes: 100_000_000 }
    ].map(async responseCache => await stack.admin('PATCH', `/admin/v1/apis/${api.apiId}`, { responseCache })))
    for (const attempt of attempts) expect({ status: attempt.status, code: attempt.body.error.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' })
    expect(attempts[0].body.error.message).toMatch(/lists \/a twice/)
    expect((await stack.admin('GET', `/admin/v1/apis/${api.apiId}`)).body.responseCache.routes).toHaveLength(2)
  })

  it('answers a repeated GET from the cache: the upstream is called once, X-Cache says MISS then HIT, Age counts', async () => {
    const first = await call(`${gateway}${prefix}/plain/1?b=2&a=1`, withKey())
    expect(first).toMatchObject({ status: 200, cache: 'MISS', age: null })
    const second = await call(`${gateway}${prefix}/plain/1?a=1&b=2`, withKey())
    expect(second).toMatchObject({ status: 200, cache: 'HIT', body: first.body })
    expect(Number(second.age)).toBeGreaterThanOrEqual(0)
    expect(second.headers.get('content-type')).toBe('application/json')
    expect(second.headers.get('x-upstream-call')).toBe('1')
    // the answer from the cache names its own request, and carries this call's limit headers
    expect(second.headers.get('x-request-id')).not.toBe(first.headers.get('x-request-id'))
    expect(upstreamCalls('/plain/1?b=2&a=1') + upstreamCalls('/plain/1?a=1&b=2')).toBe(1)

    await sleep(1100)
    const later = await call(`${gateway}${prefix}/plain/1?a=1&b=2`, withKey())
    expect(later.cache).toBe('HIT')
    expect(Number(later.age)).toBeGreaterThanOrEqual(1)

    const samples = parseMetrics(await (await fetch(`${gateway}/metrics`)).text())
    const cached = samples.filter(sample => sample.name === 'gateway_requests_total' && sample.labels.outcome === 'cached' && sample.labels.status === '200')
    expect(cached.reduce((sum, sample) => sum + sample.value, 0)).toBeGreaterThanOrEqual(2)
  })

  it('leaves routes the configuration does not list, and methods other than GET and HEAD, alone', async () => {
    for (let index = 0; index < 2; index++) {
      const answer = await call(`${gateway}${uncachedPrefix}/plain/2`, withKey())
      expect({ status: answer.status, cache: answer.cache }).toEqual({ status: 200, cache: null })
      const posted = await call(`${gateway}${prefix}/plain/2`, withKey(), 'POST')
      expect({ status: posted.status, cache: posted.cache }).toEqual({ status: 200, cache: null })
    }
    expect(upstreamCalls('/plain/2')).toBe(4)
  })

  it('serves a HEAD from the entry a GET stored, and stores nothing from a HEAD', async () => {
    const got = await call(`${gateway}${prefix}/plain/3`, withKey())
    expect(got.cache).toBe('MISS')
    const head = await call(`${gateway}${prefix}/plain/3`, withKey(), 'HEAD')
    expect(head).toMatchObject({ status: 200, cache: 'HIT', body: '' })
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(got.body)))
    expect(upstreamCalls('/plain/3')).toBe(1)

    expect((await call(`${gateway}${prefix}/plain/4`, withKey(), 'HEAD')).cache).toBe('MISS')
    expect((await call(`${gateway}${prefix}/plain/4`, withKey(), 'HEAD')).cache).toBe('MISS')
    expect((await call(`${gateway}${prefix}/plain/4`, withKey())).cache).toBe('MISS')
    expect(upstream.received.filter(request => request.url === '/plain/4').map(request => request.method)).toEqual(['HEAD', 'HEAD', 'GET'])
  })

  it('keeps one variant per value of the headers Vary names', async () => {
    const english = await call(`${gateway}${prefix}/vary`, withKey({ 'accept-language': 'en' }))
    const german = await call(`${gateway}${prefix}/vary`, withKey({ 'accept-language': 'de' }))
    const none = await call(`${gateway}${prefix}/vary`, withKey())
    expect([english.cache, german.cache, none.cache]).toEqual(['MISS', 'MISS', 'MISS'])
    const again = await Promise.all([
      call(`${gateway}${prefix}/vary`, withKey({ 'accept-language': 'en' })),
      call(`${gateway}${prefix}/vary`, withKey({ 'accept-language': 'de' })),
      call(`${gateway}${prefix}/vary`, withKey())
    ])
    expect(again.map(answer => [answer.cache, JSON.parse(answer.body).language])).toEqual([['HIT', 'en'], ['HIT', 'de'], ['HIT', null]])
    expect(again[0].headers.get('vary')).toBe('Accept-Language')
    expect(upstreamCalls('/vary')).toBe(3)
  })

  it('does not store answers marked no-store, private or s-maxage=0, that set a cookie, vary by anything, or are not 200', async () => {
    for (const kind of ['no-store', 'private', 's-maxage-0', 'cookie', 'vary-any', 'missing']) {
      const answers = [await call(`${gateway}${prefix}/${kind}`, withKey()), await call(`${gateway}${prefix}/${kind}`, withKey())]
      expect(answers.map(answer => answer.cache), kind).toEqual(['MISS', 'MISS'])
      expect(upstreamCalls(`/${kind}`), kind).toBe(2)
    }
  })

  it('passes answers over maxBodyBytes on without storing them, whether their length is announced or not', async () => {
    for (const kind of ['big', 'big-chunked']) {
      const answers = [await call(`${gateway}${prefix}/${kind}`, withKey()), await call(`${gateway}${prefix}/${kind}`, withKey())]
      expect(answers.map(answer => [answer.status, answer.cache, answer.body.length > 1000]), kind).toEqual([[200, 'MISS', true], [200, 'MISS', true]])
    }
    expect(upstreamCalls('/big') + upstreamCalls('/big-chunked')).toBe(4)
  })

  it('stores nothing of an answer the client left before its end, and gives its upstream slot back', async () => {
    const response = await request(`${gateway}${prefix}/slow`, { headers: { host: HOST, ...withKey() } })
    expect(response.statusCode).toBe(200)
    for await (const _chunk of response.body) break
    const pools = stack.control.gateway?.pools
    const inFlight = (): number => [...pools?.pools ?? []].reduce((sum, pool) => sum + pool.concurrency.inFlight, 0)
    const deadline = Date.now() + 5000
    while (inFlight() > 0 && Date.now() < deadline) await sleep(20)
    expect(inFlight()).toBe(0)
    await sleep(600)
    const again = await call(`${gateway}${prefix}/slow`, withKey())
    expect({ cache: again.cache, call: again.headers.get('x-upstream-call') }).toEqual({ cache: 'MISS', call: '2' })
    // streamed in two pieces, to its end this time: stored
    expect((await call(`${gateway}${prefix}/slow`, withKey())).cache).toBe('HIT')
  })

  it('follows the request: no-cache goes to the upstream and refreshes the entry, no-store neither reads nor writes it, max-age bounds the age', async () => {
    const path = `${prefix}/plain/5`
    expect((await call(gateway + path, withKey())).cache).toBe('MISS')
    const refreshed = await call(gateway + path, withKey({ 'cache-control': 'no-cache' }))
    expect(refreshed.cache).toBe('MISS')
    expect(refreshed.headers.get('x-upstream-call')).toBe('2')
    const hit = await call(gateway + path, withKey())
    expect({ cache: hit.cache, call: hit.headers.get('x-upstream-call') }).toEqual({ cache: 'HIT', call: '2' })

    expect((await call(gateway + path, withKey({ 'cache-control': 'no-store' }))).cache).toBe('MISS')
    expect((await call(gateway + path, withKey())).headers.get('x-upstream-call')).toBe('2')

    await sleep(1100)
    const tooOld = await call(gateway + path, withKey({ 'cache-control': 'max-age=0' }))
    expect({ cache: tooOld.cache, call: tooOld.headers.get('x-upstream-call') }).toEqual({ cache: 'MISS', call: '4' })
  })

  it("serves an answer until its max-age has passed, then asks the upstream again", async () => {
    const path = `${prefix}/max-age-1/6`
    expect((await call(gateway + path, withKey())).cache).toBe('MISS')
    expect((await call(gateway + path, withKey())).cache).toBe('HIT')
    await sleep(1100)
    const expired = await call(gateway + path, withKey())
    expect({ cache: expired.cache, call: expired.headers.get('x-upstream-call') }).toEqual({ cache: 'MISS', call: '2' })
  })

  it('keeps entries per app unless the route is public', async () => {
    const other = await addApp(stack, api.apiId, api.planId)
    expect((await call(`${gateway}${prefix}/plain/7`, withKey())).cache).toBe('MISS')
    expect((await call(`${gateway}${prefix}/plain/7`, { 'x-api-key': other.apiKey })).cache).toBe('MISS')
    expect((await call(`${gateway}${prefix}/plain/7`, { 'x-api-key': other.apiKey })).cache).toBe('HIT')

    expect((await call(`${gateway}${publicPrefix}/plain/7`, withKey())).cache).toBe('MISS')
    expect((await call(`${gateway}${publicPrefix}/plain/7`, { 'x-api-key': other.apiKey })).cache).toBe('HIT')
    expect(upstreamCalls('/plain/7')).toBe(3)
  })

  it('never answers from the cache before authentication and permission', async () => {
    const path = `${publicPrefix}/plain/8`
    expect((await call(gateway + path, withKey())).cache).toBe('MISS')
    const anonymous = await call(gateway + path)
    expect({ status: anonymous.status, cache: anonymous.cache, code: JSON.parse(anonymous.body).error.code }).toEqual({ status: 401, cache: null, code: 'MISSING_CREDENTIALS' })
    const wrongKey = await call(gateway + path, { 'x-api-key': 'pgw_ak_not-a-key' })
    expect(wrongKey.status).toBe(401)
    const ungranted = await addApp(stack, api.apiId, api.planId, false)
    const forbidden = await call(gateway + path, { 'x-api-key': ungranted.apiKey })
    expect({ status: forbidden.status, cache: forbidden.cache }).toEqual({ status: 403, cache: null })
    expect(upstreamCalls('/plain/8')).toBe(1)
  })

  it('counts answers from the cache as calls: a used-up quota refuses them', async () => {
    const limited = await provision(stack, { upstreamUrls: [upstream.url], plan: { quota: { perDay: 3 } } })
    const route = (await stack.admin('GET', `/admin/v1/apis/${limited.apiId}`)).body.routes[0].path as string
    expect((await stack.admin('PATCH', `/admin/v1/apis/${limited.apiId}`, { responseCache: { routes: [{ path: route }] } })).status).toBe(200)
    await waitForPropagation(stack)
    const answers = []
    for (let index = 0; index < 4; index++) answers.push(await call(`${gateway}${route}/plain/9`, { 'x-api-key': limited.apiKey }))
    expect(answers.map(answer => [answer.status, answer.cache])).toEqual([[200, 'MISS'], [200, 'HIT'], [200, 'HIT'], [429, null]])
    expect(JSON.parse(answers[3].body).error.code).toBe('QUOTA_EXCEEDED')
    expect(answers[2].headers.get('x-quota-remaining-day')).toBe('0')

    const recorded = async (): Promise<number> => (await stack.control.database.prisma.usageDaily.findMany({ where: { appId: limited.appId } })).reduce((sum, row) => sum + Number(row.calls), 0)
    const deadline = Date.now() + 10_000
    while (await recorded() < 3 && Date.now() < deadline) await sleep(50)
    expect(await recorded()).toBe(3)
  })

  it('purges an API through the operator API: the gateway asks the upstream again, and the purge is audited', async () => {
    const path = `${prefix}/plain/10`
    expect((await call(gateway + path, withKey())).cache).toBe('MISS')
    expect((await call(gateway + path, withKey())).cache).toBe('HIT')
    const purged = await stack.admin('POST', `/admin/v1/apis/${api.apiId}/cache/purge`)
    expect(purged.status).toBe(204)
    await waitForPropagation(stack)
    const after = await call(gateway + path, withKey())
    expect({ cache: after.cache, call: after.headers.get('x-upstream-call') }).toEqual({ cache: 'MISS', call: '2' })
    expect((await call(gateway + path, withKey())).cache).toBe('HIT')

    const audit = await stack.admin('GET', `/admin/v1/audit?targetId=${api.apiId}`)
    expect(audit.body.items.map((entry: { action: string }) => entry.action)).toContain('api.cache.purge')
    expect((await stack.admin('POST', '/admin/v1/apis/00000000-0000-7000-8000-000000000000/cache/purge')).status).toBe(404)
  })
})

describe('response cache memory bound', () => {
  let stack: TestStack
  let upstream: TestUpstream

  beforeAll(async () => {
    stack = await startStack({ database: 'pglite', redis: false, config: { responseCacheMaxBytes: 4096 } })
    upstream = await startUpstream('cache', cacheTestUpstream())
  }, 120_000)

  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
  })

  it('evicts the least recently used answers past responseCacheMaxBytes', async () => {
    const api = await provision(stack, { upstreamUrls: [upstream.url] })
    const route = (await stack.admin('GET', `/admin/v1/apis/${api.apiId}`)).body.routes[0].path as string
    expect((await stack.admin('PATCH', `/admin/v1/apis/${api.apiId}`, { responseCache: { routes: [{ path: route }] } })).status).toBe(200)
    await waitForPropagation(stack)
    const url = (name: string): string => `${stack.gatewayUrls[0]}${route}/big/${name}`
    const headers = { 'x-api-key': api.apiKey }
    // each answer is about 1.4 kB with its headers: two fit in 4 kB, the third pushes out the oldest
    expect((await call(url('a'), headers)).cache).toBe('MISS')
    expect((await call(url('b'), headers)).cache).toBe('MISS')
    expect((await call(url('a'), headers)).cache).toBe('HIT')
    expect((await call(url('c'), headers)).cache).toBe('MISS')
    expect((await call(url('a'), headers)).cache).toBe('HIT')
    expect((await call(url('c'), headers)).cache).toBe('HIT')
    expect((await call(url('b'), headers)).cache).toBe('MISS')
  })
})

describe('response cache in Redis', () => {
  let stack: TestStack
  let upstream: TestUpstream

  beforeAll(async () => {
    stack = await startStack({ database: 'postgresql', redis: true, extraGateways: 1, config: { responseCacheStore: 'redis' } })
    upstream = await startUpstream('cache', cacheTestUpstream())
  }, 120_000)

  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
  })

  it('shares answers between gateways, and a purge reaches them all', async () => {
    const api = await provision(stack, { upstreamUrls: [upstream.url] })
    const route = (await stack.admin('GET', `/admin/v1/apis/${api.apiId}`)).body.routes[0].path as string
    expect((await stack.admin('PATCH', `/admin/v1/apis/${api.apiId}`, { responseCache: { routes: [{ path: route }] } })).status).toBe(200)
    await waitForPropagation(stack)
    const [first, second] = stack.gatewayUrls
    const headers = { 'x-api-key': api.apiKey }
    expect((await call(`${first}${route}/vary`, { ...headers, 'accept-language': 'fr' })).cache).toBe('MISS')
    const shared = await call(`${second}${route}/vary`, { ...headers, 'accept-language': 'fr' })
    expect({ cache: shared.cache, language: JSON.parse(shared.body).language }).toEqual({ cache: 'HIT', language: 'fr' })
    expect((await call(`${second}${route}/vary`, { ...headers, 'accept-language': 'it' })).cache).toBe('MISS')
    expect((await call(`${first}${route}/vary`, { ...headers, 'accept-language': 'it' })).cache).toBe('HIT')

    expect((await stack.admin('POST', `/admin/v1/apis/${api.apiId}/cache/purge`)).status).toBe(204)
    await waitForPropagation(stack)
    expect((await call(`${first}${route}/vary`, { ...headers, 'accept-language': 'fr' })).cache).toBe('MISS')
    expect((await call(`${second}${route}/vary`, { ...headers, 'accept-language': 'it' })).cache).toBe('MISS')
    expect((await call(`${second}${route}/vary`, { ...headers, 'accept-language': 'fr' })).cache).toBe('HIT')
    expect(upstream.received.filter(request => request.url === '/vary').length).toBe(4)
  })
})
