// The metrics an operator slices after a scripted mix of calls: 200s, 401, 404, 405, 429,
// 502 and a WebSocket, by API, route, app, method and exact status, with the latency split,
// bytes, rejections and limit decisions by API and plan, and upstream target state.
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { find, parseMetrics, value, type Sample } from '../../helpers/metrics-text.js'
import { freePort } from '../../helpers/ports.js'
import { provision, startStack, waitForPropagation, type Provisioned, type TestStack } from '../../helpers/stack.js'

/** An upstream answering HTTP with a small JSON body and echoing WebSocket messages. */
async function startEchoUpstream (): Promise<{ url: string, server: Server }> {
  const server = createServer((request, response) => {
    request.resume()
    request.on('end', () => { response.setHeader('content-type', 'application/json'); response.end('{"ok":true}') })
  })
  const sockets = new WebSocketServer({ server })
  sockets.on('connection', socket => { socket.on('message', (data, isBinary) => { socket.send(data, { binary: isBinary }) }) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return { url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`, server }
}

describe('gateway metrics', () => {
  let stack: TestStack
  let upstream: { url: string, server: Server }
  let served: Provisioned
  let broken: Provisioned
  let samples: Sample[]
  const names = { api: '', plan: '', upstream: '', brokenApi: '' }
  const statuses: Record<string, { status: number, code?: string }> = {}

  beforeAll(async () => {
    // one app label: the first app to call gets it, the other counts as "other"
    stack = await startStack({ database: 'pglite', redis: false, config: { metricsAppLabel: 'top:1' } })
    upstream = await startEchoUpstream()
    served = await provision(stack, {
      upstreamUrls: [upstream.url],
      auth: ['apikey'],
      routes: [{ path: '/metered', methods: ['GET', 'POST'], stripPrefix: true }, { path: '/metered-ws', websocket: true, stripPrefix: true }],
      // four calls a day: the fifth is refused, deterministically
      plan: { quota: { perDay: 4 } }
    })
    broken = await provision(stack, { upstreamUrls: [`http://127.0.0.1:${await freePort()}`], auth: ['apikey'], routes: [{ path: '/broken', stripPrefix: true }] })
    names.api = (await stack.admin('GET', `/admin/v1/apis/${served.apiId}`)).body.name
    names.brokenApi = (await stack.admin('GET', `/admin/v1/apis/${broken.apiId}`)).body.name
    names.plan = (await stack.admin('GET', `/admin/v1/plans/${served.planId}`)).body.name
    names.upstream = (await stack.admin('GET', `/admin/v1/upstreams/${served.upstreamId}`)).body.name
    await waitForPropagation(stack)

    const gateway = stack.gatewayUrls[0]
    const call = async (label: string, path: string, init: RequestInit = {}): Promise<void> => {
      const response = await fetch(gateway + path, init)
      const body = await response.text()
      statuses[label] = { status: response.status, code: response.status >= 400 ? JSON.parse(body).error.code : undefined }
    }
    const key = { 'x-api-key': served.apiKey }
    await call('get1', '/metered/a', { headers: key })
    await call('get2', '/metered/b', { headers: key })
    await call('post', '/metered/c', { method: 'POST', headers: key, body: 'x'.repeat(1000) })
    const socket = new WebSocket(`${gateway.replace('http', 'ws')}/metered-ws`, { headers: key })
    await once(socket, 'open')
    for (const text of ['one', 'two']) {
      socket.send(text)
      await once(socket, 'message')
    }
    socket.close()
    await once(socket, 'close')
    await call('quota', '/metered/d', { headers: key })
    await call('unauthenticated', '/metered/e')
    await call('unrouted', '/nowhere')
    await call('wrongMethod', '/metered/f', { method: 'DELETE', headers: key })
    await call('badGateway', '/broken/g', { headers: { 'x-api-key': broken.apiKey } })
    samples = parseMetrics(await (await fetch(`${gateway}/metrics`)).text())
  })

  afterAll(async () => {
    await stack?.close()
    upstream?.server.closeAllConnections()
    upstream?.server.close()
  })

  it('answered the scripted mix as expected', () => {
    expect(statuses).toMatchObject({
      get1: { status: 200 }, get2: { status: 200 }, post: { status: 200 },
      quota: { status: 429, code: 'QUOTA_EXCEEDED' }, unauthenticated: { status: 401 }, unrouted: { status: 404 },
      wrongMethod: { status: 405 }, badGateway: { status: 502, code: 'UPSTREAM_UNAVAILABLE' }
    })
  })

  it('counts requests by API, route, app, method, exact status and outcome', () => {
    const requests = (labels: Record<string, string>): number | undefined => value(samples, 'gateway_requests_total', labels)
    const metered = { api: names.api, route: '/metered' }
    expect(requests({ ...metered, app: served.appId, method: 'GET', status: '200', outcome: 'proxied' })).toBe(2)
    expect(requests({ ...metered, app: served.appId, method: 'POST', status: '200', outcome: 'proxied' })).toBe(1)
    expect(requests({ ...metered, app: served.appId, method: 'GET', status: '429', outcome: 'rejected' })).toBe(1)
    // no app is known before authentication
    expect(requests({ ...metered, app: '', method: 'GET', status: '401', outcome: 'rejected' })).toBe(1)
    expect(requests({ api: names.api, route: '/metered-ws', app: served.appId, method: 'GET', status: '101', outcome: 'proxied' })).toBe(1)
    expect(requests({ api: '', route: '', app: '', method: 'GET', status: '404', outcome: 'not_found' })).toBe(1)
    expect(requests({ api: '', route: '', app: '', method: 'DELETE', status: '405', outcome: 'not_found' })).toBe(1)
    // top:1 names only the first app; the second counts as "other"
    expect(requests({ api: names.brokenApi, route: '/broken', app: 'other', method: 'GET', status: '502', outcome: 'upstream_error' })).toBe(1)
    const apps = new Set(find(samples, 'gateway_requests_total').map(sample => sample.labels.app))
    expect(apps).toEqual(new Set([served.appId, 'other', '']))
  })

  it('splits latency into the whole request and the upstream alone, by API and route', () => {
    const route = { api: names.api, route: '/metered' }
    expect(value(samples, 'gateway_request_duration_seconds_count', route)).toBe(5)
    expect(value(samples, 'gateway_upstream_duration_seconds_count', route)).toBe(3)
    const total = value(samples, 'gateway_request_duration_seconds_sum', route) as number
    expect(total).toBeGreaterThan(value(samples, 'gateway_upstream_duration_seconds_sum', route) as number)
    expect(find(samples, 'gateway_request_duration_seconds_bucket', { ...route, le: '+Inf' })[0]?.value).toBe(5)
  })

  it('counts bytes in and out by API', () => {
    // three proxied calls, one with a 1000-byte body, plus the refusals' requests and answers
    expect(value(samples, 'gateway_request_bytes_total', { api: names.api })).toBeGreaterThan(1000)
    expect(value(samples, 'gateway_response_bytes_total', { api: names.api })).toBeGreaterThan(3 * '{"ok":true}'.length)
  })

  it('counts rejections by API and reason, and the limit decisions per plan', () => {
    expect(value(samples, 'gateway_rejections_total', { api: names.api, reason: 'QUOTA_EXCEEDED' })).toBe(1)
    expect(value(samples, 'gateway_rejections_total', { api: names.api, reason: statuses.unauthenticated.code as string })).toBe(1)
    expect(value(samples, 'gateway_rejections_total', { api: '', reason: 'ROUTE_NOT_FOUND' })).toBe(1)
    expect(value(samples, 'gateway_rejections_total', { api: '', reason: 'METHOD_NOT_ALLOWED' })).toBe(1)
    // three HTTP calls and the WebSocket upgrade were allowed, the fifth call refused
    expect(value(samples, 'gateway_limit_decisions_total', { api: names.api, plan: names.plan, decision: 'allowed' })).toBe(4)
    expect(value(samples, 'gateway_limit_decisions_total', { api: names.api, plan: names.plan, decision: 'QUOTA_EXCEEDED' })).toBe(1)
  })

  it('shows each upstream target healthy and its open connections', () => {
    const target = { upstream: names.upstream, target: upstream.url }
    expect(value(samples, 'gateway_upstream_target_healthy', target)).toBe(1)
    expect(value(samples, 'gateway_upstream_target_connections', target)).toBeGreaterThanOrEqual(1)
  })

  it('counts WebSocket messages by API and direction', () => {
    expect(value(samples, 'gateway_websocket_messages_total', { api: names.api, direction: 'in' })).toBe(2)
    expect(value(samples, 'gateway_websocket_messages_total', { api: names.api, direction: 'out' })).toBe(2)
    expect(value(samples, 'gateway_websocket_bytes_total', { api: names.api, direction: 'in' })).toBe(6)
    expect(value(samples, 'gateway_websocket_connections', { api: names.api })).toBe(0)
  })

  it('has no gateway_redis_up when counters are in memory', () => {
    expect(find(samples, 'gateway_redis_up')).toEqual([])
  })
})
