// One structured access-log line per gateway request, with the request id, app, API,
// status and durations.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../../src/config/load.js'
import { startProduct, type RunningProduct } from '../../../src/server.js'

describe('gateway access log', () => {
  const lines: Array<Record<string, unknown>> = []
  const dataDir = mkdtempSync(path.join(tmpdir(), 'pgw-log-'))
  let product: RunningProduct

  beforeAll(async () => {
    const sink = new Writable({ write (chunk, _encoding, done) { lines.push(JSON.parse(String(chunk))); done() } })
    product = await startProduct(loadConfig({}, { dataDir, gatewayPort: 0, controlPort: 0, host: '127.0.0.1' }), { logger: pino({ level: 'info' }, sink) })
  })
  afterAll(async () => {
    await product?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('writes one line per request with request id, app, API, status and durations', async () => {
    const demo = product.demo
    if (demo === undefined) throw new Error('no demo')
    await (await fetch(`${product.gatewayUrl as string}${demo.path}`, { headers: { 'x-api-key': demo.apiKey, 'x-request-id': 'log-test-1' } })).arrayBuffer()
    await (await fetch(`${product.gatewayUrl as string}${demo.path}`, { headers: { 'x-request-id': 'log-test-2' } })).arrayBuffer()
    await new Promise(resolve => setTimeout(resolve, 50))
    const proxied = lines.filter(line => line.msg === 'request' && line.reqId === 'log-test-1')
    expect(proxied).toHaveLength(1)
    expect(proxied[0]).toMatchObject({ server: 'gateway', method: 'GET', status: 200, api: 'demo', app: demo.appId, outcome: 'proxied', durationMs: expect.any(Number), upstreamMs: expect.any(Number) })
    expect(lines.filter(line => line.msg === 'request' && line.reqId === 'log-test-2')[0]).toMatchObject({ status: 401, outcome: 'rejected' })
    expect(JSON.stringify(lines)).not.toContain(demo.apiKey)
  })
})
