// The gateway's TLS port with real clients: SNI picks the certificate, HTTP/2 and HTTP/1.1
// get the same route with the same policies and headers, WebSockets over TLS, TLS 1.0/1.1
// refused, the plain port redirecting to HTTPS, and renewed certificates picked up from
// their files while open connections keep working (a broken renewal keeps the old one).
import { once } from 'node:events'
import { X509Certificate } from 'node:crypto'
import type { LookupAddress } from 'node:dns'
import { writeFileSync } from 'node:fs'
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import http2, { type ClientHttp2Session, type IncomingHttpHeaders as Http2Headers } from 'node:http2'
import https from 'node:https'
import path from 'node:path'
import tls, { type TLSSocket } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { createTestCa, replaceFile, type IssuedCertificate, type TestCa } from '../../helpers/certificates.js'
import { find, parseMetrics } from '../../helpers/metrics-text.js'
import { provision, startStack, waitForPropagation, type Provisioned, type TestStack } from '../../helpers/stack.js'
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const PARTNER_HOST = 'api.partner.test'
/** far more than HTTP/2's initial flow-control windows (64 KiB) */
const BIG_BODY = Buffer.alloc(8 * 1024 * 1024, 'x')

/** Every test name resolves to the loopback gateway, so that clients send real SNI and Host headers. */
function toLoopback (_hostname: string, options: { all?: boolean }, callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void): void {
  if (options.all === true) callback(null, [{ address: '127.0.0.1', family: 4 }])
  else callback(null, '127.0.0.1', 4)
}

function fingerprint (certificate: IssuedCertificate): string {
  return new X509Certificate(certificate.cert).fingerprint256
}

interface Response { status: number, headers: IncomingHttpHeaders, body: string, socket: TLSSocket }

async function httpsRequest (url: string, options: { ca: string, agent?: https.Agent, method?: string, headers?: Record<string, string>, body?: string }): Promise<Response> {
  const request = https.request(url, { ca: options.ca, agent: options.agent, method: options.method ?? 'GET', headers: options.headers, lookup: toLoopback as never })
  request.end(options.body)
  const [response] = await once(request, 'response') as [IncomingMessage]
  // detached from the response once it has been read
  const socket = response.socket as TLSSocket
  const chunks: Buffer[] = []
  for await (const chunk of response) chunks.push(chunk as Buffer)
  return { status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString(), socket }
}

async function h2Session (origin: string, ca: string): Promise<ClientHttp2Session> {
  const session = http2.connect(origin, { ca, lookup: toLoopback as never })
  await once(session, 'connect')
  return session
}

async function h2Request (session: ClientHttp2Session, headers: Record<string, string>, body?: string): Promise<{ status: number, headers: Http2Headers, body: string }> {
  const stream = session.request(headers, { endStream: body === undefined })
  if (body !== undefined) stream.end(body)
  const [responseHeaders] = await once(stream, 'response') as [Http2Headers]
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return { status: Number(responseHeaders[':status']), headers: responseHeaders, body: Buffer.concat(chunks).toString() }
}

/** The certificate the TLS port shows a new connection for `serverName` (none: no SNI), and whether the client accepts it. */
async function presented (port: number, ca: string, serverName: string | undefined, versions: { min?: tls.SecureVersion, max?: tls.SecureVersion } = {}): Promise<{ fingerprint: string, authorized: boolean, alpn: string | false | null, protocol: string | null }> {
  const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: serverName, rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'], minVersion: versions.min, maxVersion: versions.max })
  await once(socket, 'secureConnect')
  const result = { fingerprint: socket.getPeerCertificate().fingerprint256, authorized: socket.authorized, alpn: socket.alpnProtocol, protocol: socket.getProtocol() }
  socket.destroy()
  return result
}

async function eventually<T> (read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const current = await read()
    if (done(current)) return current
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(current)}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

describe('the gateway\'s TLS port', () => {
  let ca: TestCa
  let stack: TestStack
  let upstream: TestUpstream
  let upstreamSockets: WebSocketServer
  let app: Provisioned
  let tlsPort: number
  let plainPort: number
  let origin: string
  let defaultCertificate: IssuedCertificate
  let partnerCertificate: IssuedCertificate
  let files: { defaultCert: string, defaultKey: string, partnerCert: string, partnerKey: string }

  /** the sum of the series of `name` with `labels`; undefined when there is none */
  const metric = async (name: string, labels: Record<string, string>): Promise<number | undefined> => {
    const samples = find(parseMetrics(await stack.control.gateway?.metrics.registry.metrics() ?? ''), name, labels)
    return samples.length === 0 ? undefined : samples.reduce((sum, sample) => sum + sample.value, 0)
  }

  beforeAll(async () => {
    ca = await createTestCa()
    defaultCertificate = await ca.issue(['gateway.test'])
    partnerCertificate = await ca.issue([PARTNER_HOST, '*.partner.test'])
    files = {
      defaultCert: path.join(ca.dir, 'default.crt'),
      defaultKey: path.join(ca.dir, 'default.key'),
      partnerCert: path.join(ca.dir, 'partner.crt'),
      partnerKey: path.join(ca.dir, 'partner.key')
    }
    writeFileSync(files.defaultCert, defaultCertificate.cert)
    writeFileSync(files.defaultKey, defaultCertificate.key)
    writeFileSync(files.partnerCert, partnerCertificate.cert)
    writeFileSync(files.partnerKey, partnerCertificate.key)
    upstream = await startUpstream('tls', (request, response, body) => {
      if (request.url === '/big') {
        response.end(BIG_BODY)
        return
      }
      response.setHeader('content-type', 'application/json')
      response.end(JSON.stringify({ method: request.method, url: request.url, headers: request.headers, body }))
    })
    upstreamSockets = new WebSocketServer({ server: upstream.server })
    upstreamSockets.on('connection', socket => { socket.on('message', (data, isBinary) => { socket.send(data, { binary: isBinary }) }) })
    stack = await startStack({
      database: 'pglite',
      redis: false,
      config: {
        gatewayTlsPort: 0,
        gatewayTlsCertificates: [{ certFile: files.defaultCert, keyFile: files.defaultKey }, { certFile: files.partnerCert, keyFile: files.partnerKey }],
        gatewayTlsCheckMs: 100,
        gatewayHttpRedirect: true,
        requestBodyIdleTimeoutSeconds: 1,
        headersTimeoutSeconds: 2
      }
    })
    app = await provision(stack, { upstreamUrls: [upstream.url], auth: ['apikey'], routes: [{ path: '/tls', stripPrefix: true, websocket: true }], plan: { rateLimit: { perSecond: 1000 } } })
    await waitForPropagation(stack)
    tlsPort = Number(new URL(stack.gatewayTlsUrls[0] as string).port)
    plainPort = Number(new URL(stack.gatewayUrls[0]).port)
    origin = `https://${PARTNER_HOST}:${tlsPort}`
  })

  afterAll(async () => {
    await stack?.close()
    upstreamSockets?.close()
    await upstream?.close()
    ca?.close()
  })

  it('shows each SNI name the certificate that covers it, wildcards one label deep, and the default otherwise', async () => {
    const partner = fingerprint(partnerCertificate)
    const fallback = fingerprint(defaultCertificate)
    expect(await presented(tlsPort, ca.ca, PARTNER_HOST)).toMatchObject({ fingerprint: partner, authorized: true })
    expect(await presented(tlsPort, ca.ca, 'eu.partner.test')).toMatchObject({ fingerprint: partner, authorized: true })
    expect(await presented(tlsPort, ca.ca, 'gateway.test')).toMatchObject({ fingerprint: fallback, authorized: true })
    expect(await presented(tlsPort, ca.ca, 'a.b.partner.test')).toMatchObject({ fingerprint: fallback, authorized: false })
    expect(await presented(tlsPort, ca.ca, 'unknown.test')).toMatchObject({ fingerprint: fallback, authorized: false })
    expect((await presented(tlsPort, ca.ca, undefined)).fingerprint).toBe(fallback)
  })

  it('accepts TLS 1.2 and 1.3 and refuses 1.0 and 1.1', async () => {
    expect(await presented(tlsPort, ca.ca, PARTNER_HOST, { min: 'TLSv1.2', max: 'TLSv1.2' })).toMatchObject({ protocol: 'TLSv1.2', alpn: 'h2', authorized: true })
    expect(await presented(tlsPort, ca.ca, PARTNER_HOST, { min: 'TLSv1.3', max: 'TLSv1.3' })).toMatchObject({ protocol: 'TLSv1.3', alpn: 'h2', authorized: true })
    for (const version of ['TLSv1', 'TLSv1.1'] as const) {
      // the client offers only the old version (OpenSSL 3 needs security level 0 for it): the alert comes from the gateway
      const socket = tls.connect({ host: '127.0.0.1', port: tlsPort, ca: ca.ca, servername: PARTNER_HOST, minVersion: version, maxVersion: version, ciphers: 'DEFAULT:@SECLEVEL=0' })
      const [error] = await once(socket, 'error') as [NodeJS.ErrnoException]
      expect(error.code).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION')
    }
  })

  it('serves HTTP/2 and HTTP/1.1 clients the same route, with the same gateway headers and the same upstream request', async () => {
    const session = await h2Session(origin, ca.ca)
    expect(session.alpnProtocol).toBe('h2')
    const viaH2 = await h2Request(session, { ':path': '/tls/echo?x=1', 'x-api-key': app.apiKey })
    const forwardedH2 = upstream.received[upstream.received.length - 1]
    session.close()
    const viaH1 = await httpsRequest(`${origin}/tls/echo?x=1`, { ca: ca.ca, headers: { 'x-api-key': app.apiKey } })
    const forwardedH1 = upstream.received[upstream.received.length - 1]
    expect(viaH1.socket.alpnProtocol).toBe(false)
    for (const answer of [viaH2, viaH1]) {
      expect(answer.status).toBe(200)
      expect(answer.headers['x-request-id']).toMatch(UUID)
      expect(answer.headers['x-ratelimit-limit']).toBe('1000')
      expect(answer.headers['ratelimit-policy']).toBe(viaH1.headers['ratelimit-policy'])
      expect(answer.headers.ratelimit).toMatch(/r=\d+/)
      expect(answer.headers['content-type']).toBe('application/json')
    }
    expect(viaH2.headers.connection).toBeUndefined()
    expect(forwardedH2.headers['x-request-id']).toBe(viaH2.headers['x-request-id'])
    expect(forwardedH1.headers['x-request-id']).toBe(viaH1.headers['x-request-id'])
    // one request, whatever the client's HTTP version: same path, same headers (pseudo-headers and credentials gone)
    const withoutId = (headers: IncomingHttpHeaders): IncomingHttpHeaders => ({ ...headers, 'x-request-id': undefined })
    expect(withoutId(forwardedH2.headers)).toEqual(withoutId(forwardedH1.headers))
    expect(forwardedH2).toMatchObject({ method: 'GET', url: '/echo?x=1' })
    expect(forwardedH1).toMatchObject({ method: 'GET', url: '/echo?x=1' })
    expect(forwardedH2.headers).toMatchObject({ 'x-forwarded-proto': 'https', 'x-forwarded-host': `${PARTNER_HOST}:${tlsPort}`, 'x-forwarded-for': '127.0.0.1', 'x-app-id': app.appId, 'x-partner-id': app.partnerId })
    expect(Object.keys(forwardedH2.headers).filter(name => name.startsWith(':') || name === 'x-api-key')).toEqual([])
  })

  it('streams HTTP/2 request bodies to the upstream, times out a stalled one alone, and refuses over HTTP/2 as over HTTP/1.1', async () => {
    const session = await h2Session(origin, ca.ca)
    const posted = await h2Request(session, { ':method': 'POST', ':path': '/tls/orders', 'x-api-key': app.apiKey, 'content-type': 'application/json' }, '{"order":42}')
    expect(posted.status).toBe(200)
    expect(upstream.received[upstream.received.length - 1]).toMatchObject({ method: 'POST', url: '/orders', body: '{"order":42}' })
    // HTTP/2 frames a body without announcing it in a header: it is streamed all the same
    expect((await h2Request(session, { ':method': 'PUT', ':path': '/tls/raw', 'x-api-key': app.apiKey }, 'unannounced body')).status).toBe(200)
    expect(upstream.received[upstream.received.length - 1]).toMatchObject({ method: 'PUT', url: '/raw', body: 'unannounced body' })
    expect(upstream.received[upstream.received.length - 1].headers['transfer-encoding']).toBe('chunked')
    // a body that stops moving gets 408 on its own stream; the connection's other streams carry on
    const stalled = session.request({ ':method': 'POST', ':path': '/tls/orders', 'x-api-key': app.apiKey }, { endStream: false })
    stalled.write('{"order":')
    const [stalledHeaders] = await once(stalled, 'response') as [Http2Headers]
    expect(stalledHeaders[':status']).toBe(408)
    stalled.close()
    expect((await h2Request(session, { ':path': '/tls/after-stall', 'x-api-key': app.apiKey })).status).toBe(200)
    const refused = await h2Request(session, { ':path': '/tls/echo' })
    expect(refused.status).toBe(401)
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'MISSING_CREDENTIALS', requestId: refused.headers['x-request-id'] } })
    const big = await h2Request(session, { ':path': '/tls/big', 'x-api-key': app.apiKey })
    expect(big.status).toBe(200)
    expect(big.body.length).toBe(BIG_BODY.length)
    const unknown = await h2Request(session, { ':path': '/nowhere', 'x-api-key': app.apiKey })
    expect(unknown.status).toBe(404)
    session.close()
  })

  it('gives HTTP/1.1 over TLS the plain port\'s edge: 408 for headers too slow, 431 for headers too large', async () => {
    const exchange = async (send: (socket: TLSSocket) => void): Promise<{ status: number, body: any }> => {
      const socket = tls.connect({ host: '127.0.0.1', port: tlsPort, ca: ca.ca, servername: PARTNER_HOST, ALPNProtocols: ['http/1.1'] })
      await once(socket, 'secureConnect')
      send(socket)
      const chunks: Buffer[] = []
      for await (const chunk of socket) chunks.push(chunk as Buffer)
      const [head, body] = Buffer.concat(chunks).toString().split('\r\n\r\n', 2)
      return { status: Number(head.split(' ')[1]), body: JSON.parse(body) }
    }
    // headers that never end: only the headers timeout can answer them
    expect(await exchange(socket => { socket.write(`GET /tls/x HTTP/1.1\r\nHost: ${PARTNER_HOST}\r\nX-Api-Key: ${app.apiKey}\r\n`) })).toMatchObject({ status: 408, body: { error: { code: 'REQUEST_TIMEOUT' } } })
    expect(await exchange(socket => { socket.write(`GET /tls/x HTTP/1.1\r\nHost: ${PARTNER_HOST}\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`) })).toMatchObject({ status: 431, body: { error: { code: 'HEADERS_TOO_LARGE' } } })
  })

  it('counts HTTP/2 requests, answered and refused, and the bytes of their connection in the metrics', async () => {
    const api = (await stack.admin('GET', `/admin/v1/apis/${app.apiId}`)).body.name as string
    const counted = async (status: string): Promise<number> => await metric('gateway_requests_total', { api, method: 'GET', status }) ?? 0
    const [servedBefore, refusedBefore] = [await counted('200'), await counted('401')]
    const bytesInBefore = await metric('gateway_request_bytes_total', { api }) ?? 0
    const bytesOutBefore = await metric('gateway_response_bytes_total', { api }) ?? 0
    const session = await h2Session(origin, ca.ca)
    const served = await h2Request(session, { ':path': '/tls/counted', 'x-api-key': app.apiKey })
    expect(served.status).toBe(200)
    expect((await h2Request(session, { ':path': '/tls/counted' })).status).toBe(401)
    session.close()
    await eventually(async () => [await counted('200'), await counted('401')], ([servedCount, refusedCount]) => servedCount === servedBefore + 1 && refusedCount === refusedBefore + 1, 'requests counted')
    // the connection's bytes: at least the API key sent and the body received
    expect(await metric('gateway_request_bytes_total', { api }) ?? 0).toBeGreaterThanOrEqual(bytesInBefore + app.apiKey.length)
    expect(await metric('gateway_response_bytes_total', { api }) ?? 0).toBeGreaterThanOrEqual(bytesOutBefore + served.body.length)
  })

  it('proxies WebSockets over TLS (wss) and tells the upstream the client used https', async () => {
    const handshakes: IncomingMessage[] = []
    upstreamSockets.once('connection', (_socket, request) => { handshakes.push(request) })
    const socket = new WebSocket(`wss://${PARTNER_HOST}:${tlsPort}/tls/stream`, { ca: ca.ca, lookup: toLoopback as never, headers: { 'x-api-key': app.apiKey } })
    await once(socket, 'open')
    socket.send('over tls')
    const [data] = await once(socket, 'message') as [Buffer]
    expect(data.toString()).toBe('over tls')
    expect(handshakes[0].headers).toMatchObject({ 'x-forwarded-proto': 'https', 'x-app-id': app.appId })
    socket.close()
    await once(socket, 'close')
  })

  it('redirects the plain port to the same host and path on the TLS port, except the gateway\'s own endpoints', async () => {
    const plain = async (method: string, target: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number, headers: IncomingHttpHeaders, body: string }> => {
      const request = http.request({ host: '127.0.0.1', port: plainPort, method, path: target, headers, agent: new http.Agent({ keepAlive: true }) })
      request.end(body)
      const [response] = await once(request, 'response') as [IncomingMessage]
      const chunks: Buffer[] = []
      for await (const chunk of response) chunks.push(chunk as Buffer)
      return { status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString() }
    }
    const redirected = await plain('GET', '/tls/echo?x=1', { host: `${PARTNER_HOST}:${plainPort}`, 'x-api-key': app.apiKey })
    expect(redirected.status).toBe(308)
    expect(redirected.headers.location).toBe(`https://${PARTNER_HOST}:${tlsPort}/tls/echo?x=1`)
    expect(redirected.headers['x-request-id']).toMatch(UUID)
    expect(redirected.headers.connection).toBe('keep-alive')
    // a body is not read for a redirect: its connection ends with the answer
    const posted = await plain('POST', '/tls/orders', { host: PARTNER_HOST }, '{"order":42}')
    expect(posted.status).toBe(308)
    expect(posted.headers).toMatchObject({ location: `https://${PARTNER_HOST}:${tlsPort}/tls/orders`, connection: 'close' })
    const badHost = await plain('GET', '/tls/echo', { host: 'evil.test/phish' })
    expect(badHost.status).toBe(400)
    expect(JSON.parse(badHost.body)).toMatchObject({ error: { code: 'BAD_REQUEST' } })
    expect((await plain('GET', '/healthz')).status).toBe(200)
    expect((await plain('GET', '/metrics')).body).toContain('gateway_requests_total')
    // a client that follows the redirect ends up on wss, through the same policies
    const socket = new WebSocket(`ws://${PARTNER_HOST}:${plainPort}/tls/stream`, { ca: ca.ca, lookup: toLoopback as never, headers: { 'x-api-key': app.apiKey }, followRedirects: true })
    await once(socket, 'open')
    expect(socket.url).toBe(`wss://${PARTNER_HOST}:${tlsPort}/tls/stream`)
    socket.send('redirected')
    const [data] = await once(socket, 'message') as [Buffer]
    expect(data.toString()).toBe('redirected')
    socket.close()
    await once(socket, 'close')
    // the upstream never saw a request arrive in clear
    expect(upstream.received.every(request => request.headers['x-forwarded-proto'] === 'https')).toBe(true)
  })

  it('serves renewed certificates to new connections while open ones keep working', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 })
    const session = await h2Session(origin, ca.ca)
    const before = await httpsRequest(`${origin}/tls/a`, { ca: ca.ca, agent, headers: { 'x-api-key': app.apiKey } })
    expect(before.status).toBe(200)
    expect(before.socket.getPeerCertificate().fingerprint256).toBe(fingerprint(partnerCertificate))
    const renewedPartner = await ca.issue([PARTNER_HOST, '*.partner.test'])
    const renewedDefault = await ca.issue(['gateway.test'])
    replaceFile(files.partnerKey, renewedPartner.key)
    replaceFile(files.partnerCert, renewedPartner.cert)
    replaceFile(files.defaultKey, renewedDefault.key)
    replaceFile(files.defaultCert, renewedDefault.cert)
    await eventually(async () => (await presented(tlsPort, ca.ca, PARTNER_HOST)).fingerprint, seen => seen === fingerprint(renewedPartner), 'renewed partner certificate')
    await eventually(async () => (await presented(tlsPort, ca.ca, undefined)).fingerprint, seen => seen === fingerprint(renewedDefault), 'renewed default certificate')
    expect(await presented(tlsPort, ca.ca, PARTNER_HOST)).toMatchObject({ authorized: true })
    // the keep-alive connection made before the renewal is still there and still served
    const after = await httpsRequest(`${origin}/tls/b`, { ca: ca.ca, agent, headers: { 'x-api-key': app.apiKey } })
    expect(after.status).toBe(200)
    expect(after.socket).toBe(before.socket)
    expect(after.socket.getPeerCertificate().fingerprint256).toBe(fingerprint(partnerCertificate))
    expect((await h2Request(session, { ':path': '/tls/c', 'x-api-key': app.apiKey })).status).toBe(200)
    expect(session.closed).toBe(false)
    session.close()
    agent.destroy()
    expect(await metric('gateway_tls_certificate_reloads_total', { certificate: files.partnerCert, result: 'reloaded' })).toBeGreaterThanOrEqual(1)
    expect(await metric('gateway_tls_certificate_expiry_timestamp_seconds', { certificate: files.partnerCert })).toBe(Math.floor(new Date(new X509Certificate(renewedPartner.cert).validTo).getTime() / 1000))
    partnerCertificate = renewedPartner
    defaultCertificate = renewedDefault
  })

  it('keeps serving the previous certificate when renewed files do not load, and takes the next good ones', async () => {
    const failures = async (): Promise<number> => await metric('gateway_tls_certificate_reloads_total', { certificate: files.partnerCert, result: 'failed' }) ?? 0
    const stranger = await ca.issue([PARTNER_HOST])
    for (const broken of [() => { replaceFile(files.partnerCert, 'not a certificate') }, () => { replaceFile(files.partnerCert, stranger.cert) }]) {
      const failedBefore = await failures()
      // garbage, then a certificate whose key is not in the key file
      broken()
      await eventually(failures, count => count > failedBefore, 'failed reload counted')
      expect(await presented(tlsPort, ca.ca, PARTNER_HOST)).toMatchObject({ fingerprint: fingerprint(partnerCertificate), authorized: true })
      expect((await httpsRequest(`${origin}/tls/still`, { ca: ca.ca, headers: { 'x-api-key': app.apiKey } })).status).toBe(200)
    }
    const fixed = await ca.issue([PARTNER_HOST, '*.partner.test'])
    replaceFile(files.partnerKey, fixed.key)
    replaceFile(files.partnerCert, fixed.cert)
    await eventually(async () => (await presented(tlsPort, ca.ca, PARTNER_HOST)).fingerprint, seen => seen === fingerprint(fixed), 'fixed certificate')
  })
})
