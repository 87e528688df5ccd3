// One upstream's targets: a keep-alive undici Pool per target, the balancer and each
// target's health. Rebuilt in place when the configuration changes, keeping the pools
// (and their warm connections) of targets that did not change.
import { Pool, request as undiciRequest } from 'undici'
import type { SnapshotUpstream } from '../../store/config-snapshot.js'
import { Balancer } from './balancer.js'
import { TargetHealth, type ActiveHealthCheck } from './health.js'

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

function createPool (origin: string, definition: SnapshotUpstream): Pool {
  return new Pool(origin, {
    connections: 256,
    pipelining: 1,
    connect: { timeout: definition.connectTimeoutMs },
    headersTimeout: definition.responseTimeoutMs,
    bodyTimeout: definition.responseTimeoutMs,
    keepAliveTimeout: 4_000
  })
}

function targetKey (url: string, definition: SnapshotUpstream): string {
  return `${url}|${definition.connectTimeoutMs}|${definition.responseTimeoutMs}`
}

export class UpstreamPool {
  #definition: SnapshotUpstream
  #targets: UpstreamTarget[] = []
  #balancer: Balancer
  #probeTimer: NodeJS.Timeout | undefined

  constructor (definition: SnapshotUpstream) {
    this.#definition = definition
    this.#balancer = new Balancer(definition.loadBalancing)
    this.update(definition)
  }

  get definition (): SnapshotUpstream {
    return this.#definition
  }

  get targets (): readonly UpstreamTarget[] {
    return this.#targets
  }

  /** A healthy target, skipping `exclude`; undefined when none is available. */
  pick (exclude?: UpstreamTarget): UpstreamTarget | undefined {
    const now = Date.now()
    const targets = this.#targets
    let index = this.#balancer.pick(targets, candidate => targets[candidate] !== exclude && targets[candidate].health.isAvailable(now))
    // with every other target out, retrying on the same one beats failing
    if (index === -1 && exclude !== undefined && exclude.health.isAvailable(now)) index = targets.indexOf(exclude)
    return index === -1 ? undefined : targets[index]
  }

  update (definition: SnapshotUpstream): void {
    const previous = new Map(this.#targets.map(target => [targetKey(target.url, this.#definition), target]))
    if (definition.loadBalancing !== this.#definition.loadBalancing) this.#balancer = new Balancer(definition.loadBalancing)
    this.#definition = definition
    this.#targets = definition.targets.map(({ url, weight }) => {
      const kept = previous.get(targetKey(url, definition))
      if (kept !== undefined) {
        previous.delete(targetKey(url, definition))
        kept.weight = weight
        return kept
      }
      const parsed = new URL(url)
      return { url, origin: parsed.origin, basePath: parsed.pathname.replace(/\/+$/, ''), host: parsed.host, weight, activeRequests: 0, pool: createPool(parsed.origin, definition), health: new TargetHealth() }
    })
    // in-flight requests on removed targets finish; the pools close afterwards
    for (const removed of previous.values()) void removed.pool.close().catch(() => {})
    this.#scheduleProbes(definition.healthCheck)
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
      target.health.recordProbe(healthy, check)
    }))
  }
}

/** Every upstream's pool, kept in step with the snapshot. */
export class UpstreamPools {
  readonly #pools = new Map<string, UpstreamPool>()

  get (upstreamId: string): UpstreamPool | undefined {
    return this.#pools.get(upstreamId)
  }

  sync (upstreams: ReadonlyMap<string, SnapshotUpstream>): void {
    for (const [id, definition] of upstreams) {
      const existing = this.#pools.get(id)
      if (existing === undefined) this.#pools.set(id, new UpstreamPool(definition))
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
