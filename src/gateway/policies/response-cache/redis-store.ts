// Cached answers in Redis, shared by every gateway: one string key per record, expiring with
// it (PX), so Redis holds nothing longer than responseCacheMaxTtlSeconds. Each call goes
// through RedisAvailability: within the Redis deadline, and not at all while Redis is down.
// Any failure is a miss (or a record not kept), never a failed request.
import type { RedisAvailability } from '../../../store/redis-availability.js'
import type { RedisConnection } from '../../../store/redis.js'
import type { CacheRecord, ResponseCacheStore } from './stores.js'

// [format byte][uint32 length of the JSON part][JSON: headers and times][body bytes]
const FORMAT_ANSWER = 1
const FORMAT_VARY = 2
const PREAMBLE_BYTES = 5

export function encodeRecord (record: CacheRecord): Buffer {
  const json = Buffer.from(JSON.stringify(record.kind === 'answer'
    ? { h: record.headers, r: record.receivedAt, a: record.initialAgeMs, e: record.expiresAt }
    : { v: record.vary, e: record.expiresAt }))
  const body = record.kind === 'answer' ? record.body : undefined
  const encoded = Buffer.allocUnsafe(PREAMBLE_BYTES + json.length + (body?.length ?? 0))
  encoded[0] = record.kind === 'answer' ? FORMAT_ANSWER : FORMAT_VARY
  encoded.writeUInt32BE(json.length, 1)
  json.copy(encoded, PREAMBLE_BYTES)
  body?.copy(encoded, PREAMBLE_BYTES + json.length)
  return encoded
}

/** The record, or undefined for bytes that are not one (another version's, or damaged). */
export function decodeRecord (encoded: Buffer): CacheRecord | undefined {
  if (encoded.length < PREAMBLE_BYTES) return undefined
  const jsonEnd = PREAMBLE_BYTES + encoded.readUInt32BE(1)
  if (jsonEnd > encoded.length) return undefined
  let fields: { h?: Record<string, string>, r?: number, a?: number, v?: string[], e?: number }
  try {
    fields = JSON.parse(encoded.toString('utf8', PREAMBLE_BYTES, jsonEnd))
  } catch {
    return undefined
  }
  if (typeof fields.e !== 'number') return undefined
  if (encoded[0] === FORMAT_ANSWER && typeof fields.h === 'object' && typeof fields.r === 'number' && typeof fields.a === 'number') {
    return { kind: 'answer', headers: fields.h, body: encoded.subarray(jsonEnd), receivedAt: fields.r, initialAgeMs: fields.a, expiresAt: fields.e }
  }
  if (encoded[0] === FORMAT_VARY && Array.isArray(fields.v)) return { kind: 'vary', vary: fields.v, expiresAt: fields.e }
  return undefined
}

export class RedisResponseCache implements ResponseCacheStore {
  readonly #redis: RedisConnection
  readonly #availability: RedisAvailability
  readonly #prefix: string

  constructor (redis: RedisConnection, availability: RedisAvailability, keyPrefix: string) {
    this.#redis = redis
    this.#availability = availability
    this.#prefix = `${keyPrefix}response-cache:`
  }

  async get (key: string): Promise<CacheRecord | undefined> {
    try {
      const encoded = await this.#availability.run(async () => await this.#redis.getBuffer(this.#prefix + key))
      if (encoded === null) return undefined
      const record = decodeRecord(encoded)
      return record !== undefined && Date.now() < record.expiresAt ? record : undefined
    } catch {
      return undefined
    }
  }

  set (key: string, record: CacheRecord): void {
    const ttlMs = record.expiresAt - Date.now()
    if (ttlMs <= 0) return
    this.#availability.run(async () => await this.#redis.set(this.#prefix + key, encodeRecord(record), 'PX', ttlMs)).catch(() => {})
  }
}
