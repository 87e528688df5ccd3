// The workers' registries combined into one /metrics answer: totals summed, gauges combined
// as each declares, process metrics kept per worker.
import { Gauge, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { aggregateWorkerMetrics, type WorkerMetrics } from '../../../src/observability/metrics-aggregation.js'
import { GatewayMetrics } from '../../../src/observability/gateway-metrics.js'
import { find, parseMetrics, value, type Sample } from '../../helpers/metrics-text.js'

const ROUTE = { id: 'route-1', apiId: 'api-1', methods: [], host: null, path: '/orders', stripPrefix: true, websocket: false }

interface WorkerState { requests: number, version: number, syncedAgoMs: number, databaseHealthy: boolean, targetHealthy: boolean, connections: number, inFlight: number, webSockets: number }

async function workerMetrics (worker: number, state: WorkerState): Promise<WorkerMetrics> {
  const metrics = new GatewayMetrics()
  metrics.setSources({
    snapshotVersion: () => state.version,
    snapshotSyncedAt: () => Date.now() - state.syncedAgoMs,
    databaseHealthy: () => state.databaseHealthy,
    redisUp: () => state.databaseHealthy,
    upstreamTargets: () => [{ upstream: 'orders', target: 'http://10.0.0.1', healthy: state.targetHealthy, connections: state.connections }],
    upstreamsInFlight: () => [{ upstream: 'orders', inFlight: state.inFlight }]
  })
  const route = metrics.forRoute('orders', ROUTE)
  for (let index = 0; index < state.requests; index++) {
    route.countRequest('', 'GET', 200, 'proxied')
    route.requestDuration.observe(index % 2 === 0 ? 0.003 : 0.2)
  }
  metrics.webSocketConnections.set({ api: 'orders' }, state.webSockets)
  return { worker, metrics: await metrics.registry.getMetricsAsJSON() }
}

async function combined (workers: WorkerMetrics[]): Promise<Sample[]> {
  return parseMetrics(await aggregateWorkerMetrics(workers).metrics())
}

const HEALTHY: WorkerState = { requests: 3, version: 12, syncedAgoMs: 1_000, databaseHealthy: true, targetHealthy: true, connections: 4, inFlight: 2, webSockets: 1 }

describe('metrics aggregation over workers', () => {
  it('sums counters and histograms', async () => {
    const samples = await combined([await workerMetrics(1, HEALTHY), await workerMetrics(2, { ...HEALTHY, requests: 4 })])
    expect(value(samples, 'gateway_requests_total', { api: 'orders', route: '/orders', status: '200' })).toBe(7)
    expect(value(samples, 'gateway_request_duration_seconds_count', { api: 'orders' })).toBe(7)
    expect(value(samples, 'gateway_request_duration_seconds_bucket', { api: 'orders', le: '0.005' })).toBe(4)
    expect(value(samples, 'gateway_request_duration_seconds_bucket', { api: 'orders', le: '+Inf' })).toBe(7)
    expect(value(samples, 'gateway_request_duration_seconds_sum', { api: 'orders' })).toBeCloseTo(4 * 0.003 + 3 * 0.2)
  })

  it('combines each gauge as it declares: the laggard for state, the sum for load', async () => {
    const lagging = { ...HEALTHY, version: 11, syncedAgoMs: 30_000, databaseHealthy: false, targetHealthy: false, connections: 1, inFlight: 5, webSockets: 2 }
    const samples = await combined([await workerMetrics(1, HEALTHY), await workerMetrics(2, lagging)])
    expect({
      version: value(samples, 'gateway_snapshot_version'),
      ageAtLeast30s: (value(samples, 'gateway_snapshot_age_seconds') ?? 0) >= 30,
      databaseUp: value(samples, 'gateway_database_up'),
      redisUp: value(samples, 'gateway_redis_up'),
      targetHealthy: value(samples, 'gateway_upstream_target_healthy', { upstream: 'orders' }),
      connections: value(samples, 'gateway_upstream_target_connections', { upstream: 'orders' }),
      inFlight: value(samples, 'gateway_upstream_requests_in_flight', { upstream: 'orders' }),
      webSockets: value(samples, 'gateway_websocket_connections', { api: 'orders' })
    }).toEqual({ version: 11, ageAtLeast30s: true, databaseUp: 0, redisUp: 0, targetHealthy: 0, connections: 5, inFlight: 5, webSockets: 3 })
  })

  it('keeps process metrics apart per worker, as each reported them', async () => {
    const processMetrics = async (startTime: number, lag: number): Promise<WorkerMetrics['metrics']> => {
      const registry = new Registry()
      new Gauge({ name: 'process_start_time_seconds', help: 'Start time', aggregator: 'omit', registers: [registry] }).set(startTime)
      new Gauge({ name: 'nodejs_eventloop_lag_seconds', help: 'Lag', aggregator: 'average', registers: [registry] }).set(lag)
      return await registry.getMetricsAsJSON()
    }
    const samples = await combined([{ worker: 3, metrics: await processMetrics(100, 0.01) }, { worker: 4, metrics: await processMetrics(200, 0.05) }])
    expect(find(samples, 'process_start_time_seconds')).toEqual([
      { name: 'process_start_time_seconds', labels: { worker: '3' }, value: 100 },
      { name: 'process_start_time_seconds', labels: { worker: '4' }, value: 200 }
    ])
    expect(find(samples, 'nodejs_eventloop_lag_seconds').map(sample => sample.value)).toEqual([0.01, 0.05])
  })

  it('says how many workers it combined', async () => {
    expect(value(await combined([await workerMetrics(1, HEALTHY)]), 'gateway_workers')).toBe(1)
    expect(value(await combined([await workerMetrics(1, HEALTHY), await workerMetrics(2, HEALTHY)]), 'gateway_workers')).toBe(2)
  })
})
