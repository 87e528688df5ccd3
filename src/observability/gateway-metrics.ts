// The gateway's Prometheus metrics. One registry per gateway instance (tests run several in
// one process). Labels are bounded: API names are set by operators, status is a class, and
// outcomes and reasons are fixed lists; per-app numbers live in the usage table instead.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export const OUTCOMES = ['proxied', 'rejected', 'upstream_error', 'not_found', 'bad_request', 'preflight'] as const
export type Outcome = typeof OUTCOMES[number]

export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** Live values the gauges read at scrape time. */
export interface MetricSources {
  snapshotVersion: () => number
  snapshotSyncedAt: () => number
  databaseHealthy: () => boolean
  redisUp?: () => boolean
  /** every upstream's targets and whether each is in service now */
  upstreamTargets?: () => Iterable<{ upstream: string, target: string, healthy: boolean }>
  /** requests in flight per upstream */
  upstreamsInFlight?: () => Iterable<{ upstream: string, inFlight: number }>
}

interface CounterChild { inc: (value?: number) => void }
interface HistogramChild { observe: (value: number) => void }

/**
 * The series of one API, bound once: prom-client hashes the label object of every call made
 * with labels, which the request path would otherwise pay several times per request.
 */
export class ApiMetrics {
  readonly requestDuration: HistogramChild
  readonly upstreamDuration: HistogramChild
  readonly #metrics: GatewayMetrics
  readonly #api: string
  /** by status class (1–5) × outcome */
  readonly #requests: Array<CounterChild | undefined> = []

  constructor (metrics: GatewayMetrics, api: string) {
    this.#metrics = metrics
    this.#api = api
    this.requestDuration = metrics.requestDuration.labels({ api })
    this.upstreamDuration = metrics.upstreamDuration.labels({ api })
  }

  countRequest (statusCode: number, outcome: Outcome): void {
    const index = Math.floor(statusCode / 100) * OUTCOMES.length + OUTCOMES.indexOf(outcome)
    let child = this.#requests[index]
    if (child === undefined) {
      child = this.#metrics.requests.labels({ api: this.#api, status_class: statusClass(statusCode), outcome })
      this.#requests[index] = child
    }
    child.inc()
  }
}

export class GatewayMetrics {
  readonly registry = new Registry()
  #sources: MetricSources | undefined
  readonly #apis = new Map<string, ApiMetrics>()
  readonly requests = new Counter({ name: 'gateway_requests_total', help: 'Requests by API, status class and outcome', labelNames: ['api', 'status_class', 'outcome'] as const, registers: [this.registry] })
  readonly requestDuration = new Histogram({ name: 'gateway_request_duration_seconds', help: 'Total time in the gateway, by API', labelNames: ['api'] as const, buckets: LATENCY_BUCKETS, registers: [this.registry] })
  readonly upstreamDuration = new Histogram({ name: 'gateway_upstream_duration_seconds', help: 'Time to the upstream response headers, by API', labelNames: ['api'] as const, buckets: LATENCY_BUCKETS, registers: [this.registry] })
  readonly rejections = new Counter({ name: 'gateway_rejections_total', help: 'Requests rejected by a policy, by reason (error code)', labelNames: ['reason'] as const, registers: [this.registry] })
  readonly snapshotVersion = this.#sourcedGauge('gateway_snapshot_version', 'Configuration version of the snapshot in use', async sources => sources.snapshotVersion())
  readonly snapshotAge = this.#sourcedGauge('gateway_snapshot_age_seconds', 'Seconds since the snapshot in use was last confirmed current against the database', async sources => (Date.now() - sources.snapshotSyncedAt()) / 1000)
  readonly databaseUp = this.#sourcedGauge('gateway_database_up', '1 when the last configuration read succeeded', async sources => sources.databaseHealthy() ? 1 : 0)
  readonly redisUp = this.#sourcedGauge('gateway_redis_up', '1 while Redis answers within its deadline; absent when counters are in memory', async sources => sources.redisUp === undefined ? undefined : sources.redisUp() ? 1 : 0)
  readonly upstreamEjections = new Counter({ name: 'gateway_upstream_ejections_total', help: 'Targets taken out of service, by upstream and cause (failures | health-check)', labelNames: ['upstream', 'cause'] as const, registers: [this.registry] })
  readonly upstreamTargetHealthy = this.#labelledGauge('gateway_upstream_target_healthy', 'Whether the target is in service (1) or ejected / failing its health check (0)', ['upstream', 'target'], (sources, gauge) => {
    for (const { upstream, target, healthy } of sources.upstreamTargets?.() ?? []) gauge.set({ upstream, target }, healthy ? 1 : 0)
  })

  readonly upstreamInFlight = this.#labelledGauge('gateway_upstream_requests_in_flight', 'Requests in flight to the upstream, counted against UPSTREAM_MAX_CONCURRENT_REQUESTS', ['upstream'], (sources, gauge) => {
    for (const { upstream, inFlight } of sources.upstreamsInFlight?.() ?? []) gauge.set({ upstream }, inFlight)
  })

  readonly webSocketConnections = new Gauge({ name: 'gateway_websocket_connections', help: 'Open WebSocket connections, by API', labelNames: ['api'] as const, registers: [this.registry] })
  readonly webSocketMessages = new Counter({ name: 'gateway_websocket_messages_total', help: 'WebSocket messages, by API and direction', labelNames: ['api', 'direction'] as const, registers: [this.registry] })
  readonly webSocketBytes = new Counter({ name: 'gateway_websocket_bytes_total', help: 'WebSocket payload bytes, by API and direction', labelNames: ['api', 'direction'] as const, registers: [this.registry] })
  readonly webSocketPolicyCloses = new Counter({ name: 'gateway_websocket_policy_closes_total', help: 'WebSocket connections the gateway closed with 1008, by API and reason (access_revoked or how the route changed)', labelNames: ['api', 'reason'] as const, registers: [this.registry] })

  constructor (options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics === true) collectDefaultMetrics({ register: this.registry })
  }

  setSources (sources: MetricSources): void {
    this.#sources = sources
  }

  /** The bound series of an API ('' for requests no API took). */
  forApi (api: string): ApiMetrics {
    let bound = this.#apis.get(api)
    if (bound === undefined) {
      bound = new ApiMetrics(this, api)
      this.#apis.set(api, bound)
    }
    return bound
  }

  /** A gauge whose series are all read at scrape time: removed upstreams and targets disappear. */
  #labelledGauge (name: string, help: string, labelNames: string[], read: (sources: MetricSources, gauge: Gauge) => void): Gauge {
    const metrics = this
    return new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect () {
        this.reset()
        if (metrics.#sources !== undefined) read(metrics.#sources, this)
      }
    })
  }

  #sourcedGauge (name: string, help: string, read: (sources: MetricSources) => Promise<number | undefined>): Gauge {
    const metrics = this
    return new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect () {
        const value = metrics.#sources === undefined ? undefined : await read(metrics.#sources)
        if (value === undefined) this.reset()
        else this.set(value)
      }
    })
  }
}

export function statusClass (statusCode: number): string {
  return `${Math.floor(statusCode / 100)}xx`
}
