// Request limits per API through the real operator API and gateway: each limit at exactly its
// value and one byte over, bodies announced, chunked and held back behind Expect:
// 100-continue, the upstream never getting an over-limit body whole, WebSocket upgrades, and
// refusals that cost the app nothing of its quota.
import { once } from 'node:events'
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http'
import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { provision, startStack, waitForPropagation, type Provisioned, type TestStack } from '../../helpers/stack.js'

const MAX_BODY_BYTES = 1000
const MAX_HEADER_BYTES = 600
const MAX_URL_LENGTH = 100
const LIMITS = { maxBodyBytes: MAX_BODY_BYTES, maxHeaderBytes: MAX_HEADER_BYTES, maxUrlLength: MAX_URL_LENGTH, contentTypes: ['Application/JSON', 'text/*'] }

interface UpstreamCall { url: string, received: number, aborted: boolean }

/**
 * An upstream that counts the body it receives and records each call once it ended or was
 * aborted; under /early it answers before reading the body. It takes WebSocket upgrades too.
 */
async function startUpstream (): Promise<{ url: string, server: Server, calls: UpstreamCall[], started: string[] }> {
  const calls: UpstreamCall[] = []
  const started: string[] = []
  const server = createServer((request, response) => {
    const url = request.url ?? ''
    started.push(url)
    let received = 0
    request.on('data', (chunk: Buffer) => { received += chunk.length })
    request.on('aborted', () => { calls.push({ url, received, aborted: true }) })
    if (url.startsWith('/early')) {
      response.writeHead(200, { 'content-type': 'text/plain' })
      response.write('started')
    }
    request.on('end', () => {
      calls.push({ url, received, aborted: false })
      response.end(url.startsWith('/early') ? '' : JSON.stringify({ received }))
    })
  })
  const webSockets = new WebSocketServer({ server })
  webSockets.on('connection', socket => { socket.on('message', data => { socket.send(data) }) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return { url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`, server, calls, started }
}

interface Answer { status: number, headers: IncomingHttpHeaders, body: string }

function json (answer: Answer): any {
  return JSON.parse(answer.body)
}

/** A real client's request; `chunks` are written one by one (chunked unless a content-length is given), a tick apart. */
async function call (url: string, options: { method?: string, headers?: Record<string, string | number>, chunks?: Buffer[] } = {}): Promise<Answer> {
  const outgoing = httpRequest(url, { method: options.method ?? 'POST', headers: options.headers, agent: false })
  const answered = new Promise<Answer>((resolve, reject) => {
    outgoing.once('response', (response: IncomingMessage) => {
      let body = ''
      response.on('data', chunk => { body += String(chunk) })
      response.once('end', () => { resolve({ status: response.statusCode ?? 0, headers: response.headers, body }) })
    })
    outgoing.once('error', reject)
  })
  for (const chunk of options.chunks ?? []) {
    // the gateway may answer and close before the client wrote it all: the answer is what counts
    if (outgoing.destroyed) break
    outgoing.write(chunk)
    await sleep(10)
  }
  outgoing.end()
  return await answered
}

/** A raw client: everything the gateway writes, and when it closed the connection. */
interface RawPeer { socket: Socket, received: () => string, closed: Promise<void>, waitFor: (text: string) => Promise<void> }

async function rawPeer (port: number): Promise<RawPeer> {
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  let received = ''
  const waiters: Array<{ text: string, resolve: () => void }> = []
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1')
    for (const waiter of waiters) if (received.includes(waiter.text)) waiter.resolve()
  })
  socket.on('error', () => {})
  const closed = new Promise<void>(resolve => socket.once('close', () => { resolve() }))
  return {
    socket,
    received: () => received,
    closed,
    waitFor: async text => {
      if (received.includes(text)) return
      await new Promise<void>((resolve, reject) => {
        waiters.push({ text, resolve })
        void closed.then(() => { reject(new Error(`closed before "${text}"; got ${JSON.stringify(received)}`)) })
      })
    }
  }
}

function statusOf (raw: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1])
}

function bodyOf (raw: string): any {
  return JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))
}

/** A request head with exactly these header lines; returns it and the bytes its header names and values take. */
function head (requestLine: string, headers: Array<[string, string]>): { text: string, headerBytes: number } {
  return {
    text: `${requestLine}\r\n${headers.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`,
    headerBytes: headers.reduce((sum, [name, value]) => sum + name.length + value.length, 0)
  }
}

async function until (condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await sleep(20)
  }
}

describe('request limits per API', () => {
  let stack: TestStack
  let upstream: Awaited<ReturnType<typeof startUpstream>>
  let gateway: string
  let gatewayPort: number
  let limited: Provisioned & { prefix: string }
  let unlimited: Provisioned & { prefix: string }

  async function provisionApi (): Promise<Provisioned & { prefix: string }> {
    const app = await provision(stack, { upstreamUrls: [upstream.url], plan: { quota: { perDay: 1000 } } })
    const prefix = (await stack.admin('GET', `/admin/v1/apis/${app.apiId}`)).body.routes[0].path as string
    const routed = await stack.admin('PATCH', `/admin/v1/apis/${app.apiId}`, { routes: [{ path: prefix, stripPrefix: true, websocket: true }] })
    expect(routed.status, JSON.stringify(routed.body)).toBe(200)
    return { ...app, prefix }
  }

  /** A path of the limited API exactly `length` bytes long with its query. */
  function pathOfLength (upstreamPath: string, length: number): string {
    const path = `${limited.prefix}${upstreamPath}?q=`
    return path + 'x'.repeat(length - path.length)
  }

  beforeAll(async () => {
    stack = await startStack({ database: 'postgresql', redis: false })
    gateway = stack.gatewayUrls[0]
    gatewayPort = Number(new URL(gateway).port)
    upstream = await startUpstream()
    limited = await provisionApi()
    unlimited = await provisionApi()
    const patched = await stack.admin('PATCH', `/admin/v1/apis/${limited.apiId}`, { requestLimits: LIMITS })
    expect(patched.status, JSON.stringify(patched.body)).toBe(200)
    expect(patched.body.requestLimits).toEqual({ ...LIMITS, contentTypes: ['application/json', 'text/*'] })
    await waitForPropagation(stack)
  })

  afterAll(async () => {
    await stack?.close()
    upstream?.server.closeAllConnections()
    upstream?.server.close()
  })

  describe('the operator API', () => {
    it.each([
      [{ maxBodyBytes: -1 }],
      [{ maxBodyBytes: '1000' }],
      [{ maxHeaderBytes: 10 }],
      [{ maxUrlLength: 1_000_000 }],
      [{ contentTypes: ['*/*'] }],
      [{ contentTypes: ['application/json; charset=utf-8'] }],
      [{ contentTypes: [] }],
      [{ maxBodyBytes: 10, unknown: true }],
      [{}]
    ])('refuses requestLimits %j with 400', async requestLimits => {
      const response = await stack.admin('PATCH', `/admin/v1/apis/${unlimited.apiId}`, { requestLimits })
      expect({ status: response.status, code: response.body.error?.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' })
      expect((await stack.admin('GET', `/admin/v1/apis/${unlimited.apiId}`)).body.requestLimits).toBeNull()
    })

    it('sets and removes the limits', async () => {
      const set = await stack.admin('PATCH', `/admin/v1/apis/${unlimited.apiId}`, { requestLimits: { maxUrlLength: 16 } })
      expect(set.body.requestLimits).toEqual({ maxUrlLength: 16 })
      const removed = await stack.admin('PATCH', `/admin/v1/apis/${unlimited.apiId}`, { requestLimits: null })
      expect(removed.body.requestLimits).toBeNull()
    })
  })

  describe('bodies that announce their length', () => {
    it('proxies a body of exactly the limit and refuses one byte more with 413, before the credentials and without forwarding it', async () => {
      const atLimit = await call(`${gateway}${limited.prefix}/cl-at`, { headers: { 'x-api-key': limited.apiKey, 'content-type': 'application/json', 'content-length': MAX_BODY_BYTES }, chunks: [Buffer.alloc(MAX_BODY_BYTES, 'a')] })
      expect(atLimit.status, atLimit.body).toBe(200)
      expect(json(atLimit)).toEqual({ received: MAX_BODY_BYTES })

      for (const apiKey of [limited.apiKey, 'pgw_ak_wrong']) {
        const over = await call(`${gateway}${limited.prefix}/cl-over`, { headers: { 'x-api-key': apiKey, 'content-type': 'application/json', 'content-length': MAX_BODY_BYTES + 1 }, chunks: [Buffer.alloc(MAX_BODY_BYTES + 1, 'a')] })
        expect(over.status).toBe(413)
        expect(over.headers.connection).toBe('close')
        expect(json(over)).toEqual({ error: { code: 'PAYLOAD_TOO_LARGE', message: `The request body is larger than ${MAX_BODY_BYTES} bytes`, requestId: expect.any(String) } })
      }
      expect(upstream.started.filter(url => url.startsWith('/cl-over'))).toEqual([])
    })

    it('answers Expect: 100-continue with an over-limit length with 413, never asking for the body', async () => {
      const peer = await rawPeer(gatewayPort)
      peer.socket.write(head(`POST ${limited.prefix}/expect-over HTTP/1.1`, [['Host', 'gw'], ['X-Api-Key', limited.apiKey], ['Content-Type', 'application/json'], ['Content-Length', String(MAX_BODY_BYTES + 1)], ['Expect', '100-continue']]).text)
      await peer.closed
      expect(peer.received()).not.toContain('100 Continue')
      expect(statusOf(peer.received())).toBe(413)
      expect(peer.received().toLowerCase()).toContain('connection: close')
      expect(bodyOf(peer.received()).error.code).toBe('PAYLOAD_TOO_LARGE')
      expect(upstream.started.filter(url => url.startsWith('/expect-over'))).toEqual([])

      const accepted = await rawPeer(gatewayPort)
      accepted.socket.write(head(`POST ${limited.prefix}/expect-at HTTP/1.1`, [['Host', 'gw'], ['X-Api-Key', limited.apiKey], ['Content-Type', 'application/json'], ['Content-Length', String(MAX_BODY_BYTES)], ['Expect', '100-continue'], ['Connection', 'close']]).text)
      await accepted.waitFor('HTTP/1.1 100 Continue\r\n\r\n')
      accepted.socket.write('a'.repeat(MAX_BODY_BYTES))
      await accepted.closed
      const final = accepted.received().slice('HTTP/1.1 100 Continue\r\n\r\n'.length)
      expect(statusOf(final)).toBe(200)
      expect(bodyOf(final)).toEqual({ received: MAX_BODY_BYTES })
    })
  })

  describe('chunked bodies, measured while they stream', () => {
    const chunks = (sizes: number[]): Buffer[] => sizes.map(size => Buffer.alloc(size, 'c'))

    it('proxies a chunked body of exactly the limit whole', async () => {
      const answer = await call(`${gateway}${limited.prefix}/chunked-at`, { headers: { 'x-api-key': limited.apiKey, 'content-type': 'application/json' }, chunks: chunks([250, 250, 250, 250]) })
      expect(answer.status, answer.body).toBe(200)
      expect(json(answer)).toEqual({ received: MAX_BODY_BYTES })
      expect(upstream.calls.filter(recorded => recorded.url === '/chunked-at')).toEqual([{ url: '/chunked-at', received: MAX_BODY_BYTES, aborted: false }])
    })

    it('answers a chunked body one byte over the limit with 413 and aborts the upstream request before the byte', async () => {
      const answer = await call(`${gateway}${limited.prefix}/chunked-over`, { headers: { 'x-api-key': limited.apiKey, 'content-type': 'application/json' }, chunks: chunks([250, 250, 250, 250, 1]) })
      expect(answer.status).toBe(413)
      expect(answer.headers.connection).toBe('close')
      expect(json(answer).error.code).toBe('PAYLOAD_TOO_LARGE')
      await until(() => upstream.calls.some(recorded => recorded.url === '/chunked-over'))
      const received = upstream.calls.filter(recorded => recorded.url === '/chunked-over')
      expect(received).toHaveLength(1)
      expect(received[0].aborted).toBe(true)
      expect(received[0].received).toBeLessThanOrEqual(MAX_BODY_BYTES)
    })

    it('asks a chunked body behind Expect: 100-continue for its bytes, and refuses it once it passes the limit', async () => {
      const peer = await rawPeer(gatewayPort)
      peer.socket.write(head(`PUT ${limited.prefix}/expect-chunked HTTP/1.1`, [['Host', 'gw'], ['X-Api-Key', limited.apiKey], ['Content-Type', 'text/plain'], ['Transfer-Encoding', 'chunked'], ['Expect', '100-continue']]).text)
      await peer.waitFor('HTTP/1.1 100 Continue\r\n\r\n')
      const chunk = (size: number): string => `${size.toString(16)}\r\n${'c'.repeat(size)}\r\n`
      peer.socket.write(chunk(600))
      await until(() => upstream.started.includes('/expect-chunked'))
      peer.socket.write(chunk(MAX_BODY_BYTES + 1 - 600))
      await peer.closed
      const final = peer.received().slice('HTTP/1.1 100 Continue\r\n\r\n'.length)
      expect(statusOf(final)).toBe(413)
      expect(bodyOf(final).error.code).toBe('PAYLOAD_TOO_LARGE')
      await until(() => upstream.calls.some(recorded => recorded.url === '/expect-chunked'))
      expect(upstream.calls.filter(recorded => recorded.url === '/expect-chunked')).toEqual([{ url: '/expect-chunked', received: 600, aborted: true }])
    })

    it('cuts the connection when the body passes the limit after the upstream started its answer', async () => {
      const outcome = await new Promise<{ status: number, text: string, error: string }>(resolve => {
        const outgoing = httpRequest(`${gateway}${limited.prefix}/early`, { method: 'POST', headers: { 'x-api-key': limited.apiKey, 'content-type': 'application/json' }, agent: false }, response => {
          let text = ''
          response.on('data', chunk => {
            text += String(chunk)
            // the answer has started: now the rest of the body, past the limit
            if (text === 'started') outgoing.write(Buffer.alloc(MAX_BODY_BYTES, 'c'))
          })
          response.on('error', error => { resolve({ status: response.statusCode ?? 0, text, error: error.message }) })
          response.on('end', () => { resolve({ status: response.statusCode ?? 0, text, error: '' }) })
        })
        outgoing.on('error', () => {})
        outgoing.write(Buffer.alloc(500, 'c'))
      })
      expect(outcome).toEqual({ status: 200, text: 'started', error: 'aborted' })
      await until(() => upstream.calls.some(recorded => recorded.url === '/early'))
      const received = upstream.calls.find(recorded => recorded.url === '/early')
      expect(received?.aborted).toBe(true)
      expect(received?.received).toBeLessThanOrEqual(MAX_BODY_BYTES)
    })
  })

  describe('the request target and headers', () => {
    it('proxies a target of exactly the limit and refuses one byte longer with 414', async () => {
      const atLimit = await call(gateway + pathOfLength('/url', MAX_URL_LENGTH), { method: 'GET', headers: { 'x-api-key': limited.apiKey } })
      expect(atLimit.status, atLimit.body).toBe(200)
      const over = await call(gateway + pathOfLength('/url', MAX_URL_LENGTH + 1), { method: 'GET', headers: { 'x-api-key': limited.apiKey } })
      expect(over.status).toBe(414)
      expect(json(over)).toEqual({ error: { code: 'URI_TOO_LONG', message: `The request target is longer than ${MAX_URL_LENGTH} bytes`, requestId: expect.any(String) } })
      // the other API has no such limit
      const elsewhere = await call(`${gateway}${unlimited.prefix}/url?q=${'x'.repeat(MAX_URL_LENGTH)}`, { method: 'GET', headers: { 'x-api-key': unlimited.apiKey } })
      expect(elsewhere.status).toBe(200)
    })

    it('proxies headers of exactly the limit and refuses one byte more with 431', async () => {
      const answers: Array<{ headerBytes: number, raw: string }> = []
      for (const extra of [0, 1]) {
        const fixed: Array<[string, string]> = [['Host', 'gw'], ['X-Api-Key', limited.apiKey], ['Connection', 'close']]
        const padding = MAX_HEADER_BYTES - head('', fixed).headerBytes - 'X-Pad'.length + extra
        const request = head(`GET ${limited.prefix}/headers HTTP/1.1`, [...fixed, ['X-Pad', 'p'.repeat(padding)]])
        const peer = await rawPeer(gatewayPort)
        peer.socket.write(request.text)
        await peer.closed
        answers.push({ headerBytes: request.headerBytes, raw: peer.received() })
      }
      expect(answers.map(answer => answer.headerBytes)).toEqual([MAX_HEADER_BYTES, MAX_HEADER_BYTES + 1])
      expect(statusOf(answers[0].raw)).toBe(200)
      expect(statusOf(answers[1].raw)).toBe(431)
      expect(bodyOf(answers[1].raw).error.code).toBe('HEADERS_TOO_LARGE')
    })
  })

  describe('media types', () => {
    it.each(['application/json', 'Application/JSON; charset=utf-8', 'text/csv; header=present'])('proxies a body of type %j', async contentType => {
      const answer = await call(`${gateway}${limited.prefix}/typed`, { headers: { 'x-api-key': limited.apiKey, 'content-type': contentType, 'content-length': 2 }, chunks: [Buffer.from('{}')] })
      expect(answer.status, answer.body).toBe(200)
    })

    it.each([
      ['application/xml', 'Unsupported Content-Type: application/xml'],
      ['multipart/form-data; boundary=x', 'Unsupported Content-Type: multipart/form-data'],
      [undefined, 'Unsupported Content-Type: none (taken for application/octet-stream)']
    ])('refuses a body of type %j with 415', async (contentType, message) => {
      const headers: Record<string, string | number> = { 'x-api-key': limited.apiKey, 'content-length': 2 }
      if (contentType !== undefined) headers['content-type'] = contentType
      const answer = await call(`${gateway}${limited.prefix}/typed-refused`, { headers, chunks: [Buffer.from('{}')] })
      expect(answer.status).toBe(415)
      expect(json(answer)).toEqual({ error: { code: 'UNSUPPORTED_MEDIA_TYPE', message, requestId: expect.any(String) } })
      expect(upstream.started.filter(url => url.startsWith('/typed-refused'))).toEqual([])
    })

    it('does not look at the Content-Type of a request without a body', async () => {
      const answer = await call(`${gateway}${limited.prefix}/no-body`, { method: 'GET', headers: { 'x-api-key': limited.apiKey, 'content-type': 'application/xml' } })
      expect(answer.status).toBe(200)
    })
  })

  it("counts no refusal against the app's quota", async () => {
    const remaining = async (): Promise<number> => {
      const answer = await call(`${gateway}${limited.prefix}/quota`, { method: 'GET', headers: { 'x-api-key': limited.apiKey } })
      expect(answer.status).toBe(200)
      return Number(answer.headers['x-quota-remaining-day'])
    }
    const before = await remaining()
    const refusals = await Promise.all([
      call(gateway + pathOfLength('/quota', MAX_URL_LENGTH + 1), { method: 'GET', headers: { 'x-api-key': limited.apiKey } }),
      call(`${gateway}${limited.prefix}/quota`, { method: 'GET', headers: { 'x-api-key': limited.apiKey, 'x-pad': 'p'.repeat(MAX_HEADER_BYTES) } }),
      call(`${gateway}${limited.prefix}/quota`, { headers: { 'x-api-key': limited.apiKey, 'content-type': 'application/json', 'content-length': MAX_BODY_BYTES + 1 }, chunks: [Buffer.alloc(MAX_BODY_BYTES + 1)] }),
      call(`${gateway}${limited.prefix}/quota`, { headers: { 'x-api-key': limited.apiKey, 'content-type': 'image/png', 'content-length': 1 }, chunks: [Buffer.alloc(1)] })
    ])
    expect(refusals.map(answer => answer.status)).toEqual([414, 431, 413, 415])
    for (const refusal of refusals) expect(refusal.headers['x-quota-remaining-day']).toBeUndefined()
    expect(await remaining()).toBe(before - 1)
  })

  describe('WebSocket upgrades', () => {
    const wsUrl = (path: string): string => gateway.replace('http://', 'ws://') + path

    async function upgrade (path: string, headers: Record<string, string>): Promise<{ opened: true } | { status: number, code: string }> {
      const socket = new WebSocket(wsUrl(path), { headers })
      socket.on('error', () => {})
      const outcome = await Promise.race([
        once(socket, 'open').then(() => ({ opened: true as const })),
        once(socket, 'unexpected-response').then(async ([, response]) => {
          let body = ''
          for await (const chunk of response as IncomingMessage) body += String(chunk)
          return { status: (response as IncomingMessage).statusCode ?? 0, code: JSON.parse(body).error.code as string }
        })
      ])
      socket.terminate()
      return outcome
    }

    it('refuses a target one byte over the limit with 414 and headers over it with 431, and lets the rest through', async () => {
      expect(await upgrade(pathOfLength('/ws', MAX_URL_LENGTH), { 'x-api-key': limited.apiKey })).toEqual({ opened: true })
      expect(await upgrade(pathOfLength('/ws', MAX_URL_LENGTH + 1), { 'x-api-key': limited.apiKey })).toEqual({ status: 414, code: 'URI_TOO_LONG' })
      expect(await upgrade(`${limited.prefix}/ws`, { 'x-api-key': limited.apiKey, 'x-pad': 'p'.repeat(MAX_HEADER_BYTES) })).toEqual({ status: 431, code: 'HEADERS_TOO_LARGE' })
    })

    it('applies no body limit or media type to an upgrade', async () => {
      expect(await upgrade(`${limited.prefix}/ws`, { 'x-api-key': limited.apiKey, 'content-type': 'application/xml' })).toEqual({ opened: true })
    })
  })
})
