// What a gateway node tells the node registry about its traffic, and how the control plane
// adds several nodes up. Pure: no clock, no I/O. Counts are per API and per rejection reason;
// latency is a histogram over LATENCY_BUCKETS (one count per bucket, the last one above the
// largest bound), so that nodes' histograms can be summed and a p99 read from the sum.
import { LATENCY_BUCKETS } from './gateway-metrics.js'

export interface ApiCounts {
  requests: number
  /** answers with a 5xx status */
  errors: number
  /** answers with a 4xx status: refused by a policy, unknown routes, bad requests */
  refused: number
  /** requests per latency bucket, LATENCY_BUCKETS.length + 1 entries */
  latency: number[]
}

export interface Counts {
  apis: Record<string, ApiCounts>
  rejections: Record<string, number>
}

export interface MinuteCounts { start: string, counts: Counts }

/** One node's report, stored as it is sent. */
export interface NodeStats {
  intervalMs: number
  /** the traffic of the last minute or so (`seconds` long) */
  window: { seconds: number, counts: Counts }
  /** one entry per wall-clock minute with traffic, oldest first; the last may be under way */
  minutes: MinuteCounts[]
  /** open WebSocket connections per API now */
  webSockets: Record<string, number>
  /** every upstream target and whether this node sends it traffic */
  targets: Array<{ upstream: string, target: string, healthy: boolean }>
  databaseUp: boolean
  redisUp: boolean | null
}

export const MINUTE_MS = 60_000

export function emptyCounts (): Counts {
  return { apis: {}, rejections: {} }
}

function emptyApi (): ApiCounts {
  return { requests: 0, errors: 0, refused: 0, latency: new Array<number>(LATENCY_BUCKETS.length + 1).fill(0) }
}

function combine (left: Counts, right: Counts, sign: 1 | -1): Counts {
  const result: Counts = { apis: {}, rejections: { ...left.rejections } }
  for (const [api, counts] of Object.entries(left.apis)) result.apis[api] = { ...counts, latency: [...counts.latency] }
  for (const [api, counts] of Object.entries(right.apis)) {
    const target = result.apis[api] ??= emptyApi()
    target.requests += sign * counts.requests
    target.errors += sign * counts.errors
    target.refused += sign * counts.refused
    counts.latency.forEach((count, index) => { target.latency[index] = (target.latency[index] ?? 0) + sign * count })
  }
  for (const [reason, count] of Object.entries(right.rejections)) result.rejections[reason] = (result.rejections[reason] ?? 0) + sign * count
  // APIs and reasons without traffic are left out: reports stay small
  for (const [api, counts] of Object.entries(result.apis)) if (counts.requests === 0) delete result.apis[api]
  for (const [reason, count] of Object.entries(result.rejections)) if (count === 0) delete result.rejections[reason]
  return result
}

/** Every API's counts in one. */
export function totalOfApis (counts: Counts): ApiCounts {
  const total = emptyApi()
  for (const each of Object.values(counts.apis)) {
    total.requests += each.requests
    total.errors += each.errors
    total.refused += each.refused
    each.latency.forEach((count, index) => { total.latency[index] += count })
  }
  return total
}

export function addCounts (left: Counts, right: Counts): Counts {
  return combine(left, right, 1)
}

/** `later − earlier` of two readings of the same ever-growing counters. */
export function subtractCounts (later: Counts, earlier: Counts): Counts {
  return combine(later, earlier, -1)
}

/**
 * The `quantile` (0..1) of a latency histogram in milliseconds, interpolated linearly within
 * its bucket as Prometheus' histogram_quantile does; null without requests. A quantile in the
 * last, open bucket is reported as the largest bound.
 */
export function latencyQuantileMs (latency: number[], quantile: number): number | null {
  const total = latency.reduce((sum, count) => sum + count, 0)
  if (total === 0) return null
  const rank = quantile * total
  let seen = 0
  for (let index = 0; index < latency.length; index++) {
    if (seen + latency[index] >= rank && latency[index] > 0) {
      if (index >= LATENCY_BUCKETS.length) return LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1] * 1000
      const lower = index === 0 ? 0 : LATENCY_BUCKETS[index - 1]
      const upper = LATENCY_BUCKETS[index]
      return (lower + (upper - lower) * ((rank - seen) / latency[index])) * 1000
    }
    seen += latency[index]
  }
  return LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1] * 1000
}

/**
 * Turns a node's ever-growing totals, read every few seconds, into the traffic of the last
 * `windowMs` and per wall-clock minute (minutes align across nodes, so they can be summed).
 */
export class NodeStatsTracker {
  readonly #windowMs: number
  readonly #keepMinutes: number
  #readings: Array<{ at: number, totals: Counts }> = []
  readonly #minutes = new Map<number, Counts>()

  constructor (options: { windowMs?: number, keepMinutes?: number } = {}) {
    this.#windowMs = options.windowMs ?? MINUTE_MS
    this.#keepMinutes = options.keepMinutes ?? 30
  }

  /** Records the totals read at `now`; the first reading is the baseline. */
  observe (now: number, totals: Counts): void {
    const previous = this.#readings[this.#readings.length - 1]
    if (previous !== undefined) {
      const minute = Math.floor(now / MINUTE_MS) * MINUTE_MS
      this.#minutes.set(minute, addCounts(this.#minutes.get(minute) ?? emptyCounts(), subtractCounts(totals, previous.totals)))
      for (const start of this.#minutes.keys()) if (start <= minute - this.#keepMinutes * MINUTE_MS) this.#minutes.delete(start)
    }
    this.#readings.push({ at: now, totals })
    // keep the newest reading at least windowMs old: it is the base of the window
    while (this.#readings.length > 2 && this.#readings[1].at <= now - this.#windowMs) this.#readings.shift()
  }

  window (): { seconds: number, counts: Counts } {
    const first = this.#readings[0]
    const last = this.#readings[this.#readings.length - 1]
    if (first === undefined || first === last) return { seconds: 0, counts: emptyCounts() }
    return { seconds: (last.at - first.at) / 1000, counts: subtractCounts(last.totals, first.totals) }
  }

  minutes (): MinuteCounts[] {
    return [...this.#minutes.entries()].sort(([left], [right]) => left - right).map(([start, counts]) => ({ start: new Date(start).toISOString(), counts }))
  }
}
