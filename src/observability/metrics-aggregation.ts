// One registry from the registries of the gateway workers (GATEWAY_WORKERS), for a /metrics
// that every worker answers alike. The gateway's metrics are combined by the aggregator each
// declares (counters and histograms summed; gauges say which, in gateway-metrics.ts); the
// Node.js process metrics describe one process each, so they stay apart under a `worker` label.
import { AggregatorRegistry, Gauge, type MetricObjectWithValues, type MetricValue, type PrometheusContentType, type Registry } from 'prom-client'

export type MetricsJson = Array<MetricObjectWithValues<MetricValue<string>>>

/** What one worker's registry read as JSON (registry.getMetricsAsJSON()). */
export interface WorkerMetrics {
  /** the cluster's id of the worker */
  worker: number
  metrics: MetricsJson
}

export const WORKERS_METRIC = 'gateway_workers'

/** prom-client's default metrics (`process_*`, `nodejs_*`); every metric of the gateway's own is named gateway_* */
function isProcessMetric (name: string): boolean {
  return !name.startsWith('gateway_')
}

/**
 * Each worker's process metrics under its own `worker` label. Their series no longer meet, so
 * summing leaves every value as the worker reported it, even for those prom-client would
 * average (event-loop lag), take from the first worker (version) or drop (start time).
 */
function labelledByWorker ({ worker, metrics }: WorkerMetrics): MetricsJson {
  return metrics.map(metric => isProcessMetric(metric.name)
    ? { ...metric, aggregator: 'sum', values: metric.values.map(value => ({ ...value, labels: { ...value.labels, worker } })) }
    : metric)
}

export function aggregateWorkerMetrics (workers: readonly WorkerMetrics[]): Registry {
  const registry = AggregatorRegistry.aggregate<PrometheusContentType>(workers.map(labelledByWorker))
  // a worker that died and was replaced takes its counts with it: this tells a drop from a reset
  const reporting = new Gauge({ name: WORKERS_METRIC, help: 'Gateway workers whose metrics this scrape combines', registers: [registry] })
  reporting.set(workers.length)
  return registry
}
