// One upstream's targets: a keep-alive undici Pool per target, the balancer, each
// target's health and the upstream's limit on requests in flight. Rebuilt in place when the
// configuration changes, keeping the pools (and their warm connections) and health of
// targets that did not change: a changed timeout or TLS setting is a new pool.
import type { ConnectionOptions } from 'node:tls'
import type { FastifyBaseLogger } from 'fastify'
import { Pool, request as undiciRequest } from 'undici'
import type { CompiledUpstream } from '../snapshot/compile.js'
import { Balancer } from './balancer.js'
import { ConcurrencyLimit, type ConcurrencyLimits } from './concurrency-limit.js'
import { TargetHealth, type ActiveHealthCheck, type HealthChange, type PassiveHealthOptions } from './health.js'
import { selectTargets } from './target-selection.js'
import { httpsConnector, tlsConnectionOptions } from './upstream-tls.js'

export interface UpstreamTarget {
  url: string
  origin: string
  /** path prefix of the target URL, '' for none; prepended to every forwarded path */
  basePath: string
  host: string
  weight: number
  activeRequests: number
  pool: Pool
  health: TargetHealth
}

export interface UpstreamPoolOptions {
  concurrency: ConcurrencyLimits
  passiveHealth: PassiveHealthOptions
  log: FastifyBaseLogger
  /** called once per ejection, for the metrics */
  onEjection?: (upstream: string, cause: 'failures' | 'health-check') => void
}

function createPool (url: URL, definition: CompiledUpstream, tls: ConnectionOptions | undefined, options: UpstreamPoolOptions): Pool {
  return new Pool(url.origin, {
    // as many connections as the upstream admits requests: an admitted request never queues in undici
    connections: options.concurrency.maxInFlight,
    pipelining: 1,
    connect: url.protocol === 'https:' ? httpsConnector(definition.connectTimeoutMs, tls) : { timeout: definition.connectTimeoutMs },
    headersTimeout: definition.responseTimeoutMs,
    bodyTimeout: definition.responseTimeoutMs,
    keepAliveTimeout: 4_000
  })
}

/** What a target's pool is built from: a change makes a new pool (TLS settings only matter to https targets). */
function targetKey (url: string, definition: CompiledUpstream): string {
  const tls = /^https:/i.test(url) ? definition.tlsOptions?.fingerprint ?? '' : ''
  return `${url}|${definition.connectTimeoutMs}|${definition.responseTimeoutMs}|${tls}`
}

const NO_TLS_OPTIONS: ConnectionOptions = {}

export class UpstreamPool {
  readonly concurrency: ConcurrencyLimit
  readonly #options: UpstreamPoolOptions
  #definition: CompiledUpstream
  /** built once per TLS setting (the fingerprint) and shared by every connection */
  #tlsConnection: ConnectionOptions | undefined
  #tlsFingerprint: string | undefined
  #targets: UpstreamTarget[] = []
  /** scratch space for pick(): which targets the balancer may choose, reused to allocate nothing per request */
  #selectable: boolean[] = []
  readonly #isSelectable = (index: number): boolean => this.#selectable[index]
  #panic = false
  #balancer: Balancer
  #probeTimer: NodeJS.Timeout | undefined

  constructor (definition: CompiledUpstream, options: UpstreamPoolOptions) {
    this.#options = options
    this.concurrency = new ConcurrencyLimit(options.concurrency)
    this.#definition = definition
    this.#balancer = new Balancer(definition.loadBalancing)
    this.update(definition)
  }

  get definition (): CompiledUpstream {
    return this.#definition
  }

  /** TLS options of a WebSocket connection to a wss:// target, the pools' settings */
  get webSocketTls (): ConnectionOptions {
    return this.#tlsConnection ?? NO_TLS_OPTIONS
  }

  get targets (): readonly UpstreamTarget[] {
    return this.#targets
  }

  /**
   * A healthy target, skipping `exclude` (a retry) unless it is the only choice; in panic
   * (too few healthy targets) any target. Undefined only for an upstream without targets.
   */
  pick (exclude?: UpstreamTarget): UpstreamTarget | undefined {
    const now = Date.now()
    const targets = this.#targets
    const selectable = this.#selectable
    for (let index = 0; index < targets.length; index++) selectable[index] = targets[index].health.isAvailable(now)
    const panic = selectTargets(selectable, exclude === undefined ? -1 : targets.indexOf(exclude))
    if (panic !== this.#panic) this.#panicChanged(panic)
    const index = this.#balancer.pick(targets, this.#isSelectable)
    return index === -1 ? undefined : targets[index]
  }

  /** Whether each target is in service now and its open connections, for the metrics. */
  targetHealth (): Array<{ target: string, healthy: boolean, connections: number }> {
    const now = Date.now()
    return this.#targets.map(target => ({ target: target.url, healthy: target.health.isAvailable(now), connections: target.pool.stats.connected }))
  }

  update (definition: CompiledUpstream): void {
    const previous = new Map(this.#targets.map(target => [targetKey(target.url, this.#definition), target]))
    if (definition.loadBalancing !== this.#definition.loadBalancing) this.#balancer = new Balancer(definition.loadBalancing)
    if (definition.tlsOptions?.fingerprint !== this.#tlsFingerprint) this.#applyTls(definition)
    this.#definition = definition
    this.#targets = definition.targets.map(({ url, weight }) => {
      const kept = previous.get(targetKey(url, definition))
      if (kept !== undefined) {
        previous.delete(targetKey(url, definition))
        kept.weight = weight
        return kept
      }
      const parsed = new URL(url)
      const health = new TargetHealth(this.#options.passiveHealth, change => { this.#healthChanged(url, change) })
      return { url, origin: parsed.origin, basePath: parsed.pathname.replace(/\/+$/, ''), host: parsed.host, weight, activeRequests: 0, pool: createPool(parsed, definition, this.#tlsConnection, this.#options), health }
    })
    this.#selectable = this.#targets.map(() => true)
    // in-flight requests on removed targets finish; the pools close afterwards
    for (const removed of previous.values()) void removed.pool.close().catch(() => {})
    this.#scheduleProbes(definition.healthCheck)
  }

  /** Problems are logged here, once per setting, not at every configuration change. */
  #applyTls (definition: CompiledUpstream): void {
    const tls = definition.tlsOptions
    this.#tlsFingerprint = tls?.fingerprint
    this.#tlsConnection = undefined
    if (tls === undefined) return
    if (tls.clientKeyUnreadable) this.#options.log.error({ upstream: definition.name }, 'the upstream\'s TLS client key was sealed with another master key: connecting without the client certificate')
    try {
      this.#tlsConnection = tlsConnectionOptions(tls)
    } catch (error) {
      // the control API checks the PEM it stores; whatever slips through must not stop the snapshot update
      this.#options.log.error({ upstream: definition.name, err: error }, 'the upstream\'s TLS settings are not usable: connecting with Node\'s defaults')
    }
  }

  async close (): Promise<void> {
    clearInterval(this.#probeTimer)
    await Promise.all(this.#targets.map(async target => { await target.pool.close().catch(() => {}) }))
  }

  #scheduleProbes (check: ActiveHealthCheck | null): void {
    clearInterval(this.#probeTimer)
    this.#probeTimer = undefined
    if (check === null) return
    this.#probeTimer = setInterval(() => { void this.probe(check) }, check.intervalMs ?? 5_000)
    this.#probeTimer.unref()
  }

  /** Probes every target once (also run by tests). */
  async probe (check: ActiveHealthCheck): Promise<void> {
    await Promise.all(this.#targets.map(async target => {
      let healthy = false
      try {
        const response = await undiciRequest(`${target.origin}${target.basePath}${check.path}`, {
          dispatcher: target.pool,
          headersTimeout: check.timeoutMs ?? 2_000,
          bodyTimeout: check.timeoutMs ?? 2_000
        })
        await response.body.dump()
        healthy = response.statusCode >= 200 && response.statusCode < 400
      } catch {
        healthy = false
      }
      target.health.recordProbe(healthy, check, Date.now())
    }))
  }

  #healthChanged (target: string, change: HealthChange): void {
    const upstream = this.#definition.name
    if (change.kind === 'ejected') {
      this.#options.onEjection?.(upstream, change.cause)
      this.#options.log.warn({ upstream, target, cause: change.cause, ejectionMs: change.cause === 'failures' ? change.ejectionMs : undefined }, 'upstream target ejected')
    } else {
      this.#options.log.info({ upstream, target, cause: change.cause }, 'upstream target returned')
    }
  }

  #panicChanged (panic: boolean): void {
    this.#panic = panic
    const upstream = this.#definition.name
    if (panic) this.#options.log.warn({ upstream }, 'too few healthy upstream targets: balancing over all of them')
    else this.#options.log.info({ upstream }, 'enough healthy upstream targets again: balancing over the healthy ones')
  }
}

/** Every upstream's pool, kept in step with the snapshot. */
export class UpstreamPools {
  readonly #pools = new Map<string, UpstreamPool>()
  readonly #options: UpstreamPoolOptions

  constructor (options: UpstreamPoolOptions) {
    this.#options = options
  }

  get pools (): IterableIterator<UpstreamPool> {
    return this.#pools.values()
  }

  get (upstreamId: string): UpstreamPool | undefined {
    return this.#pools.get(upstreamId)
  }

  sync (upstreams: ReadonlyMap<string, CompiledUpstream>): void {
    for (const [id, definition] of upstreams) {
      const existing = this.#pools.get(id)
      if (existing === undefined) this.#pools.set(id, new UpstreamPool(definition, this.#options))
      else if (existing.definition !== definition) existing.update(definition)
    }
    for (const [id, pool] of this.#pools) {
      if (!upstreams.has(id)) {
        this.#pools.delete(id)
        void pool.close()
      }
    }
  }

  async close (): Promise<void> {
    await Promise.all([...this.#pools.values()].map(async pool => { await pool.close() }))
    this.#pools.clear()
  }
}
