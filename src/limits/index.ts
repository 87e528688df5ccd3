// Picks the counter backends: Redis (cluster-wide) when a connection is given, memory otherwise.
import type { RedisConnection } from '../store/redis.js'
import { MemoryConnectionCounter, RedisConnectionCounter, type ConnectionCounter } from './connection-counter.js'
import { MemoryRequestLimiter } from './memory-request-limiter.js'
import { MemoryNonceStore, RedisNonceStore, type NonceStore } from './nonce-store.js'
import { RedisRequestLimiter } from './redis-request-limiter.js'
import type { RequestLimiter } from './request-limiter.js'

export interface LimitBackends {
  requestLimiter: RequestLimiter
  nonceStore: NonceStore
  connectionCounter: ConnectionCounter
  kind: 'redis' | 'memory'
  close: () => Promise<void>
}

export function createLimitBackends (options: { redis?: RedisConnection, keyPrefix: string }): LimitBackends {
  const { redis, keyPrefix } = options
  const requestLimiter = redis !== undefined ? new RedisRequestLimiter(redis, keyPrefix) : new MemoryRequestLimiter()
  const nonceStore = redis !== undefined ? new RedisNonceStore(redis, keyPrefix) : new MemoryNonceStore()
  const connectionCounter = redis !== undefined ? new RedisConnectionCounter(redis, keyPrefix) : new MemoryConnectionCounter()
  return {
    requestLimiter,
    nonceStore,
    connectionCounter,
    kind: redis !== undefined ? 'redis' : 'memory',
    async close () {
      await requestLimiter.close()
      await nonceStore.close()
      await connectionCounter.close()
    }
  }
}
