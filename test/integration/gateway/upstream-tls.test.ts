// Upstreams over HTTPS with real TLS: a private CA, an upstream that requires a client
// certificate (mTLS), SNI, and WebSockets over wss://, all configured through the operator API.
import { once } from 'node:events'
import type { IncomingMessage } from 'node:http'
import { createServer, type Server } from 'node:https'
import type { TLSSocket } from 'node:tls'
import { Writable } from 'node:stream'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { provision, startStack, waitForPropagation, type Provisioned, type TestStack } from '../../helpers/stack.js'
import { createTestPki, type TestPki } from '../../helpers/tls-certificates.js'

/** servername: the SNI name the gateway sent, false for none; clientName: the CN of its client certificate */
interface SeenRequest { path: string, servername: string | false | null, clientName: string | string[] | undefined }

interface HttpsUpstream {
  url: string
  seen: SeenRequest[]
  close: () => Promise<void>
}

/** An https (and wss) server that answers with what it saw of the gateway's TLS connection. */
async function startHttpsUpstream (options: { cert: string, key: string, ca?: string, requireClientCertificate: boolean }): Promise<HttpsUpstream> {
  const seen: SeenRequest[] = []
  const describe = (request: IncomingMessage): SeenRequest => {
    const socket = request.socket as TLSSocket
    const peer = socket.getPeerCertificate()
    return { path: request.url ?? '', servername: socket.servername, clientName: peer?.subject?.CN }
  }
  const server: Server = createServer({ cert: options.cert, key: options.key, ca: options.ca, requestCert: options.requireClientCertificate, rejectUnauthorized: options.requireClientCertificate }, (request, response) => {
    const view = describe(request)
    seen.push(view)
    response.setHeader('content-type', 'application/json')
    response.end(JSON.stringify(view))
  })
  const webSockets = new WebSocketServer({ server })
  webSockets.on('connection', (socket, request) => {
    const view = describe(request)
    seen.push(view)
    socket.send(JSON.stringify(view))
    socket.on('message', data => { socket.send(`echo:${String(data)}`) })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return {
    url: `https://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`,
    seen,
    async close () {
      for (const client of webSockets.clients) client.terminate()
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    }
  }
}

describe('upstreams over HTTPS', () => {
  let pki: TestPki
  let stack: TestStack
  let mtls: HttpsUpstream
  let named: HttpsUpstream
  const logLines: Array<Record<string, any>> = []

  beforeAll(async () => {
    pki = createTestPki()
    mtls = await startHttpsUpstream({ cert: pki.serverCertificate, key: pki.serverKey, ca: pki.caCertificate, requireClientCertificate: true })
    named = await startHttpsUpstream({ cert: pki.namedOnlyServerCertificate, key: pki.namedOnlyServerKey, requireClientCertificate: false })
    const sink = new Writable({ write (chunk, _encoding, done) { logLines.push(JSON.parse(String(chunk))); done() } })
    stack = await startStack({ database: 'postgresql', redis: false, logger: pino({ level: 'info' }, sink) })
  })
  afterAll(async () => {
    await stack?.close()
    await mtls?.close()
    await named?.close()
  })

  async function provisioned (options: Parameters<typeof provision>[1]): Promise<Provisioned> {
    const api = await provision(stack, options)
    await waitForPropagation(stack)
    return api
  }

  async function setTls (upstreamId: string, tls: unknown): Promise<void> {
    const response = await stack.admin('PATCH', `/admin/v1/upstreams/${upstreamId}`, { tls })
    expect(response.status, JSON.stringify(response.body)).toBe(200)
    await waitForPropagation(stack)
  }

  async function call (api: Provisioned, path: string, requestId: string): Promise<{ status: number, body: any }> {
    const route = (await stack.admin('GET', `/admin/v1/apis/${api.apiId}`)).body.routes[0].path as string
    const response = await fetch(`${stack.gatewayUrls[0]}${route}${path}`, { headers: { 'x-api-key': api.apiKey, 'x-request-id': requestId } })
    return { status: response.status, body: await response.json() }
  }

  function errorLinesOf (requestId: string): Array<Record<string, any>> {
    return logLines.filter(line => line.level >= 50 && line.reqId === requestId)
  }

  it('follows an https upstream through its TLS settings: untrusted, then refused without a client certificate, then served with one', async () => {
    const api = await provisioned({ upstreamUrls: [mtls.url] })

    // Node's own CAs do not know the private CA: the gateway refuses to talk to the upstream
    const untrusted = await call(api, '/orders', 'tls-untrusted')
    expect(untrusted).toEqual({ status: 502, body: { error: { code: 'UPSTREAM_CERTIFICATE_UNTRUSTED', message: expect.stringMatching(/certificate is not trusted/), requestId: 'tls-untrusted' } } })
    const untrustedLines = errorLinesOf('tls-untrusted')
    expect(untrustedLines).toHaveLength(1)
    expect(untrustedLines[0].err.message).toMatch(/self-signed certificate in certificate chain/)
    expect(untrustedLines[0].err).toMatchObject({ upstreamTarget: mtls.url })

    // trusted now, but the upstream wants a client certificate the gateway does not have
    await setTls(api.upstreamId, { caBundle: pki.caCertificate })
    const refused = await call(api, '/orders', 'tls-no-client-cert')
    expect(refused).toEqual({ status: 502, body: { error: { code: 'UPSTREAM_TLS_HANDSHAKE_FAILED', message: expect.any(String), requestId: 'tls-no-client-cert' } } })
    const refusedLines = errorLinesOf('tls-no-client-cert')
    expect(refusedLines).toHaveLength(1)
    expect(refusedLines[0].err.message).toMatch(/certificate required/)
    expect(mtls.seen).toEqual([])

    await setTls(api.upstreamId, { clientCertificate: pki.clientCertificate, clientKey: pki.clientKey })
    const served = await call(api, '/orders', 'tls-served')
    expect(served).toEqual({ status: 200, body: { path: '/orders', servername: false, clientName: pki.clientName } })
  })

  it('proxies WebSockets to a wss:// upstream with the same settings, and refuses the upgrade with 502 without them', async () => {
    const api = await provisioned({ upstreamUrls: [mtls.url], routes: [{ path: `/wss-${Date.now()}`, websocket: true, stripPrefix: true }] })
    const route = (await stack.admin('GET', `/admin/v1/apis/${api.apiId}`)).body.routes[0].path as string
    const url = `${stack.gatewayUrls[0].replace('http', 'ws')}${route}/live`

    const refusal = new WebSocket(url, { headers: { 'x-api-key': api.apiKey } })
    refusal.on('error', () => {})
    const [, response] = await once(refusal, 'unexpected-response') as [unknown, IncomingMessage]
    const chunks: Buffer[] = []
    for await (const chunk of response) chunks.push(chunk as Buffer)
    refusal.terminate()
    expect(response.statusCode).toBe(502)
    expect(JSON.parse(Buffer.concat(chunks).toString()).error.code).toBe('UPSTREAM_CERTIFICATE_UNTRUSTED')

    await setTls(api.upstreamId, { caBundle: pki.caCertificate, clientCertificate: pki.clientCertificate, clientKey: pki.clientKey })
    const socket = new WebSocket(url, { headers: { 'x-api-key': api.apiKey } })
    const [greeting] = await once(socket, 'message') as [Buffer]
    expect(JSON.parse(String(greeting))).toEqual({ path: '/live', servername: false, clientName: pki.clientName })
    socket.send('ping-1')
    const [echo] = await once(socket, 'message') as [Buffer]
    expect(String(echo)).toBe('echo:ping-1')
    socket.close()
  })

  it('checks the certificate against the servername when one is set, sends it as SNI, and skips verification only when told to', async () => {
    const api = await provisioned({ upstreamUrls: [named.url], upstream: { tls: { caBundle: pki.caCertificate } } })
    // the certificate names upstream.test only, and the target is an address
    const mismatch = await call(api, '/a', 'tls-name-mismatch')
    expect(mismatch.status).toBe(502)
    expect(mismatch.body.error.code).toBe('UPSTREAM_CERTIFICATE_UNTRUSTED')
    expect(errorLinesOf('tls-name-mismatch')[0].err.message).toMatch(/does not match certificate's altnames/)

    await setTls(api.upstreamId, { servername: pki.serverName })
    expect(await call(api, '/b', 'tls-servername')).toEqual({ status: 200, body: { path: '/b', servername: pki.serverName, clientName: undefined } })

    await setTls(api.upstreamId, { caBundle: null, servername: null })
    expect((await call(api, '/c', 'tls-default-cas')).body.error.code).toBe('UPSTREAM_CERTIFICATE_UNTRUSTED')
    await setTls(api.upstreamId, { insecureSkipVerify: true })
    expect(await call(api, '/d', 'tls-skip-verify')).toEqual({ status: 200, body: { path: '/d', servername: false, clientName: undefined } })
  })

  it('probes health checks with the client certificate', async () => {
    const api = await provisioned({ upstreamUrls: [mtls.url], upstream: { tls: { caBundle: pki.caCertificate, clientCertificate: pki.clientCertificate, clientKey: pki.clientKey } } })
    const pool = stack.control.gateway?.pools.get(api.upstreamId)
    if (pool === undefined) throw new Error('no pool')
    const probesBefore = mtls.seen.filter(request => request.path === '/health').length
    await pool.probe({ path: '/health', timeoutMs: 2000, healthyThreshold: 1, unhealthyThreshold: 1 })
    expect(mtls.seen.filter(request => request.path === '/health')).toHaveLength(probesBefore + 1)
    expect(mtls.seen.at(-1)).toEqual({ path: '/health', servername: false, clientName: pki.clientName })
  })
})
