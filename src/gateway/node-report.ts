// The gateway's entry in the node registry: every NODE_REPORT_INTERVAL_MS a timer reads the
// node's Prometheus metrics (nothing is done per request), turns them into the traffic of the
// last minute and per minute, and writes its entry in the node registry (the database, or
// Redis when configured) with the node's version, configuration version and snapshot age. A failed report is logged once and retried at the
// next tick; the gateway keeps serving either way. On shutdown the entry is marked stopped.
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import { hostname } from 'node:os'
import type { FastifyBaseLogger } from 'fastify'
import type { GatewayMetrics } from '../observability/gateway-metrics.js'
import { emptyCounts, NodeStatsTracker, type Counts } from '../observability/node-stats.js'
import type { NodeIdentity, NodeRegistry } from '../store/node-registry.js'

// src/gateway and dist/gateway are both two levels below the project root
const PRODUCT_VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version
// silent nodes are forgotten about once an hour, by whichever node gets there
const FORGET_EVERY_MS = 3600_000

export interface NodeReportOptions {
  registry: NodeRegistry
  metrics: GatewayMetrics
  snapshot: () => { version: bigint, loadedAt: number }
  databaseUp: () => boolean
  redisUp?: () => boolean
  intervalMs: number
  log: FastifyBaseLogger
  now?: () => number
}

/** The totals of the node's request counters and latency histogram, read from prom-client. */
export async function readTotals (metrics: GatewayMetrics): Promise<Counts> {
  const totals = emptyCounts()
  const api = (name: string): Counts['apis'][string] => (totals.apis[name] ??= { requests: 0, errors: 0, refused: 0, latency: [] })
  for (const { labels, value } of (await metrics.requests.get()).values) {
    // requests that matched no route carry no API
    if (labels.api === undefined || labels.api === '') continue
    const counts = api(String(labels.api))
    counts.requests += value
    const status = String(labels.status)
    if (status.startsWith('5')) counts.errors += value
    if (status.startsWith('4')) counts.refused += value
  }
  // prom-client's buckets are cumulative, in bound order, +Inf last, one series per route: sum
  // the routes of an API bucket by bucket, then store each bucket's own count
  const cumulative = new Map<string, number[]>()
  const position = new Map<string, number>()
  for (const { labels, value, metricName } of (await metrics.requestDuration.get()).values) {
    if (metricName?.endsWith('_bucket') !== true || labels.api === undefined) continue
    const series = `${String(labels.api)}\n${String(labels.route)}`
    const index = position.get(series) ?? 0
    position.set(series, index + 1)
    const list = cumulative.get(String(labels.api)) ?? []
    list[index] = (list[index] ?? 0) + value
    cumulative.set(String(labels.api), list)
  }
  for (const [name, list] of cumulative) {
    if (totals.apis[name] !== undefined) totals.apis[name].latency = list.map((count, index) => count - (index === 0 ? 0 : list[index - 1]))
  }
  for (const { labels, value } of (await metrics.rejections.get()).values) {
    const reason = String(labels.reason)
    totals.rejections[reason] = (totals.rejections[reason] ?? 0) + value
  }
  return totals
}

export class NodeReporter {
  readonly identity: NodeIdentity
  readonly #options: NodeReportOptions
  readonly #tracker = new NodeStatsTracker()
  readonly #now: () => number
  #timer: NodeJS.Timeout | undefined
  #reporting: Promise<void> | undefined
  #failing = false
  #forgottenAt = 0

  constructor (options: NodeReportOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
    this.identity = { id: randomUUID(), hostname: hostname(), pid: process.pid, version: PRODUCT_VERSION, startedAt: new Date(this.#now()) }
  }

  start (): void {
    void this.report()
    this.#timer = setInterval(() => { if (this.#reporting === undefined) void this.report() }, this.#options.intervalMs)
    this.#timer.unref()
  }

  /** Reads the metrics and writes the node's row; never throws. */
  async report (): Promise<void> {
    this.#reporting = this.#report().finally(() => { this.#reporting = undefined })
    await this.#reporting
  }

  async stop (): Promise<void> {
    clearInterval(this.#timer)
    await this.#reporting
    await this.#options.registry.markStopped(this.identity.id, new Date(this.#now())).catch(() => {
      // a node that cannot say it stopped shows as down once its report is overdue
    })
  }

  async #report (): Promise<void> {
    const { metrics, snapshot, registry, log } = this.#options
    try {
      const now = this.#now()
      this.#tracker.observe(now, await readTotals(metrics))
      const webSockets: Record<string, number> = {}
      for (const { labels, value } of (await metrics.webSocketConnections.get()).values) if (value > 0) webSockets[String(labels.api)] = value
      const targets = (await metrics.upstreamTargetHealthy.get()).values.map(({ labels, value }) => ({ upstream: String(labels.upstream), target: String(labels.target), healthy: value === 1 }))
      const current = snapshot()
      await registry.write({
        ...this.identity,
        reportedAt: new Date(now),
        configVersion: current.version,
        snapshotAgeSeconds: Math.max(0, (now - current.loadedAt) / 1000),
        stats: {
          intervalMs: this.#options.intervalMs,
          window: this.#tracker.window(),
          minutes: this.#tracker.minutes(),
          webSockets,
          targets,
          databaseUp: this.#options.databaseUp(),
          redisUp: this.#options.redisUp?.() ?? null
        }
      })
      if (now - this.#forgottenAt > FORGET_EVERY_MS) {
        await registry.forgetSilent(new Date(now))
        this.#forgottenAt = now
      }
      if (this.#failing) log.info('node report written again')
      this.#failing = false
    } catch (error) {
      if (!this.#failing) log.warn({ err: error }, 'could not write the node report; retrying at the next interval')
      this.#failing = true
    }
  }
}
