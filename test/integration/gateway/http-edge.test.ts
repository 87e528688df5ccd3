// Real clients and hostile peers at the gateway's HTTP edge: curl uploads around its
// Expect: 100-continue threshold, bodies refused before they are sent, methods a route does
// not take, and peers too slow with their headers or bodies, on either side of the gateway.
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signRequest } from '../../helpers/sign-request.js'
import { provision, startStack, waitForPropagation, type Provisioned, type TestStack } from '../../helpers/stack.js'

const MiB = 1024 * 1024
const HEADERS_TIMEOUT_SECONDS = 2
const BODY_IDLE_TIMEOUT_SECONDS = 1

interface SinkCall { method: string, url: string, headers: IncomingMessage['headers'], received: number, sha256: string, aborted: boolean }

/** An upstream that hashes what it receives, without keeping it, and records each call once it ended or was aborted. */
async function startSink (): Promise<{ url: string, server: Server, calls: SinkCall[], started: () => number }> {
  const calls: SinkCall[] = []
  let started = 0
  const server = createServer((request, response) => {
    started++
    const hash = createHash('sha256')
    let received = 0
    const record = (aborted: boolean): SinkCall => {
      const call = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, received, sha256: hash.digest('hex'), aborted }
      calls.push(call)
      return call
    }
    request.on('data', (chunk: Buffer) => { hash.update(chunk); received += chunk.length })
    request.on('end', () => {
      const { method, received: length, sha256, headers } = record(false)
      const payload = JSON.stringify({ method, received: length, sha256, expect: headers.expect ?? null })
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) })
      response.end(payload)
    })
    request.on('aborted', () => { record(true) })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${portOf(server)}`, server, calls, started: () => started }
}

function portOf (server: Server): number {
  const address = server.address()
  return typeof address === 'object' && address !== null ? address.port : 0
}

interface CurlResult { status: number, body: string, stderr: string }

async function curl (args: string[]): Promise<CurlResult> {
  return await new Promise((resolve, reject) => {
    execFile('/usr/bin/curl', ['-sS', '-v', '-o', '-', '-w', '\n%{http_code}', ...args], { maxBuffer: 4 * MiB, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error !== null && stdout === '') { reject(new Error(`${error.message}\n${stderr}`)); return }
      const cut = stdout.lastIndexOf('\n')
      resolve({ status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut), stderr })
    })
  })
}

/** A raw client: everything the gateway writes, and when it closed the connection. */
interface RawPeer { socket: Socket, received: () => string, closed: Promise<number>, waitFor: (text: string) => Promise<void> }

async function rawPeer (port: number): Promise<RawPeer> {
  const socket = connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve).once('error', reject) })
  const opened = Date.now()
  let received = ''
  const waiters: Array<{ text: string, resolve: () => void }> = []
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1')
    for (const waiter of waiters) if (received.includes(waiter.text)) waiter.resolve()
  })
  socket.on('error', () => {})
  const closed = new Promise<number>(resolve => socket.once('close', () => { resolve(Date.now() - opened) }))
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

function jsonBodyOf (raw: string): any {
  return JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))
}

async function until (condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

describe('the gateway at its HTTP edge', () => {
  let stack: TestStack
  let sink: Awaited<ReturnType<typeof startSink>>
  let app: Provisioned
  let prefix: string
  let gatewayPort: number
  let files: string
  const servers: Server[] = []

  beforeAll(async () => {
    stack = await startStack({ database: 'pglite', redis: false, config: { headersTimeoutSeconds: HEADERS_TIMEOUT_SECONDS, requestBodyIdleTimeoutSeconds: BODY_IDLE_TIMEOUT_SECONDS } })
    sink = await startSink()
    servers.push(sink.server)
    const suffix = randomBytes(4).toString('hex')
    prefix = `/edge-${suffix}`
    app = await provision(stack, {
      upstreamUrls: [sink.url],
      routes: [{ path: prefix, stripPrefix: true }, { path: `/read-${suffix}`, methods: ['GET', 'POST'] }, { path: `/options-${suffix}`, methods: ['OPTIONS'] }]
    })
    gatewayPort = Number(new URL(stack.gatewayUrls[0]).port)
    files = mkdtempSync(path.join(tmpdir(), 'pgw-edge-'))
    await waitForPropagation(stack)
  })
  afterAll(async () => {
    await stack?.close()
    for (const server of servers) { server.closeAllConnections(); server.close() }
    if (files !== undefined) rmSync(files, { recursive: true, force: true })
  })

  async function upstreamErrors (): Promise<number> {
    const counter = await stack.control.gateway?.metrics.requests.get()
    return (counter?.values ?? []).filter(value => value.labels.outcome === 'upstream_error').reduce((sum, value) => sum + value.value, 0)
  }

  async function bodyFile (size: number): Promise<{ file: string, sha256: string }> {
    const file = path.join(files, `body-${size}`)
    const hash = createHash('sha256')
    const out = createWriteStream(file)
    const block = randomBytes(MiB)
    for (let written = 0; written < size; written += block.length) {
      const piece = block.subarray(0, Math.min(block.length, size - written))
      hash.update(piece)
      if (!out.write(piece)) await new Promise<void>(resolve => { out.once('drain', () => { resolve() }) })
    }
    await new Promise<void>(resolve => { out.end(() => { resolve() }) })
    return { file, sha256: hash.digest('hex') }
  }

  describe('uploads from curl', () => {
    it.each([
      { size: 0, expectsContinue: false },
      { size: MiB - 1, expectsContinue: false },
      { size: MiB, expectsContinue: false },
      { size: MiB + 1, expectsContinue: true },
      { size: 50 * MiB, expectsContinue: true }
    ])('proxies $size bytes whole, answering Expect: 100-continue itself', async ({ size, expectsContinue }) => {
      const { file, sha256 } = await bodyFile(size)
      const errorsBefore = await upstreamErrors()
      const result = await curl(['-H', `x-api-key: ${app.apiKey}`, '-H', 'content-type: application/octet-stream', '--data-binary', `@${file}`, `${stack.gatewayUrls[0]}${prefix}/upload`])
      expect(result.status, result.stderr).toBe(200)
      // the upstream never sees Expect: the gateway answered it
      expect(JSON.parse(result.body)).toEqual({ method: 'POST', received: size, sha256, expect: null })
      expect(result.stderr.includes('> Expect: 100-continue')).toBe(expectsContinue)
      expect(result.stderr.includes('< HTTP/1.1 100 Continue')).toBe(expectsContinue)
      expect(await upstreamErrors()).toBe(errorsBefore)
      // that such a body streams, not buffered, proxy.test.ts proves with a paused upstream
    })

    it.each([0, 1000, MiB + 1])('proxies a chunked upload of %i bytes', async size => {
      const { file, sha256 } = await bodyFile(size)
      const result = await curl(['-H', `x-api-key: ${app.apiKey}`, '-H', 'Transfer-Encoding: chunked', '-H', 'content-type: application/octet-stream', '--data-binary', `@${file}`, `${stack.gatewayUrls[0]}${prefix}/chunked`])
      expect(result.status, result.stderr).toBe(200)
      expect(JSON.parse(result.body)).toMatchObject({ received: size, sha256, expect: null })
    })

    it('sends 100 Continue before reading a form body its signature covers', async () => {
      const urlPath = `${prefix}/form`
      const body = `big=${'x'.repeat(MiB + 100)}&small=1`
      const headers = signRequest({ method: 'POST', url: urlPath, headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body }, app.key, app.secret)
      const file = path.join(files, 'form')
      writeFileSync(file, body)
      const result = await curl([...Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]), '--data-binary', `@${file}`, `${stack.gatewayUrls[0]}${urlPath}`])
      expect(result.status, result.body).toBe(200)
      expect(result.stderr).toContain('< HTTP/1.1 100 Continue')
      expect(JSON.parse(result.body)).toMatchObject({ received: body.length, sha256: createHash('sha256').update(body).digest('hex') })
    })

    it('answers a signed form body over the 10 MiB limit with 413', async () => {
      const urlPath = `${prefix}/form`
      const body = `big=${'x'.repeat(11 * MiB)}`
      const headers = signRequest({ method: 'POST', url: urlPath, headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body }, app.key, app.secret)
      const file = path.join(files, 'form-too-large')
      writeFileSync(file, body)
      const result = await curl([...Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]), '--data-binary', `@${file}`, `${stack.gatewayUrls[0]}${urlPath}`])
      expect(result.status, result.stderr).toBe(413)
      expect(JSON.parse(result.body).error.code).toBe('PAYLOAD_TOO_LARGE')
    })

    it('refuses a bad API key with 401 and never asks for the body', async () => {
      const { file } = await bodyFile(2 * MiB)
      const calls = sink.started()
      const result = await curl(['-H', 'x-api-key: pgw_ak_wrong', '--data-binary', `@${file}`, `${stack.gatewayUrls[0]}${prefix}/upload`])
      expect(result.status).toBe(401)
      expect(JSON.parse(result.body).error.code).toBe('UNKNOWN_KEY')
      expect(result.stderr).not.toContain('100 Continue')
      expect(sink.started()).toBe(calls)
    })
  })

  describe('Expect: 100-continue over a raw connection', () => {
    it('answers a request refused by policy with its final status, no body requested, and closes the connection', async () => {
      const calls = sink.started()
      const peer = await rawPeer(gatewayPort)
      peer.socket.write(`POST ${prefix}/upload HTTP/1.1\r\nHost: gw\r\nX-Api-Key: pgw_ak_wrong\r\nContent-Type: application/octet-stream\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n`)
      await peer.closed
      const answer = peer.received()
      expect(answer).not.toContain('100 Continue')
      expect(statusOf(answer)).toBe(401)
      expect(answer.toLowerCase()).toContain('connection: close')
      expect(jsonBodyOf(answer).error.code).toBe('UNKNOWN_KEY')
      expect(sink.started()).toBe(calls)
    })

    it('closes the connection after refusing a request whose body has not all arrived, instead of reading the rest', async () => {
      const peer = await rawPeer(gatewayPort)
      peer.socket.write(`POST ${prefix}/upload HTTP/1.1\r\nHost: gw\r\nX-Api-Key: pgw_ak_wrong\r\nContent-Length: 1000000\r\n\r\n${'x'.repeat(1000)}`)
      await peer.closed
      expect(statusOf(peer.received())).toBe(401)
      expect(peer.received().toLowerCase()).toContain('connection: close')
    })

    it('sends 100 Continue once every policy passed, then proxies the body', async () => {
      const peer = await rawPeer(gatewayPort)
      peer.socket.write(`PUT ${prefix}/put HTTP/1.1\r\nHost: gw\r\nX-Api-Key: ${app.apiKey}\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n`)
      await peer.waitFor('HTTP/1.1 100 Continue\r\n\r\n')
      peer.socket.write('hello')
      await peer.waitFor('}')
      const final = peer.received().slice('HTTP/1.1 100 Continue\r\n\r\n'.length)
      expect(statusOf(final)).toBe(200)
      expect(jsonBodyOf(final)).toMatchObject({ method: 'PUT', received: 5, sha256: createHash('sha256').update('hello').digest('hex'), expect: null })
      peer.socket.destroy()
    })

    it('answers a GET carrying Expect without sending it upstream', async () => {
      const response = await curl(['-H', `x-api-key: ${app.apiKey}`, '-H', 'Expect: 100-continue', `${stack.gatewayUrls[0]}${prefix}/get`])
      expect(response.status).toBe(200)
      expect(JSON.parse(response.body)).toMatchObject({ method: 'GET', expect: null })
    })

    it('answers any other expectation with 417', async () => {
      const peer = await rawPeer(gatewayPort)
      peer.socket.write(`POST ${prefix}/x HTTP/1.1\r\nHost: gw\r\nX-Api-Key: ${app.apiKey}\r\nContent-Length: 2\r\nExpect: something-else\r\n\r\n`)
      await peer.closed
      expect(statusOf(peer.received())).toBe(417)
      expect(jsonBodyOf(peer.received()).error.code).toBe('EXPECTATION_FAILED')
    })
  })

  describe('methods', () => {
    it('answers a method the route does not take with 405 and Allow, and an unknown path with 404', async () => {
      const readPath = prefix.replace('/edge-', '/read-')
      const deleted = await curl(['-X', 'DELETE', '-H', `x-api-key: ${app.apiKey}`, `${stack.gatewayUrls[0]}${readPath}/1`])
      expect(deleted.status).toBe(405)
      expect(deleted.stderr).toMatch(/< allow: GET, HEAD, POST\r?\n/i)
      expect(JSON.parse(deleted.body).error.code).toBe('METHOD_NOT_ALLOWED')
      const traced = await curl(['-X', 'TRACE', `${stack.gatewayUrls[0]}${readPath}/1`])
      expect(traced.status).toBe(405)
      expect(traced.stderr).toMatch(/< allow: GET, HEAD, POST\r?\n/i)
      const unknown = await curl(['-X', 'DELETE', `${stack.gatewayUrls[0]}/no-such-route-${randomBytes(3).toString('hex')}/1`])
      expect(unknown.status).toBe(404)
      expect(JSON.parse(unknown.body).error.code).toBe('ROUTE_NOT_FOUND')
    })

    it('proxies HEAD on a GET route, without a body', async () => {
      const readPath = prefix.replace('/edge-', '/read-')
      const head = await curl(['-I', '-H', `x-api-key: ${app.apiKey}`, `${stack.gatewayUrls[0]}${readPath}/1`])
      expect(head.status).toBe(200)
      expect(head.body).toMatch(/content-length: \d+/i)
      expect(head.body).not.toContain('{')
      expect(sink.calls.at(-1)).toMatchObject({ method: 'HEAD' })
    })

    it('proxies OPTIONS where a route allows it', async () => {
      const optionsPath = prefix.replace('/edge-', '/options-')
      const options = await curl(['-X', 'OPTIONS', '-H', `x-api-key: ${app.apiKey}`, `${stack.gatewayUrls[0]}${optionsPath}/1`])
      expect(options.status).toBe(200)
      expect(JSON.parse(options.body)).toMatchObject({ method: 'OPTIONS' })
    })
  })

  describe('slow peers', () => {
    it('answers a body trickled a byte a second with 408 within the idle limit, closes, and aborts the upstream request', async () => {
      const aborted = sink.calls.filter(call => call.aborted).length
      const errorsBefore = await upstreamErrors()
      const peer = await rawPeer(gatewayPort)
      peer.socket.write(`POST ${prefix}/trickle HTTP/1.1\r\nHost: gw\r\nX-Api-Key: ${app.apiKey}\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\nab`)
      const started = Date.now()
      const trickle = setInterval(() => { if (!peer.socket.destroyed) peer.socket.write('x') }, 1500)
      await peer.closed
      clearInterval(trickle)
      expect(Date.now() - started).toBeLessThan(BODY_IDLE_TIMEOUT_SECONDS * 1000 + 1000)
      expect(statusOf(peer.received())).toBe(408)
      expect(jsonBodyOf(peer.received()).error.code).toBe('REQUEST_TIMEOUT')
      await until(() => sink.calls.filter(call => call.aborted).length === aborted + 1)
      expect(await upstreamErrors()).toBe(errorsBefore)
    })

    it('cuts the connection when the body stalls after the answer started, and aborts the upstream request', async () => {
      let upstreamClosed = false
      const early = createServer((request, response) => {
        response.writeHead(200, { 'content-type': 'text/plain' })
        response.write('started')
        request.resume()
        response.on('close', () => { upstreamClosed = true })
      })
      servers.push(early)
      await new Promise<void>(resolve => early.listen(0, '127.0.0.1', resolve))
      const answering = await provision(stack, { upstreamUrls: [`http://127.0.0.1:${portOf(early)}`] })
      const answeringPrefix = (await stack.admin('GET', `/admin/v1/apis/${answering.apiId}`)).body.routes[0].path
      await waitForPropagation(stack)
      const peer = await rawPeer(gatewayPort)
      peer.socket.write(`POST ${answeringPrefix}/x HTTP/1.1\r\nHost: gw\r\nX-Api-Key: ${answering.apiKey}\r\nContent-Length: 100\r\n\r\nab`)
      await peer.waitFor('started')
      const started = Date.now()
      await peer.closed
      expect(Date.now() - started).toBeLessThan(BODY_IDLE_TIMEOUT_SECONDS * 1000 + 1000)
      expect(statusOf(peer.received())).toBe(200)
      await until(() => upstreamClosed)
    })

    it('answers a trickled form body its signature covers with 408 too', async () => {
      const urlPath = `${prefix}/form`
      const body = 'a=1&b=2'
      const headers = signRequest({ method: 'POST', url: urlPath, headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body }, app.key, app.secret)
      const peer = await rawPeer(gatewayPort)
      peer.socket.write(`POST ${urlPath} HTTP/1.1\r\nHost: gw\r\n${Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')}Content-Length: ${body.length}\r\n\r\na=`)
      const started = Date.now()
      await peer.closed
      expect(Date.now() - started).toBeLessThan(BODY_IDLE_TIMEOUT_SECONDS * 1000 + 1000)
      expect(statusOf(peer.received())).toBe(408)
    })

    it('cuts a slowloris that sends its headers a byte at a time within the headers timeout', async () => {
      const peer = await rawPeer(gatewayPort)
      const headers = `GET ${prefix}/x HTTP/1.1\r\nHost: gw\r\nX-Api-Key: ${app.apiKey}\r\nX-Padding: ${'p'.repeat(200)}\r\n\r\n`
      // Node counts from the first byte of the request
      peer.socket.write(headers[0])
      const firstByte = Date.now()
      let sent = 1
      const drip = setInterval(() => { if (!peer.socket.destroyed && sent < headers.length) peer.socket.write(headers[sent++]) }, 200)
      await peer.closed
      clearInterval(drip)
      // the slack is for timers firing late on a busy machine
      expect(Date.now() - firstByte).toBeLessThanOrEqual(HEADERS_TIMEOUT_SECONDS * 1000 + 200)
      expect(sent).toBeLessThan(headers.length)
      expect(statusOf(peer.received())).toBe(408)
      expect(jsonBodyOf(peer.received()).error.code).toBe('REQUEST_TIMEOUT')
    })

    it('answers headers over the size limit with 431 in the JSON error format', async () => {
      const peer = await rawPeer(gatewayPort)
      peer.socket.write(`GET ${prefix}/x HTTP/1.1\r\nHost: gw\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`)
      await peer.closed
      expect(statusOf(peer.received())).toBe(431)
      expect(jsonBodyOf(peer.received()).error.code).toBe('HEADERS_TOO_LARGE')
    })

    it('does not blame the client when the upstream is the one reading slowly', async () => {
      const size = 32 * MiB
      const slowReader = createServer((request: IncomingMessage, response: ServerResponse) => {
        request.pause()
        setTimeout(() => {
          let received = 0
          request.on('data', (chunk: Buffer) => { received += chunk.length })
          request.on('end', () => response.end(JSON.stringify({ received })))
          request.resume()
        }, BODY_IDLE_TIMEOUT_SECONDS * 2500)
      })
      servers.push(slowReader)
      await new Promise<void>(resolve => slowReader.listen(0, '127.0.0.1', resolve))
      const slow = await provision(stack, { upstreamUrls: [`http://127.0.0.1:${portOf(slowReader)}`], upstream: { timeouts: { connectMs: 1000, responseMs: 10_000 } } })
      const slowPrefix = (await stack.admin('GET', `/admin/v1/apis/${slow.apiId}`)).body.routes[0].path
      await waitForPropagation(stack)
      const answer = await new Promise<{ status: number, body: string }>((resolve, reject) => {
        const outgoing = httpRequest({ host: '127.0.0.1', port: gatewayPort, method: 'POST', path: `${slowPrefix}/upload`, headers: { 'x-api-key': slow.apiKey, 'content-length': size } }, response => {
          let text = ''
          response.on('data', chunk => { text += String(chunk) })
          response.on('end', () => { resolve({ status: response.statusCode ?? 0, body: text }) })
        })
        outgoing.on('error', reject)
        const block = randomBytes(MiB)
        for (let index = 0; index < size / MiB; index++) outgoing.write(block)
        outgoing.end()
      })
      expect(answer).toEqual({ status: 200, body: JSON.stringify({ received: size }) })
    })

    it('cuts the client connection and the upstream request when the upstream stops mid-body', async () => {
      let upstreamClosed = false
      const stalling = createServer((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 100_000 })
        response.write(Buffer.alloc(1000, 'a'))
        response.on('close', () => { upstreamClosed = true })
      })
      servers.push(stalling)
      await new Promise<void>(resolve => stalling.listen(0, '127.0.0.1', resolve))
      const stalled = await provision(stack, { upstreamUrls: [`http://127.0.0.1:${portOf(stalling)}`], upstream: { timeouts: { connectMs: 1000, responseMs: 500 } } })
      const stalledPrefix = (await stack.admin('GET', `/admin/v1/apis/${stalled.apiId}`)).body.routes[0].path
      await waitForPropagation(stack)
      const started = Date.now()
      const outcome = await new Promise<{ status: number, received: number, error: string }>(resolve => {
        const outgoing = httpRequest({ host: '127.0.0.1', port: gatewayPort, path: `${stalledPrefix}/download`, headers: { 'x-api-key': stalled.apiKey } }, response => {
          let received = 0
          response.on('data', (chunk: Buffer) => { received += chunk.length })
          response.on('error', error => { resolve({ status: response.statusCode ?? 0, received, error: error.message }) })
          response.on('end', () => { resolve({ status: response.statusCode ?? 0, received, error: '' }) })
        })
        outgoing.on('error', error => { resolve({ status: 0, received: 0, error: error.message }) })
        outgoing.end()
      })
      expect(outcome.status).toBe(200)
      expect(outcome.received).toBe(1000)
      expect(outcome.error).toBe('aborted')
      expect(Date.now() - started).toBeLessThan(3000)
      await until(() => upstreamClosed)
    })
  })
})
