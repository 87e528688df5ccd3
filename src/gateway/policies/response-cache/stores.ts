// Where cached answers live, behind one small interface: each gateway process's memory
// (least recently used first out, bounded in bytes) or Redis, shared by every gateway
// (redis-store.ts). A store that cannot answer answers nothing: a miss, never an error.
import type { Config } from '../../../config/schema.js'
import type { RedisAvailability } from '../../../store/redis-availability.js'
import type { RedisConnection } from '../../../store/redis.js'
import { RedisResponseCache } from './redis-store.js'

/** A stored answer to a GET. */
export interface CachedAnswer {
  kind: 'answer'
  headers: Record<string, string>
  body: Buffer
  /** when the upstream's headers arrived, ms since the epoch */
  receivedAt: number
  /** its age then, ms */
  initialAgeMs: number
  /** when it stops being fresh, ms since the epoch */
  expiresAt: number
}

/** Stands at an entry's key when its answers vary by request headers: each variant has a key of its own. */
export interface VaryIndex {
  kind: 'vary'
  vary: string[]
  expiresAt: number
}

export type CacheRecord = CachedAnswer | VaryIndex

export interface ResponseCacheStore {
  /** the record, or undefined when there is none, it expired, or the store could not tell */
  get: (key: string) => Promise<CacheRecord | undefined>
  /** keeps the record until it expires (or is evicted); a store that fails to only costs a later miss */
  set: (key: string, record: CacheRecord) => void
}

// the objects, map slot and strings around an entry, beyond its key, headers and body
const ENTRY_OVERHEAD_BYTES = 200

function recordBytes (key: string, record: CacheRecord): number {
  let bytes = ENTRY_OVERHEAD_BYTES + key.length
  if (record.kind === 'vary') return bytes + record.vary.join().length
  bytes += record.body.length
  for (const name in record.headers) bytes += name.length + record.headers[name].length
  return bytes
}

interface MemoryEntry {
  record: CacheRecord
  bytes: number
}

/** One process's cache: a Map in least-recently-used order, evicted from its front past `maxBytes`. */
export class MemoryResponseCache implements ResponseCacheStore {
  readonly #entries = new Map<string, MemoryEntry>()
  readonly #maxBytes: number
  #bytes = 0

  constructor (maxBytes: number) {
    this.#maxBytes = maxBytes
  }

  get bytes (): number {
    return this.#bytes
  }

  async get (key: string): Promise<CacheRecord | undefined> {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    this.#entries.delete(key)
    if (Date.now() >= entry.record.expiresAt) {
      this.#bytes -= entry.bytes
      return undefined
    }
    this.#entries.set(key, entry)
    return entry.record
  }

  set (key: string, record: CacheRecord): void {
    const previous = this.#entries.get(key)
    if (previous !== undefined) {
      this.#entries.delete(key)
      this.#bytes -= previous.bytes
    }
    const bytes = recordBytes(key, record)
    if (bytes > this.#maxBytes) return
    this.#entries.set(key, { record, bytes })
    this.#bytes += bytes
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break
      this.#entries.delete(oldest)
      this.#bytes -= entry.bytes
    }
  }
}

/** The store the configuration asks for: Redis (responseCacheStore "redis") or this process's memory. */
export function createResponseCacheStore (config: Config, redis: { connection: RedisConnection, availability: RedisAvailability } | undefined): ResponseCacheStore {
  if (config.responseCacheStore === 'redis' && redis !== undefined) return new RedisResponseCache(redis.connection, redis.availability, config.redisKeyPrefix)
  return new MemoryResponseCache(config.responseCacheMaxBytes)
}
