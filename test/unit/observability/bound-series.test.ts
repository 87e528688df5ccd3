// Bound series count in their own fields and read out exactly as prom-client's Counter and
// Histogram would for the same data: the /metrics text, getMetricsAsJSON and the aggregation
// of several workers' registries.
import { AggregatorRegistry, Counter, Histogram, Registry, type OpenMetricsContentType, type RegistryContentType } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { BoundCounter, BoundHistogram } from '../../../src/observability/bound-series.js'

const BUCKETS = [0.01, 0.1, 1]

function boundMetrics (registry: Registry<RegistryContentType>, collect?: () => void): { counter: BoundCounter<'api' | 'status'>, histogram: BoundHistogram<'api' | 'route'> } {
  return {
    counter: new BoundCounter({ name: 'test_requests_total', help: 'Requests by API and status', labelNames: ['api', 'status'], registers: [registry], collect }),
    histogram: new BoundHistogram({ name: 'test_duration_seconds', help: 'Time by API and route', labelNames: ['api', 'route'], buckets: BUCKETS, registers: [registry] })
  }
}

function promClientMetrics (registry: Registry<RegistryContentType>): { counter: Counter<'api' | 'status'>, histogram: Histogram<'api' | 'route'> } {
  return {
    counter: new Counter({ name: 'test_requests_total', help: 'Requests by API and status', labelNames: ['api', 'status'], registers: [registry] }),
    histogram: new Histogram({ name: 'test_duration_seconds', help: 'Time by API and route', labelNames: ['api', 'route'], buckets: BUCKETS, registers: [registry] })
  }
}

type Operation = { kind: 'inc', labels: { api: string, status: string }, value: number } | { kind: 'observe', labels: { api: string, route: string }, value: number } | { kind: 'removeCounter', labels: { api: string, status: string } }

/** A mix with series first counted out of binding order, a removal and a series counting again after it. */
const OPERATIONS: Operation[] = [
  { kind: 'observe', labels: { api: 'orders', route: '/orders' }, value: 0.004 },
  { kind: 'inc', labels: { api: 'orders', status: '200' }, value: 1 },
  { kind: 'observe', labels: { api: 'orders', route: '/orders' }, value: 0.01 },
  { kind: 'observe', labels: { api: 'stock', route: 'shop.example/stock' }, value: 2.5 },
  { kind: 'inc', labels: { api: 'stock', status: '503' }, value: 0 },
  { kind: 'observe', labels: { api: 'orders', route: '/orders' }, value: 0.3 },
  { kind: 'inc', labels: { api: 'orders', status: '404' }, value: 3 },
  { kind: 'inc', labels: { api: 'orders', status: '200' }, value: 1.5 },
  { kind: 'removeCounter', labels: { api: 'orders', status: '200' } },
  { kind: 'inc', labels: { api: 'orders', status: '200' }, value: 1 },
  { kind: 'observe', labels: { api: 'say "hi"\\\n', route: '/' }, value: 0.05 },
  { kind: 'inc', labels: { api: 'say "hi"\\\n', status: '200' }, value: 1 }
]

/** Runs OPERATIONS on children bound up front, as the request path holds them. */
function replay (metrics: { counter: { labels: (labels: { api: string, status: string }) => { inc: (value?: number) => void }, remove: (labels: { api: string, status: string }) => void }, histogram: { labels: (labels: { api: string, route: string }) => { observe: (value: number) => void } } }): void {
  const counters = new Map<string, { inc: (value?: number) => void }>()
  const histograms = new Map<string, { observe: (value: number) => void }>()
  for (const operation of OPERATIONS) {
    const key = JSON.stringify(operation.labels)
    if (operation.kind === 'observe') {
      if (!histograms.has(key)) histograms.set(key, metrics.histogram.labels(operation.labels))
      histograms.get(key)?.observe(operation.value)
    } else if (operation.kind === 'inc') {
      if (!counters.has(key)) counters.set(key, metrics.counter.labels(operation.labels))
      counters.get(key)?.inc(operation.value)
    } else {
      metrics.counter.remove(operation.labels)
    }
  }
}

describe('bound series', () => {
  it('writes a counter and a histogram with labels in the exposition format', async () => {
    const registry = new Registry()
    const { counter, histogram } = boundMetrics(registry)
    const orders = counter.labels({ api: 'orders', status: '200' })
    orders.inc()
    orders.inc(2)
    counter.labels({ api: 'orders', status: '404' }).inc()
    const duration = histogram.labels({ api: 'orders', route: '/orders' })
    for (const seconds of [0.004, 0.01, 0.05, 3]) duration.observe(seconds)
    expect(await registry.metrics()).toBe([
      '# HELP test_requests_total Requests by API and status',
      '# TYPE test_requests_total counter',
      'test_requests_total{api="orders",status="200"} 3',
      'test_requests_total{api="orders",status="404"} 1',
      '',
      '# HELP test_duration_seconds Time by API and route',
      '# TYPE test_duration_seconds histogram',
      'test_duration_seconds_bucket{le="0.01",api="orders",route="/orders"} 2',
      'test_duration_seconds_bucket{le="0.1",api="orders",route="/orders"} 3',
      'test_duration_seconds_bucket{le="1",api="orders",route="/orders"} 3',
      'test_duration_seconds_bucket{le="+Inf",api="orders",route="/orders"} 4',
      'test_duration_seconds_sum{api="orders",route="/orders"} 3.064',
      'test_duration_seconds_count{api="orders",route="/orders"} 4',
      ''
    ].join('\n'))
  })

  it('escapes backslashes, quotes and newlines in label values', async () => {
    const registry = new Registry()
    const { counter } = boundMetrics(registry)
    counter.labels({ api: 'a\\b "c"\nd', status: '200' }).inc()
    expect(await registry.getSingleMetricAsString('test_requests_total')).toContain('test_requests_total{api="a\\\\b \\"c\\"\\nd",status="200"} 1')
  })

  it('reads out as prom-client does for the same data: text, JSON and default labels', async () => {
    const promClient = new Registry()
    const bound = new Registry()
    replay(promClientMetrics(promClient))
    replay(boundMetrics(bound))
    const readsAlike = async (): Promise<void> => {
      expect(await bound.metrics()).toBe(await promClient.metrics())
      const [boundJson, promClientJson] = [await bound.getMetricsAsJSON(), await promClient.getMetricsAsJSON()]
      expect(boundJson).toStrictEqual(promClientJson)
      // label order too: an aggregating registry writes the labels in the order the JSON has them
      expect(JSON.stringify(boundJson)).toBe(JSON.stringify(promClientJson))
    }
    await readsAlike()
    for (const registry of [promClient, bound]) registry.setDefaultLabels({ node: 'gateway-1' })
    await readsAlike()
  })

  it('reads out as prom-client does in the OpenMetrics format too', async () => {
    const [promClient, bound] = [new Registry<OpenMetricsContentType>(), new Registry<OpenMetricsContentType>()]
    for (const registry of [promClient, bound]) registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)
    replay(promClientMetrics(promClient))
    replay(boundMetrics(bound))
    const text = await bound.metrics()
    expect(text).toContain('test_requests_total{api="orders",status="404"} 3')
    expect(text).toBe(await promClient.metrics())
  })

  it('shows a bound series only once it has a value', async () => {
    const registry = new Registry()
    const { counter, histogram } = boundMetrics(registry)
    counter.labels({ api: 'orders', status: '200' })
    histogram.labels({ api: 'orders', route: '/orders' })
    expect((await counter.get()).values).toEqual([])
    expect((await histogram.get()).values).toEqual([])
    counter.labels({ api: 'orders', status: '200' }).inc(0)
    expect((await counter.get()).values).toEqual([{ value: 0, labels: { api: 'orders', status: '200' } }])
    // a number and its text are the same label value
    expect(counter.labels({ api: 'orders', status: 200 })).toBe(counter.labels({ api: 'orders', status: '200' }))
  })

  it('forgets a removed series, and counts from zero into one series when used again', async () => {
    const registry = new Registry()
    const { counter, histogram } = boundMetrics(registry)
    const labels = { api: 'orders', status: '200' }
    const before = counter.labels(labels)
    before.inc(5)
    counter.labels({ api: 'orders', status: '500' }).inc()
    counter.remove(labels)
    expect(await registry.getSingleMetricAsString('test_requests_total')).not.toContain('status="200"')
    // a child bound before the removal and one bound after share the series, as prom-client's do
    const after = counter.labels(labels)
    expect(after).not.toBe(before)
    after.inc()
    before.inc()
    expect((await counter.get()).values).toEqual([{ value: 1, labels: { api: 'orders', status: '500' } }, { value: 2, labels }])

    const duration = histogram.labels({ api: 'orders', route: '/orders' })
    duration.observe(0.5)
    histogram.remove({ api: 'orders', route: '/orders' })
    expect((await histogram.get()).values).toEqual([])
    duration.observe(0.05)
    const text = await registry.getSingleMetricAsString('test_duration_seconds')
    expect(text).toContain('test_duration_seconds_count{api="orders",route="/orders"} 1')
    expect(text).toContain('test_duration_seconds_sum{api="orders",route="/orders"} 0.05')
  })

  it('sums the series of several workers when their registries are aggregated', async () => {
    const workers = [new Registry(), new Registry()]
    const promClientWorkers = [new Registry(), new Registry()]
    for (const registry of workers) replay(boundMetrics(registry))
    for (const registry of promClientWorkers) replay(promClientMetrics(registry))
    const aggregated = AggregatorRegistry.aggregate(await Promise.all(workers.map(async registry => await registry.getMetricsAsJSON())))
    const text = await aggregated.metrics()
    expect(text).toContain('test_requests_total{api="orders",status="404"} 6')
    expect(text).toContain('test_duration_seconds_bucket{le="0.01",api="orders",route="/orders"} 4')
    expect(text).toContain('test_duration_seconds_count{api="orders",route="/orders"} 6')
    const promClientAggregated = AggregatorRegistry.aggregate(await Promise.all(promClientWorkers.map(async registry => await registry.getMetricsAsJSON())))
    expect(text).toBe(await promClientAggregated.metrics())
  })

  it('runs the collect hook before every read', async () => {
    let reads = 0
    const registry = new Registry()
    boundMetrics(registry, () => { reads++ })
    await registry.metrics()
    await registry.getMetricsAsJSON()
    expect(reads).toBe(2)
  })

  it('starts again from nothing when the registry resets its metrics', async () => {
    const registry = new Registry()
    const { counter, histogram } = boundMetrics(registry)
    const orders = counter.labels({ api: 'orders', status: '200' })
    orders.inc(4)
    histogram.labels({ api: 'orders', route: '/orders' }).observe(0.2)
    registry.resetMetrics()
    expect((await registry.getMetricsAsJSON()).map(metric => metric.values)).toEqual([[], []])
    orders.inc()
    expect((await counter.get()).values).toEqual([{ value: 1, labels: { api: 'orders', status: '200' } }])
  })

  it('refuses what prom-client refuses: unknown labels, a counter going down, values that are not finite', () => {
    const { counter, histogram } = boundMetrics(new Registry())
    expect(() => counter.labels({ api: 'orders', plan: 'gold' } as never)).toThrow(/label "plan"/)
    const orders = counter.labels({ api: 'orders', status: '200' })
    for (const value of [-1, NaN, Infinity]) expect(() => { orders.inc(value) }).toThrow(RangeError)
    const duration = histogram.labels({ api: 'orders', route: '/orders' })
    for (const value of [NaN, Infinity, -Infinity]) expect(() => { duration.observe(value) }).toThrow(RangeError)
  })
})
