// Cluster-wide limits without a Redis round trip per request for busy apps: the node reserves
// a batch of requests in one script call (lease-math.ts sizes it from the app's recent traffic
// on this node) and spends it from memory; unspent requests are given back when the lease
// expires, in the next reservation or by the sweeper. Requests that find the lease empty wait
// for one shared reservation. Plans too small for a useful batch keep one exact call per request.
//
// Giving back runs at most once, and only to the counters the requests were reserved in. A
// give-back sent without an answer (the connection went silent or closed) may have run, so it
// is not sent again: at worst those requests stay counted, on the side of the plan. Only one
// that was never sent (Redis away) is kept for later. Counters Redis lost are re-seeded from
// the calls served, which never held the requests reserved before: the script ignores those
// (the generation check in redis-request-limiter.ts).
import { mayHaveRun } from '../store/redis-availability.js'
import { dayWindow } from './limit-math.js'
import { DEFAULT_LEASE_SETTINGS, maxBatch, nextBatchSize, type LeaseSettings } from './lease-math.js'
import type { RedisRequestLimiter } from './redis-request-limiter.js'
import type { LimitDecision, LimitPlan, RequestLimiter } from './request-limiter.js'

/** Runs the calls the limiter makes on its own (the sweeper): the fault switch's availability, so nothing is sent while Redis counts as down. */
export interface RedisCallGuard { run: <T>(call: () => Promise<T>) => Promise<T> }

const UNGUARDED: RedisCallGuard = { run: async call => await call() }

interface Lease {
  plan: LimitPlan
  /** requests reserved and not spent yet */
  held: number
  granted: number
  reservedAtMs: number
  expiresAtMs: number
  day: string
  /** the generation of the quota counters the requests were reserved in */
  generation: string
  /** the reservation's decision: the headers of local spends are derived from it */
  decision: LimitDecision
}

interface Refusal { plan: LimitPlan, untilMs: number, decision: LimitDecision }

/** A refusal of a busy app is repeated from memory this long before Redis is asked again. */
const REFUSAL_MEMORY_MS = 50

export class LeasedRequestLimiter implements RequestLimiter {
  readonly #redis: RedisRequestLimiter
  readonly #guard: RedisCallGuard
  readonly #settings: LeaseSettings
  readonly #leases = new Map<string, Lease>()
  readonly #refusals = new Map<string, Refusal>()
  readonly #reserving = new Map<string, Promise<void>>()
  readonly #sweeper: NodeJS.Timeout | undefined

  constructor (redis: RedisRequestLimiter, settings: LeaseSettings = DEFAULT_LEASE_SETTINGS, guard: RedisCallGuard = UNGUARDED) {
    this.#redis = redis
    this.#guard = guard
    this.#settings = settings
    if (settings.leaseMs > 0) {
      this.#sweeper = setInterval(() => { void this.#giveBackExpired(Date.now()) }, settings.leaseMs)
      this.#sweeper.unref()
    }
  }

  /** Decides from what this node holds, without Redis; undefined when it holds nothing for the subject. */
  spendHeld (subject: string, plan: LimitPlan, nowMs: number): LimitDecision | undefined {
    const lease = this.#leases.get(subject)
    if (lease !== undefined && lease.plan === plan && lease.held > 0 && nowMs < lease.expiresAtMs) {
      lease.held--
      return localDecision(lease)
    }
    const refusal = this.#refusals.get(subject)
    if (refusal !== undefined && refusal.plan === plan && nowMs < refusal.untilMs) return refusal.decision
    return undefined
  }

  consume (subject: string, plan: LimitPlan, nowMs?: number): LimitDecision | Promise<LimitDecision> {
    const now = nowMs ?? Date.now()
    return this.spendHeld(subject, plan, now) ?? this.reserve(subject, plan, now)
  }

  /** Asks Redis: for a batch when the plan allows one, else for this request alone. */
  async reserve (subject: string, plan: LimitPlan, nowMs: number): Promise<LimitDecision> {
    const cap = maxBatch(plan, this.#settings)
    if (cap === 0) return await this.#redis.consume(subject, plan)
    for (let attempt = 0; attempt < 3; attempt++) {
      const pending = this.#reserving.get(subject)
      if (pending === undefined) return await this.#reserveBatch(subject, plan, cap, nowMs)
      await pending
      const spent = this.spendHeld(subject, plan, Date.now())
      if (spent !== undefined) return spent
    }
    // a crowd larger than the batches: stop queueing behind them
    return await this.#redis.consume(subject, plan)
  }

  async #reserveBatch (subject: string, plan: LimitPlan, cap: number, nowMs: number): Promise<LimitDecision> {
    const previous = this.#leases.get(subject)
    const day = dayWindow(nowMs).id
    // unspent requests of the previous lease go back in the same call, unless its window has passed
    const giveBack = previous !== undefined && previous.day === day ? previous.held : 0
    const want = previous === undefined ? 1 : nextBatchSize(cap, previous.granted - previous.held, Math.min(nowMs, previous.expiresAtMs) - previous.reservedAtMs, this.#settings)
    if (previous !== undefined) previous.held = 0
    let settle: () => void = () => {}
    this.#reserving.set(subject, new Promise<void>(resolve => { settle = resolve }))
    try {
      const { decision, granted, generation } = await this.#redis.reserve(subject, plan, want, previous === undefined ? undefined : { requests: giveBack, generation: previous.generation })
      const reservedAtMs = Date.now()
      if (granted === 0) {
        this.#leases.delete(subject)
        this.#refusals.set(subject, { plan, untilMs: reservedAtMs + REFUSAL_MEMORY_MS, decision })
        return decision
      }
      this.#refusals.delete(subject)
      const lease = { plan, held: granted - 1, granted, reservedAtMs, expiresAtMs: reservedAtMs + this.#settings.leaseMs, day, generation, decision }
      this.#leases.set(subject, lease)
      return localDecision(lease)
    } catch (error) {
      if (!mayHaveRun(error)) {
        if (giveBack > 0 && previous !== undefined) previous.held = giveBack
      } else if (previous !== undefined && this.#leases.get(subject) === previous) {
        // it may have reserved a batch this node will never spend: the next reservation starts small again
        this.#leases.delete(subject)
      }
      throw error
    } finally {
      this.#reserving.delete(subject)
      settle()
    }
  }

  /** Unspent requests of expired leases (or of all, at shutdown) go back to the cluster, one call per lease. */
  async #giveBackExpired (nowMs: number, all = false): Promise<void> {
    const day = dayWindow(nowMs).id
    for (const [subject, lease] of this.#leases) {
      if ((!all && nowMs < lease.expiresAtMs) || this.#reserving.has(subject)) continue
      if (lease.held > 0 && lease.day === day) {
        // taken off the lease first: a reservation starting meanwhile must not give the same requests back again
        const held = lease.held
        lease.held = 0
        try {
          await this.#guard.run(async () => await this.#redis.reserve(subject, lease.plan, 0, { requests: held, generation: lease.generation }))
        } catch (error) {
          if (!mayHaveRun(error)) {
            // Redis away: the expired lease stays, unspendable, to be given back by a later sweep or reservation
            lease.held += held
            continue
          }
        }
      }
      if (this.#leases.get(subject) === lease) this.#leases.delete(subject)
    }
    for (const [subject, refusal] of this.#refusals) if (nowMs >= refusal.untilMs) this.#refusals.delete(subject)
  }

  /** Gives back everything held (shutdown), so other nodes can spend it. */
  async release (): Promise<void> {
    await this.#giveBackExpired(Date.now(), true)
  }

  async seedQuota (subject: string, dayUsed: number, monthUsed: number, nowMs?: number): Promise<void> {
    await this.#redis.seedQuota(subject, dayUsed, monthUsed, nowMs)
  }

  async close (): Promise<void> {
    clearInterval(this.#sweeper)
    await this.#redis.close()
  }
}

/** The decision of a request spent from a lease: the reservation's, with what is left now. */
function localDecision (lease: Lease): LimitDecision {
  const reserved = lease.decision
  const decision: LimitDecision = { allowed: true }
  if (reserved.rate !== undefined) decision.rate = { ...reserved.rate, remaining: reserved.rate.remaining + lease.held }
  if (reserved.quota !== undefined) {
    const unspent = lease.held
    decision.quota = {}
    if (reserved.quota.day !== undefined) decision.quota.day = { ...reserved.quota.day, used: reserved.quota.day.used - unspent }
    if (reserved.quota.month !== undefined) decision.quota.month = { ...reserved.quota.month, used: reserved.quota.month.used - unspent }
  }
  return decision
}
