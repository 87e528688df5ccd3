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

/** The pids of both workers, from /healthz on new connections. */
async function workerPids (port: number): Promise<number[]> {
  const pids = new Set<number>()
  for (let index = 0; index < 30 && pids.size < 2; index++) {
    const health = await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { connection: 'close' } })
    pids.add(((await health.json()) as { pid: number }).pid)
  }
  return [...pids]
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
    expect(await workerPids(gatewayPort)).toHaveLength(2)

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

  const proxied = 40

  it('answers /metrics on any worker with the sum over both workers', async () => {
    const up = await admin('/upstreams', { name: 'echo-metered', targets: [{ url: upstream.url }] })
    const plan = await admin('/plans', { name: 'roomy', rateLimit: { perSecond: 1000, burst: 1000 } })
    const api = await admin('/apis', { name: 'metered', upstreamId: up.id, auth: ['apikey'], routes: [{ path: '/metered', stripPrefix: true }] })
    const partner = await admin('/partners', { name: 'Metered Co' })
    const app = await admin(`/partners/${partner.id as string}/apps`, { name: 'app' })
    await admin('/grants', { appId: app.id, apiId: api.id, planId: plan.id })
    await new Promise(resolve => setTimeout(resolve, 1500))
    for (let index = 0; index < proxied; index++) {
      const response = await fetch(`http://127.0.0.1:${gatewayPort}/metered/x`, { headers: { 'x-api-key': app.apiKey, connection: 'close' } })
      await response.arrayBuffer()
      expect(response.status).toBe(200)
    }
    expect(await workerPids(gatewayPort)).toHaveLength(2)

    const scrapes = await Promise.all(Array.from({ length: 6 }, async () => await scrape(gatewayPort)))
    expect(scrapes.map(({ status, text }) => {
      const samples = parseMetrics(text)
      return {
        status,
        requests: total(samples, 'gateway_requests_total', { api: 'metered', outcome: 'proxied' }),
        durations: total(samples, 'gateway_request_duration_seconds_count', { api: 'metered' }),
        allowed: total(samples, 'gateway_limit_decisions_total', { api: 'metered', decision: 'allowed' }),
        snapshotVersions: find(samples, 'gateway_snapshot_version').length,
        workers: total(samples, 'gateway_workers', {}),
        // a process metric describes one process: one series per worker, not a sum
        startTimes: new Set(find(samples, 'process_start_time_seconds').map(sample => sample.labels.worker)).size
      }
    })).toEqual(Array.from({ length: 6 }, () => ({ status: 200, requests: proxied, durations: proxied, allowed: proxied, snapshotVersions: 1, workers: 2, startTimes: 2 })))
  })

  it('fails the scrape with 503 while a worker does not send its metrics, rather than report a smaller total', async () => {
    const [stopped] = await workerPids(gatewayPort)
    process.kill(stopped, 'SIGSTOP')
    try {
      // the one connection handed to the stopped worker waits; the scheduler gives the next ones to the other
      let answer: { status: number, text: string } | undefined
      for (let attempt = 0; attempt < 3 && answer === undefined; attempt++) {
        answer = await scrape(gatewayPort, AbortSignal.timeout(5_000)).catch(() => undefined)
      }
      expect(answer?.status).toBe(503)
      expect(JSON.parse(answer?.text ?? '{}').error).toMatchObject({ code: 'METRICS_INCOMPLETE', message: 'Only 1 of 2 gateway workers sent their metrics within 2000 ms' })
    } finally {
      process.kill(stopped, 'SIGCONT')
    }
    const { status, text } = await scrape(gatewayPort)
    expect(status).toBe(200)
    expect(total(parseMetrics(text), 'gateway_requests_total', { api: 'metered', outcome: 'proxied' })).toBe(proxied)
  })

  it('stops the primary and the workers on SIGTERM', async () => {
    const exited = new Promise<number | null>(resolve => child.once('exit', code => { resolve(code) }))
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  })
})
