// Concurrent WebSocket connections per app × API, counted cluster-wide. In Redis each
// subject is a sorted set of connection ids scored by an expiry that the owning node keeps
// pushing forward (heartbeat); when a node dies its entries simply expire, so counts never leak.
import type { RedisConnection } from '../store/redis.js'

export interface ConnectionCounter {
  /** Takes a slot for the connection if fewer than `limit` are open; false when full. */
  acquire: (subject: string, connectionId: string, limit: number) => Promise<boolean>
  release: (subject: string, connectionId: string) => Promise<void>
  /** Refreshes this node's live entries; run at an interval well under the entry TTL. */
  heartbeat: () => Promise<void>
  count: (subject: string) => Promise<number>
  close: () => Promise<void>
}

export class MemoryConnectionCounter implements ConnectionCounter {
  readonly #open = new Map<string, Set<string>>()

  async acquire (subject: string, connectionId: string, limit: number): Promise<boolean> {
    const open = this.#open.get(subject) ?? new Set<string>()
    if (open.size >= limit) return false
    open.add(connectionId)
    this.#open.set(subject, open)
    return true
  }

  async release (subject: string, connectionId: string): Promise<void> {
    const open = this.#open.get(subject)
    open?.delete(connectionId)
    if (open?.size === 0) this.#open.delete(subject)
  }

  async heartbeat (): Promise<void> {}

  async count (subject: string): Promise<number> {
    return this.#open.get(subject)?.size ?? 0
  }

  async close (): Promise<void> {
    this.#open.clear()
  }
}

const ACQUIRE_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
`

// ARGV: TTL ms, 'XX' (refresh live entries only) or 'ADD' (also add missing ones), connection ids
const REFRESH_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
for index = 3, #ARGV do
  if ARGV[2] == 'XX' then
    redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[index])
  else
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[index])
  end
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1
`

type ScriptedRedis = RedisConnection & {
  pgwAcquireConnection: (key: string, connectionId: string, limit: number, ttlMs: number) => Promise<number>
  pgwRefreshConnections: (key: string, ttlMs: number, mode: 'XX' | 'ADD', ...connectionIds: string[]) => Promise<number>
}

export class RedisConnectionCounter implements ConnectionCounter {
  readonly #redis: ScriptedRedis
  readonly #prefix: string
  readonly #ttlMs: number
  /** this node's open connections by subject, refreshed by heartbeat() */
  readonly #local = new Map<string, Set<string>>()

  constructor (redis: RedisConnection, keyPrefix: string, options: { ttlMs?: number } = {}) {
    if (typeof (redis as unknown as Partial<ScriptedRedis>).pgwAcquireConnection !== 'function') {
      redis.defineCommand('pgwAcquireConnection', { numberOfKeys: 1, lua: ACQUIRE_SCRIPT })
      redis.defineCommand('pgwRefreshConnections', { numberOfKeys: 1, lua: REFRESH_SCRIPT })
    }
    this.#redis = redis as unknown as ScriptedRedis
    this.#prefix = keyPrefix
    this.#ttlMs = options.ttlMs ?? 30_000
  }

  #key (subject: string): string {
    return `${this.#prefix}connections:{${subject}}`
  }

  async acquire (subject: string, connectionId: string, limit: number): Promise<boolean> {
    const acquired = await this.#redis.pgwAcquireConnection(this.#key(subject), connectionId, limit, this.#ttlMs) === 1
    if (acquired) {
      const local = this.#local.get(subject) ?? new Set<string>()
      local.add(connectionId)
      this.#local.set(subject, local)
    }
    return acquired
  }

  async release (subject: string, connectionId: string): Promise<void> {
    const local = this.#local.get(subject)
    local?.delete(connectionId)
    if (local?.size === 0) this.#local.delete(subject)
    await this.#redis.zrem(this.#key(subject), connectionId)
  }

  /** Takes a slot for a connection already open (opened while Redis was away), whatever the limit. */
  async adopt (subject: string, connectionId: string): Promise<void> {
    await this.#redis.pgwRefreshConnections(this.#key(subject), this.#ttlMs, 'ADD', connectionId)
    const local = this.#local.get(subject) ?? new Set<string>()
    local.add(connectionId)
    this.#local.set(subject, local)
  }

  async heartbeat (): Promise<void> {
    await Promise.all([...this.#local].map(async ([subject, ids]) => {
      await this.#redis.pgwRefreshConnections(this.#key(subject), this.#ttlMs, 'XX', ...ids)
    }))
  }

  async count (subject: string): Promise<number> {
    const key = this.#key(subject)
    const time = await this.#redis.time()
    await this.#redis.zremrangebyscore(key, '-inf', Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000))
    return await this.#redis.zcard(key)
  }

  async close (): Promise<void> {
    this.#local.clear()
  }
}
