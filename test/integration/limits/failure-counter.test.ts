// Failures per client in both backends (real Redis, a private key prefix), shared across
// connections in Redis, and counted on the node, within the deadline, while Redis is cut.
import pino from 'pino'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { MemoryFailureCounter, RedisFailureCounter, type FailureCounter } from '../../../src/limits/failure-counter.js'
import { FaultTolerantFailureCounter } from '../../../src/limits/fault-tolerant.js'
import { RedisAvailability } from '../../../src/store/redis-availability.js'
import { createRedis } from '../../../src/store/redis.js'
import { randomPrefix, REDIS_URL } from '../../helpers/database.js'
import { deleteRedisKeys } from '../../helpers/redis.js'
import { startPrivateRedis } from '../../helpers/redis-server.js'
import { startTcpRelay } from '../../helpers/tcp-relay.js'

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

const counters: Array<[string, () => FailureCounter]> = [
  ['memory', () => new MemoryFailureCounter()],
  ['redis', () => new RedisFailureCounter(redis(), prefix)]
]

const COMMAND_TIMEOUT_MS = 300

const client = (): string => `203.0.113.${Math.floor(Math.random() * 250)}-${Math.random().toString(36).slice(2)}`

describe.each(counters)('%s failure counter', (_name, create) => {
  const counter = create()

  it('counts a client\'s failures in a window its first failure starts, then from zero', async () => {
    const id = client()
    const first = await counter.increment(id, 1000)
    expect(first.count).toBe(1)
    expect(first.resetInMs).toBeGreaterThan(0)
    expect(first.resetInMs).toBeLessThanOrEqual(1000)
    const second = await counter.increment(id, 1000)
    expect(second.count).toBe(2)
    expect(second.resetInMs).toBeLessThanOrEqual(first.resetInMs)
    expect((await counter.increment(client(), 1000)).count).toBe(1)
    await new Promise(resolve => setTimeout(resolve, second.resetInMs + 50))
    expect((await counter.increment(id, 1000)).count).toBe(1)
  })
})

it('shares the counts of one client across connections (gateway nodes) in Redis', async () => {
  const id = client()
  const nodeA = new RedisFailureCounter(redis(), prefix)
  const nodeB = new RedisFailureCounter(redis(), prefix)
  await nodeA.increment(id, 60_000)
  await nodeA.increment(id, 60_000)
  expect((await nodeB.increment(id, 60_000)).count).toBe(3)
})

describe.each(['refuse', 'drop'] as const)('failure counter while Redis is cut (%s)', mode => {
  it('counts on the node within the deadline, and in Redis again once it is back', async () => {
    const privateRedis = await startPrivateRedis()
    const relay = await startTcpRelay(privateRedis.port)
    // a deadline that event-loop stalls on a loaded machine do not miss by themselves
    const connection = createRedis(relay.url('redis'), { commandTimeoutMs: COMMAND_TIMEOUT_MS })
    const availability = new RedisAvailability(connection, { log: pino({ level: 'silent' }), probeIntervalMs: 50, timeoutsToMarkDown: 1 })
    const counter = new FaultTolerantFailureCounter(new RedisFailureCounter(connection, prefix), availability)
    try {
      await availability.waitForConnection(2_000)
      const id = client()
      expect((await counter.increment(id, 60_000)).count).toBe(1)

      relay.setMode(mode)
      const started = performance.now()
      const counts = []
      for (let attempt = 0; attempt < 3; attempt++) counts.push((await counter.increment(id, 60_000)).count)
      // the first call finds Redis gone (at most one deadline), then the node counts on its own, from zero
      expect(performance.now() - started).toBeLessThan(COMMAND_TIMEOUT_MS * 3)
      expect(availability.isUp).toBe(false)
      expect(counts).toEqual([1, 2, 3])

      relay.setMode('pass')
      const deadline = Date.now() + 10_000
      while (!availability.isUp && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
      // a dropped call reaches Redis late, when the held bytes pass: it counted there too
      expect((await counter.increment(id, 60_000)).count).toBe(mode === 'refuse' ? 2 : 3)
    } finally {
      await counter.close()
      availability.close()
      connection.disconnect()
      await relay.close()
      await privateRedis.stop()
    }
  })
})
