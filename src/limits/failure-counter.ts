// Failures per client (failed authentications per client address) in a fixed window that the
// client's first failure starts. Redis makes the count cluster-wide with one round trip; memory
// keeps it per process, bounded, for a single node and while Redis is away.
import type { RedisConnection } from '../store/redis.js'

export interface FailureCount {
  /** failures in the current window, this one included */
  count: number
  /** until the window ends and the count starts again from zero */
  resetInMs: number
}

export interface FailureCounter {
  /** Counts one failure of `client`; a window of `windowMs` starts with its first failure. */
  increment: (client: string, windowMs: number, nowMs?: number) => Promise<FailureCount>
  close: () => Promise<void>
}

// KEYS: the client's counter. ARGV: window ms. Returns the count and the ms left of the window.
// One key per client, so nothing to keep in one Redis Cluster slot.
const COUNT_FAILURE_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return { count, redis.call('PTTL', KEYS[1]) }
`

type ScriptedRedis = RedisConnection & {
  pgwCountFailure: (key: string, windowMs: number) => Promise<[number, number]>
}

export class RedisFailureCounter implements FailureCounter {
  readonly #redis: ScriptedRedis
  readonly #prefix: string

  constructor (redis: RedisConnection, keyPrefix: string) {
    if (typeof (redis as unknown as Partial<ScriptedRedis>).pgwCountFailure !== 'function') {
      redis.defineCommand('pgwCountFailure', { numberOfKeys: 1, lua: COUNT_FAILURE_SCRIPT })
    }
    this.#redis = redis as unknown as ScriptedRedis
    this.#prefix = keyPrefix
  }

  /** The window runs on Redis's clock: `nowMs` is not used. */
  async increment (client: string, windowMs: number): Promise<FailureCount> {
    const [count, resetInMs] = await this.#redis.pgwCountFailure(`${this.#prefix}authfail:${client}`, windowMs)
    return { count, resetInMs: Math.max(0, resetInMs) }
  }

  async close (): Promise<void> {}
}

/** Bounded: past `maxClients` windows it forgets the least recently failed clients first. */
export class MemoryFailureCounter implements FailureCounter {
  readonly #windows = new Map<string, { count: number, endsAtMs: number }>()
  readonly #maxClients: number

  constructor (maxClients = 100_000) {
    this.#maxClients = maxClients
  }

  async increment (client: string, windowMs: number, nowMs = Date.now()): Promise<FailureCount> {
    let window = this.#windows.get(client)
    // re-inserted below, so that the Map runs from the least to the most recently failed client
    this.#windows.delete(client)
    if (window === undefined || window.endsAtMs <= nowMs) {
      window = { count: 0, endsAtMs: nowMs + windowMs }
      // forgets the least recently failed: O(1), where a sweep for expired windows would scan them all
      while (this.#windows.size >= this.#maxClients) this.#windows.delete(this.#windows.keys().next().value as string)
    }
    window.count++
    this.#windows.set(client, window)
    return { count: window.count, resetInMs: window.endsAtMs - nowMs }
  }

  async close (): Promise<void> {
    this.#windows.clear()
  }
}
