// WebSocket pass-through with real `ws` clients, a real WebSocket upstream, two gateway
// nodes sharing PostgreSQL and Redis, and Socket.IO end to end.
import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import { connect } from 'node:net'
import { Server as SocketIoServer } from 'socket.io'
import { io as socketIoClient } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { signQueryString } from '../../../src/domain/sign-request.js'
import { provision, startStack, waitForPropagation, type Provisioned, type TestStack } from '../../helpers/stack.js'

interface Upstream { url: string, handshakes: IncomingMessage[], closes: Array<{ code: number, reason: string }>, close: () => Promise<void> }

async function startWebSocketUpstream (options: { handshakeDelayMs?: number } = {}): Promise<Upstream> {
  const server = createServer((_request, response) => { response.statusCode = 426; response.end() })
  const { handshakeDelayMs } = options
  const verifyClient = handshakeDelayMs === undefined ? undefined : (_info: unknown, accept: (verified: boolean) => void) => { setTimeout(() => { accept(true) }, handshakeDelayMs) }
  const wss = new WebSocketServer({ server, maxPayload: 64 * 1024 * 1024, verifyClient })
  const handshakes: IncomingMessage[] = []
  const closes: Array<{ code: number, reason: string }> = []
  wss.on('connection', (socket, request) => {
    handshakes.push(request)
    socket.on('message', (data, isBinary) => {
      const text = isBinary ? '' : data.toString()
      const closeCommand = /^close:(\d+):(.*)$/.exec(text)
      if (closeCommand !== null) socket.close(Number(closeCommand[1]), closeCommand[2])
      else socket.send(data, { binary: isBinary })
    })
    socket.on('close', (code, reason) => { closes.push({ code, reason: reason.toString() }) })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`,
    handshakes,
    closes,
    async close () {
      for (const client of wss.clients) client.terminate()
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    }
  }
}

async function open (url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  const socket = new WebSocket(url, { headers })
  await once(socket, 'open')
  return socket
}

async function refused (url: string, headers: Record<string, string> = {}): Promise<{ status: number, body: { error: { code: string } } }> {
  const socket = new WebSocket(url, { headers })
  // terminating a socket whose handshake was refused reports an error we expect
  socket.on('error', () => {})
  const [, response] = await once(socket, 'unexpected-response') as [unknown, IncomingMessage]
  const chunks: Buffer[] = []
  for await (const chunk of response) chunks.push(chunk as Buffer)
  socket.terminate()
  return { status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) }
}

/** Sends an upgrade request as written, for handshakes `ws` would never send. */
async function rawUpgrade (url: string, method: string, headers: Record<string, string>): Promise<{ status: number, headers: Record<string, string>, body: string }> {
  const { hostname, port, pathname } = new URL(url)
  const socket = connect(Number(port), hostname)
  const lines = [`${method} ${pathname} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Connection: Upgrade', ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)]
  // no FIN from this side: the gateway answers and closes
  socket.write(`${lines.join('\r\n')}\r\n\r\n`)
  const chunks: Buffer[] = []
  for await (const chunk of socket) chunks.push(chunk as Buffer)
  const [head, body] = Buffer.concat(chunks).toString().split('\r\n\r\n', 2)
  const [statusLine, ...headerLines] = head.split('\r\n')
  return {
    status: Number(statusLine.split(' ')[1]),
    headers: Object.fromEntries(headerLines.map(line => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()])),
    body
  }
}

async function nextMessage (socket: WebSocket): Promise<{ data: Buffer, isBinary: boolean }> {
  const [data, isBinary] = await once(socket, 'message') as [Buffer, boolean]
  return { data, isBinary }
}

async function closed (socket: WebSocket): Promise<{ code: number, reason: string }> {
  if (socket.readyState === WebSocket.CLOSED) throw new Error('already closed')
  const [code, reason] = await once(socket, 'close') as [number, Buffer]
  return { code, reason: reason.toString() }
}

describe('WebSocket pass-through', () => {
  let stack: TestStack
  let upstream: Upstream
  let app: Provisioned
  let prefix: string
  let base: string

  beforeAll(async () => {
    stack = await startStack({ database: 'postgresql', redis: true, extraGateways: 1, config: { webSocketIdleTimeoutSeconds: 2, webSocketMaxMessageBytes: 256 * 1024 } })
    upstream = await startWebSocketUpstream()
    app = await provision(stack, { upstreamUrls: [upstream.url], routes: [{ path: `/ws-${Math.random().toString(36).slice(2, 8)}`, stripPrefix: true, websocket: true }], plan: { maxConnections: 2 } })
    prefix = (await stack.admin('GET', `/admin/v1/apis/${app.apiId}`)).body.routes[0].path
    base = stack.gatewayUrls[0].replace('http', 'ws')
    await waitForPropagation(stack)
  })
  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
  })

  it('echoes text, binary and large frames both ways and tells the upstream who connected', async () => {
    const socket = await open(`${base}${prefix}/stream?room=7`, { 'x-api-key': app.apiKey })
    socket.send('hello')
    expect((await nextMessage(socket)).data.toString()).toBe('hello')
    socket.send(Buffer.from([1, 2, 3, 255]))
    const binary = await nextMessage(socket)
    expect(binary.isBinary).toBe(true)
    expect([...binary.data]).toEqual([1, 2, 3, 255])
    const large = Buffer.alloc(200 * 1024, 7)
    socket.send(large)
    expect((await nextMessage(socket)).data.equals(large)).toBe(true)
    const handshake = upstream.handshakes[upstream.handshakes.length - 1]
    expect(handshake.url).toBe('/stream?room=7')
    expect(handshake.headers['x-app-id']).toBe(app.appId)
    expect(handshake.headers['x-api-key']).toBeUndefined()
    socket.close(4000, 'client done')
    await closed(socket)
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(upstream.closes[upstream.closes.length - 1]).toEqual({ code: 4000, reason: 'client done' })
  })

  it('passes the upstream close code and reason to the client', async () => {
    const socket = await open(`${base}${prefix}/x`, { 'x-api-key': app.apiKey })
    socket.send('close:4001:upstream says bye')
    expect(await closed(socket)).toEqual({ code: 4001, reason: 'upstream says bye' })
  })

  it('refuses bad upgrades with an HTTP status and a JSON error', async () => {
    expect(await refused(`${base}${prefix}/x`)).toMatchObject({ status: 401, body: { error: { code: 'MISSING_CREDENTIALS' } } })
    expect(await refused(`${base}${prefix}/x`, { 'x-api-key': 'pgw_ak_nope' })).toMatchObject({ status: 401, body: { error: { code: 'UNKNOWN_KEY' } } })
    expect(await refused(`${base}/no-such-route`, { 'x-api-key': app.apiKey })).toMatchObject({ status: 404, body: { error: { code: 'ROUTE_NOT_FOUND' } } })
    const other = await provision(stack, { upstreamUrls: [upstream.url], routes: [{ path: `/ws-other-${Math.random().toString(36).slice(2, 8)}`, websocket: true }], grant: false })
    const otherPrefix = (await stack.admin('GET', `/admin/v1/apis/${other.apiId}`)).body.routes[0].path
    await waitForPropagation(stack)
    expect(await refused(`${base}${otherPrefix}`, { 'x-api-key': other.apiKey })).toMatchObject({ status: 403, body: { error: { code: 'NOT_GRANTED' } } })
  })

  it('refuses a malformed upgrade with a JSON error before connecting upstream or taking a connection slot', async () => {
    const url = `${stack.gatewayUrls[0]}${prefix}/malformed`
    const valid = { Upgrade: 'websocket', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13', 'X-Api-Key': app.apiKey }
    const handshakesBefore = upstream.handshakes.length
    const badKey = await rawUpgrade(url, 'GET', { ...valid, 'Sec-WebSocket-Key': 'not-a-key' })
    expect(badKey).toMatchObject({ status: 400, headers: { 'content-type': 'application/json; charset=utf-8' } })
    expect(JSON.parse(badKey.body)).toEqual({ error: { code: 'BAD_WEBSOCKET_HANDSHAKE', message: 'Missing or invalid Sec-WebSocket-Key header', requestId: expect.any(String) } })
    const badVersion = await rawUpgrade(url, 'GET', { ...valid, 'Sec-WebSocket-Version': '12' })
    expect(badVersion).toMatchObject({ status: 400, headers: { 'sec-websocket-version': '13, 8' } })
    expect(JSON.parse(badVersion.body).error.code).toBe('BAD_WEBSOCKET_HANDSHAKE')
    const badProtocols = await rawUpgrade(url, 'GET', { ...valid, 'Sec-WebSocket-Protocol': 'chat,,superchat' })
    expect(JSON.parse(badProtocols.body).error.code).toBe('BAD_WEBSOCKET_HANDSHAKE')
    const post = await rawUpgrade(url, 'POST', valid)
    expect(post).toMatchObject({ status: 405, headers: { allow: 'GET' } })
    expect(JSON.parse(post.body).error.code).toBe('METHOD_NOT_ALLOWED')
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(upstream.handshakes.length).toBe(handshakesBefore)
    // the plan allows two connections: none of the refusals kept one
    const sockets = [await open(`${base}${prefix}/a`, { 'x-api-key': app.apiKey }), await open(`${base}${prefix}/b`, { 'x-api-key': app.apiKey })]
    for (const socket of sockets) socket.close()
    await Promise.all(sockets.map(closed))
  })

  it('releases the upstream connection and the slot of a client that leaves during the upgrade', async () => {
    const slow = await startWebSocketUpstream({ handshakeDelayMs: 300 })
    try {
      const single = await provision(stack, { upstreamUrls: [slow.url], routes: [{ path: `/ws-leave-${Math.random().toString(36).slice(2, 8)}`, websocket: true }], plan: { maxConnections: 1 } })
      const singlePrefix = (await stack.admin('GET', `/admin/v1/apis/${single.apiId}`)).body.routes[0].path
      await waitForPropagation(stack)
      const { hostname, port } = new URL(stack.gatewayUrls[0])
      const leaving = connect(Number(port), hostname)
      leaving.write(`GET ${singlePrefix} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Api-Key: ${single.apiKey}\r\n\r\n`)
      await new Promise(resolve => setTimeout(resolve, 100))
      leaving.destroy()
      for (let attempt = 0; attempt < 100 && slow.closes.length === 0; attempt++) await new Promise(resolve => setTimeout(resolve, 20))
      expect(slow.handshakes).toHaveLength(1)
      expect(slow.closes).toHaveLength(1)
      const socket = await open(`${base}${singlePrefix}`, { 'x-api-key': single.apiKey })
      socket.close()
      await closed(socket)
    } finally {
      await slow.close()
    }
  })

  it('answers 502 when the upstream is down at the upgrade', async () => {
    const down = await provision(stack, { upstreamUrls: ['http://127.0.0.1:1'], routes: [{ path: `/ws-down-${Math.random().toString(36).slice(2, 8)}`, websocket: true }] })
    const downPrefix = (await stack.admin('GET', `/admin/v1/apis/${down.apiId}`)).body.routes[0].path
    await waitForPropagation(stack)
    expect(await refused(`${base}${downPrefix}`, { 'x-api-key': down.apiKey })).toMatchObject({ status: 502, body: { error: { code: 'UPSTREAM_UNAVAILABLE' } } })
  })

  it('accepts a browser-style signed query string', async () => {
    const signed = signQueryString(`${prefix}/browser?room=1`, app.key, app.secret)
    const socket = await open(`${base}${signed}`)
    socket.send('from a browser')
    expect((await nextMessage(socket)).data.toString()).toBe('from a browser')
    expect(upstream.handshakes[upstream.handshakes.length - 1].url).toBe('/browser?room=1')
    socket.close()
    const tampered = `${base}${signed.replace('room=1', 'room=2')}`
    expect((await refused(tampered)).body.error.code).toBe('BAD_SIGNATURE')
  })

  it('closes a message over the size limit with 1009', async () => {
    const socket = await open(`${base}${prefix}/big`, { 'x-api-key': app.apiKey })
    socket.send(Buffer.alloc(300 * 1024))
    expect((await closed(socket)).code).toBe(1009)
  })

  it('closes an idle connection with 1001', async () => {
    const socket = await open(`${base}${prefix}/idle`, { 'x-api-key': app.apiKey })
    const started = Date.now()
    expect((await closed(socket)).code).toBe(1001)
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900)
  })

  it('enforces the per-app connection limit across both gateway nodes', async () => {
    const limited = await provision(stack, { upstreamUrls: [upstream.url], routes: [{ path: `/ws-limit-${Math.random().toString(36).slice(2, 8)}`, websocket: true }], plan: { maxConnections: 2 } })
    const limitedPrefix = (await stack.admin('GET', `/admin/v1/apis/${limited.apiId}`)).body.routes[0].path
    await waitForPropagation(stack)
    const [first, second] = stack.gatewayUrls.map(url => url.replace('http', 'ws'))
    const one = await open(`${first}${limitedPrefix}`, { 'x-api-key': limited.apiKey })
    const two = await open(`${second}${limitedPrefix}`, { 'x-api-key': limited.apiKey })
    expect(await refused(`${first}${limitedPrefix}`, { 'x-api-key': limited.apiKey })).toMatchObject({ status: 429, body: { error: { code: 'TOO_MANY_CONNECTIONS' } } })
    one.close()
    await closed(one)
    await new Promise(resolve => setTimeout(resolve, 100))
    const three = await open(`${second}${limitedPrefix}`, { 'x-api-key': limited.apiKey })
    two.close()
    three.close()
  })

  it('closes live connections with 1008 when the grant is revoked', async () => {
    const revoked = await provision(stack, { upstreamUrls: [upstream.url], routes: [{ path: `/ws-revoke-${Math.random().toString(36).slice(2, 8)}`, websocket: true }] })
    const revokedPrefix = (await stack.admin('GET', `/admin/v1/apis/${revoked.apiId}`)).body.routes[0].path
    await waitForPropagation(stack)
    const socket = await open(`${base}${revokedPrefix}`, { 'x-api-key': revoked.apiKey })
    const closing = closed(socket)
    const started = Date.now()
    await stack.admin('PATCH', `/admin/v1/grants/${revoked.grantId as string}`, { status: 'revoked' })
    expect(await closing).toEqual({ code: 1008, reason: 'access revoked' })
    // promptly, with room for a loaded CI machine (see expectClosedBy)
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('works for a Socket.IO client and server, polling then upgrading', async () => {
    const httpServer = createServer()
    const socketIo = new SocketIoServer(httpServer)
    socketIo.on('connection', socket => { socket.on('ping-me', (text: string, answer: (reply: string) => void) => { answer(`pong: ${text}`) }) })
    await new Promise<void>(resolve => httpServer.listen(0, '127.0.0.1', resolve))
    const address = httpServer.address()
    const ioApp = await provision(stack, { upstreamUrls: [`http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`], routes: [{ path: `/io-${Math.random().toString(36).slice(2, 8)}`, stripPrefix: true, websocket: true }] })
    const ioPrefix = (await stack.admin('GET', `/admin/v1/apis/${ioApp.apiId}`)).body.routes[0].path
    await waitForPropagation(stack)
    const client = socketIoClient(stack.gatewayUrls[0], { path: `${ioPrefix}/socket.io`, extraHeaders: { 'x-api-key': ioApp.apiKey }, transports: ['polling', 'websocket'], reconnection: false })
    try {
      await new Promise<void>(resolve => { client.once('connect', resolve) })
      expect(await client.emitWithAck('ping-me', 'over polling or websocket')).toBe('pong: over polling or websocket')
      if (client.io.engine.transport.name !== 'websocket') await new Promise<void>(resolve => { client.io.engine.once('upgrade', () => { resolve() }) })
      expect(client.io.engine.transport.name).toBe('websocket')
      expect(await client.emitWithAck('ping-me', 'after upgrade')).toBe('pong: after upgrade')
    } finally {
      client.close()
      await socketIo.close()
    }
  })

  it('closes open connections with 1001 when a gateway shuts down', async () => {
    const node = stack.gateways[1]
    const socket = await open(`${stack.gatewayUrls[1].replace('http', 'ws')}${prefix}/shutdown`, { 'x-api-key': app.apiKey })
    const closing = closed(socket)
    await node.gateway?.close()
    expect((await closing).code).toBe(1001)
  })
})

describe('WebSocket limits per gateway process and metrics', () => {
  let stack: TestStack
  let upstream: Upstream

  beforeAll(async () => {
    stack = await startStack({ database: 'pglite', redis: false, config: { maxWebSocketConnections: 1, webSocketPingIntervalSeconds: 1 } })
    upstream = await startWebSocketUpstream()
  })
  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
  })

  it('refuses connections beyond the process cap and counts messages, bytes and open connections', async () => {
    const app = await provision(stack, { upstreamUrls: [upstream.url], routes: [{ path: '/metered', websocket: true }] })
    const apiName = (await stack.admin('GET', `/admin/v1/apis/${app.apiId}`)).body.name as string
    await waitForPropagation(stack)
    const base = stack.gatewayUrls[0].replace('http', 'ws')
    const socket = await open(`${base}/metered`, { 'x-api-key': app.apiKey })
    expect(await refused(`${base}/metered`, { 'x-api-key': app.apiKey })).toMatchObject({ status: 429, body: { error: { code: 'TOO_MANY_CONNECTIONS' } } })
    socket.send('12345')
    await nextMessage(socket)
    const metrics = await (await fetch(`${stack.gatewayUrls[0]}/metrics`)).text()
    expect(metrics).toContain(`gateway_websocket_connections{api="${apiName}"} 1`)
    expect(metrics).toContain(`gateway_websocket_messages_total{api="${apiName}",direction="in"} 1`)
    expect(metrics).toContain(`gateway_websocket_bytes_total{api="${apiName}",direction="out"} 5`)
    socket.close()
    await closed(socket)
  })

  it('drops a peer that stops answering pings', async () => {
    const app = await provision(stack, { upstreamUrls: [upstream.url], routes: [{ path: '/silent', websocket: true }] })
    await waitForPropagation(stack)
    const socket = await open(`${stack.gatewayUrls[0].replace('http', 'ws')}/silent`, { 'x-api-key': app.apiKey })
    // a peer that vanished without a close frame answers no pings
    socket.pong = () => {}
    const started = Date.now()
    expect((await closed(socket)).code).toBe(1006)
    expect(Date.now() - started).toBeLessThan(3500)
  })

  it('closes live connections with 1008 when the credential is revoked or the app suspended', async () => {
    const app = await provision(stack, { upstreamUrls: [upstream.url], routes: [{ path: '/revocable', websocket: true }] })
    await waitForPropagation(stack)
    const base = stack.gatewayUrls[0].replace('http', 'ws')
    const first = await open(`${base}/revocable`, { 'x-api-key': app.apiKey })
    const firstClosed = closed(first)
    await stack.admin('PATCH', `/admin/v1/apps/${app.appId}`, { status: 'suspended' })
    expect((await firstClosed).code).toBe(1008)
    await stack.admin('PATCH', `/admin/v1/apps/${app.appId}`, { status: 'active' })
    await waitForPropagation(stack)
    const second = await open(`${base}/revocable`, { 'x-api-key': app.apiKey })
    const secondClosed = closed(second)
    await stack.admin('DELETE', `/admin/v1/apps/${app.appId}/credentials/${app.key}`)
    expect((await secondClosed).code).toBe(1008)
  })
})

describe('WebSockets following their route', () => {
  let stack: TestStack
  let upstream: Upstream
  let base: string

  beforeAll(async () => {
    stack = await startStack({ database: 'pglite', redis: false })
    upstream = await startWebSocketUpstream()
    base = stack.gatewayUrls[0].replace('http', 'ws')
  })
  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
  })

  function uniquePath (name: string): string {
    return `/${name}-${Math.random().toString(36).slice(2, 8)}`
  }

  async function provisionRoutes (routes: Array<{ path: string, websocket?: boolean, stripPrefix?: boolean }>, upstreamUrls = [upstream.url]): Promise<Provisioned> {
    const provisioned = await provision(stack, { upstreamUrls, routes: routes.map(route => ({ websocket: true, ...route })) })
    await waitForPropagation(stack)
    return provisioned
  }

  /** Sends one message through the connection and waits for its echo. */
  async function echoes (socket: WebSocket, text: string): Promise<void> {
    socket.send(text)
    expect((await nextMessage(socket)).data.toString()).toBe(text)
  }

  /** Makes a change through the operator API and expects the connection closed with 1008 and `reason` within a second. */
  async function expectClosedBy (socket: WebSocket, change: () => Promise<unknown>, reason: string): Promise<void> {
    const closing = closed(socket)
    const started = Date.now()
    await change()
    expect(await closing).toEqual({ code: 1008, reason })
    // the reason says the change closed it; the bound only catches a close left to some later
    // sweep, with room for a loaded CI machine (how fast changes propagate is the bench's to measure)
    expect(Date.now() - started).toBeLessThan(5000)
  }

  it('closes a connection whose route was removed, and keeps one on a route that stayed', async () => {
    const [removedPath, keptPath] = [uniquePath('removed'), uniquePath('kept')]
    const api = await provisionRoutes([{ path: removedPath }, { path: keptPath }])
    const onRemoved = await open(`${base}${removedPath}/room`, { 'x-api-key': api.apiKey })
    const onKept = await open(`${base}${keptPath}/room`, { 'x-api-key': api.apiKey })
    await expectClosedBy(onRemoved, async () => await stack.admin('PATCH', `/admin/v1/apis/${api.apiId}`, { routes: [{ path: keptPath, websocket: true }] }), 'no route for this path any more')
    await waitForPropagation(stack)
    await echoes(onKept, 'still routed')
    onKept.close()
    await closed(onKept)
  })

  it('closes a connection whose route moved to another path', async () => {
    const path = uniquePath('moving')
    const api = await provisionRoutes([{ path }])
    const socket = await open(`${base}${path}/room`, { 'x-api-key': api.apiKey })
    await expectClosedBy(socket, async () => await stack.admin('PATCH', `/admin/v1/apis/${api.apiId}`, { routes: [{ path: `${path}-moved`, websocket: true }] }), 'no route for this path any more')
  })

  it('closes a connection whose route stopped accepting WebSockets', async () => {
    const path = uniquePath('flag')
    const api = await provisionRoutes([{ path }])
    const socket = await open(`${base}${path}`, { 'x-api-key': api.apiKey })
    await expectClosedBy(socket, async () => await stack.admin('PATCH', `/admin/v1/apis/${api.apiId}`, { routes: [{ path, websocket: false }] }), 'route no longer accepts websockets')
  })

  it('closes a connection whose route would now send another path upstream', async () => {
    const path = uniquePath('rewritten')
    const api = await provisionRoutes([{ path, stripPrefix: true }])
    const socket = await open(`${base}${path}/room`, { 'x-api-key': api.apiKey })
    await expectClosedBy(socket, async () => await stack.admin('PATCH', `/admin/v1/apis/${api.apiId}`, { routes: [{ path, websocket: true, stripPrefix: false }] }), 'route now forwards to another upstream path')
  })

  it('closes a connection whose upstream target was removed, and keeps one on the remaining target', async () => {
    const second = await startWebSocketUpstream()
    try {
      const path = uniquePath('targets')
      const api = await provisionRoutes([{ path }], [upstream.url, second.url])
      // the upstream records its side of the handshake before the gateway completes the client's
      const openOnSecondTarget = async (): Promise<{ socket: WebSocket, onSecond: boolean }> => {
        const before = second.handshakes.length
        const socket = await open(`${base}${path}`, { 'x-api-key': api.apiKey })
        return { socket, onSecond: second.handshakes.length > before }
      }
      const connections = [await openOnSecondTarget(), await openOnSecondTarget()]
      const onSecond = connections.find(connection => connection.onSecond)?.socket
      const onFirst = connections.find(connection => !connection.onSecond)?.socket
      if (onSecond === undefined || onFirst === undefined) throw new Error('round robin did not spread the two connections over both targets')
      await expectClosedBy(onSecond, async () => await stack.admin('PATCH', `/admin/v1/upstreams/${api.upstreamId}`, { targets: [{ url: upstream.url, weight: 1 }] }), 'upstream target removed')
      await waitForPropagation(stack)
      await echoes(onFirst, 'on the remaining target')
      onFirst.close()
      await closed(onFirst)
    } finally {
      await second.close()
    }
  })

  it('closes a connection whose API moved to another upstream', async () => {
    const path = uniquePath('upstream')
    const api = await provisionRoutes([{ path }])
    const other = await stack.admin('POST', '/admin/v1/upstreams', { name: `upstream-other-${Math.random().toString(36).slice(2, 8)}`, targets: [{ url: upstream.url, weight: 1 }] })
    expect(other.status).toBe(201)
    const socket = await open(`${base}${path}`, { 'x-api-key': api.apiKey })
    await expectClosedBy(socket, async () => await stack.admin('PATCH', `/admin/v1/apis/${api.apiId}`, { upstreamId: other.body.id }), 'API now uses another upstream')
  })

  it('keeps connections open through unrelated changes, and counts the closes it made by reason', async () => {
    const path = uniquePath('steady')
    const api = await provisionRoutes([{ path }])
    const apiName = (await stack.admin('GET', `/admin/v1/apis/${api.apiId}`)).body.name as string
    const socket = await open(`${base}${path}`, { 'x-api-key': api.apiKey })
    let closedEarly = false
    socket.once('close', () => { closedEarly = true })
    // another API with its own routes and upstream, and the same API's routes recreated unchanged
    await provisionRoutes([{ path: uniquePath('another') }, { path: `${path}/deeper` }])
    expect((await stack.admin('PATCH', `/admin/v1/apis/${api.apiId}`, { routes: [{ path, websocket: true }] })).status).toBe(200)
    await waitForPropagation(stack)
    await new Promise(resolve => setTimeout(resolve, 200))
    expect(closedEarly).toBe(false)
    await echoes(socket, 'still here')
    await expectClosedBy(socket, async () => await stack.admin('PATCH', `/admin/v1/apis/${api.apiId}`, { routes: [{ path: `${path}-elsewhere`, websocket: true }] }), 'no route for this path any more')
    const metrics = await (await fetch(`${stack.gatewayUrls[0]}/metrics`)).text()
    expect(metrics).toContain(`gateway_websocket_policy_closes_total{api="${apiName}",reason="route_gone"} 1`)
  })
})
