// Upstream health and concurrency caps through the whole gateway, against real upstream
// servers that hang, reset connections and hold answers: one bad endpoint or one greedy app
// must never take an upstream away from everyone else.
import { randomBytes } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { UpstreamPool } from '../../../src/gateway/proxy/upstream-pool.js'
import { provision, startStack, waitForPropagation, type JsonResponse, type TestStack } from '../../helpers/stack.js'
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js'

const EJECTION_MS = 600

function expectStatus (response: JsonResponse, status: number): any {
  if (response.status !== status) throw new Error(`expected ${status}, got ${response.status} ${JSON.stringify(response.body)}`)
  return response.body
}

async function routeOf (stack: TestStack, apiId: string): Promise<string> {
  return (await stack.admin('GET', `/admin/v1/apis/${apiId}`)).body.routes[0].path
}

async function until (condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

describe('upstream health and concurrency caps', () => {
  let stack: TestStack
  const upstreams: TestUpstream[] = []

  beforeAll(async () => {
    stack = await startStack({
      database: 'pglite',
      redis: false,
      config: { upstreamMaxConcurrentRequests: 6, upstreamAppSharePercent: 50, upstreamEjectionMs: EJECTION_MS, upstreamMaxEjectionMs: 10 * EJECTION_MS }
    })
  })
  afterAll(async () => {
    await stack?.close()
    for (const upstream of upstreams) await upstream.close()
  })

  async function upstream (name: string, handler?: Parameters<typeof startUpstream>[1]): Promise<TestUpstream> {
    const started = await startUpstream(name, handler)
    upstreams.push(started)
    return started
  }

  /** Another app (of its own partner) with a grant for the API on the given plan. */
  async function addApp (apiId: string, planId: string): Promise<{ appId: string, apiKey: string }> {
    const suffix = randomBytes(4).toString('hex')
    const partner = expectStatus(await stack.admin('POST', '/admin/v1/partners', { name: `partner-${suffix}` }), 201)
    const app = expectStatus(await stack.admin('POST', `/admin/v1/partners/${partner.id as string}/apps`, { name: `app-${suffix}` }), 201)
    expectStatus(await stack.admin('POST', '/admin/v1/grants', { appId: app.id, apiId, planId }), 201)
    return { appId: app.id, apiKey: app.apiKey }
  }

  function poolOf (upstreamId: string): UpstreamPool {
    const pool = stack.control.gateway?.pools.get(upstreamId)
    if (pool === undefined) throw new Error(`no pool for upstream ${upstreamId}`)
    return pool
  }

  async function metric (line: RegExp): Promise<number | undefined> {
    const text = await (await fetch(`${stack.gatewayUrls[0]}/metrics`)).text()
    const found = text.split('\n').find(candidate => line.test(candidate))
    return found === undefined ? undefined : Number(found.split(' ').at(-1))
  }

  async function call (url: string, apiKey: string, options: { signal?: AbortSignal, method?: string } = {}): Promise<{ status: number, body: any }> {
    const response = await fetch(url, { headers: { 'x-api-key': apiKey }, ...options })
    const text = await response.text()
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text) }
  }

  it('keeps answering a healthy API while another API on the same single-target upstream times out again and again', async () => {
    // /hang never answers: every call to it ends in the gateway's response timeout
    const shared = await upstream('shared', (request, response) => {
      if (request.url?.startsWith('/hang') === true) return
      response.end(JSON.stringify({ upstream: 'shared' }))
    })
    const slowApi = await provision(stack, { upstreamUrls: [shared.url], upstream: { timeouts: { connectMs: 1000, responseMs: 150 } } })
    const suffix = randomBytes(4).toString('hex')
    const healthyApi = expectStatus(await stack.admin('POST', '/admin/v1/apis', { name: `api-${suffix}`, upstreamId: slowApi.upstreamId, auth: ['apikey'], routes: [{ path: `/${suffix}`, stripPrefix: true }] }), 201)
    const healthyCaller = await addApp(healthyApi.id, slowApi.planId)
    await waitForPropagation(stack)
    const slowUrl = `${stack.gatewayUrls[0]}${await routeOf(stack, slowApi.apiId)}/hang`
    const healthyUrl = `${stack.gatewayUrls[0]}/${suffix}/orders`

    const timedOut: number[] = []
    const healthy: number[] = []
    let hanging = true
    const slowCalls = (async () => {
      // three at a time (the app's whole share): their timeouts come in a row, with no success between them
      for (let round = 0; round < 2; round++) timedOut.push(...(await Promise.all([1, 2, 3].map(async () => (await call(slowUrl, slowApi.apiKey)).status))))
      hanging = false
    })()
    while (hanging) healthy.push((await call(healthyUrl, healthyCaller.apiKey)).status)
    await slowCalls

    expect(timedOut).toEqual(Array(6).fill(504))
    expect(healthy.length).toBeGreaterThan(6)
    expect(new Set(healthy)).toEqual(new Set([200]))
    expect(poolOf(slowApi.upstreamId).targets[0].health.isAvailable(Date.now())).toBe(true)
    const upstreamName = poolOf(slowApi.upstreamId).definition.name
    expect(await metric(new RegExp(`^gateway_upstream_ejections_total\\{upstream="${upstreamName}"`))).toBeUndefined()
    expect(await metric(new RegExp(`^gateway_upstream_target_healthy\\{upstream="${upstreamName}",target="${shared.url}"\\}`))).toBe(1)
  })

  it('ejects a target that resets connections, serves from the other, and takes it back after its ejection or a passing probe', async () => {
    let resetting = true
    const flaky = await upstream('flaky', (request, response) => {
      if (resetting) request.socket.destroy()
      else response.end(JSON.stringify({ upstream: 'flaky' }))
    })
    const steady = await upstream('steady')
    const app = await provision(stack, { upstreamUrls: [flaky.url, steady.url], upstream: { healthCheck: { path: '/health', intervalMs: 600_000, healthyThreshold: 1, unhealthyThreshold: 100 } } })
    await waitForPropagation(stack)
    const url = `${stack.gatewayUrls[0]}${await routeOf(stack, app.apiId)}/orders`
    const pool = poolOf(app.upstreamId)
    const flakyTarget = pool.targets.find(target => target.url === flaky.url)
    const name = pool.definition.name
    const ejections = new RegExp(`^gateway_upstream_ejections_total\\{upstream="${name}",cause="failures"\\}`)
    const flakyHealthy = new RegExp(`^gateway_upstream_target_healthy\\{upstream="${name}",target="${flaky.url}"\\}`)
    const servedBy = async (count: number): Promise<string[]> => {
      const bodies: string[] = []
      for (let index = 0; index < count; index++) {
        const response = await call(url, app.apiKey)
        expect(response.status).toBe(200)
        bodies.push(response.body.upstream)
      }
      return bodies
    }

    // every GET that hits the resetting target is retried on the other one
    expect(new Set(await servedBy(8))).toEqual(new Set(['steady']))
    expect(flakyTarget?.health.isAvailable(Date.now())).toBe(false)
    expect(await metric(ejections)).toBe(1)
    expect(await metric(flakyHealthy)).toBe(0)
    const reachedWhileEjected = flaky.received.length
    await servedBy(6)
    expect(flaky.received.length).toBe(reachedWhileEjected)

    resetting = false
    await new Promise(resolve => setTimeout(resolve, EJECTION_MS + 100))
    expect(await servedBy(6)).toContain('flaky')
    expect(await metric(flakyHealthy)).toBe(1)

    // ejected again, now for twice as long: a passing probe takes it back at once
    resetting = true
    await servedBy(8)
    expect(flakyTarget?.health.isAvailable(Date.now())).toBe(false)
    expect(await metric(ejections)).toBe(2)
    resetting = false
    await pool.probe({ path: '/health', healthyThreshold: 1, unhealthyThreshold: 100 })
    expect(await servedBy(4)).toContain('flaky')
    expect(await metric(flakyHealthy)).toBe(1)
  })

  it('ejects a target that answers 503 itself, but not one whose endpoint answers 500', async () => {
    const overloaded = await upstream('overloaded', (request, response) => {
      response.statusCode = request.url?.startsWith('/broken') === true ? 500 : 503
      response.end(JSON.stringify({ upstream: 'overloaded' }))
    })
    const steady = await upstream('steady')
    const app = await provision(stack, { upstreamUrls: [overloaded.url, steady.url] })
    await waitForPropagation(stack)
    const prefix = `${stack.gatewayUrls[0]}${await routeOf(stack, app.apiId)}`
    const pool = poolOf(app.upstreamId)
    const overloadedTarget = pool.targets.find(target => target.url === overloaded.url)
    for (let index = 0; index < 10; index++) await call(`${prefix}/broken`, app.apiKey)
    expect(overloadedTarget?.health.isAvailable(Date.now())).toBe(true)
    const statuses: number[] = []
    for (let index = 0; index < 10; index++) statuses.push((await call(`${prefix}/orders`, app.apiKey)).status)
    // 503s are answers, passed on as they are: three in a row take the target out
    expect(statuses.filter(status => status === 503)).toHaveLength(3)
    expect(statuses.slice(-4)).toEqual([200, 200, 200, 200])
    expect(overloadedTarget?.health.isAvailable(Date.now())).toBe(false)
  })

  it('refuses an app over its share with 429 and everyone with 503 when the upstream is full, and frees every slot however requests end', async () => {
    const held = new Map<string, ServerResponse>()
    const holding = await upstream('holding', (request, response) => {
      if (request.url?.startsWith('/hold/') === true) held.set(request.url.slice('/hold/'.length), response)
      else response.end(JSON.stringify({ upstream: 'holding' }))
    })
    const first = await provision(stack, { upstreamUrls: [holding.url], upstream: { timeouts: { connectMs: 1000, responseMs: 10_000 } } })
    const second = await addApp(first.apiId, first.planId)
    const third = await addApp(first.apiId, first.planId)
    await waitForPropagation(stack)
    const prefix = `${stack.gatewayUrls[0]}${await routeOf(stack, first.apiId)}`
    const pool = poolOf(first.upstreamId)
    const abort = new AbortController()

    // the first app takes its whole share (3 of 6), the second one fills the upstream
    const firstCalls = [
      call(`${prefix}/hold/aborted`, first.apiKey, { signal: abort.signal }).catch(() => undefined),
      // not idempotent, so the cut connection is not retried
      call(`${prefix}/hold/cut`, first.apiKey, { method: 'POST' }),
      call(`${prefix}/hold/answered`, first.apiKey)
    ]
    await until(() => held.size === 3, 'three held requests')
    const overShare = await call(`${prefix}/x`, first.apiKey)
    expect(overShare.status).toBe(429)
    expect(overShare.body.error).toEqual({ code: 'TOO_MANY_CONCURRENT_REQUESTS', message: expect.stringContaining('3 requests in flight'), requestId: expect.any(String) })
    const secondCalls = Array.from({ length: 3 }, async (_, index) => await call(`${prefix}/hold/second-${index}`, second.apiKey))
    await until(() => held.size === 6, 'six held requests')
    expect(pool.concurrency.inFlight).toBe(6)
    const busy = await call(`${prefix}/x`, third.apiKey)
    expect(busy.status).toBe(503)
    expect(busy.body.error).toEqual({ code: 'UPSTREAM_BUSY', message: expect.stringContaining('6 requests in flight'), requestId: expect.any(String) })
    expect((await call(`${prefix}/x`, second.apiKey)).body.error.code).toBe('TOO_MANY_CONCURRENT_REQUESTS')

    // the first app's calls end three ways: the client gives up, the upstream cuts the connection, an answer
    abort.abort()
    held.get('cut')?.socket?.destroy()
    for (const [name, response] of held) if (name === 'answered' || name.startsWith('second-')) response.end(JSON.stringify({ upstream: 'holding' }))
    const firstResults = await Promise.all(firstCalls)
    expect(firstResults.map(result => result?.status)).toEqual([undefined, 502, 200])
    expect((await Promise.all(secondCalls)).map(result => result.status)).toEqual([200, 200, 200])

    await until(() => pool.concurrency.inFlight === 0, 'every slot released')
    expect([first.appId, second.appId, third.appId].map(appId => pool.concurrency.inFlightOf(appId))).toEqual([0, 0, 0])
    expect(await metric(new RegExp(`^gateway_upstream_requests_in_flight\\{upstream="${pool.definition.name}"\\}`))).toBe(0)
    for (const apiKey of [first.apiKey, second.apiKey, third.apiKey]) expect((await call(`${prefix}/x`, apiKey)).status).toBe(200)
  })
})
