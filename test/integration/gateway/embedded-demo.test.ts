// `partner-gateway start` with no configuration: embedded database, in-memory counters,
// demo data seeded once, and the printed credentials work through the gateway.
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../../src/config/load.js'
import { startProduct, type RunningProduct } from '../../../src/server.js'
import { signRequest } from '../../helpers/sign-request.js'

const ADMIN_TOKEN = 'embedded-demo-admin-token'

describe('the embedded default with demo data', () => {
  let dataDir: string
  let product: RunningProduct

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'pgw-demo-'))
    product = await startProduct(loadConfig({}, { dataDir, gatewayPort: 0, controlPort: 0, host: '127.0.0.1', adminToken: ADMIN_TOKEN }), { logger: pino({ level: 'silent' }) })
  })
  afterAll(async () => {
    await product?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('seeds a demo app whose API key and signature both get through to the demo upstream', async () => {
    const demo = product.demo
    expect(demo).toBeDefined()
    if (demo === undefined) return
    const withKey = await fetch(`${product.gatewayUrl as string}${demo.path}?greeting=hi`, { headers: { 'x-api-key': demo.apiKey } })
    expect(withKey.status).toBe(200)
    const echoed = await withKey.json() as { message: string, query: Record<string, string>, receivedHeaders: Record<string, string> }
    expect(echoed.message).toBe('Hello from the demo upstream')
    expect(echoed.query).toEqual({ greeting: 'hi' })
    expect(echoed.receivedHeaders['x-app-id']).toBe(demo.appId)
    const headers = signRequest({ method: 'GET', url: `${demo.path}?greeting=hi` }, demo.key, demo.secret)
    expect((await fetch(`${product.gatewayUrl as string}${demo.path}?greeting=hi`, { headers })).status).toBe(200)
  })

  it('keeps the generated master key and demo credentials readable by the owner only', () => {
    expect(statSync(path.join(dataDir, 'master.key')).mode & 0o077).toBe(0)
    expect(statSync(path.join(dataDir, 'demo-credentials.json')).mode & 0o077).toBe(0)
  })

  it('seeds only once and serves the same demo after a restart', async () => {
    const before = product.demo
    await product.close()
    product = await startProduct(loadConfig({}, { dataDir, gatewayPort: 0, controlPort: 0, host: '127.0.0.1', adminToken: ADMIN_TOKEN }), { logger: pino({ level: 'silent' }) })
    expect(product.demo?.key).toBe(before?.key)
    expect(await product.database.prisma.partner.count()).toBe(1)
  })

  it('keeps quota counts across a restart (flushed on shutdown, read back at start)', async () => {
    const demo = product.demo
    if (demo === undefined) throw new Error('no demo')
    const admin = async (method: string, path: string, body?: unknown): Promise<any> => await (await fetch(`${product.controlUrl as string}/admin/v1${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })).json()
    const plan = (await admin('GET', '/plans')).items[0]
    await admin('PATCH', `/plans/${plan.id as string}`, { quota: { perDay: 3 } })
    await new Promise(resolve => setTimeout(resolve, 300))
    const call = async (): Promise<number> => (await fetch(`${product.gatewayUrl as string}${demo.path}`, { headers: { 'x-api-key': demo.apiKey } })).status
    while (await call() === 200) { /* use up today's quota */ }
    await product.close()
    product = await startProduct(loadConfig({}, { dataDir, gatewayPort: 0, controlPort: 0, host: '127.0.0.1', adminToken: ADMIN_TOKEN }), { logger: pino({ level: 'silent' }) })
    const after = await fetch(`${product.gatewayUrl as string}${demo.path}`, { headers: { 'x-api-key': demo.apiKey } })
    expect(after.status).toBe(429)
    expect(((await after.json()) as { error: { code: string } }).error.code).toBe('QUOTA_EXCEEDED')
  })

  it('exposes Prometheus metrics on the gateway', async () => {
    const response = await fetch(`${product.gatewayUrl as string}/metrics`)
    expect(response.status).toBe(200)
    const text = await response.text()
    expect(text).toContain('gateway_requests_total')
    expect(text).toMatch(/gateway_snapshot_version \d+/)
  })
})
