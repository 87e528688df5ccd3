// One structured access-log line per gateway request, with every field support looks for.
import { rmSync } from 'node:fs'
import { Writable } from 'node:stream'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { loadConfig } from '../../../src/config/load.js'
import { startProduct, type RunningProduct } from '../../../src/server.js'
import { createMigratedDataDir } from '../../helpers/database.js'

describe('gateway access log', () => {
  const lines: Array<Record<string, unknown>> = []
  // the demo is seeded on the first start on an empty database, migrated or not
  const dataDir = createMigratedDataDir('pgw-log-')
  let product: RunningProduct

  beforeAll(async () => {
    const sink = new Writable({ write (chunk, _encoding, done) { lines.push(JSON.parse(String(chunk))); done() } })
    // the test client is on loopback: as a trusted proxy, its X-Forwarded-For names the client
    product = await startProduct(loadConfig({}, { dataDir, gatewayPort: 0, controlPort: 0, host: '127.0.0.1', trustedProxies: ['127.0.0.0/8'] }), { logger: pino({ level: 'info' }, sink) })
  })
  afterAll(async () => {
    await product?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  function accessLine (requestId: string): Record<string, unknown> {
    const found = lines.filter(line => line.msg === 'request' && line.reqId === requestId)
    expect(found).toHaveLength(1)
    return found[0]
  }

  it('writes one line per request with every field, and no credentials or query string', async () => {
    const demo = product.demo
    if (demo === undefined) throw new Error('no demo')
    const gateway = product.gatewayUrl as string
    const body = 'x'.repeat(500)
    await (await fetch(`${gateway}${demo.path}/items?secret=s3cr3t`, {
      method: 'POST',
      body,
      headers: { 'x-api-key': demo.apiKey, 'x-request-id': 'log-test-1', 'user-agent': 'partner-sdk/1.2', 'x-forwarded-for': '6.6.6.6, 203.0.113.9' }
    })).arrayBuffer()
    await (await fetch(`${gateway}${demo.path}`, { headers: { 'x-request-id': 'log-test-2' } })).arrayBuffer()
    await (await fetch(`${gateway}/nowhere`, { headers: { 'x-request-id': 'log-test-3' } })).arrayBuffer()
    await new Promise(resolve => setTimeout(resolve, 50))
    const proxied = accessLine('log-test-1')
    expect(proxied).toMatchObject({
      server: 'gateway',
      clientIp: '203.0.113.9',
      method: 'POST',
      path: `${demo.path}/items`,
      route: '/demo',
      api: 'demo',
      app: demo.appId,
      partner: expect.stringMatching(/^[0-9a-f-]{36}$/),
      status: 200,
      outcome: 'proxied',
      bytesIn: expect.any(Number),
      bytesOut: expect.any(Number),
      durationMs: expect.any(Number),
      upstreamMs: expect.any(Number),
      upstreamTarget: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+/),
      userAgent: 'partner-sdk/1.2'
    })
    expect(proxied.bytesIn).toBeGreaterThan(body.length)
    expect(proxied.bytesOut).toBeGreaterThan(0)
    expect(proxied.errorCode).toBeUndefined()
    expect(accessLine('log-test-2')).toMatchObject({ status: 401, outcome: 'rejected', errorCode: 'MISSING_CREDENTIALS', api: 'demo', route: '/demo', clientIp: '127.0.0.1' })
    expect(accessLine('log-test-2').app).toBeUndefined()
    expect(accessLine('log-test-3')).toMatchObject({ status: 404, outcome: 'not_found', errorCode: 'ROUTE_NOT_FOUND', path: '/nowhere' })
    // the demo upstream runs in the control server, whose own request log is not the gateway's
    const text = JSON.stringify(lines.filter(line => line.server === 'gateway'))
    expect(text).not.toContain(demo.apiKey)
    expect(text).not.toContain('s3cr3t')
  })

  it('writes a line for a WebSocket upgrade, refused here', async () => {
    const demo = product.demo
    if (demo === undefined) throw new Error('no demo')
    const socket = new WebSocket(`${(product.gatewayUrl as string).replace('http', 'ws')}${demo.path}`, { headers: { 'x-request-id': 'log-ws-1', 'x-api-key': demo.apiKey } })
    const refused = new Promise<number>(resolve => { socket.once('unexpected-response', (_request, response) => { resolve(response.statusCode ?? 0) }) })
    socket.on('error', () => {})
    const status = await refused
    socket.terminate()
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(accessLine('log-ws-1')).toMatchObject({ websocket: true, method: 'GET', path: demo.path, status, errorCode: expect.any(String), clientIp: '127.0.0.1', durationMs: expect.any(Number) })
  })
})
