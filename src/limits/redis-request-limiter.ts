// Cluster-wide rate limits and quotas: one Lua script, one round trip per request. The
// script takes the time from Redis itself so that gateway nodes with drifting clocks share
// one timeline, and all keys of a subject share a {hash tag} so Redis Cluster keeps them in
// one slot.
import { randomUUID } from 'node:crypto'
import type { RedisConnection } from '../store/redis.js'
import { dayWindow, gcraParameters, monthWindow, type GcraResult } from './limit-math.js'
import { buildDecision, type LimitDecision, type LimitPlan, type RequestLimiter } from './request-limiter.js'

// Quota counters that Redis lost (a restart without persistence, a flush, an eviction) must
// not start from zero: every subject has a "seeded" marker next to its counters, and while
// it is missing the script answers -1 instead of deciding, so the limiter first re-seeds
// the counters from the database's usage (the marker lives as long as a month's counter).
// The marker's value names that generation of the counters: requests reserved in an earlier
// one were lost with it (the re-seed counts only calls), so they are never given back to it.
//
// One script reserves `want` requests at once (a node's lease, see leased-request-limiter.ts;
// 1 for an exact decision per request): as many as both the GCRA bucket and the quotas have
// room for, up to `want`, after first giving back `give back` unspent requests of an earlier
// reservation (the arrival time moves back, never before now, and the quota counters down).
//
// KEYS: rate, day quota, month quota, seeded marker. ARGV: interval ms, tolerance ms, day limit,
// month limit, day key TTL ms, month key TTL ms, fixed now ms (0 = Redis time), want, give back,
// generation the given-back requests were reserved in. A limit of -1 means none. Returns: granted
// count (0 = rejected), reason (0 none, 1 rate, 2 day, 3 month), arrival basis, new arrival, now,
// day used, month used, generation (empty without quotas); or { -1 } when quota counters must be
// seeded first.
const CONSUME_SCRIPT = `
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local day_limit = tonumber(ARGV[3])
local month_limit = tonumber(ARGV[4])
local want = tonumber(ARGV[8])
local give_back = tonumber(ARGV[9])
local generation = ''
if day_limit >= 0 or month_limit >= 0 then
  generation = redis.call('GET', KEYS[4])
  if not generation then return { -1 } end
  if generation ~= ARGV[10] then give_back = 0 end
end
local now = tonumber(ARGV[7])
if now == 0 then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
local stored = nil
if interval > 0 then stored = tonumber(redis.call('GET', KEYS[1])) end
if give_back > 0 then
  if stored ~= nil and stored > now then
    stored = math.max(now, stored - give_back * interval)
    redis.call('SET', KEYS[1], tostring(stored), 'PX', math.max(1, math.ceil(stored - now)))
  end
  for index = 2, 3 do
    local used = tonumber(redis.call('GET', KEYS[index]) or '0')
    if used > 0 then redis.call('SET', KEYS[index], math.max(0, used - give_back), 'KEEPTTL') end
  end
end
local reason = 0
local arrival = now
local granted = want
if interval > 0 then
  if stored ~= nil and stored > now then arrival = stored end
  local room = math.floor((tolerance + 0.000001 - (arrival - now)) / interval)
  if room < granted then granted = room end
  if granted < 1 then reason = 1 end
end
local day_used = tonumber(redis.call('GET', KEYS[2]) or '0')
local month_used = tonumber(redis.call('GET', KEYS[3]) or '0')
if reason == 0 and day_limit >= 0 then
  granted = math.min(granted, day_limit - day_used)
  if granted < 1 then reason = 2 end
end
if reason == 0 and month_limit >= 0 then
  granted = math.min(granted, month_limit - month_used)
  if granted < 1 then reason = 3 end
end
local new_arrival = arrival + interval
if reason ~= 0 then
  granted = 0
else
  if interval > 0 then
    new_arrival = arrival + granted * interval
    redis.call('SET', KEYS[1], tostring(new_arrival), 'PX', math.max(1, math.ceil(new_arrival - now)))
  end
  if day_limit >= 0 then
    day_used = redis.call('INCRBY', KEYS[2], granted)
    redis.call('PEXPIRE', KEYS[2], ARGV[5])
  end
  if month_limit >= 0 then
    month_used = redis.call('INCRBY', KEYS[3], granted)
    redis.call('PEXPIRE', KEYS[3], ARGV[6])
  end
end
return { granted, reason, tostring(arrival), tostring(new_arrival), tostring(now), day_used, month_used, generation }
`

// KEYS: day, month, seeded marker. ARGV: day used, month used, day TTL ms, month TTL ms,
// marker TTL ms, generation. Never lowers a counter; a marker already there keeps its
// generation (another node seeded first) and at least its lifetime.
const SEED_SCRIPT = `
for index = 1, 2 do
  local current = tonumber(redis.call('GET', KEYS[index]) or '0')
  if current < tonumber(ARGV[index]) then
    redis.call('SET', KEYS[index], ARGV[index], 'PX', ARGV[index + 2])
  end
end
if not redis.call('SET', KEYS[3], ARGV[6], 'NX', 'PX', ARGV[5]) and redis.call('PTTL', KEYS[3]) < tonumber(ARGV[5]) then
  redis.call('PEXPIRE', KEYS[3], ARGV[5])
end
return 1
`

// Adds calls counted elsewhere (a node's local fallback while Redis was away), once: a retry
// of an add whose answer was lost carries the same id, remembered next to the counters. When
// the counters were lost meanwhile (no marker) nothing is added: the re-seed from the database
// includes those calls. KEYS: day, month, seeded marker, add id. ARGV: day calls, month calls,
// day TTL ms, month TTL ms. Returns 1 when added (now or before).
const ADD_SCRIPT = `
if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
if not redis.call('SET', KEYS[4], '1', 'NX', 'PX', ARGV[3]) then return 1 end
for index = 1, 2 do
  if tonumber(ARGV[index]) > 0 then
    redis.call('INCRBY', KEYS[index], ARGV[index])
    redis.call('PEXPIRE', KEYS[index], ARGV[index + 2])
  end
end
return 1
`

/** The marker outlives a month's counter, so a subject is seeded about once a month. */
const SEEDED_MARKER_TTL_MS = 40 * 86_400_000
/** When the database could not be read, seed from what is known and try again soon. */
const PROVISIONAL_MARKER_TTL_MS = 60_000

/** Usage already counted for a subject today and this month, from the database. */
export type QuotaSeedSource = (subject: string, nowMs: number) => Promise<{ dayUsed: number, monthUsed: number }>

/** Quota keys outlive their window by an hour, so nodes with slightly different clocks agree. */
function windowTtlMs (resetAtMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil(resetAtMs - nowMs)) + 3_600_000
}

const REASONS: Array<LimitDecision['reason']> = [undefined, 'rate', 'quota-day', 'quota-month']

type ScriptedRedis = RedisConnection & {
  pgwConsumeLimits: (rateKey: string, dayKey: string, monthKey: string, markerKey: string, ...args: Array<string | number>) => Promise<[number, number, string, string, string, number, number, string]>
  pgwSeedQuota: (dayKey: string, monthKey: string, markerKey: string, ...args: Array<string | number>) => Promise<number>
  pgwAddQuota: (dayKey: string, monthKey: string, markerKey: string, addKey: string, ...args: Array<string | number>) => Promise<number>
}

/** Unspent requests of an earlier reservation, and the generation of the counters they were reserved in. */
export interface GiveBack { requests: number, generation: string }

export interface Reservation {
  decision: LimitDecision
  granted: number
  /** the generation of the quota counters the requests were reserved in (empty without quotas) */
  generation: string
}

export class RedisRequestLimiter implements RequestLimiter {
  readonly #redis: ScriptedRedis
  readonly #prefix: string
  /** when set, the caller's clock is used instead of Redis time (tests move time) */
  readonly #useCallerClock: boolean

  readonly #seedSource: QuotaSeedSource | undefined
  /** one database read per subject however many requests wait for it */
  readonly #seeding = new Map<string, Promise<void>>()
  #onReseed: (subject: string) => () => void = () => () => {}

  constructor (redis: RedisConnection, keyPrefix: string, options: { useCallerClock?: boolean, seedSource?: QuotaSeedSource } = {}) {
    if (typeof (redis as unknown as Partial<ScriptedRedis>).pgwConsumeLimits !== 'function') {
      redis.defineCommand('pgwConsumeLimits', { numberOfKeys: 4, lua: CONSUME_SCRIPT })
      redis.defineCommand('pgwSeedQuota', { numberOfKeys: 3, lua: SEED_SCRIPT })
      redis.defineCommand('pgwAddQuota', { numberOfKeys: 4, lua: ADD_SCRIPT })
    }
    this.#redis = redis as unknown as ScriptedRedis
    this.#prefix = keyPrefix
    this.#useCallerClock = options.useCallerClock ?? false
    this.#seedSource = options.seedSource
  }

  #keys (subject: string, nowMs: number): [string, string, string, string] {
    const tag = `{${subject}}`
    return [`${this.#prefix}rate:${tag}`, `${this.#prefix}quota:${tag}:${dayWindow(nowMs).id}`, `${this.#prefix}quota:${tag}:${monthWindow(nowMs).id}`, `${this.#prefix}quota:${tag}:seeded`]
  }

  async consume (subject: string, plan: LimitPlan, nowMs?: number): Promise<LimitDecision> {
    return (await this.reserve(subject, plan, 1, undefined, nowMs)).decision
  }

  /**
   * Reserves up to `want` requests at once after giving back unspent ones (unless the counters
   * they were reserved in were lost since); the decision describes the first of them (allowed
   * when at least one was granted).
   */
  async reserve (subject: string, plan: LimitPlan, want: number, giveBack?: GiveBack, nowMs?: number): Promise<Reservation> {
    const clockMs = nowMs ?? Date.now()
    const parameters = plan.ratePerSecond !== null ? gcraParameters(plan.ratePerSecond, plan.burst ?? plan.ratePerSecond) : { emissionIntervalMs: 0, toleranceMs: 0 }
    const [rateKey, dayKey, monthKey, markerKey] = this.#keys(subject, clockMs)
    const run = async (): Promise<[number, number, string, string, string, number, number, string]> => await this.#redis.pgwConsumeLimits(
      rateKey, dayKey, monthKey, markerKey,
      parameters.emissionIntervalMs, parameters.toleranceMs, plan.quotaPerDay ?? -1, plan.quotaPerMonth ?? -1,
      windowTtlMs(dayWindow(clockMs).resetAtMs, clockMs), windowTtlMs(monthWindow(clockMs).resetAtMs, clockMs), this.#useCallerClock || nowMs !== undefined ? clockMs : 0,
      want, giveBack?.requests ?? 0, giveBack?.generation ?? ''
    )
    let result = await run()
    if (result[0] === -1) {
      await this.#seedFromSource(subject, clockMs)
      result = await run()
      if (result[0] === -1) throw new Error(`quota counters of ${subject} could not be seeded`)
    }
    const [granted, reasonCode, arrival, newArrival, now, dayUsed, monthUsed, generation] = result
    const redisNow = Number(now)
    let rate: GcraResult | undefined
    if (plan.ratePerSecond !== null) {
      const rateAllowed = reasonCode !== 1
      const basis = rateAllowed ? Number(newArrival) : Number(arrival)
      rate = {
        allowed: rateAllowed,
        newArrivalMs: Number(newArrival),
        remaining: Math.max(0, Math.floor((parameters.toleranceMs - (basis - redisNow)) / parameters.emissionIntervalMs + 1e-9)),
        resetSeconds: Math.max(0, Math.ceil((basis - redisNow) / 1000)),
        retryAfterSeconds: rateAllowed ? 0 : Math.max(1, Math.ceil((Number(newArrival) - parameters.toleranceMs - redisNow) / 1000))
      }
    }
    const decision = buildDecision(plan, clockMs, rate, REASONS[reasonCode], dayUsed, monthUsed)
    decision.allowed = granted > 0
    return { decision, granted, generation }
  }

  /**
   * Told when this node re-seeds a subject's counters from its source, just before reading it
   * (every call this node counted until then is in what it reads); the function it returns is
   * called once the counters hold that count.
   */
  onReseed (listener: (subject: string) => () => void): void {
    this.#onReseed = listener
  }

  /** Whether this node is re-seeding the subject's counters right now. */
  isSeeding (subject: string): boolean {
    return this.#seeding.has(subject)
  }

  async seedQuota (subject: string, dayUsed: number, monthUsed: number, nowMs = Date.now()): Promise<void> {
    await this.#seed(subject, dayUsed, monthUsed, nowMs, SEEDED_MARKER_TTL_MS)
  }

  /**
   * Adds calls counted while Redis was away, once per `addId` (a retry of an add whose answer
   * was lost reuses it); false when the counters were lost meanwhile (a re-seed covers them).
   */
  async addQuota (subject: string, dayCalls: number, monthCalls: number, nowMs: number, addId: string): Promise<boolean> {
    const [, dayKey, monthKey, markerKey] = this.#keys(subject, nowMs)
    const addKey = `${this.#prefix}quota:{${subject}}:added:${addId}`
    return await this.#redis.pgwAddQuota(dayKey, monthKey, markerKey, addKey, dayCalls, monthCalls, windowTtlMs(dayWindow(nowMs).resetAtMs, nowMs), windowTtlMs(monthWindow(nowMs).resetAtMs, nowMs)) === 1
  }

  async #seed (subject: string, dayUsed: number, monthUsed: number, nowMs: number, markerTtlMs: number): Promise<void> {
    const [, dayKey, monthKey, markerKey] = this.#keys(subject, nowMs)
    await this.#redis.pgwSeedQuota(dayKey, monthKey, markerKey, dayUsed, monthUsed, windowTtlMs(dayWindow(nowMs).resetAtMs, nowMs), windowTtlMs(monthWindow(nowMs).resetAtMs, nowMs), markerTtlMs, randomUUID())
  }

  async #seedFromSource (subject: string, nowMs: number): Promise<void> {
    let seeding = this.#seeding.get(subject)
    if (seeding === undefined) {
      seeding = (async () => {
        if (this.#seedSource === undefined) return await this.#seed(subject, 0, 0, nowMs, SEEDED_MARKER_TTL_MS)
        const seeded = this.#onReseed(subject)
        let usage
        try {
          usage = await this.#seedSource(subject, nowMs)
        } catch {
          // the database is away too: count from what Redis still has and ask again soon
          return await this.#seed(subject, 0, 0, nowMs, PROVISIONAL_MARKER_TTL_MS)
        }
        await this.#seed(subject, usage.dayUsed, usage.monthUsed, nowMs, SEEDED_MARKER_TTL_MS)
        seeded()
      })().finally(() => { this.#seeding.delete(subject) })
      this.#seeding.set(subject, seeding)
    }
    await seeding
  }

  async close (): Promise<void> {}
}
