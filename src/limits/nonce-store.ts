// Replay protection for signed requests: a nonce is accepted once per app key within the
// timestamp window. Redis (SET NX PX) makes that hold across every gateway node.
import type { RedisConnection } from '../store/redis.js'

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

/** Bounded: past `maxEntries` live nonces it refuses new ones rather than forget old ones. */
export class MemoryNonceStore implements NonceStore {
  readonly #seen = new Map<string, number>()
  readonly #maxEntries: number
  readonly #sweeper: NodeJS.Timeout

  constructor (maxEntries = 1_000_000) {
    this.#maxEntries = maxEntries
    this.#sweeper = setInterval(() => { this.#sweep(Date.now()) }, 30_000)
    this.#sweeper.unref()
  }

  async remember (key: string, nonce: string, ttlMs: number): Promise<boolean> {
    const now = Date.now()
    const id = `${key}:${nonce}`
    const expiresAt = this.#seen.get(id)
    if (expiresAt !== undefined && expiresAt > now) return false
    if (this.#seen.size >= this.#maxEntries) {
      this.#sweep(now)
      if (this.#seen.size >= this.#maxEntries) throw new Error('nonce store full')
    }
    this.#seen.set(id, now + ttlMs)
    return true
  }

  async close (): Promise<void> {
    clearInterval(this.#sweeper)
  }

  #sweep (now: number): void {
    for (const [id, expiresAt] of this.#seen) if (expiresAt <= now) this.#seen.delete(id)
  }
}
