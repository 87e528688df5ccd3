// The gateway's Prometheus metrics. One registry per gateway instance (tests run several in
// one process). Labels are bounded: API names and routes are set by operators, methods,
// status codes, outcomes and reasons are small sets, and apps are named only for the busiest
// few (app-label.ts). README.md lists every metric with its labels.
//
// With GATEWAY_WORKERS the workers' registries are combined into one answer (cluster-metrics.ts)
// by each metric's aggregator: counters and histograms are summed; a gauge says how it combines
// where summing would not mean what its name says.
import { Counter, Gauge, Registry, collectDefaultMetrics, type Aggregator } from 'prom-client'
import { PROXIED_METHODS, type RouteDefinition } from '../gateway/routing/route-table.js'
import { BoundCounter, BoundHistogram } from './bound-series.js'
import { AppLabeller, NO_APP, type AppLabelSetting } from './app-label.js'

export const OUTCOMES = ['proxied', 'rejected', 'upstream_error', 'client_closed', 'not_found', 'bad_request', 'preflight', 'cached'] as const
export type Outcome = typeof OUTCOMES[number]

export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
/** The app ranking is recomputed at a scrape at most this often by default. */
const APP_RERANK_MS = 60_000
const METHOD_INDEX: Record<string, number> = Object.fromEntries(PROXIED_METHODS.map((method, index) => [method, index + 1]))

/** Live values the gauges read at scrape time. */
export interface MetricSources {
  snapshotVersion: () => number
  snapshotSyncedAt: () => number
  databaseHealthy: () => boolean
  redisUp?: () => boolean
  /** every upstream's targets, whether each is in service now and its open connections */
  upstreamTargets?: () => Iterable<{ upstream: string, target: string, healthy: boolean, connections: number }>
  /** requests in flight per upstream */
  upstreamsInFlight?: () => Iterable<{ upstream: string, inFlight: number }>
}

export interface CounterChild { inc: (value?: number) => void }
export interface HistogramChild { observe: (value: number) => void }

/** A route's label: its path prefix, after its host when it has one. */
export function routeLabel (route: Pick<RouteDefinition, 'host' | 'path'>): string {
  return route.host === null || route.host === undefined ? route.path : `${route.host}${route.path}`
}

/**
 * The series of one API, bound once: binding builds a key from the labels, which the request
 * path would otherwise pay several times per request; a bound series then counts in its own
 * fields (bound-series.ts). Series for label values seen later (reasons, plans) are bound the
 * first time and kept.
 */
export class ApiMetrics {
  readonly api: string
  readonly requestBytes: CounterChild
  readonly responseBytes: CounterChild
  readonly #metrics: GatewayMetrics
  readonly #rejections = new Map<string, CounterChild>()
  readonly #limitDecisions = new Map<string, Map<string, CounterChild>>()

  constructor (metrics: GatewayMetrics, api: string) {
    this.#metrics = metrics
    this.api = api
    this.requestBytes = metrics.requestBytes.labels({ api })
    this.responseBytes = metrics.responseBytes.labels({ api })
  }

  countRejection (reason: string): void {
    let child = this.#rejections.get(reason)
    if (child === undefined) {
      child = this.#metrics.rejections.labels({ api: this.api, reason })
      this.#rejections.set(reason, child)
    }
    child.inc()
  }

  /** What the rate limit and quota of `plan` decided: `allowed`, or the refusal's error code. */
  countLimitDecision (plan: string, decision: string): void {
    // by plan, then by decision: a key joining the two would be a new string every request
    let byDecision = this.#limitDecisions.get(plan)
    if (byDecision === undefined) {
      byDecision = new Map()
      this.#limitDecisions.set(plan, byDecision)
    }
    let child = byDecision.get(decision)
    if (child === undefined) {
      child = this.#metrics.limitDecisions.labels({ api: this.api, plan, decision })
      byDecision.set(decision, child)
    }
    child.inc()
  }
}

/** The series of one route of an API, bound once like ApiMetrics. */
export class RouteMetrics {
  readonly api: ApiMetrics
  readonly route: string
  readonly requestDuration: HistogramChild
  readonly upstreamDuration: HistogramChild
  readonly #metrics: GatewayMetrics
  /** by app label, then by method × status × outcome */
  readonly #requests = new Map<string, Map<number, CounterChild>>()

  constructor (metrics: GatewayMetrics, api: ApiMetrics, route: string) {
    this.#metrics = metrics
    this.api = api
    this.route = route
    this.requestDuration = metrics.requestDuration.labels({ api: api.api, route })
    this.upstreamDuration = metrics.upstreamDuration.labels({ api: api.api, route })
  }

  countRequest (app: string, method: string, statusCode: number, outcome: Outcome): void {
    let byApp = this.#requests.get(app)
    if (byApp === undefined) {
      byApp = new Map()
      this.#requests.set(app, byApp)
    }
    const key = ((METHOD_INDEX[method] ?? 0) * 1000 + statusCode) * OUTCOMES.length + OUTCOMES.indexOf(outcome)
    let child = byApp.get(key)
    if (child === undefined) {
      child = this.#metrics.bindRequests({ api: this.api.api, route: this.route, app, method: METHOD_INDEX[method] === undefined ? 'OTHER' : method, status: String(statusCode), outcome })
      byApp.set(key, child)
    }
    child.inc()
  }

  /** Forgets the children of an app whose series were removed. */
  forgetApp (app: string): void {
    this.#requests.delete(app)
  }
}

export interface GatewayMetricsOptions {
  defaultMetrics?: boolean
  /** which apps get a label of their own (METRICS_APP_LABEL); default off */
  appLabel?: AppLabelSetting
  /** how often, at most, a scrape reranks the busiest apps */
  appRerankMs?: number
}

export class GatewayMetrics {
  readonly registry = new Registry()
  readonly apps: AppLabeller
  #sources: MetricSources | undefined
  readonly #apis = new Map<string, ApiMetrics>()
  readonly #routes = new Map<string, RouteMetrics>()
  /** per route definition of the current snapshot: one WeakMap lookup per request instead of a key string */
  readonly #routesByDefinition = new WeakMap<object, RouteMetrics>()
  /** label sets of the request series bound per app, to remove them when the app leaves the top */
  readonly #requestSeriesByApp = new Map<string, Array<Record<string, string>>>()
  #rerankedAt = Date.now()
  readonly #appRerankMs: number
  readonly requests: BoundCounter<'api' | 'route' | 'app' | 'method' | 'status' | 'outcome'>
  readonly requestDuration = new BoundHistogram({ name: 'gateway_request_duration_seconds', help: 'Whole time in the gateway, from the request to the end of the response, by API and route', labelNames: ['api', 'route'] as const, buckets: LATENCY_BUCKETS, registers: [this.registry] })
  readonly upstreamDuration = new BoundHistogram({ name: 'gateway_upstream_duration_seconds', help: 'Time from sending to the upstream to its response headers, by API and route', labelNames: ['api', 'route'] as const, buckets: LATENCY_BUCKETS, registers: [this.registry] })
  readonly requestBytes = new BoundCounter({ name: 'gateway_request_bytes_total', help: 'Bytes received from clients (request line, headers and body), by API', labelNames: ['api'] as const, registers: [this.registry] })
  readonly responseBytes = new BoundCounter({ name: 'gateway_response_bytes_total', help: 'Bytes sent to clients (status line, headers and body), by API', labelNames: ['api'] as const, registers: [this.registry] })
  readonly rejections = new BoundCounter({ name: 'gateway_rejections_total', help: 'Requests the gateway refused (4xx), by API and reason (error code)', labelNames: ['api', 'reason'] as const, registers: [this.registry] })
  readonly limitDecisions = new BoundCounter({ name: 'gateway_limit_decisions_total', help: 'Rate-limit and quota decisions, by API, plan and decision (allowed or the refusal\'s error code)', labelNames: ['api', 'plan', 'decision'] as const, registers: [this.registry] })
  // across workers: the version every worker has reached, so a change shows as applied only once all of them serve it
  readonly snapshotVersion = this.#sourcedGauge('gateway_snapshot_version', 'Configuration version of the snapshot in use', 'min', async sources => sources.snapshotVersion())
  // across workers, like the up gauges below: the worst of them, which is what an alert wants to see
  readonly snapshotAge = this.#sourcedGauge('gateway_snapshot_age_seconds', 'Seconds since the snapshot in use was last confirmed current against the database', 'max', async sources => (Date.now() - sources.snapshotSyncedAt()) / 1000)
  readonly databaseUp = this.#sourcedGauge('gateway_database_up', '1 when the last configuration read succeeded', 'min', async sources => sources.databaseHealthy() ? 1 : 0)
  readonly upstreamEjections = new Counter({ name: 'gateway_upstream_ejections_total', help: 'Targets taken out of service, by upstream and cause (failures | health-check)', labelNames: ['upstream', 'cause'] as const, registers: [this.registry] })
  // every worker ejects and health-checks on its own: 1 across workers only while all of them send to the target
  readonly upstreamTargetHealthy = this.#labelledGauge('gateway_upstream_target_healthy', 'Whether the target is in service (1) or ejected / failing its health check (0)', ['upstream', 'target'], 'min', (sources, gauge) => {
    for (const { upstream, target, healthy } of sources.upstreamTargets?.() ?? []) gauge.set({ upstream, target }, healthy ? 1 : 0)
  })

  // across workers: the connections the target holds open, from all of them
  readonly upstreamTargetConnections = this.#labelledGauge('gateway_upstream_target_connections', 'Open connections from this process to the target (kept alive between requests)', ['upstream', 'target'], 'sum', (sources, gauge) => {
    for (const { upstream, target, connections } of sources.upstreamTargets?.() ?? []) gauge.set({ upstream, target }, connections)
  })

  // the limit is per process: across workers, the one closest to it, which is the one answering UPSTREAM_BUSY first
  readonly upstreamInFlight = this.#labelledGauge('gateway_upstream_requests_in_flight', 'Requests in flight to the upstream, counted against UPSTREAM_MAX_CONCURRENT_REQUESTS', ['upstream'], 'max', (sources, gauge) => {
    for (const { upstream, inFlight } of sources.upstreamsInFlight?.() ?? []) gauge.set({ upstream }, inFlight)
  })

  readonly webSocketConnections = new Gauge({ name: 'gateway_websocket_connections', help: 'Open WebSocket connections, by API', labelNames: ['api'] as const, registers: [this.registry] })
  readonly webSocketMessages = new BoundCounter({ name: 'gateway_websocket_messages_total', help: 'WebSocket messages, by API and direction (in: from the client, out: to the client)', labelNames: ['api', 'direction'] as const, registers: [this.registry] })
  readonly webSocketBytes = new BoundCounter({ name: 'gateway_websocket_bytes_total', help: 'WebSocket payload bytes, by API and direction (in: from the client, out: to the client)', labelNames: ['api', 'direction'] as const, registers: [this.registry] })
  readonly webSocketPolicyCloses = new Counter({ name: 'gateway_websocket_policy_closes_total', help: 'WebSocket connections the gateway closed with 1008, by API and reason (access_revoked, how the route changed, or the policy that no longer admits them, e.g. ip_not_allowed)', labelNames: ['api', 'reason'] as const, registers: [this.registry] })
  readonly tlsCertificateReloads = new Counter({ name: 'gateway_tls_certificate_reloads_total', help: 'Certificate reloads (SIGHUP, changed files) by certificate file and result: reloaded (a new certificate is in use) or failed (the files do not load; the previous certificate stays in use)', labelNames: ['certificate', 'result'] as const, registers: [this.registry] })
  // every worker reloads its certificates itself: across workers, the earliest end of validity still served
  readonly tlsCertificateExpiry = new Gauge({ name: 'gateway_tls_certificate_expiry_timestamp_seconds', help: 'End of validity (notAfter, Unix time) of the certificate in use, by certificate file', labelNames: ['certificate'] as const, registers: [this.registry], aggregator: 'min' })
  readonly traceSpansExported = new Counter({ name: 'gateway_trace_spans_exported_total', help: 'Spans the OTLP collector accepted', registers: [this.registry] })
  readonly traceSpansDropped = new Counter({ name: 'gateway_trace_spans_dropped_total', help: 'Spans dropped, by reason (queue_full: the collector is slower than the traffic; export_failed: the collector refused or was unreachable)', labelNames: ['reason'] as const, registers: [this.registry] })
  #redisUp: Gauge | undefined

  constructor (options: GatewayMetricsOptions = {}) {
    if (options.defaultMetrics === true) collectDefaultMetrics({ register: this.registry })
    this.apps = new AppLabeller(options.appLabel ?? { kind: 'off' })
    this.#appRerankMs = options.appRerankMs ?? APP_RERANK_MS
    // registered after the default metrics, where /metrics has always listed it
    this.requests = new BoundCounter({
      name: 'gateway_requests_total',
      help: 'Requests by API, route, app (the busiest apps by id, others as "other", "" before one is known), method, status code and outcome',
      labelNames: ['api', 'route', 'app', 'method', 'status', 'outcome'],
      registers: [this.registry],
      collect: () => { this.#rerankApps(Date.now()) }
    })
  }

  setSources (sources: MetricSources): void {
    this.#sources = sources
    // a gauge with no labels reads 0 once registered: absent means "not configured" only if never registered
    if (sources.redisUp !== undefined && this.#redisUp === undefined) {
      const redisUp = sources.redisUp
      this.#redisUp = new Gauge({ name: 'gateway_redis_up', help: '1 while Redis answers within its deadline; absent when counters are in memory', registers: [this.registry], aggregator: 'min', collect () { this.set(redisUp() ? 1 : 0) } })
    }
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

  /** The bound series of a route of `api`; `route` undefined for requests no route took. */
  forRoute (api: string, route?: RouteDefinition): RouteMetrics {
    if (route !== undefined) {
      const known = this.#routesByDefinition.get(route)
      if (known !== undefined) return known
    }
    const label = route === undefined ? '' : routeLabel(route)
    const key = `${api}\u0000${label}`
    let bound = this.#routes.get(key)
    if (bound === undefined) {
      bound = new RouteMetrics(this, this.forApi(api), label)
      this.#routes.set(key, bound)
    }
    if (route !== undefined) this.#routesByDefinition.set(route, bound)
    return bound
  }

  bindRequests (labels: Record<'api' | 'route' | 'app' | 'method' | 'status' | 'outcome', string>): CounterChild {
    if (labels.app !== NO_APP) {
      const series = this.#requestSeriesByApp.get(labels.app)
      if (series === undefined) this.#requestSeriesByApp.set(labels.app, [labels])
      else series.push(labels)
    }
    return this.requests.labels(labels)
  }

  /** Reranks the busiest apps and removes the series of those that left the top. */
  #rerankApps (now: number): void {
    if (now - this.#rerankedAt < this.#appRerankMs) return
    this.#rerankedAt = now
    for (const app of this.apps.rerank()) {
      for (const labels of this.#requestSeriesByApp.get(app) ?? []) this.requests.remove(labels)
      this.#requestSeriesByApp.delete(app)
      for (const route of this.#routes.values()) route.forgetApp(app)
    }
  }

  /** A gauge whose series are all read at scrape time: removed upstreams and targets disappear. */
  #labelledGauge (name: string, help: string, labelNames: string[], aggregator: Aggregator, read: (sources: MetricSources, gauge: Gauge) => void): Gauge {
    const metrics = this
    return new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      aggregator,
      collect () {
        this.reset()
        if (metrics.#sources !== undefined) read(metrics.#sources, this)
      }
    })
  }

  #sourcedGauge (name: string, help: string, aggregator: Aggregator, read: (sources: MetricSources) => Promise<number>): Gauge {
    const metrics = this
    return new Gauge({
      name,
      help,
      registers: [this.registry],
      aggregator,
      async collect () {
        if (metrics.#sources !== undefined) this.set(await read(metrics.#sources))
      }
    })
  }
}
