// Batched reservations against a private redis-server (its command counts are ours alone):
// two nodes hammering one busy app stay within the plan cluster-wide while asking Redis for a
// small fraction of their requests; small plans stay exact; unspent requests go back.
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LeasedRequestLimiter } from '../../../src/limits/leased-request-limiter.js'
import { DEFAULT_LEASE_SETTINGS } from '../../../src/limits/lease-math.js'
import { dayWindow } from '../../../src/limits/limit-math.js'
import { RedisRequestLimiter } from '../../../src/limits/redis-request-limiter.js'
import type { LimitPlan } from '../../../src/limits/request-limiter.js'
import { startPrivateRedis, type PrivateRedis } from '../../helpers/redis-server.js'
import { startTcpRelay } from '../../helpers/tcp-relay.js'

let redis: PrivateRedis
const connections: Redis[] = []
beforeAll(async () => { redis = await startPrivateRedis() })
afterAll(async () => {
  for (const connection of connections) connection.disconnect()
  await redis?.stop()
})

function node (): LeasedRequestLimiter {
  const connection = new Redis(redis.url, { enableAutoPipelining: true })
  connections.push(connection)
  return new LeasedRequestLimiter(new RedisRequestLimiter(connection, 'lease-test:'), DEFAULT_LEASE_SETTINGS)
}

async function scriptCalls (): Promise<number> {
  const client = new Redis(redis.url)
  try {
    const stats = await client.info('commandstats')
    return [...stats.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+)/gm)].reduce((sum, match) => sum + Number(match[2]), 0)
  } finally {
    client.disconnect()
  }
}

/** `workers` concurrent request loops on each node for `ms`; counts allowed and total. */
async function hammer (nodes: LeasedRequestLimiter[], subject: string, plan: LimitPlan, ms: number, workers = 8): Promise<{ allowed: number, total: number }> {
  const until = Date.now() + ms
  let allowed = 0
  let total = 0
  await Promise.all(nodes.flatMap(limiter => Array.from({ length: workers }, async () => {
    while (Date.now() < until) {
      const decision = await limiter.consume(subject, plan)
      total++
      if (decision.allowed) allowed++
      // a rejected request costs the loop a little time, like a client reading its 429
      else await new Promise(resolve => setImmediate(resolve))
    }
  })))
  return { allowed, total }
}

describe('leased request limiter', () => {
  it('keeps two busy nodes within rate × time + burst cluster-wide and near it, with few Redis calls', async () => {
    const nodes = [node(), node()]
    const plan: LimitPlan = { ratePerSecond: 100, burst: 100, quotaPerDay: null, quotaPerMonth: null }
    const before = await scriptCalls()
    const seconds = 3
    const { allowed, total } = await hammer(nodes, 'app-busy:api', plan, seconds * 1000)
    const calls = await scriptCalls() - before
    const ceiling = 100 + 100 * seconds
    expect(allowed).toBeLessThanOrEqual(ceiling)
    expect(allowed).toBeGreaterThanOrEqual(Math.floor(ceiling * 0.9))
    // per 1,000 requests the nodes asked Redis far less than once each
    expect(total).toBeGreaterThan(5 * allowed)
    expect(calls * 1000 / total).toBeLessThan(100)
    for (const limiter of nodes) await limiter.close()
  })

  it('decides small plans exactly, one Redis call per request', async () => {
    const limiter = node()
    const plan: LimitPlan = { ratePerSecond: 5, burst: 5, quotaPerDay: null, quotaPerMonth: null }
    const before = await scriptCalls()
    const results = []
    for (let index = 0; index < 8; index++) results.push((await limiter.consume('app-small:api', plan)).allowed)
    expect(results).toEqual([true, true, true, true, true, false, false, false])
    expect(await scriptCalls() - before).toBe(8)
    await limiter.close()
  })

  it('gives unspent requests back, so the quota counts only what was spent', async () => {
    const limiter = node()
    const plan: LimitPlan = { ratePerSecond: 10_000, burst: 10_000, quotaPerDay: 100_000, quotaPerMonth: null }
    const subject = 'app-quota:api'
    let allowed = 0
    for (let index = 0; index < 300; index++) if ((await limiter.consume(subject, plan)).allowed) allowed++
    expect(allowed).toBe(300)
    await new Promise(resolve => setTimeout(resolve, DEFAULT_LEASE_SETTINGS.leaseMs * 3))
    const client = new Redis(redis.url)
    try {
      expect(Number(await client.get(`lease-test:quota:{${subject}}:${dayWindow(Date.now()).id}`))).toBe(300)
    } finally {
      client.disconnect()
    }
    await limiter.close()
  })

  it('keeps requests it could not give back while Redis was away and gives them back later', async () => {
    const relay = await startTcpRelay(redis.port)
    const connection = new Redis(relay.url('redis'), { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 50, retryStrategy: () => 20 })
    connection.on('error', () => {})
    connections.push(connection)
    await new Promise(resolve => connection.once('ready', resolve))
    const limiter = new LeasedRequestLimiter(new RedisRequestLimiter(connection, 'lease-test:'), DEFAULT_LEASE_SETTINGS)
    const plan: LimitPlan = { ratePerSecond: 10_000, burst: 10_000, quotaPerDay: 100_000, quotaPerMonth: null }
    const subject = 'app-away:api'
    let spent = 0
    while (spent < 50) if ((await limiter.consume(subject, plan)).allowed) spent++
    relay.setMode('refuse')
    // the lease expires and its sweep fails while Redis is away
    await new Promise(resolve => setTimeout(resolve, DEFAULT_LEASE_SETTINGS.leaseMs * 3))
    relay.setMode('pass')
    await new Promise(resolve => setTimeout(resolve, DEFAULT_LEASE_SETTINGS.leaseMs * 4))
    const client = new Redis(redis.url)
    try {
      expect(Number(await client.get(`lease-test:quota:{${subject}}:${dayWindow(Date.now()).id}`))).toBe(50)
    } finally {
      client.disconnect()
      await limiter.close()
      await relay.close()
    }
  })

  it('reports remaining requests that fall as a lease is spent', async () => {
    const limiter = node()
    const plan: LimitPlan = { ratePerSecond: 1000, burst: 1000, quotaPerDay: null, quotaPerMonth: null }
    const remaining = []
    for (let index = 0; index < 20; index++) remaining.push((await limiter.consume('app-headers:api', plan)).rate?.remaining ?? -1)
    for (let index = 1; index < remaining.length; index++) expect(remaining[index]).toBeLessThanOrEqual(remaining[index - 1])
    expect(remaining[0]).toBe(999)
    await limiter.close()
  })
})
