// Both counter backends behave the same; the Redis ones hold across separate connections
// (separate gateway nodes). Real Redis, a private key prefix per run.
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { MemoryConnectionCounter, RedisConnectionCounter, type ConnectionCounter } from '../../../src/limits/connection-counter.js'
import { MemoryRequestLimiter } from '../../../src/limits/memory-request-limiter.js'
import { MemoryNonceStore, RedisNonceStore } from '../../../src/limits/nonce-store.js'
import { RedisRequestLimiter } from '../../../src/limits/redis-request-limiter.js'
import type { RequestLimiter } from '../../../src/limits/request-limiter.js'
import { randomPrefix, REDIS_URL } from '../../helpers/database.js'
import { deleteRedisKeys } from '../../helpers/redis.js'

const prefix = randomPrefix()
const connections: Redis[] = []
function redis (): Redis {
  const connection = new Redis(REDIS_URL)
  connections.push(connection)
  return connection
}

afterAll(async () => {
  await deleteRedisKeys(prefix)
  for (const connection of connections) connection.disconnect()
})

const limiters: Array<[string, () => RequestLimiter]> = [
  ['memory', () => new MemoryRequestLimiter()],
  ['redis', () => new RedisRequestLimiter(redis(), prefix, { useCallerClock: true })]
]

describe.each(limiters)('%s request limiter', (_name, create) => {
  const limiter = create()
  const subject = () => `app-${Math.random().toString(36).slice(2)}:api`

  it('rejects beyond the burst and recovers at the sustained rate', async () => {
    const id = subject()
    const plan = { ratePerSecond: 2, burst: 2, quotaPerDay: null, quotaPerMonth: null }
    const now = Date.UTC(2026, 5, 1, 12)
    expect((await limiter.consume(id, plan, now)).allowed).toBe(true)
    expect((await limiter.consume(id, plan, now)).allowed).toBe(true)
    const rejected = await limiter.consume(id, plan, now)
    expect(rejected).toMatchObject({ allowed: false, reason: 'rate', rate: { limit: 2, remaining: 0 } })
    expect(rejected.rate?.retryAfterSeconds).toBeGreaterThanOrEqual(1)
    expect((await limiter.consume(id, plan, now + 500)).allowed).toBe(true)
  })

  it('counts quotas per UTC day and month, rolls over, and does not count rejected requests', async () => {
    const id = subject()
    const plan = { ratePerSecond: null, burst: null, quotaPerDay: 2, quotaPerMonth: 3 }
    const day1 = Date.UTC(2026, 5, 30, 23, 0)
    expect((await limiter.consume(id, plan, day1)).allowed).toBe(true)
    expect((await limiter.consume(id, plan, day1)).allowed).toBe(true)
    const overDay = await limiter.consume(id, plan, day1)
    expect(overDay).toMatchObject({ allowed: false, reason: 'quota-day' })
    expect(overDay.quota?.day?.resetAt.toISOString()).toBe('2026-07-01T00:00:00.000Z')
    const nextMonth = Date.UTC(2026, 6, 1, 0, 1)
    expect((await limiter.consume(id, plan, nextMonth)).allowed).toBe(true)
    const sameMonthPlan = { ...plan, quotaPerDay: 10 }
    const june = Date.UTC(2026, 5, 30, 23, 30)
    expect(await limiter.consume(id, sameMonthPlan, june)).toMatchObject({ allowed: true, quota: { month: { used: 3 } } })
    expect(await limiter.consume(id, sameMonthPlan, june)).toMatchObject({ allowed: false, reason: 'quota-month' })
  })

  it('a rate-limited request consumes no quota', async () => {
    const id = subject()
    const plan = { ratePerSecond: 1, burst: 1, quotaPerDay: 5, quotaPerMonth: null }
    const now = Date.UTC(2026, 5, 2)
    await limiter.consume(id, plan, now)
    expect((await limiter.consume(id, plan, now)).reason).toBe('rate')
    expect((await limiter.consume(id, plan, now + 1000)).quota?.day?.used).toBe(2)
  })

  it('starts quota counters from seeded usage and never lowers them', async () => {
    const id = subject()
    const now = Date.UTC(2026, 5, 3)
    await limiter.seedQuota(id, 4, 9, now)
    await limiter.seedQuota(id, 1, 1, now)
    const plan = { ratePerSecond: null, burst: null, quotaPerDay: 5, quotaPerMonth: null }
    expect((await limiter.consume(id, plan, now)).allowed).toBe(true)
    expect((await limiter.consume(id, plan, now)).reason).toBe('quota-day')
  })
})

describe('redis quota counters', () => {
  it('adds calls counted elsewhere once per add id, and not to counters Redis has lost', async () => {
    const limiter = new RedisRequestLimiter(redis(), prefix, { useCallerClock: true })
    const id = `app-${Math.random().toString(36).slice(2)}:api`
    const plan = { ratePerSecond: null, burst: null, quotaPerDay: 100, quotaPerMonth: null }
    const now = Date.UTC(2026, 5, 4, 12)
    expect(await limiter.addQuota(id, 3, 3, now, 'lost')).toBe(false)
    await limiter.seedQuota(id, 10, 10, now)
    expect(await limiter.addQuota(id, 3, 3, now, 'first')).toBe(true)
    // the same add again (its answer was lost), then another one
    expect(await limiter.addQuota(id, 3, 3, now, 'first')).toBe(true)
    expect(await limiter.addQuota(id, 2, 2, now, 'second')).toBe(true)
    expect((await limiter.consume(id, plan, now)).quota?.day?.used).toBe(16)
  })
})

describe('redis request limiter across nodes', () => {
  it('allows exactly the burst when two nodes race', async () => {
    const nodes = [new RedisRequestLimiter(redis(), prefix), new RedisRequestLimiter(redis(), prefix)]
    const plan = { ratePerSecond: 0.001, burst: 50, quotaPerDay: null, quotaPerMonth: null }
    const decisions = await Promise.all(Array.from({ length: 200 }, async (_, index) => await nodes[index % 2].consume('race:api', plan)))
    expect(decisions.filter(decision => decision.allowed)).toHaveLength(50)
  })
})

describe('nonce stores', () => {
  it.each([
    ['memory', () => [new MemoryNonceStore()].flatMap(store => [store, store])],
    ['redis across nodes', () => [new RedisNonceStore(redis(), prefix), new RedisNonceStore(redis(), prefix)]]
  ])('%s: accepts a nonce once within its lifetime', async (_name, create) => {
    const [first, second] = create()
    const nonce = Math.random().toString(36)
    expect(await first.remember('key', nonce, 60_000)).toBe(true)
    expect(await second.remember('key', nonce, 60_000)).toBe(false)
    expect(await second.remember('other-key', nonce, 60_000)).toBe(true)
  })

  it('forgets a nonce after its lifetime', async () => {
    const store = new RedisNonceStore(redis(), prefix)
    expect(await store.remember('key', 'short', 50)).toBe(true)
    await new Promise(resolve => setTimeout(resolve, 120))
    expect(await store.remember('key', 'short', 50)).toBe(true)
  })
})

describe('connection counters', () => {
  it.each([
    ['memory', () => { const counter = new MemoryConnectionCounter(); return [counter, counter] }],
    ['redis across nodes', () => [new RedisConnectionCounter(redis(), prefix), new RedisConnectionCounter(redis(), prefix)]]
  ] as Array<[string, () => ConnectionCounter[]]>)('%s: holds the limit and frees slots on release', async (_name, create) => {
    const [first, second] = create()
    const subject = `ws-${Math.random().toString(36).slice(2)}`
    expect(await first.acquire(subject, 'a', 2)).toBe(true)
    expect(await second.acquire(subject, 'b', 2)).toBe(true)
    expect(await second.acquire(subject, 'c', 2)).toBe(false)
    await first.release(subject, 'a')
    expect(await second.acquire(subject, 'c', 2)).toBe(true)
    expect(await first.count(subject)).toBe(2)
  })

  it('lets a dead node\'s entries expire while a live node keeps its own', async () => {
    const dead = new RedisConnectionCounter(redis(), prefix, { ttlMs: 300 })
    const live = new RedisConnectionCounter(redis(), prefix, { ttlMs: 300 })
    const subject = `ws-${Math.random().toString(36).slice(2)}`
    expect(await dead.acquire(subject, 'dead-1', 2)).toBe(true)
    expect(await live.acquire(subject, 'live-1', 2)).toBe(true)
    for (let beat = 0; beat < 4; beat++) {
      await new Promise(resolve => setTimeout(resolve, 150))
      await live.heartbeat()
    }
    expect(await live.count(subject)).toBe(1)
    expect(await live.acquire(subject, 'live-2', 2)).toBe(true)
  })
})
