// Per-client caps through real sockets from several loopback addresses (127.0.0.2, …): the open
// connections one address may hold (keep-alive and WebSocket alike, on the plain and TLS ports
// together), and the failed authentications after which an address is refused before
// authentication — per node, and shared by two gateways through Redis.
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage } from 'node:http'
import http2, { type ClientHttp2Session, type IncomingHttpHeaders as Http2Headers } from 'node:http2'
import https from 'node:https'
import { connect, type Socket } from 'node:net'
import path from 'node:path'
import tls, { type TLSSocket } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { createTestCa, type TestCa } from '../../helpers/certificates.js'
import { find, parseMetrics } from '../../helpers/metrics-text.js'
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js'
import { provision, startStack, waitForPropagation, type Provisioned, type TestStack } from '../../helpers/stack.js'

interface RawResponse { status: number, headers: Record<string, string>, body: any }

/** One keep-alive connection from `localAddress`, written to by hand: it cannot reconnect behind the test's back. */
class RawConnection {
  readonly socket: Socket
  readonly closed: Promise<void>
  #buffer = Buffer.alloc(0)
  #waiting: (() => void) | undefined

  constructor (port: number, localAddress: string) {
    this.socket = connect({ port, host: '127.0.0.1', localAddress })
    this.socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk])
      this.#waiting?.()
    })
    this.socket.on('error', () => {})
    this.closed = new Promise(resolve => this.socket.once('close', () => { resolve() }))
    void this.closed.then(() => this.#waiting?.())
  }

  async request (path: string, headers: Record<string, string>): Promise<RawResponse> {
    const lines = [`GET ${path} HTTP/1.1`, 'Host: gateway.test', ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)]
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`)
    for (;;) {
      const response = this.#take()
      if (response !== undefined) return response
      if (this.socket.destroyed) throw new Error(`connection closed; got ${JSON.stringify(this.#buffer.toString())}`)
      await new Promise<void>(resolve => { this.#waiting = resolve })
    }
  }

  close (): void {
    this.socket.end()
  }

  /** A whole response with a Content-Length from the buffer, if there is one. */
  #take (): RawResponse | undefined {
    const end = this.#buffer.indexOf('\r\n\r\n')
    if (end === -1) return undefined
    const [statusLine, ...headerLines] = this.#buffer.subarray(0, end).toString('latin1').split('\r\n')
    const headers = Object.fromEntries(headerLines.map(line => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]))
    const length = Number(headers['content-length'])
    if (!Number.isInteger(length)) throw new Error(`no Content-Length in ${statusLine}`)
    if (this.#buffer.length < end + 4 + length) return undefined
    const body = this.#buffer.subarray(end + 4, end + 4 + length).toString()
    this.#buffer = this.#buffer.subarray(end + 4 + length)
    return { status: Number(statusLine.split(' ')[1]), headers, body: length === 0 ? undefined : JSON.parse(body) }
  }
}

async function startWebSocketUpstream (): Promise<{ url: string, close: () => Promise<void> }> {
  const server = createServer((_request, response) => { response.statusCode = 426; response.end() })
  const wss = new WebSocketServer({ server })
  wss.on('connection', socket => { socket.on('message', (data, isBinary) => { socket.send(data, { binary: isBinary }) }) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`,
    async close () {
      for (const client of wss.clients) client.terminate()
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    }
  }
}

async function openWebSocket (url: string, localAddress: string, headers: Record<string, string>): Promise<WebSocket> {
  const socket = new WebSocket(url, { headers, localAddress })
  await once(socket, 'open')
  return socket
}

async function refusedWebSocket (url: string, headers: Record<string, string>): Promise<RawResponse> {
  const socket = new WebSocket(url, { headers })
  socket.on('error', () => {})
  const [, response] = await once(socket, 'unexpected-response') as [unknown, IncomingMessage]
  const chunks: Buffer[] = []
  for await (const chunk of response) chunks.push(chunk as Buffer)
  socket.terminate()
  return { status: response.statusCode ?? 0, headers: response.headers as Record<string, string>, body: JSON.parse(Buffer.concat(chunks).toString()) }
}

async function until<T> (attempt: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await attempt()
    if (done(value) || Date.now() > deadline) return value
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

async function get (url: string, headers: Record<string, string>): Promise<RawResponse> {
  const response = await fetch(url, { headers })
  return { status: response.status, headers: Object.fromEntries(response.headers), body: await response.json() }
}

const MAX_CONNECTIONS = 3
const MAX_FAILURES = 3
const WINDOW_SECONDS = 5

describe('per-client caps on one gateway', () => {
  let stack: TestStack
  let upstream: TestUpstream
  let webSocketUpstream: Awaited<ReturnType<typeof startWebSocketUpstream>>
  let app: Provisioned
  let webSocketApp: Provisioned
  let port: number
  let httpPath: string
  let webSocketUrl: string

  beforeAll(async () => {
    stack = await startStack({
      database: 'pglite',
      redis: false,
      // 127.0.0.1 is the load balancer here: its X-Forwarded-For names the client, and it is exempt from the connection cap
      config: { maxConnectionsPerClient: MAX_CONNECTIONS, failedAuthenticationsPerClient: MAX_FAILURES, failedAuthenticationWindowSeconds: WINDOW_SECONDS, trustedProxies: ['127.0.0.1'] }
    })
    upstream = await startUpstream()
    webSocketUpstream = await startWebSocketUpstream()
    app = await provision(stack, { upstreamUrls: [upstream.url], auth: ['apikey'], routes: [{ path: '/caps-http', stripPrefix: true }] })
    webSocketApp = await provision(stack, { upstreamUrls: [webSocketUpstream.url], auth: ['apikey'], routes: [{ path: '/caps-ws', websocket: true }] })
    await waitForPropagation(stack)
    port = Number(new URL(stack.gatewayUrls[0]).port)
    httpPath = '/caps-http/item'
    webSocketUrl = `${stack.gatewayUrls[0].replace('http', 'ws')}/caps-ws`
  })

  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
    await webSocketUpstream?.close()
  })

  it('refuses the connection over the cap with a JSON 429, keeps the open ones, and takes a new one once one closed', async () => {
    const client = '127.0.0.2'
    const open = Array.from({ length: MAX_CONNECTIONS }, () => new RawConnection(port, client))
    for (const connection of open) expect((await connection.request(httpPath, { 'x-api-key': app.apiKey })).status).toBe(200)

    const over = new RawConnection(port, client)
    const refused = await over.request(httpPath, { 'x-api-key': app.apiKey })
    expect(refused).toMatchObject({ status: 429, headers: { connection: 'close', 'content-type': 'application/json; charset=utf-8' }, body: { error: { code: 'TOO_MANY_CONNECTIONS_FROM_CLIENT', message: expect.stringContaining(String(MAX_CONNECTIONS)) } } })
    await over.closed
    const calls = upstream.received.length

    // the open connections are untouched, another address is not affected, nor is the trusted proxy
    for (const connection of open) expect((await connection.request(httpPath, { 'x-api-key': app.apiKey })).status).toBe(200)
    const other = new RawConnection(port, '127.0.0.3')
    expect((await other.request(httpPath, { 'x-api-key': app.apiKey })).status).toBe(200)
    const proxied = Array.from({ length: MAX_CONNECTIONS + 2 }, () => new RawConnection(port, '127.0.0.1'))
    for (const connection of proxied) expect((await connection.request(httpPath, { 'x-api-key': app.apiKey })).status).toBe(200)
    // the refused connection's request never reached a handler
    expect(upstream.received.length).toBe(calls + MAX_CONNECTIONS + 1 + MAX_CONNECTIONS + 2)

    open[0].close()
    await open[0].closed
    const next = await until(async () => await new RawConnection(port, client).request(httpPath, { 'x-api-key': app.apiKey }), response => response.status === 200)
    expect(next.status).toBe(200)
    for (const connection of [...open, other, ...proxied]) connection.close()
  })

  it('counts a WebSocket as one of the client\'s connections until it closes', async () => {
    const client = '127.0.0.4'
    const webSocket = await openWebSocket(webSocketUrl, client, { 'x-api-key': webSocketApp.apiKey })
    const open = Array.from({ length: MAX_CONNECTIONS - 1 }, () => new RawConnection(port, client))
    for (const connection of open) expect((await connection.request(httpPath, { 'x-api-key': app.apiKey })).status).toBe(200)
    expect((await new RawConnection(port, client).request(httpPath, { 'x-api-key': app.apiKey })).status).toBe(429)
    const refusedUpgrade = new WebSocket(webSocketUrl, { headers: { 'x-api-key': webSocketApp.apiKey }, localAddress: client })
    refusedUpgrade.on('error', () => {})
    const [, response] = await once(refusedUpgrade, 'unexpected-response') as [unknown, IncomingMessage]
    expect(response.statusCode).toBe(429)
    refusedUpgrade.terminate()

    // the WebSocket still carries messages
    webSocket.send('still here')
    const [echo] = await once(webSocket, 'message') as [Buffer]
    expect(echo.toString()).toBe('still here')

    webSocket.close()
    await once(webSocket, 'close')
    const next = await until(async () => await new RawConnection(port, client).request(httpPath, { 'x-api-key': app.apiKey }), response => response.status === 200)
    expect(next.status).toBe(200)
    for (const connection of open) connection.close()
  })

  it('refuses an address whose requests failed authentication, even with the right key, until the window passes', async () => {
    const attacker = { 'x-forwarded-for': '203.0.113.66' }
    const url = `${stack.gatewayUrls[0]}${httpPath}`
    const calls = upstream.received.length
    for (let attempt = 0; attempt < MAX_FAILURES; attempt++) {
      const guess = await get(url, { ...attacker, 'x-api-key': `pgw_ak_guess${attempt}` })
      expect(guess).toMatchObject({ status: 401, body: { error: { code: 'UNKNOWN_KEY' } } })
    }
    const refused = await get(url, { ...attacker, 'x-api-key': app.apiKey })
    expect(refused).toMatchObject({ status: 429, body: { error: { code: 'TOO_MANY_FAILED_AUTHENTICATIONS' } } })
    const retryAfter = Number(refused.headers['retry-after'])
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS)
    // refused before authentication: refusals are not failures, they do not prolong the window
    for (let attempt = 0; attempt < 5; attempt++) expect((await get(url, { ...attacker, 'x-api-key': `pgw_ak_more${attempt}` })).status).toBe(429)
    expect(await refusedWebSocket(webSocketUrl, { ...attacker, 'x-api-key': webSocketApp.apiKey })).toMatchObject({ status: 429, body: { error: { code: 'TOO_MANY_FAILED_AUTHENTICATIONS' } } })

    // another client behind the same proxy, and the proxy itself, are not affected
    expect((await get(url, { 'x-forwarded-for': '203.0.113.67', 'x-api-key': app.apiKey })).status).toBe(200)
    expect((await get(url, { 'x-api-key': app.apiKey })).status).toBe(200)
    expect(upstream.received.length).toBe(calls + 2)

    await new Promise(resolve => setTimeout(resolve, retryAfter * 1000))
    expect((await get(url, { ...attacker, 'x-api-key': app.apiKey })).status).toBe(200)
  })

  it('charges failed WebSocket upgrades like failed requests', async () => {
    const attacker = { 'x-forwarded-for': '203.0.113.68' }
    for (let attempt = 0; attempt < MAX_FAILURES; attempt++) {
      expect(await refusedWebSocket(webSocketUrl, { ...attacker, 'x-api-key': `pgw_ak_guess${attempt}` })).toMatchObject({ status: 401, body: { error: { code: 'UNKNOWN_KEY' } } })
    }
    expect(await get(`${stack.gatewayUrls[0]}${httpPath}`, { ...attacker, 'x-api-key': app.apiKey })).toMatchObject({ status: 429, body: { error: { code: 'TOO_MANY_FAILED_AUTHENTICATIONS' } } })
  })

  it('does not charge authenticated requests, whatever happens after authentication', async () => {
    const client = { 'x-forwarded-for': '203.0.113.69' }
    const ungranted = await provision(stack, { upstreamUrls: [upstream.url], auth: ['apikey'], routes: [{ path: '/caps-ungranted' }], grant: false })
    await waitForPropagation(stack)
    for (let attempt = 0; attempt < MAX_FAILURES + 2; attempt++) {
      expect((await get(`${stack.gatewayUrls[0]}/caps-ungranted`, { ...client, 'x-api-key': ungranted.apiKey })).body.error.code).toBe('NOT_GRANTED')
    }
    expect((await get(`${stack.gatewayUrls[0]}${httpPath}`, { ...client, 'x-api-key': app.apiKey })).status).toBe(200)
  })
})

/** The name in the TLS port's certificate; clients connect to 127.0.0.1 and send it as SNI. */
const TLS_NAME = 'gateway.test'

/** One HTTPS keep-alive connection from `localAddress`: an agent that never opens a second one. */
function httpsConnection (ca: string, localAddress: string): https.Agent {
  return new https.Agent({ keepAlive: true, maxSockets: 1, ca, servername: TLS_NAME, localAddress })
}

async function httpsGet (url: string, agent: https.Agent, headers: Record<string, string>): Promise<RawResponse & { reusedSocket: boolean }> {
  const request = https.get(url, { agent, headers })
  const [response] = await once(request, 'response') as [IncomingMessage]
  const chunks: Buffer[] = []
  for await (const chunk of response) chunks.push(chunk as Buffer)
  return { status: response.statusCode ?? 0, headers: response.headers as Record<string, string>, body: JSON.parse(Buffer.concat(chunks).toString()), reusedSocket: request.reusedSocket }
}

/** A TLS connection to 127.0.0.1:`port` from `localAddress` (TLS options have no typed localAddress: the TCP socket is made first). */
function tlsConnection (port: number, ca: string, localAddress: string, protocols: string[]): TLSSocket {
  return tls.connect({ socket: connect({ port, host: '127.0.0.1', localAddress }), ca, servername: TLS_NAME, ALPNProtocols: protocols })
}

async function h2Connect (origin: string, ca: string, localAddress: string): Promise<ClientHttp2Session> {
  const session = http2.connect(origin, { createConnection: () => tlsConnection(Number(new URL(origin).port), ca, localAddress, ['h2']) })
  await once(session, 'connect')
  return session
}

async function h2Get (session: ClientHttp2Session, path: string, headers: Record<string, string>): Promise<RawResponse> {
  const stream = session.request({ ':path': path, ...headers })
  const [responseHeaders] = await once(stream, 'response') as [Http2Headers]
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return { status: Number(responseHeaders[':status']), headers: responseHeaders as Record<string, string>, body: JSON.parse(Buffer.concat(chunks).toString()) }
}

/** A certificate for TLS_NAME from `ca`, written where the gateway's configuration can name it. */
async function gatewayCertificateFiles (ca: TestCa): Promise<{ certFile: string, keyFile: string }> {
  const certificate = await ca.issue([TLS_NAME])
  const files = { certFile: path.join(ca.dir, 'gateway.crt'), keyFile: path.join(ca.dir, 'gateway.key') }
  writeFileSync(files.certFile, certificate.cert)
  writeFileSync(files.keyFile, certificate.key)
  return files
}

describe('the connection cap on the TLS port', () => {
  const MAX = 2
  let ca: TestCa
  let stack: TestStack
  let upstream: TestUpstream
  let app: Provisioned
  let plainPort: number
  let tlsPort: number
  let origin: string
  const httpPath = '/caps-tls/item'

  const refusals = async (): Promise<number> => {
    const samples = find(parseMetrics(await stack.control.gateway?.metrics.registry.metrics() ?? ''), 'gateway_rejections_total', { reason: 'TOO_MANY_CONNECTIONS_FROM_CLIENT' })
    return samples.reduce((sum, sample) => sum + sample.value, 0)
  }

  beforeAll(async () => {
    ca = await createTestCa()
    const files = await gatewayCertificateFiles(ca)
    stack = await startStack({ database: 'pglite', redis: false, config: { maxConnectionsPerClient: MAX, gatewayTlsPort: 0, gatewayTlsCertificates: [files] } })
    upstream = await startUpstream()
    app = await provision(stack, { upstreamUrls: [upstream.url], auth: ['apikey'], routes: [{ path: '/caps-tls', stripPrefix: true }] })
    await waitForPropagation(stack)
    plainPort = Number(new URL(stack.gatewayUrls[0]).port)
    origin = stack.gatewayTlsUrls[0] as string
    tlsPort = Number(new URL(origin).port)
  })

  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
    ca?.close()
  })

  it('refuses the HTTPS connection over the cap after its handshake with the JSON 429, keeps the open ones, and takes a new one once one closed', async () => {
    const client = '127.0.0.11'
    const url = `${origin}${httpPath}`
    const key = { 'x-api-key': app.apiKey }
    const open = [httpsConnection(ca.ca, client), httpsConnection(ca.ca, client)]
    for (const agent of open) expect((await httpsGet(url, agent, key)).status).toBe(200)
    const calls = upstream.received.length
    const refusedBefore = await refusals()

    const over = httpsConnection(ca.ca, client)
    expect(await httpsGet(url, over, key)).toMatchObject({ status: 429, headers: { connection: 'close', 'content-type': 'application/json; charset=utf-8' }, body: { error: { code: 'TOO_MANY_CONNECTIONS_FROM_CLIENT', message: expect.stringContaining(String(MAX)) } } })
    over.destroy()
    // the gateway answers and closes on its own, before the client says anything
    const silent = tlsConnection(tlsPort, ca.ca, client, ['http/1.1'])
    const chunks: Buffer[] = []
    for await (const chunk of silent) chunks.push(chunk as Buffer)
    const [head, body] = Buffer.concat(chunks).toString().split('\r\n\r\n', 2)
    expect(head).toMatch(/^HTTP\/1\.1 429 /)
    expect(JSON.parse(body)).toMatchObject({ error: { code: 'TOO_MANY_CONNECTIONS_FROM_CLIENT' } })
    // a WebSocket upgrade over TLS gets the same answer, whatever it asks for
    const webSocket = new WebSocket(`wss://127.0.0.1:${tlsPort}${httpPath}`, { createConnection: () => tlsConnection(tlsPort, ca.ca, client, ['http/1.1']), headers: key })
    webSocket.on('error', () => {})
    const [, upgradeResponse] = await once(webSocket, 'unexpected-response') as [unknown, IncomingMessage]
    const upgradeBody: Buffer[] = []
    for await (const chunk of upgradeResponse) upgradeBody.push(chunk as Buffer)
    expect(upgradeResponse.statusCode).toBe(429)
    expect(JSON.parse(Buffer.concat(upgradeBody).toString())).toMatchObject({ error: { code: 'TOO_MANY_CONNECTIONS_FROM_CLIENT' } })
    webSocket.terminate()
    expect(await refusals()).toBe(refusedBefore + 3)

    // the open connections are untouched: the same sockets still carry requests
    for (const agent of open) expect(await httpsGet(url, agent, key)).toMatchObject({ status: 200, reusedSocket: true })
    expect(upstream.received.length).toBe(calls + MAX)

    open[0].destroy()
    const next = httpsConnection(ca.ca, client)
    expect((await until(async () => await httpsGet(url, next, key), response => response.status === 200)).status).toBe(200)
    for (const agent of [...open, next]) agent.destroy()
  })

  it('answers an HTTP/2 client over the cap 429 on its stream and closes its session with GOAWAY', async () => {
    const client = '127.0.0.12'
    const key = { 'x-api-key': app.apiKey }
    const held = await h2Connect(origin, ca.ca, client)
    const agent = httpsConnection(ca.ca, client)
    expect((await h2Get(held, httpPath, key)).status).toBe(200)
    expect((await httpsGet(`${origin}${httpPath}`, agent, key)).status).toBe(200)
    const calls = upstream.received.length

    const over = await h2Connect(origin, ca.ca, client)
    expect(over.alpnProtocol).toBe('h2')
    const goaway = once(over, 'goaway') as Promise<[number]>
    const closed = once(over, 'close')
    // streams sent together, before the GOAWAY could arrive: each is answered
    const answers = await Promise.all([h2Get(over, httpPath, key), h2Get(over, httpPath, key)])
    for (const answer of answers) expect(answer).toMatchObject({ status: 429, headers: { 'content-type': 'application/json; charset=utf-8' }, body: { error: { code: 'TOO_MANY_CONNECTIONS_FROM_CLIENT' } } })
    const [errorCode] = await goaway
    expect(errorCode).toBe(http2.constants.NGHTTP2_NO_ERROR)
    await closed

    expect((await h2Get(held, httpPath, key)).status).toBe(200)
    expect(await httpsGet(`${origin}${httpPath}`, agent, key)).toMatchObject({ status: 200, reusedSocket: true })
    expect(upstream.received.length).toBe(calls + 2)
    held.close()
    agent.destroy()
  })

  it('counts a client\'s plain and TLS connections together', async () => {
    const client = '127.0.0.13'
    const key = { 'x-api-key': app.apiKey }
    const plain = new RawConnection(plainPort, client)
    const secure = httpsConnection(ca.ca, client)
    expect((await plain.request(httpPath, key)).status).toBe(200)
    expect((await httpsGet(`${origin}${httpPath}`, secure, key)).status).toBe(200)

    expect((await new RawConnection(plainPort, client).request(httpPath, key)).status).toBe(429)
    const overTls = httpsConnection(ca.ca, client)
    expect((await httpsGet(`${origin}${httpPath}`, overTls, key)).status).toBe(429)
    overTls.destroy()

    // the plain connection's slot goes to a TLS one
    plain.close()
    await plain.closed
    const next = httpsConnection(ca.ca, client)
    expect((await until(async () => await httpsGet(`${origin}${httpPath}`, next, key), response => response.status === 200)).status).toBe(200)
    expect((await new RawConnection(plainPort, client).request(httpPath, key)).status).toBe(429)
    secure.destroy()
    next.destroy()
  })
})

describe('the connection cap on the HTTPS redirect port', () => {
  const MAX = 2
  let ca: TestCa
  let stack: TestStack
  let redirectPort: number
  let origin: string

  beforeAll(async () => {
    ca = await createTestCa()
    const files = await gatewayCertificateFiles(ca)
    stack = await startStack({ database: 'pglite', redis: false, config: { maxConnectionsPerClient: MAX, gatewayTlsPort: 0, gatewayTlsCertificates: [files], gatewayHttpRedirect: true } })
    redirectPort = Number(new URL(stack.gatewayUrls[0]).port)
    origin = stack.gatewayTlsUrls[0] as string
  })

  afterAll(async () => {
    await stack?.close()
    ca?.close()
  })

  it('refuses a client over the cap on the redirect port too, counting its TLS connections with them', async () => {
    const client = '127.0.0.14'
    const open = [new RawConnection(redirectPort, client), new RawConnection(redirectPort, client)]
    for (const connection of open) expect((await connection.request('/anything', {})).status).toBe(308)
    const over = await new RawConnection(redirectPort, client).request('/anything', {})
    expect(over).toMatchObject({ status: 429, body: { error: { code: 'TOO_MANY_CONNECTIONS_FROM_CLIENT' } } })
    expect((await httpsGet(`${origin}/anything`, httpsConnection(ca.ca, client), {})).status).toBe(429)
    // another client is not counted against it
    expect((await new RawConnection(redirectPort, '127.0.0.15').request('/anything', {})).status).toBe(308)
    open[0].close()
    await open[0].closed
    // the slot frees when the gateway sees the close: a connection refused meanwhile is closed by it
    const attempts: RawConnection[] = []
    const freed = await until(async () => {
      const attempt = new RawConnection(redirectPort, client)
      attempts.push(attempt)
      return await attempt.request('/anything', {})
    }, response => response.status === 308)
    expect(freed.status).toBe(308)
    for (const connection of [open[1], ...attempts]) connection.close()
  })
})

describe('failed authentications counted across gateways through Redis', () => {
  let stack: TestStack
  let upstream: TestUpstream
  let app: Provisioned

  beforeAll(async () => {
    stack = await startStack({
      database: 'postgresql',
      redis: true,
      extraGateways: 1,
      config: { failedAuthenticationsPerClient: MAX_FAILURES, failedAuthenticationWindowSeconds: 30, trustedProxies: ['127.0.0.1'] }
    })
    upstream = await startUpstream()
    app = await provision(stack, { upstreamUrls: [upstream.url], auth: ['apikey'], routes: [{ path: '/caps-cluster', stripPrefix: true }] })
    await waitForPropagation(stack)
  })

  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
  })

  it('refuses an address on a second gateway at its first failure there after it failed the limit on the first', async () => {
    const [first, second] = stack.gatewayUrls.map(url => `${url}/caps-cluster/item`)
    const attacker = { 'x-forwarded-for': '203.0.113.70' }
    for (let attempt = 0; attempt < MAX_FAILURES; attempt++) expect((await get(first, { ...attacker, 'x-api-key': `pgw_ak_guess${attempt}` })).status).toBe(401)
    // the count is in Redis by the time the first gateway refuses (the charge does not hold up the answer)
    expect((await until(async () => await get(first, { ...attacker, 'x-api-key': app.apiKey }), response => response.status === 429)).status).toBe(429)
    // the second gateway learns of it with the address's next failure there: the count it gets back is over the limit
    expect((await get(second, { ...attacker, 'x-api-key': 'pgw_ak_guess-again' })).status).toBe(401)
    expect((await until(async () => await get(second, { ...attacker, 'x-api-key': app.apiKey }), response => response.status === 429)).body.error.code).toBe('TOO_MANY_FAILED_AUTHENTICATIONS')
    expect((await get(second, { 'x-forwarded-for': '203.0.113.71', 'x-api-key': app.apiKey })).status).toBe(200)
  })
})
