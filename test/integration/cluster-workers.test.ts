// GATEWAY_WORKERS=2: the primary runs the control server, two workers share the gateway
// port, enforce one rate limit together through Redis and answer /metrics for both.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { find, parseMetrics, type Sample } from '../helpers/metrics-text.js'
import { freePort } from '../helpers/ports.js'
import { createTestDatabase, randomPrefix, REDIS_URL, type TestDatabase } from '../helpers/database.js'
import { deleteRedisKeys } from '../helpers/redis.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'

/** /metrics on a new connection: the cluster's scheduler hands each connection to the next worker. */
async function scrape (port: number, signal?: AbortSignal): Promise<{ status: number, text: string }> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { connection: 'close' }, signal })
  return { status: response.status, text: await response.text() }
}

function total (samples: Sample[], name: string, labels: Record<string, string>): number {
  return find(samples, name, labels).reduce((sum, sample) => sum + sample.value, 0)
}

describe('gateway workers under node:cluster', () => {
  let database: TestDatabase
  let upstream: TestUpstream
  let child: ChildProcess
  const prefix = randomPrefix()
  const adminToken = randomBytes(24).toString('hex')
  let gatewayPort: number
  let controlPort: number

  async function admin (path: string, body: unknown): Promise<any> {
    const response = await fetch(`http://127.0.0.1:${controlPort}/admin/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    return await response.json()
  }

  beforeAll(async () => {
    database = await createTestDatabase('postgresql')
    upstream = await startUpstream()
    gatewayPort = await freePort()
    controlPort = await freePort()
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start'], {
      env: { ...process.env, DATABASE_URL: database.url, REDIS_URL, REDIS_KEY_PREFIX: prefix, GATEWAY_MASTER_KEY: randomBytes(32).toString('hex'), GATEWAY_ADMIN_TOKEN: adminToken, GATEWAY_WORKERS: '2', GATEWAY_PORT: String(gatewayPort), CONTROL_PORT: String(controlPort), HOST: '127.0.0.1', LOG_LEVEL: 'warn', REDIS_COMMAND_TIMEOUT_MS: '500' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    await new Promise<void>((resolve, reject) => {
      let output = ''
      child.stdout?.on('data', chunk => { output += String(chunk); if (output.includes('gateway workers on port')) resolve() })
      child.stderr?.on('data', chunk => { output += String(chunk) })
      child.on('exit', code => { reject(new Error(`exited with ${String(code)}: ${output}`)) })
    })
  }, 60_000)

  afterAll(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL')
    await upstream?.close()
    await database?.drop()
    await deleteRedisKeys(prefix)
  })

  it('spreads connections over both workers and enforces one shared limit', async () => {
    const pids = new Set<number>()
    for (let index = 0; index < 30 && pids.size < 2; index++) {
      const health = await fetch(`http://127.0.0.1:${gatewayPort}/healthz`, { headers: { connection: 'close' } })
      pids.add(((await health.json()) as { pid: number }).pid)
    }
    expect(pids.size).toBe(2)

    const up = await admin('/upstreams', { name: 'echo', targets: [{ url: upstream.url }] })
    const plan = await admin('/plans', { name: 'tight', rateLimit: { perSecond: 1, burst: 10 } })
    const api = await admin('/apis', { name: 'shared', upstreamId: up.id, auth: ['apikey'], routes: [{ path: '/shared', stripPrefix: true }] })
    const partner = await admin('/partners', { name: 'Cluster Co' })
    const app = await admin(`/partners/${partner.id as string}/apps`, { name: 'app' })
    await admin('/grants', { appId: app.id, apiId: api.id, planId: plan.id })
    await new Promise(resolve => setTimeout(resolve, 1500))
    const statuses = await Promise.all(Array.from({ length: 30 }, async () => {
      const response = await fetch(`http://127.0.0.1:${gatewayPort}/shared/x`, { headers: { 'x-api-key': app.apiKey, connection: 'close' } })
      await response.arrayBuffer()
      return response.status
    }))
    expect(statuses.filter(status => status === 200)).toHaveLength(10)
    expect(statuses.filter(status => status === 429)).toHaveLength(20)
  })

  it('answers /metrics on any worker with the sum over both workers', async () => {
    const up = await admin('/upstreams', { name: 'echo-metered', targets: [{ url: upstream.url }] })
    const plan = await admin('/plans', { name: 'roomy', rateLimit: { perSecond: 1000, burst: 1000 } })
    const api = await admin('/apis', { name: 'metered', upstreamId: up.id, auth: ['apikey'], routes: [{ path: '/metered', stripPrefix: true }] })
    const partner = await admin('/partners', { name: 'Metered Co' })
    const app = await admin(`/partners/${partner.id as string}/apps`, { name: 'app' })
    await admin('/grants', { appId: app.id, apiId: api.id, planId: plan.id })
    await new Promise(resolve => setTimeout(resolve, 1500))
    const proxied = 40
    const pids = new Set<number>()
    for (let index = 0; index < proxied; index++) {
      const response = await fetch(`http://127.0.0.1:${gatewayPort}/metered/x`, { headers: { 'x-api-key': app.apiKey, connection: 'close' } })
      await response.arrayBuffer()
      expect(response.status).toBe(200)
    }
    for (let index = 0; index < 30 && pids.size < 2; index++) {
      const health = await fetch(`http://127.0.0.1:${gatewayPort}/healthz`, { headers: { connection: 'close' } })
      pids.add(((await health.json()) as { pid: number }).pid)
    }
    expect(pids.size).toBe(2)

    const scrapes: Array<Record<string, number>> = []
    for (let index = 0; index < 6; index++) {
      const { status, text } = await scrape(gatewayPort)
      expect(status).toBe(200)
      const samples = parseMetrics(text)
      scrapes.push({
        requests: total(samples, 'gateway_requests_total', { api: 'metered', outcome: 'proxied' }),
        durations: total(samples, 'gateway_request_duration_seconds_count', { api: 'metered' }),
        allowed: total(samples, 'gateway_limit_decisions_total', { api: 'metered', decision: 'allowed' }),
        snapshotVersions: find(samples, 'gateway_snapshot_version').length
      })
    }
    expect(scrapes).toEqual(Array.from({ length: 6 }, () => ({ requests: proxied, durations: proxied, allowed: proxied, snapshotVersions: 1 })))
  })

  it('stops the primary and the workers on SIGTERM', async () => {
    const exited = new Promise<number | null>(resolve => child.once('exit', code => { resolve(code) }))
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  })
})
