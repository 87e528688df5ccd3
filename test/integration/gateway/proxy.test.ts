// The proxy stage through the whole gateway: streaming, balancing, health, retries,
// timeouts and header hygiene, against real upstream servers.
import { createHash } from 'node:crypto'
import { createServer, request as httpRequest, type Server } from 'node:http'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { provision, startStack, waitForPropagation, type TestStack } from '../../helpers/stack.js'
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js'

const MB = 1024 * 1024

async function routeOf (stack: TestStack, apiId: string): Promise<string> {
  return (await stack.admin('GET', `/admin/v1/apis/${apiId}`)).body.routes[0].path
}

async function closedPortUrl (): Promise<string> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise(resolve => server.close(resolve))
  return `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
}

// `produced` counts what the stream has handed on, so a test can see how far a
// reader downstream has pulled it
function generated (size: number): Readable & { produced: number } {
  const chunk = Buffer.alloc(64 * 1024, 'x')
  const stream = new Readable({
    read () {
      if (stream.produced >= size) { this.push(null); return }
      const next = Math.min(chunk.length, size - stream.produced)
      stream.produced += next
      this.push(next === chunk.length ? chunk : chunk.subarray(0, next))
    }
  }) as Readable & { produced: number }
  stream.produced = 0
  return stream
}

// Resolves with the count once it has not moved for a few samples: how far a
// paused reader lets the writer get
async function settled (count: () => number): Promise<number> {
  let last = -1
  let unchanged = 0
  while (unchanged < 4) {
    await new Promise(resolve => setTimeout(resolve, 100))
    const now = count()
    unchanged = now === last ? unchanged + 1 : 0
    last = now
  }
  return last
}

describe('gateway proxy', () => {
  let stack: TestStack
  const upstreams: TestUpstream[] = []
  const servers: Server[] = []

  beforeAll(async () => {
    stack = await startStack({ database: 'pglite', redis: false })
  })
  afterAll(async () => {
    await stack?.close()
    for (const upstream of upstreams) await upstream.close()
    for (const server of servers) { server.closeAllConnections(); server.close() }
  })

  async function metricsText (): Promise<string> {
    return await (await fetch(`${stack.gatewayUrls[0]}/metrics`)).text()
  }

  async function apiName (apiId: string): Promise<string> {
    return (await stack.admin('GET', `/admin/v1/apis/${apiId}`)).body.name
  }

  /** The API's gateway_requests_total lines, once there are any (a request is counted when its response has closed). */
  async function requestsCounted (apiId: string): Promise<string[]> {
    const name = await apiName(apiId)
    const lines = async (): Promise<string[]> => (await metricsText()).split('\n').filter(line => line.startsWith('gateway_requests_total{') && line.includes(`api="${name}"`))
    await expect.poll(lines).not.toEqual([])
    return await lines()
  }

  async function upstream (name: string, handler?: Parameters<typeof startUpstream>[1]): Promise<TestUpstream> {
    const started = await startUpstream(name, handler)
    upstreams.push(started)
    return started
  }

  it.each([
    { expectContinue: false },
    { expectContinue: true }
  ])('streams a 100 MB upload and download without buffering them (Expect: 100-continue: $expectContinue)', async ({ expectContinue }) => {
    // A reader that stops pulling must stop the writer on the far side: if the
    // gateway buffered a body, the writer would get to the end of it
    const size = 100 * MB
    let uploadReceiver: { request: import('node:http').IncomingMessage, received: () => number } | undefined
    let downloadBody: ReturnType<typeof generated> | undefined
    const sink = createServer((request, response) => {
      if (request.method === 'POST') {
        const hash = createHash('sha256')
        let received = 0
        request.once('data', () => request.pause())
        request.on('data', chunk => { hash.update(chunk); received += chunk.length })
        request.on('end', () => response.end(JSON.stringify({ received, sha256: hash.digest('hex') })))
        uploadReceiver = { request, received: () => received }
        return
      }
      response.writeHead(200, { 'content-type': 'application/octet-stream' })
      downloadBody = generated(size)
      downloadBody.pipe(response)
    })
    servers.push(sink)
    await new Promise<void>(resolve => sink.listen(0, '127.0.0.1', resolve))
    const address = sink.address()
    const app = await provision(stack, { upstreamUrls: [`http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`] })
    const prefix = await routeOf(stack, app.apiId)
    await waitForPropagation(stack)
    const gateway = new URL(stack.gatewayUrls[0])

    const expected = createHash('sha256')
    const body = generated(size)
    const upload = new Promise<{ received: number, sha256: string }>((resolve, reject) => {
      const headers = { 'x-api-key': app.apiKey, 'content-type': 'application/octet-stream', ...(expectContinue ? { expect: '100-continue' } : {}) }
      const outgoing = httpRequest({ host: gateway.hostname, port: gateway.port, method: 'POST', path: `${prefix}/upload`, headers }, response => {
        const chunks: Buffer[] = []
        response.on('data', chunk => chunks.push(chunk))
        response.on('end', () => { resolve(JSON.parse(Buffer.concat(chunks).toString())) })
      })
      outgoing.on('error', reject)
      const send = (): void => {
        body.on('data', chunk => expected.update(chunk))
        body.pipe(outgoing)
      }
      // the gateway answers 100 Continue itself once every policy passed
      if (expectContinue) outgoing.once('continue', send)
      else send()
    })
    const sentWhileUpstreamPaused = await settled(() => body.produced)
    expect(uploadReceiver?.received()).toBeLessThan(MB)
    expect(sentWhileUpstreamPaused).toBeLessThan(size / 2)
    uploadReceiver?.request.resume()
    expect(await upload).toEqual({ received: size, sha256: expected.digest('hex') })

    const download = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      httpRequest({ host: gateway.hostname, port: gateway.port, path: `${prefix}/download`, headers: { 'x-api-key': app.apiKey } }, resolve)
        .on('error', reject)
        .end()
    })
    let downloaded = 0
    download.once('data', () => download.pause())
    download.on('data', chunk => { downloaded += chunk.length })
    const generatedWhileClientPaused = await settled(() => downloadBody?.produced ?? 0)
    expect(generatedWhileClientPaused).toBeLessThan(size / 2)
    download.resume()
    await new Promise(resolve => download.on('end', resolve))
    expect(downloaded).toBe(size)
  })

  it('spreads requests over targets by weight', async () => {
    const heavy = await upstream('heavy')
    const light = await upstream('light')
    const app = await provision(stack, { upstreamUrls: [heavy.url, light.url] })
    await stack.admin('PATCH', `/admin/v1/upstreams/${app.upstreamId}`, { targets: [{ url: heavy.url, weight: 3 }, { url: light.url, weight: 1 }] })
    const prefix = await routeOf(stack, app.apiId)
    await waitForPropagation(stack)
    const counts: Record<string, number> = {}
    for (let index = 0; index < 40; index++) {
      const body = await (await fetch(`${stack.gatewayUrls[0]}${prefix}/x`, { headers: { 'x-api-key': app.apiKey } })).json() as { upstream: string }
      counts[body.upstream] = (counts[body.upstream] ?? 0) + 1
    }
    expect(counts).toEqual({ heavy: 30, light: 10 })
  })

  it('prefers the target with fewer requests in flight under least-connections', async () => {
    const slow = await upstream('slow', (_request, response) => { setTimeout(() => response.end(JSON.stringify({ upstream: 'slow' })), 300) })
    const fast = await upstream('fast')
    const app = await provision(stack, { upstreamUrls: [slow.url, fast.url], upstream: { loadBalancing: 'least-connections' } })
    const prefix = await routeOf(stack, app.apiId)
    await waitForPropagation(stack)
    const bodies = await Promise.all(Array.from({ length: 20 }, async () => await (await fetch(`${stack.gatewayUrls[0]}${prefix}/x`, { headers: { 'x-api-key': app.apiKey } })).json() as { upstream: string }))
    const toSlow = bodies.filter(body => body.upstream === 'slow').length
    expect(toSlow).toBeLessThan(10)
  })

  it('retries an idempotent request on another target and ejects a dead target', async () => {
    const alive = await upstream('alive')
    const dead = await closedPortUrl()
    const app = await provision(stack, { upstreamUrls: [dead, alive.url] })
    const prefix = await routeOf(stack, app.apiId)
    await waitForPropagation(stack)
    for (let index = 0; index < 10; index++) {
      const response = await fetch(`${stack.gatewayUrls[0]}${prefix}/x`, { headers: { 'x-api-key': app.apiKey } })
      expect(response.status).toBe(200)
    }
    const pool = stack.control.gateway?.pools.get(app.upstreamId)
    const deadTarget = pool?.targets.find(target => target.url === dead)
    expect(deadTarget?.health.isAvailable(Date.now())).toBe(false)
    const posted = await fetch(`${stack.gatewayUrls[0]}${prefix}/x`, { method: 'POST', headers: { 'x-api-key': app.apiKey, 'content-type': 'text/plain' }, body: 'once' })
    expect(posted.status).toBe(200)
  })

  it('answers 502 UPSTREAM_UNAVAILABLE when the upstream is down and 504 UPSTREAM_TIMEOUT when it is slow', async () => {
    const down = await provision(stack, { upstreamUrls: [await closedPortUrl()] })
    const slow = await upstream('sleepy', (_request, response) => { setTimeout(() => response.end('late'), 1500) })
    const late = await provision(stack, { upstreamUrls: [slow.url], upstream: { timeouts: { connectMs: 1000, responseMs: 200 } } })
    await waitForPropagation(stack)
    const unavailable = await fetch(`${stack.gatewayUrls[0]}${await routeOf(stack, down.apiId)}/x`, { headers: { 'x-api-key': down.apiKey } })
    expect(unavailable.status).toBe(502)
    expect(await unavailable.json()).toEqual({ error: { code: 'UPSTREAM_UNAVAILABLE', message: expect.any(String), requestId: expect.any(String) } })
    const timedOut = await fetch(`${stack.gatewayUrls[0]}${await routeOf(stack, late.apiId)}/x`, { headers: { 'x-api-key': late.apiKey } })
    expect(timedOut.status).toBe(504)
    expect(((await timedOut.json()) as { error: { code: string } }).error.code).toBe('UPSTREAM_TIMEOUT')
  })

  it('strips hop-by-hop headers both ways and sets X-Forwarded-*', async () => {
    const target = await upstream('headers', (_request, response) => {
      response.setHeader('connection', 'x-upstream-secret')
      response.setHeader('x-upstream-secret', 'leak')
      response.setHeader('x-kept', 'yes')
      response.end('{}')
    })
    const app = await provision(stack, { upstreamUrls: [target.url] })
    const prefix = await routeOf(stack, app.apiId)
    await waitForPropagation(stack)
    const gateway = new URL(stack.gatewayUrls[0])
    const response = await new Promise<{ headers: Record<string, unknown> }>((resolve, reject) => {
      const outgoing = httpRequest({ host: gateway.hostname, port: gateway.port, path: `${prefix}/h`, headers: { 'x-api-key': app.apiKey, connection: 'keep-alive, x-hop', 'x-hop': 'drop-me', 'keep-alive': 'timeout=5', te: 'trailers', 'x-forwarded-for': '203.0.113.9' } }, incoming => {
        incoming.resume()
        incoming.on('end', () => { resolve({ headers: incoming.headers }) })
      })
      outgoing.on('error', reject)
      outgoing.end()
    })
    const received = target.received[target.received.length - 1].headers
    expect(received['x-hop']).toBeUndefined()
    expect(received['keep-alive']).toBeUndefined()
    expect(received.te).toBeUndefined()
    expect(received['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1')
    expect(received['x-forwarded-host']).toBe(gateway.host)
    expect(received['x-forwarded-proto']).toBe('http')
    expect(received.host).toBe(new URL(target.url).host)
    expect(response.headers['x-upstream-secret']).toBeUndefined()
    expect(response.headers['x-kept']).toBe('yes')
  })

  it('aborts the upstream request when the client goes away', async () => {
    let upstreamClosed: (() => void) | undefined
    const closedUpstream = new Promise<void>(resolve => { upstreamClosed = resolve })
    const hanging = await upstream('hanging', request => { request.socket.once('close', () => { upstreamClosed?.() }) })
    const app = await provision(stack, { upstreamUrls: [hanging.url] })
    const prefix = await routeOf(stack, app.apiId)
    await waitForPropagation(stack)
    const controller = new AbortController()
    const call = fetch(`${stack.gatewayUrls[0]}${prefix}/slow`, { headers: { 'x-api-key': app.apiKey }, signal: controller.signal }).catch(() => undefined)
    await new Promise(resolve => setTimeout(resolve, 200))
    controller.abort()
    await call
    await closedUpstream
    // counted as the client's leaving (nginx's 499), not as an upstream failure nor a refusal
    expect(await requestsCounted(app.apiId)).toEqual([expect.stringMatching(/status="499",outcome="client_closed"} 1$/)])
    expect(await metricsText()).not.toContain(`gateway_rejections_total{api="${await apiName(app.apiId)}"`)
  })

  it('aborts the upstream response when the client goes away in the middle of it', async () => {
    let upstreamClosed: (() => void) | undefined
    const closedUpstream = new Promise<void>(resolve => { upstreamClosed = resolve })
    const streaming = await upstream('streaming', (request, response) => {
      request.socket.once('close', () => { upstreamClosed?.() })
      response.writeHead(200, { 'content-type': 'application/octet-stream' })
      response.write(Buffer.alloc(1024, 'x'))
    })
    const app = await provision(stack, { upstreamUrls: [streaming.url] })
    const prefix = await routeOf(stack, app.apiId)
    await waitForPropagation(stack)
    const controller = new AbortController()
    const response = await fetch(`${stack.gatewayUrls[0]}${prefix}/endless`, { headers: { 'x-api-key': app.apiKey }, signal: controller.signal })
    expect(response.status).toBe(200)
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    expect((await reader.read()).value?.length).toBeGreaterThan(0)
    controller.abort()
    await closedUpstream
    expect(await requestsCounted(app.apiId)).toEqual([expect.stringMatching(/status="200",outcome="client_closed"} 1$/)])
  })

  it('marks a target down and up again from active health checks', async () => {
    let healthy = false
    const target = await upstream('checked', (request, response) => {
      if (request.url === '/health') response.statusCode = healthy ? 200 : 503
      response.end(JSON.stringify({ upstream: 'checked' }))
    })
    const spare = await upstream('spare')
    const app = await provision(stack, { upstreamUrls: [target.url, spare.url], upstream: { healthCheck: { path: '/health', intervalMs: 60_000, healthyThreshold: 1, unhealthyThreshold: 1 } } })
    await waitForPropagation(stack)
    const pool = stack.control.gateway?.pools.get(app.upstreamId)
    const check = { path: '/health', healthyThreshold: 1, unhealthyThreshold: 1 }
    const prefix = await routeOf(stack, app.apiId)
    const servedBy = async (): Promise<string[]> => await Promise.all(Array.from({ length: 4 }, async () => ((await (await fetch(`${stack.gatewayUrls[0]}${prefix}/x`, { headers: { 'x-api-key': app.apiKey } })).json()) as { upstream: string }).upstream))
    await pool?.probe(check)
    expect(pool?.targets[0].health.isAvailable(Date.now())).toBe(false)
    expect(new Set(await servedBy())).toEqual(new Set(['spare']))
    healthy = true
    await pool?.probe(check)
    expect(pool?.targets[0].health.isAvailable(Date.now())).toBe(true)
    expect(new Set(await servedBy())).toEqual(new Set(['checked', 'spare']))
  })
})
