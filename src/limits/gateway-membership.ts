// How many gateway nodes share the cluster-wide limits: each node keeps an entry in one
// Redis sorted set, scored by an expiry it pushes forward on a heartbeat. While Redis is
// away every node falls back to its 1/N share of each plan, with N the last count it saw.
import { randomUUID } from 'node:crypto'
import type { RedisAvailability } from '../store/redis-availability.js'
import type { RedisConnection } from '../store/redis.js'

// KEYS: the node set. ARGV: node id, entry TTL ms. Returns the number of live nodes.
const HEARTBEAT_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return redis.call('ZCARD', KEYS[1])
`

type ScriptedRedis = RedisConnection & {
  pgwNodeHeartbeat: (key: string, nodeId: string, ttlMs: number) => Promise<number>
}

export class GatewayMembership {
  readonly nodeId = randomUUID()
  readonly #redis: ScriptedRedis
  readonly #availability: RedisAvailability
  readonly #key: string
  readonly #intervalMs: number
  #nodes = 1
  #timer: NodeJS.Timeout | undefined

  constructor (redis: RedisConnection, availability: RedisAvailability, keyPrefix: string, options: { intervalMs?: number } = {}) {
    if (typeof (redis as unknown as Partial<ScriptedRedis>).pgwNodeHeartbeat !== 'function') {
      redis.defineCommand('pgwNodeHeartbeat', { numberOfKeys: 1, lua: HEARTBEAT_SCRIPT })
    }
    this.#redis = redis as unknown as ScriptedRedis
    this.#availability = availability
    this.#key = `${keyPrefix}gateway-nodes`
    this.#intervalMs = options.intervalMs ?? 2_000
  }

  /** Live gateway nodes, as last seen in Redis (at least 1). */
  get nodes (): number {
    return this.#nodes
  }

  async start (): Promise<void> {
    await this.heartbeat()
    this.#timer = setInterval(() => { void this.heartbeat() }, this.#intervalMs)
    this.#timer.unref()
  }

  async heartbeat (): Promise<void> {
    try {
      this.#nodes = Math.max(1, await this.#availability.run(async () => await this.#redis.pgwNodeHeartbeat(this.#key, this.nodeId, this.#intervalMs * 3)))
    } catch {
      // keep the last count: it is the best estimate of the cluster while Redis is away
    }
  }

  async stop (): Promise<void> {
    clearInterval(this.#timer)
    await this.#availability.run(async () => await this.#redis.zrem(this.#key, this.nodeId)).catch(() => {})
  }
}
