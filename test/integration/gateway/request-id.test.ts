// X-Request-Id: on every kind of answer (proxied, refused, 404, 405, 417, WebSocket refusal,
// the gateway's own endpoints, the control API), the same id in the error body and upstream,
// a well-formed incoming id kept and anything else replaced.
import { once } from 'node:events'
import http, { type IncomingMessage } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { provision, startStack, waitForPropagation, type Provisioned, type TestStack } from '../../helpers/stack.js'
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

async function rawRequest (url: string, method: string, headers: Record<string, string>): Promise<{ status: number, headers: IncomingMessage['headers'], body: any }> {
  const request = http.request(url, { method, headers })
  request.end()
  const [response] = await once(request, 'response') as [IncomingMessage]
  const chunks: Buffer[] = []
  for await (const chunk of response) chunks.push(chunk as Buffer)
  return { status: response.statusCode ?? 0, headers: response.headers, body: JSON.parse(Buffer.concat(chunks).toString()) }
}

describe('request ids', () => {
  let stack: TestStack
  let upstream: TestUpstream
  let app: Provisioned
  let gateway: string

  beforeAll(async () => {
    stack = await startStack({ database: 'pglite', redis: false })
    upstream = await startUpstream('ids', (request, response) => {
      // an upstream with ids of its own must not replace the gateway's
      response.setHeader('x-request-id', 'upstream-own-id')
      response.end(JSON.stringify({ received: request.headers['x-request-id'] }))
    })
    app = await provision(stack, { upstreamUrls: [upstream.url], auth: ['apikey'], routes: [{ path: '/ids', methods: ['GET'], stripPrefix: true }, { path: '/ids-ws', websocket: true, stripPrefix: true }] })
    await waitForPropagation(stack)
    gateway = stack.gatewayUrls[0]
  })

  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
  })

  it('returns a fresh id on a proxied answer, the one the upstream received', async () => {
    const response = await fetch(`${gateway}/ids/a`, { headers: { 'x-api-key': app.apiKey } })
    const id = response.headers.get('x-request-id') as string
    expect(id).toMatch(UUID)
    expect(await response.json()).toEqual({ received: id })
  })

  it('keeps a well-formed incoming id and replaces a malformed one', async () => {
    const kept = await fetch(`${gateway}/ids/a`, { headers: { 'x-api-key': app.apiKey, 'x-request-id': 'partner-corr:42.a_b' } })
    expect(kept.headers.get('x-request-id')).toBe('partner-corr:42.a_b')
    expect(await kept.json()).toEqual({ received: 'partner-corr:42.a_b' })
    for (const malformed of ['two words', 'x'.repeat(129), 'id;injected']) {
      const replaced = await fetch(`${gateway}/ids/a`, { headers: { 'x-api-key': app.apiKey, 'x-request-id': malformed } })
      const id = replaced.headers.get('x-request-id') as string
      expect(id).toMatch(UUID)
      expect(await replaced.json()).toEqual({ received: id })
    }
  })

  it('puts the id in the header and the error body of every refusal', async () => {
    const refusals: Array<[string, RequestInit, number]> = [
      [`${gateway}/ids/a`, {}, 401],
      [`${gateway}/nowhere`, { headers: { 'x-api-key': app.apiKey } }, 404],
      [`${gateway}/ids/a`, { method: 'POST', headers: { 'x-api-key': app.apiKey } }, 405],
      [`${gateway}/ids/a%2Fb`, {}, 400]
    ]
    for (const [url, init, status] of refusals) {
      const response = await fetch(url, init)
      expect(response.status).toBe(status)
      const id = response.headers.get('x-request-id') as string
      expect(id).toMatch(UUID)
      expect(((await response.json()) as { error: { requestId: string } }).error.requestId).toBe(id)
    }
    const kept = await fetch(`${gateway}/ids/a`, { headers: { 'x-request-id': 'support-me-1' } })
    expect(kept.headers.get('x-request-id')).toBe('support-me-1')
    expect(await kept.json()).toMatchObject({ error: { code: 'MISSING_CREDENTIALS', requestId: 'support-me-1' } })
  })

  it('names the id on methods the gateway does not proxy and on an unsupported Expect', async () => {
    const trace = await rawRequest(`${gateway}/ids/a`, 'PROPFIND', { 'x-request-id': 'propfind-1' })
    expect(trace.status).toBe(405)
    expect(trace.headers['x-request-id']).toBe('propfind-1')
    expect(trace.body.error.requestId).toBe('propfind-1')
    const expectation = await rawRequest(`${gateway}/ids/a`, 'GET', { expect: 'something-else', 'x-request-id': 'expect-1' })
    expect(expectation.status).toBe(417)
    expect(expectation.headers['x-request-id']).toBe('expect-1')
    expect(expectation.body.error.requestId).toBe('expect-1')
  })

  it('names the id on a refused WebSocket upgrade', async () => {
    const socket = new WebSocket(`${gateway.replace('http', 'ws')}/ids-ws`, { headers: { 'x-request-id': 'ws-refused-1' } })
    socket.on('error', () => {})
    const [, response] = await once(socket, 'unexpected-response') as [unknown, IncomingMessage]
    const chunks: Buffer[] = []
    for await (const chunk of response) chunks.push(chunk as Buffer)
    socket.terminate()
    expect(response.statusCode).toBe(401)
    expect(response.headers['x-request-id']).toBe('ws-refused-1')
    expect(JSON.parse(Buffer.concat(chunks).toString()).error.requestId).toBe('ws-refused-1')
  })

  it('names the id on the gateway\'s own endpoints', async () => {
    for (const path of ['/metrics', '/healthz', '/readyz']) {
      expect((await fetch(`${gateway}${path}`)).headers.get('x-request-id')).toMatch(UUID)
    }
  })

  it('returns the id from the control API too, in the header and every error body', async () => {
    const missing = await stack.admin('GET', '/admin/v1/no-such-resource')
    expect(missing.status).toBe(404)
    expect(missing.body.error.requestId).toBe(missing.headers.get('x-request-id'))
    const invalid = await stack.admin('POST', '/admin/v1/partners', { name: 42 })
    expect(invalid.status).toBe(400)
    expect(invalid.body.error.requestId).toBe(invalid.headers.get('x-request-id'))
    const unauthenticated = await fetch(`${stack.controlUrl}/admin/v1/partners`, { headers: { 'x-request-id': 'operator-1' } })
    expect(unauthenticated.status).toBe(401)
    expect(unauthenticated.headers.get('x-request-id')).toBe('operator-1')
    expect(((await unauthenticated.json()) as { error: { requestId: string } }).error.requestId).toBe('operator-1')
    expect((await stack.admin('GET', '/admin/v1/partners')).headers.get('x-request-id')).toMatch(UUID)
  })
})
