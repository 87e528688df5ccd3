// The overview and node list made from node registry rows: up, down and stopped nodes, the
// last minute summed over the nodes that are up, the per-minute series over all of them.
import { describe, expect, it } from 'vitest'
import { nodeStatus, nodeView, overview } from '../../../../src/control/services/overview.js'
import { LATENCY_BUCKETS } from '../../../../src/observability/gateway-metrics.js'
import type { Counts, NodeStats } from '../../../../src/observability/node-stats.js'
import type { RegisteredNode } from '../../../../src/store/node-registry.js'

const NOW = Date.parse('2026-11-26T10:05:30Z')

function counts (api: string, requests: number, errors = 0, rejections: Record<string, number> = {}): Counts {
  const latency = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0)
  latency[LATENCY_BUCKETS.indexOf(0.05)] = requests
  return { apis: { [api]: { requests, errors, refused: 0, latency } }, rejections }
}

function node (id: string, options: { reportedAgoMs?: number, stopped?: boolean, window?: Counts, seconds?: number, minutes?: NodeStats['minutes'], webSockets?: Record<string, number>, configVersion?: bigint } = {}): RegisteredNode {
  return {
    id,
    hostname: 'host',
    pid: 1,
    version: '0.1.0',
    startedAt: new Date(NOW - 3600_000),
    reportedAt: new Date(NOW - (options.reportedAgoMs ?? 1000)),
    stoppedAt: options.stopped === true ? new Date(NOW) : null,
    configVersion: options.configVersion ?? 7n,
    snapshotAgeSeconds: 3,
    stats: {
      intervalMs: 5000,
      window: { seconds: options.seconds ?? 60, counts: options.window ?? { apis: {}, rejections: {} } },
      minutes: options.minutes ?? [],
      webSockets: options.webSockets ?? {},
      targets: [],
      databaseUp: true,
      redisUp: null
    }
  }
}

describe('overview', () => {
  it('calls a node down once three report intervals have passed without a report, and stopped when it said so', () => {
    expect(nodeStatus(node('a', { reportedAgoMs: 15_000 }), NOW)).toBe('up')
    expect(nodeStatus(node('a', { reportedAgoMs: 16_500 }), NOW)).toBe('down')
    expect(nodeStatus(node('a', { stopped: true }), NOW)).toBe('stopped')
    expect(nodeView(node('a', { configVersion: 5n, window: counts('orders', 30), seconds: 30 }), NOW, 7n)).toMatchObject({ status: 'up', configVersion: '5', versionsBehind: 2, requestsPerMinute: 60 })
  })

  it('sums the last minute of the nodes that are up, and the series of every node', () => {
    const minute = (start: string, value: Counts): NodeStats['minutes'][number] => ({ start, counts: value })
    const nodes = [
      node('a', { window: counts('orders', 60, 3, { RATE_LIMITED: 6 }), seconds: 60, webSockets: { chat: 2 }, minutes: [minute('2026-11-26T10:04:00.000Z', counts('orders', 10)), minute('2026-11-26T09:00:00.000Z', counts('orders', 999))] }),
      node('b', { window: counts('orders', 30, 0, { RATE_LIMITED: 3 }), seconds: 30, webSockets: { chat: 1 }, minutes: [minute('2026-11-26T10:04:00.000Z', counts('orders', 5, 1))] }),
      // down: its last minute is stale, but the traffic it served earlier still counts
      node('c', { reportedAgoMs: 60_000, window: counts('orders', 1000), webSockets: { chat: 50 }, minutes: [minute('2026-11-26T10:03:00.000Z', counts('orders', 7))] })
    ]
    const view = overview(nodes, NOW, { minutes: 5, topApps: [] })
    expect(view.nodes).toEqual({ up: 2, down: 1, stopped: 0 })
    expect(view.apis.map(api => api.api)).toEqual(['orders'])
    const orders = view.apis[0]
    expect(orders.requestsPerMinute).toBe(120)
    expect(orders.errorRate).toBeCloseTo(3 / 90, 9)
    expect(orders.p99Ms).toBeGreaterThan(25)
    expect(orders.p99Ms).toBeLessThanOrEqual(50)
    expect(orders.series.map(point => [point.minute.slice(11, 16), point.requests, point.errors])).toEqual([['10:01', 0, 0], ['10:02', 0, 0], ['10:03', 7, 0], ['10:04', 15, 1], ['10:05', 0, 0]])
    expect(view.totals).toMatchObject({ requestsPerMinute: 120, webSocketConnections: 3 })
    expect(view.rejections).toEqual([{ reason: 'RATE_LIMITED', perMinute: 12, inRange: 0 }])
  })
})
