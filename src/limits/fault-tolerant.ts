// The fault switch of the counter backends (one place, rule 4 of STYLE.md): while
// RedisAvailability says Redis is down, limits follow the configured policy instead of
// waiting for it —
//   local  (default) each node enforces its 1/N share of every plan in memory, nonces and
//          connection slots are kept in memory; when Redis is back the calls counted
//          meanwhile are added to its quota counters, the nonces and connections written back;
//   open   requests pass unlimited (connections too), nonces are still checked locally;
//   closed requests are refused with 503 DEPENDENCY_UNAVAILABLE, at once.
// A call whose Redis decision failed before Redis counts as down (one missed deadline) follows
// the policy too; under `local` it is added to Redis within a retry interval, not at the next
// outage (which may never come).
// Failed authentications per client are counted on each node while Redis is down, whatever
// the policy: they protect the gateway rather than meter a partner, so they never switch off
// (open) and never refuse requests for want of Redis (closed).
import { randomUUID } from 'node:crypto'
import { DependencyUnavailableError } from '../domain/errors.js'
import { RedisUnavailableError, type RedisAvailability } from '../store/redis-availability.js'
import { MemoryConnectionCounter, type ConnectionCounter, type RedisConnectionCounter } from './connection-counter.js'
import { MemoryFailureCounter, type FailureCount, type FailureCounter, type RedisFailureCounter } from './failure-counter.js'
import type { LeasedRequestLimiter } from './leased-request-limiter.js'
import { dayWindow, localShareOfPlan, type LimitPlan } from './limit-math.js'
import { MemoryRequestLimiter } from './memory-request-limiter.js'
import { MemoryNonceStore, type NonceStore, type RedisNonceStore } from './nonce-store.js'
import type { RedisRequestLimiter } from './redis-request-limiter.js'
import type { LimitDecision, RequestLimiter } from './request-limiter.js'

export type RedisFaultPolicy = 'local' | 'open' | 'closed'

export interface FaultSwitch {
  availability: RedisAvailability
  policy: RedisFaultPolicy
  /** gateway nodes sharing the limits, as last seen */
  nodes: () => number
}

function refuse (): never {
  throw new DependencyUnavailableError('The rate limit store is unavailable')
}

interface LocalSubject { plan: LimitPlan, nodes: number, share: LimitPlan, dayUsed: number, monthUsed: number }
interface LocalCalls { subject: string, atMs: number, calls: number }
/** local calls on their way to Redis: a retry carries the same id, so that they are added once */
interface LocalCallsToAdd extends LocalCalls { addId: string }

/** How often calls counted locally while Redis is up (one missed deadline), or adds that got no answer, are sent again. */
const ADD_RETRY_MS = 250

export class FaultTolerantRequestLimiter implements RequestLimiter {
  readonly #redis: RedisRequestLimiter
  readonly #leased: LeasedRequestLimiter
  readonly #switch: FaultSwitch
  #local = new MemoryRequestLimiter()
  /** the last decision Redis gave for subjects with quotas: where the local share starts from */
  readonly #lastQuota = new Map<string, LimitDecision['quota']>()
  readonly #localSubjects = new Map<string, LocalSubject>()
  /** calls allowed locally, per subject × day, not added to Redis yet */
  readonly #localCalls = new Map<string, LocalCalls>()
  /** adds that failed, to send again under their id */
  #unconfirmedAdds: LocalCallsToAdd[] = []
  readonly #addRetry: NodeJS.Timeout

  constructor (redis: RedisRequestLimiter, leased: LeasedRequestLimiter, faultSwitch: FaultSwitch) {
    this.#redis = redis
    this.#leased = leased
    this.#switch = faultSwitch
    faultSwitch.availability.on('up', () => { void this.reconcile() })
    redis.onReseed(subject => this.#countedByReseed(subject))
    this.#addRetry = setInterval(() => {
      if (faultSwitch.availability.isUp && (this.#localCalls.size > 0 || this.#unconfirmedAdds.length > 0)) void this.#addLocalCalls()
    }, ADD_RETRY_MS)
    this.#addRetry.unref()
  }

  consume (subject: string, plan: LimitPlan, nowMs?: number): LimitDecision | Promise<LimitDecision> {
    const now = nowMs ?? Date.now()
    // what this node holds is spent first, also while Redis is away
    return this.#leased.spendHeld(subject, plan, now) ?? this.#consumeUnheld(subject, plan, now)
  }

  async #consumeUnheld (subject: string, plan: LimitPlan, now: number): Promise<LimitDecision> {
    const availability = this.#switch.availability
    if (availability.isUp) {
      try {
        const decision = await availability.run(async () => await this.#leased.reserve(subject, plan, now))
        if (decision.quota !== undefined) this.#lastQuota.set(subject, decision.quota)
        return decision
      } catch (error) {
        if (!(error instanceof RedisUnavailableError)) throw error
      }
    }
    if (this.#switch.policy === 'closed') refuse()
    if (this.#switch.policy === 'open') return { allowed: true }
    return await this.#consumeLocally(subject, plan, now)
  }

  async #consumeLocally (subject: string, plan: LimitPlan, nowMs: number): Promise<LimitDecision> {
    const nodes = this.#switch.nodes()
    let local = this.#localSubjects.get(subject)
    if (local === undefined || local.plan !== plan || local.nodes !== nodes) {
      const known = this.#lastQuota.get(subject)
      const dayUsed = local?.dayUsed ?? known?.day?.used ?? 0
      const monthUsed = local?.monthUsed ?? known?.month?.used ?? 0
      local = { plan, nodes, share: localShareOfPlan(plan, nodes, dayUsed, monthUsed), dayUsed, monthUsed }
      this.#localSubjects.set(subject, local)
      await this.#local.seedQuota(subject, dayUsed, monthUsed, nowMs)
    }
    const decision = await this.#local.consume(subject, local.share, nowMs)
    if (decision.allowed && (plan.quotaPerDay !== null || plan.quotaPerMonth !== null)) {
      const key = `${subject}|${dayWindow(nowMs).id}`
      const counted = this.#localCalls.get(key)
      if (counted === undefined) this.#localCalls.set(key, { subject, atMs: nowMs, calls: 1 })
      else counted.calls++
    }
    return decision
  }

  /** Adds the calls counted locally to Redis's counters and goes back to sharing them. */
  async reconcile (): Promise<void> {
    const added = this.#addLocalCalls()
    this.#localSubjects.clear()
    this.#lastQuota.clear()
    const local = this.#local
    this.#local = new MemoryRequestLimiter()
    await local.close()
    await added
  }

  /**
   * Sends every add at once, before this node's next call can find a lost counter and re-seed
   * it (the re-seed counts these calls: an add after it would count them twice). A subject
   * being re-seeded right now waits for the next round: what the re-seed counted is taken off.
   */
  async #addLocalCalls (): Promise<void> {
    const toAdd: LocalCallsToAdd[] = []
    const waiting: LocalCallsToAdd[] = []
    for (const add of this.#unconfirmedAdds) (this.#redis.isSeeding(add.subject) ? waiting : toAdd).push(add)
    this.#unconfirmedAdds = waiting
    for (const [key, counted] of this.#localCalls) {
      if (this.#redis.isSeeding(counted.subject)) continue
      this.#localCalls.delete(key)
      toAdd.push({ ...counted, addId: randomUUID() })
    }
    await Promise.all(toAdd.map(async counted => {
      try {
        await this.#switch.availability.run(async () => await this.#redis.addQuota(counted.subject, counted.calls, counted.calls, counted.atMs, counted.addId))
      } catch {
        // down again, or no answer: sent again at the next reconciliation, under the same id
        this.#unconfirmedAdds.push(counted)
      }
    }))
  }

  /** A re-seed of the subject starts reading: the calls counted here until now are in what it reads. */
  #countedByReseed (subject: string): () => void {
    const counted = new Map<LocalCalls, number>()
    for (const entry of this.#localCalls.values()) if (entry.subject === subject) counted.set(entry, entry.calls)
    const unconfirmed = new Set(this.#unconfirmedAdds.filter(add => add.subject === subject))
    // once the counters hold them, adding them would count them twice
    return () => {
      for (const [key, entry] of this.#localCalls) {
        entry.calls -= counted.get(entry) ?? 0
        if (entry.calls <= 0) this.#localCalls.delete(key)
      }
      this.#unconfirmedAdds = this.#unconfirmedAdds.filter(add => !unconfirmed.has(add))
    }
  }

  async seedQuota (subject: string, dayUsed: number, monthUsed: number, nowMs?: number): Promise<void> {
    await this.#switch.availability.run(async () => { await this.#redis.seedQuota(subject, dayUsed, monthUsed, nowMs) })
  }

  async close (): Promise<void> {
    clearInterval(this.#addRetry)
    if (this.#switch.availability.isUp) {
      await this.#addLocalCalls()
      await this.#leased.release()
    }
    await this.#local.close()
    await this.#leased.close()
  }
}

interface AcceptedNonce { key: string, nonce: string, expiresAtMs: number }

/** nonces written back to Redis at a time when it returns: an outage's worth at once would be millions of calls in flight */
const WRITE_BACK_BATCH = 500
/** the list of nonces to write back is cleared of expired ones when it doubles, and never below this */
const MIN_PRUNE_LENGTH = 1_024

export class FaultTolerantNonceStore implements NonceStore {
  readonly #redis: RedisNonceStore
  readonly #availability: RedisAvailability
  readonly #local = new MemoryNonceStore()
  /** nonces accepted while Redis was away, written back when it returns */
  #accepted: AcceptedNonce[] = []
  #pruneAtLength = MIN_PRUNE_LENGTH

  constructor (redis: RedisNonceStore, availability: RedisAvailability) {
    this.#redis = redis
    this.#availability = availability
    availability.on('up', () => { void this.reconcile() })
  }

  async remember (key: string, nonce: string, ttlMs: number): Promise<boolean> {
    if (this.#availability.isUp) {
      try {
        return await this.#availability.run(async () => await this.#redis.remember(key, nonce, ttlMs))
      } catch (error) {
        if (!(error instanceof RedisUnavailableError)) throw error
      }
    }
    const fresh = await this.#local.remember(key, nonce, ttlMs)
    if (fresh) this.#keepForWriteBack({ key, nonce, expiresAtMs: Date.now() + ttlMs })
    return fresh
  }

  /** Nonces accepted while Redis was away and not yet written back (expired ones may linger until the next pruning). */
  get awaitingWriteBack (): number {
    return this.#accepted.length
  }

  /** Writes back, batch by batch, the nonces accepted while Redis was away that are still live; what a new outage interrupts waits for the next return. */
  async reconcile (): Promise<void> {
    const now = Date.now()
    const live = this.#accepted.filter(entry => entry.expiresAtMs > now)
    this.#accepted = []
    for (let start = 0; start < live.length; start += WRITE_BACK_BATCH) {
      const batch = live.slice(start, start + WRITE_BACK_BATCH)
      const written = await Promise.all(batch.map(async entry => {
        const ttlMs = entry.expiresAtMs - Date.now()
        if (ttlMs <= 0) return true
        return await this.#availability.run(async () => await this.#redis.remember(entry.key, entry.nonce, ttlMs)).then(() => true, () => false)
      }))
      if (written.includes(false)) {
        for (const entry of live.slice(start)) this.#keepForWriteBack(entry)
        return
      }
    }
  }

  async close (): Promise<void> {
    await this.#local.close()
    await this.#redis.close()
  }

  #keepForWriteBack (entry: AcceptedNonce): void {
    this.#accepted.push(entry)
    if (this.#accepted.length < this.#pruneAtLength) return
    // a long outage must not grow the list past the nonces still live (the local table's bound)
    const now = Date.now()
    this.#accepted = this.#accepted.filter(accepted => accepted.expiresAtMs > now)
    this.#pruneAtLength = Math.max(MIN_PRUNE_LENGTH, this.#accepted.length * 2)
  }
}

export class FaultTolerantConnectionCounter implements ConnectionCounter {
  readonly #redis: RedisConnectionCounter
  readonly #switch: FaultSwitch
  readonly #local = new MemoryConnectionCounter()
  /** connection id → subject, for slots taken locally while Redis was away */
  readonly #localIds = new Map<string, string>()

  constructor (redis: RedisConnectionCounter, faultSwitch: FaultSwitch) {
    this.#redis = redis
    this.#switch = faultSwitch
    faultSwitch.availability.on('up', () => { void this.reconcile() })
  }

  async acquire (subject: string, connectionId: string, limit: number): Promise<boolean> {
    const availability = this.#switch.availability
    if (availability.isUp) {
      try {
        return await availability.run(async () => await this.#redis.acquire(subject, connectionId, limit))
      } catch (error) {
        if (!(error instanceof RedisUnavailableError)) throw error
      }
    }
    if (this.#switch.policy === 'closed') refuse()
    if (this.#switch.policy === 'open') return true
    const acquired = await this.#local.acquire(subject, connectionId, Math.max(1, Math.floor(limit / this.#switch.nodes())))
    if (acquired) this.#localIds.set(connectionId, subject)
    return acquired
  }

  async release (subject: string, connectionId: string): Promise<void> {
    if (this.#localIds.delete(connectionId)) {
      await this.#local.release(subject, connectionId)
      return
    }
    // when Redis is away the entry expires by itself, as it stops being refreshed
    await this.#switch.availability.run(async () => { await this.#redis.release(subject, connectionId) }).catch(() => {})
  }

  async heartbeat (): Promise<void> {
    await this.#switch.availability.run(async () => { await this.#redis.heartbeat() }).catch(() => {})
  }

  async count (subject: string): Promise<number> {
    if (this.#switch.availability.isUp) {
      try {
        return await this.#switch.availability.run(async () => await this.#redis.count(subject))
      } catch {}
    }
    return await this.#local.count(subject)
  }

  /** Connections opened while Redis was away take their slots in Redis again. */
  async reconcile (): Promise<void> {
    for (const [connectionId, subject] of this.#localIds) {
      try {
        await this.#switch.availability.run(async () => { await this.#redis.adopt(subject, connectionId) })
      } catch {
        return
      }
      this.#localIds.delete(connectionId)
      await this.#local.release(subject, connectionId)
    }
  }

  async close (): Promise<void> {
    await this.#local.close()
    await this.#redis.close()
  }
}

export class FaultTolerantFailureCounter implements FailureCounter {
  readonly #redis: RedisFailureCounter
  readonly #availability: RedisAvailability
  readonly #local = new MemoryFailureCounter()

  constructor (redis: RedisFailureCounter, availability: RedisAvailability) {
    this.#redis = redis
    this.#availability = availability
  }

  /** Windows are short: counts kept locally meanwhile are not written back when Redis returns. */
  async increment (client: string, windowMs: number, nowMs?: number): Promise<FailureCount> {
    if (this.#availability.isUp) {
      try {
        return await this.#availability.run(async () => await this.#redis.increment(client, windowMs))
      } catch (error) {
        if (!(error instanceof RedisUnavailableError)) throw error
      }
    }
    return await this.#local.increment(client, windowMs, nowMs)
  }

  async close (): Promise<void> {
    await this.#local.close()
    await this.#redis.close()
  }
}
