// Replay protection for signed requests: a nonce is accepted once per app key within the
// timestamp window. Redis (SET NX PX) makes that hold across every gateway node.
import type { RedisConnection } from '../store/redis.js'
import { NonceTable } from './nonce-table.js'

export interface NonceStore {
  /** Records the nonce; false when it was seen before and has not expired. */
  remember: (key: string, nonce: string, ttlMs: number) => Promise<boolean>
  close: () => Promise<void>
}

export class RedisNonceStore implements NonceStore {
  readonly #redis: RedisConnection
  readonly #prefix: string

  constructor (redis: RedisConnection, keyPrefix: string) {
    this.#redis = redis
    this.#prefix = keyPrefix
  }

  async remember (key: string, nonce: string, ttlMs: number): Promise<boolean> {
    return await this.#redis.set(`${this.#prefix}nonce:${key}:${nonce}`, '1', 'PX', ttlMs, 'NX') === 'OK'
  }

  async close (): Promise<void> {}
}

/**
 * One node's nonces (src/limits/nonce-table.ts). Bounded: past `maxEntries` live nonces it
 * refuses new ones rather than forget live ones.
 */
export class MemoryNonceStore implements NonceStore {
  readonly #table: NonceTable

  // 4 million: a 15-minute window at ~4,400 signed requests/s, at most 96 MB of tables
  constructor (maxEntries = 4_000_000) {
    this.#table = new NonceTable({ maxEntries, nowMs: Date.now() })
  }

  async remember (key: string, nonce: string, ttlMs: number): Promise<boolean> {
    const now = Date.now()
    return this.#table.remember(key, nonce, now + ttlMs, now)
  }

  async close (): Promise<void> {}
}
