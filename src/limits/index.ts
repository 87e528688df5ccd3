// Picks the counter backends: Redis (cluster-wide, behind the fault switch) when a connection
// is given, memory otherwise.
import type { RedisAvailability } from '../store/redis-availability.js'
import type { RedisConnection } from '../store/redis.js'
import { MemoryConnectionCounter, RedisConnectionCounter, type ConnectionCounter } from './connection-counter.js'
import { MemoryFailureCounter, RedisFailureCounter, type FailureCounter } from './failure-counter.js'
import { FaultTolerantConnectionCounter, FaultTolerantFailureCounter, FaultTolerantNonceStore, FaultTolerantRequestLimiter, type RedisFaultPolicy } from './fault-tolerant.js'
import { GatewayMembership } from './gateway-membership.js'
import { LeasedRequestLimiter } from './leased-request-limiter.js'
import { DEFAULT_LEASE_SETTINGS } from './lease-math.js'
import { MemoryRequestLimiter } from './memory-request-limiter.js'
import { MemoryNonceStore, RedisNonceStore, type NonceStore } from './nonce-store.js'
import { RedisRequestLimiter, type QuotaSeedSource } from './redis-request-limiter.js'
import type { RequestLimiter } from './request-limiter.js'

export interface LimitBackends {
  requestLimiter: RequestLimiter
  nonceStore: NonceStore
  connectionCounter: ConnectionCounter
  /** failed authentications per client address */
  failureCounter: FailureCounter
  kind: 'redis' | 'memory'
  close: () => Promise<void>
}

export interface RedisLimitOptions {
  connection: RedisConnection
  availability: RedisAvailability
  faultPolicy: RedisFaultPolicy
  /** where lost quota counters are re-seeded from */
  seedSource?: QuotaSeedSource
  /** how long a node may hold requests reserved in a batch; 0 = one exact decision per request */
  leaseMs?: number
}

export async function createLimitBackends (options: { redis?: RedisLimitOptions, keyPrefix: string }): Promise<LimitBackends> {
  const { redis, keyPrefix } = options
  if (redis === undefined) {
    const requestLimiter = new MemoryRequestLimiter()
    const nonceStore = new MemoryNonceStore()
    const connectionCounter = new MemoryConnectionCounter()
    const failureCounter = new MemoryFailureCounter()
    return {
      requestLimiter,
      nonceStore,
      connectionCounter,
      failureCounter,
      kind: 'memory',
      async close () {
        await requestLimiter.close()
        await nonceStore.close()
        await connectionCounter.close()
        await failureCounter.close()
      }
    }
  }
  const { connection, availability, faultPolicy } = redis
  const membership = new GatewayMembership(connection, availability, keyPrefix)
  await membership.start()
  const faultSwitch = { availability, policy: faultPolicy, nodes: () => membership.nodes }
  const exact = new RedisRequestLimiter(connection, keyPrefix, { seedSource: redis.seedSource })
  const leased = new LeasedRequestLimiter(exact, { ...DEFAULT_LEASE_SETTINGS, leaseMs: redis.leaseMs ?? DEFAULT_LEASE_SETTINGS.leaseMs }, availability)
  const requestLimiter = new FaultTolerantRequestLimiter(exact, leased, faultSwitch)
  const nonceStore = new FaultTolerantNonceStore(new RedisNonceStore(connection, keyPrefix), availability)
  const connectionCounter = new FaultTolerantConnectionCounter(new RedisConnectionCounter(connection, keyPrefix), faultSwitch)
  const failureCounter = new FaultTolerantFailureCounter(new RedisFailureCounter(connection, keyPrefix), availability)
  return {
    requestLimiter,
    nonceStore,
    connectionCounter,
    failureCounter,
    kind: 'redis',
    async close () {
      await membership.stop()
      await requestLimiter.close()
      await nonceStore.close()
      await connectionCounter.close()
      await failureCounter.close()
    }
  }
}
