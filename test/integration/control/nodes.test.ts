// The node registry end to end, in the database and in Redis: two gateway processes on one
// PostgreSQL database report themselves every 200 ms; /admin/v1/nodes lists them with their configuration version and
// snapshot age, a node that stops reporting shows as down, one shut down as stopped; and
// /admin/v1/overview shows the traffic they carried, rejections and the busiest apps.
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NodeReporter } from '../../../src/gateway/node-report.js'
import { GatewayMetrics } from '../../../src/observability/gateway-metrics.js'
import { provision, startStack, waitForPropagation, type TestStack, type Provisioned } from '../../helpers/stack.js'
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js'

async function eventually<T> (read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (accept(value) || Date.now() > deadline) return value
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

describe.each([{ redis: false }, { redis: true }])('node registry (Redis: $redis)', { timeout: 60_000 }, ({ redis }) => {
  let stack: TestStack
  let upstream: TestUpstream
  let provisioned: Provisioned

  beforeAll(async () => {
    upstream = await startUpstream('nodes')
    stack = await startStack({ database: 'postgresql', redis, extraGateways: 1, config: { nodeReportIntervalMs: 200 } })
    provisioned = await provision(stack, { upstreamUrls: [upstream.url], plan: { rateLimit: { perSecond: 1, burst: 3 } } })
    await waitForPropagation(stack)
  })
  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
  })


  it('lists every gateway node with its version, configuration version and snapshot age', async () => {
    const current = (await stack.admin('GET', '/admin/v1/config/version')).body.version
    const nodes = await eventually(async () => (await stack.admin('GET', '/admin/v1/nodes')).body, body => body.items.length === 2 && body.items.every((node: any) => node.configVersion === current))
    expect(nodes.currentConfigVersion).toBe(current)
    expect(nodes.items).toHaveLength(2)
    for (const node of nodes.items) {
      expect(node).toMatchObject({ status: 'up', version: '0.1.0', pid: process.pid, configVersion: current, versionsBehind: 0, databaseUp: true, redisUp: redis ? true : null, stoppedAt: null })
      expect(node.snapshotAgeSeconds).toBeGreaterThanOrEqual(0)
      expect(node.snapshotAgeSeconds).toBeLessThan(60)
      expect(node.targets).toContainEqual({ upstream: expect.stringMatching(/^upstream-/), target: upstream.url, healthy: true })
    }
  })

  it('shows the traffic the nodes carried: requests and p99 per API, rate-limit rejections and the busiest app', async () => {
    const api = (await stack.admin('GET', `/admin/v1/apis/${provisioned.apiId}`)).body
    const path = api.routes[0].path as string
    const statuses: number[] = []
    for (const gatewayUrl of stack.gatewayUrls) {
      for (let call = 0; call < 5; call++) {
        const response = await fetch(`${gatewayUrl}${path}/item`, { headers: { 'x-api-key': provisioned.apiKey } })
        await response.text()
        statuses.push(response.status)
      }
    }
    // the plan allows a burst of 3 per second (per node without Redis, shared with it): the calls beyond it are refused
    const refused = statuses.filter(status => status === 429).length
    expect(refused).toBeGreaterThanOrEqual(2)
    expect(statuses.filter(status => status !== 429).every(status => status === 200)).toBe(true)
    const overview = await eventually(async () => (await stack.admin('GET', '/admin/v1/overview?minutes=5')).body,
      body => body.apis.some((each: any) => each.api === api.name && each.series.reduce((sum: number, point: any) => sum + point.requests, 0) === 10) && body.topApps[0]?.calls === 10 - refused)
    const entry = overview.apis.find((each: any) => each.api === api.name)
    expect(entry.series).toHaveLength(5)
    expect(entry.series.reduce((sum: number, point: any) => sum + point.requests, 0)).toBe(10)
    expect(entry.series.reduce((sum: number, point: any) => sum + point.refused, 0)).toBe(refused)
    expect(entry.requestsPerMinute).toBeGreaterThan(0)
    expect(entry.errorRate).toBe(0)
    expect(entry.p99Ms).toBeGreaterThan(0)
    expect(overview.nodes).toEqual({ up: 2, down: 0, stopped: 0 })
    expect(overview.rejections).toContainEqual({ reason: 'RATE_LIMITED', perMinute: expect.any(Number), inRange: refused })
    expect(overview.topApps[0]).toMatchObject({ appId: provisioned.appId, partnerId: provisioned.partnerId, calls: 10 - refused })
  })

  it('shows a node that stopped reporting as down, and one shut down gracefully as stopped', async () => {
    // a node whose clock says its last report is long past: it has stopped reporting
    const silent = new NodeReporter({
      registry: (stack.control.control as FastifyInstance).nodeRegistry,
      metrics: new GatewayMetrics(),
      snapshot: () => ({ version: 1n, loadedAt: Date.now() - 120_000 }),
      databaseUp: () => true,
      intervalMs: 200,
      log: pino({ level: 'silent' }),
      now: () => Date.now() - 30_000
    })
    await silent.report()
    const gone = stack.gateways[1]
    await gone.close()
    stack.gateways.splice(1, 1)
    const nodes = (await stack.admin('GET', '/admin/v1/nodes')).body.items
    expect(nodes.find((node: any) => node.id === silent.identity.id)).toMatchObject({ status: 'down', configVersion: '1', versionsBehind: expect.any(Number) })
    expect(nodes.filter((node: any) => node.status === 'stopped')).toHaveLength(1)
    expect(nodes.filter((node: any) => node.status === 'up')).toHaveLength(1)
    expect((await stack.admin('GET', '/admin/v1/overview')).body.nodes).toEqual({ up: 1, down: 1, stopped: 1 })
    // the registry is where the configuration says: nothing in the other store
    const rows = await stack.control.database.prisma.gatewayNode.count()
    expect(rows).toBe(redis ? 0 : 3)
  })
})
