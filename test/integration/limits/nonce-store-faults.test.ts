// Signed requests while Redis is cut: the node accepts each nonce once on its own, and when
// Redis returns it writes those still live back, so that every node refuses them again.
import pino from 'pino'
import { Redis } from 'ioredis'
import { afterAll, expect, it } from 'vitest'
import { FaultTolerantNonceStore } from '../../../src/limits/fault-tolerant.js'
import { RedisNonceStore } from '../../../src/limits/nonce-store.js'
import { RedisAvailability } from '../../../src/store/redis-availability.js'
import { createRedis } from '../../../src/store/redis.js'
import { randomPrefix } from '../../helpers/database.js'
import { startPrivateRedis, type PrivateRedis } from '../../helpers/redis-server.js'
import { startTcpRelay, type TcpRelay } from '../../helpers/tcp-relay.js'
import { waitFor } from '../../helpers/wait-for.js'

const prefix = randomPrefix()
const COMMAND_TIMEOUT_MS = 300
const cleanups: Array<() => Promise<void> | void> = []

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

async function cutNode (): Promise<{ store: FaultTolerantNonceStore, availability: RedisAvailability, relay: TcpRelay, redis: PrivateRedis }> {
  const redis = await startPrivateRedis()
  const relay = await startTcpRelay(redis.port)
  const connection = createRedis(relay.url('redis'), { commandTimeoutMs: COMMAND_TIMEOUT_MS })
  const availability = new RedisAvailability(connection, { log: pino({ level: 'silent' }), probeIntervalMs: 50, timeoutsToMarkDown: 1 })
  const store = new FaultTolerantNonceStore(new RedisNonceStore(connection, prefix), availability)
  cleanups.push(async () => { await redis.stop() }, async () => { await relay.close() }, () => { connection.disconnect() }, () => { availability.close() }, async () => { await store.close() })
  await availability.waitForConnection(2_000)
  relay.setMode('refuse')
  // the first call finds Redis gone and is answered by the node
  expect(await store.remember('key', 'probe', 60_000)).toBe(true)
  expect(availability.isUp).toBe(false)
  return { store, availability, relay, redis }
}

it('writes back, in batches, the live nonces accepted while Redis was cut: another node refuses them once it is back', async () => {
  const { store, availability, relay, redis } = await cutNode()
  const nonces = Array.from({ length: 1_200 }, (_, index) => `cut-${index}`)
  for (const nonce of nonces) expect(await store.remember('key', nonce, 60_000)).toBe(true)
  for (const nonce of nonces.slice(0, 10)) expect(await store.remember('key', nonce, 60_000)).toBe(false)
  expect(await store.remember('key', 'short-lived', 200)).toBe(true)
  await new Promise(resolve => setTimeout(resolve, 300))

  relay.setMode('pass')
  await waitFor('Redis to be marked up', () => availability.isUp)
  const direct = new Redis(redis.port, '127.0.0.1')
  cleanups.push(() => { direct.disconnect() })
  await waitFor('the last batch to land', async () => await direct.exists(`${prefix}nonce:key:${nonces[nonces.length - 1]}`) === 1)
  expect(store.awaitingWriteBack).toBe(0)
  const otherNode = new RedisNonceStore(direct, prefix)
  const refused = await Promise.all(nonces.map(async nonce => !(await otherNode.remember('key', nonce, 60_000))))
  expect(refused.every(Boolean)).toBe(true)
  // expired before Redis returned: not written back
  expect(await otherNode.remember('key', 'short-lived', 60_000)).toBe(true)
}, 30_000)

it('keeps only the nonces still live while Redis stays away', async () => {
  const { store } = await cutNode()
  for (let index = 0; index < 1_022; index++) await store.remember('key', `brief-${index}`, 50)
  await new Promise(resolve => setTimeout(resolve, 100))
  // the 1,024th entry (the probe counts) makes the node drop the expired ones
  await store.remember('key', 'live', 60_000)
  expect(store.awaitingWriteBack).toBe(2)
}, 30_000)
