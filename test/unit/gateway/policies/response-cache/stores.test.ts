// The memory store's bound and order (least recently used out first, expired entries never
// returned) and the Redis store's record encoding.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { decodeRecord, encodeRecord } from '../../../../../src/gateway/policies/response-cache/redis-store.js'
import { MemoryResponseCache, type CachedAnswer } from '../../../../../src/gateway/policies/response-cache/stores.js'

function answer (bodyBytes: number, expiresAt = Date.now() + 60_000): CachedAnswer {
  return { kind: 'answer', headers: { 'content-type': 'text/plain' }, body: Buffer.alloc(bodyBytes, 'x'), receivedAt: Date.now(), initialAgeMs: 0, expiresAt }
}

describe('memory store', () => {
  beforeEach(() => { vi.useFakeTimers({ now: Date.parse('2026-12-02T14:00:00Z') }) })
  afterEach(() => { vi.useRealTimers() })

  it('evicts the least recently used entries once the bytes pass the bound', async () => {
    const store = new MemoryResponseCache(3000)
    store.set('a', answer(800))
    store.set('b', answer(800))
    await store.get('a')
    store.set('c', answer(800))
    expect(store.bytes).toBeLessThanOrEqual(3000)
    expect(await store.get('b')).toBeUndefined()
    expect(await store.get('a')).toBeDefined()
    expect(await store.get('c')).toBeDefined()
  })

  it('replaces an entry under the same key without counting it twice, and refuses one larger than the bound', async () => {
    const store = new MemoryResponseCache(3000)
    store.set('a', answer(800))
    const once = store.bytes
    store.set('a', answer(800))
    expect(store.bytes).toBe(once)
    store.set('big', answer(5000))
    expect(await store.get('big')).toBeUndefined()
    expect(await store.get('a')).toBeDefined()
    // a bound of 0 keeps nothing
    const none = new MemoryResponseCache(0)
    none.set('a', answer(1))
    expect(await none.get('a')).toBeUndefined()
  })

  it('forgets an entry once it has expired, and gives its bytes back', async () => {
    const store = new MemoryResponseCache(3000)
    store.set('a', answer(800, Date.now() + 1000))
    vi.advanceTimersByTime(999)
    expect(await store.get('a')).toBeDefined()
    vi.advanceTimersByTime(1)
    expect(await store.get('a')).toBeUndefined()
    expect(store.bytes).toBe(0)
  })
})

describe('Redis record encoding', () => {
  it('round-trips an answer, body bytes included, and a Vary index', () => {
    const stored: CachedAnswer = { kind: 'answer', headers: { 'content-type': 'application/octet-stream', etag: '"é"' }, body: Buffer.from([0, 1, 2, 255]), receivedAt: 1000, initialAgeMs: 250, expiresAt: 61_000 }
    expect(decodeRecord(encodeRecord(stored))).toEqual(stored)
    expect(decodeRecord(encodeRecord({ kind: 'vary', vary: ['accept-language', 'origin'], expiresAt: 5 }))).toEqual({ kind: 'vary', vary: ['accept-language', 'origin'], expiresAt: 5 })
  })

  it('reads bytes that are not a record as no record', () => {
    const encoded = encodeRecord(answer(10))
    expect(decodeRecord(Buffer.alloc(0))).toBeUndefined()
    expect(decodeRecord(encoded.subarray(0, 20))).toBeUndefined()
    expect(decodeRecord(Buffer.concat([Buffer.from([9]), encoded.subarray(1)]))).toBeUndefined()
    expect(decodeRecord(Buffer.from('plain text value'))).toBeUndefined()
  })
})
