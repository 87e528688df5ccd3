// The response cache's pure logic: Cache-Control parsing, what may be stored and for how long
// (RFC 9111 as a shared cache), ages, and how keys are built.
import type { IncomingHttpHeaders } from 'node:http'
import { describe, expect, it } from 'vitest'
import {
  acceptableAge, ageHeader, cacheKey, correctedInitialAgeMs, currentAgeMs, normaliseQuery, parseCacheControl, requestCacheDirectives, storedHeaders, storeDecision,
  variantKey, varyNames, type CacheKeyParts, type UpstreamAnswer
} from '../../../../../src/gateway/policies/response-cache/cache-policy.js'

const NOW = Date.parse('2026-12-02T14:00:00.500Z')
const SETTINGS = { defaultTtlSeconds: 60, maxTtlSeconds: 3600 }

function answer (headers: IncomingHttpHeaders, extra: Partial<UpstreamAnswer> = {}): UpstreamAnswer {
  return { statusCode: 200, headers, receivedAt: NOW, responseDelayMs: 0, forwardedAuthorization: false, ...extra }
}

function httpDate (offsetSeconds: number): string {
  return new Date(Math.floor(NOW / 1000) * 1000 + offsetSeconds * 1000).toUTCString()
}

describe('Cache-Control parsing', () => {
  it('lowercases names, unquotes values and keeps a quoted list as one directive', () => {
    expect([...parseCacheControl('Public, MAX-AGE=60, private="set-cookie, x-user", no-cache')]).toEqual([
      ['public', true], ['max-age', '60'], ['private', 'set-cookie, x-user'], ['no-cache', true]
    ])
  })

  it('keeps the first of a repeated directive, reads several header lines as one list, and skips empty members', () => {
    expect([...parseCacheControl(['max-age=10', ' , max-age=99,s-maxage = 5'])]).toEqual([['max-age', '10'], ['s-maxage', '5']])
    expect(parseCacheControl(undefined).size).toBe(0)
  })

  it('reads the request directives the cache follows', () => {
    expect(requestCacheDirectives({})).toEqual({ noStore: false, noCache: false, maxAgeSeconds: undefined })
    expect(requestCacheDirectives({ 'cache-control': 'no-cache' })).toEqual({ noStore: false, noCache: true, maxAgeSeconds: undefined })
    expect(requestCacheDirectives({ 'cache-control': 'no-store, max-age=5' })).toEqual({ noStore: true, noCache: false, maxAgeSeconds: 5 })
    // a malformed max-age accepts nothing stored
    expect(requestCacheDirectives({ 'cache-control': 'max-age=soon' }).maxAgeSeconds).toBe(0)
  })
})

describe('what may be stored, and for how long', () => {
  it('keeps an answer without expiry for the route TTL', () => {
    expect(storeDecision(answer({}), SETTINGS)).toEqual({ store: true, initialAgeMs: 0, ttlMs: 60_000, vary: [] })
  })

  it('takes s-maxage over max-age, max-age over Expires, and Expires relative to Date', () => {
    const expires = httpDate(300)
    expect(storeDecision(answer({ 'cache-control': 'max-age=100, s-maxage=20', expires }), SETTINGS)).toMatchObject({ ttlMs: 20_000 })
    expect(storeDecision(answer({ 'cache-control': 'max-age=100', expires }), SETTINGS)).toMatchObject({ ttlMs: 100_000 })
    expect(storeDecision(answer({ expires, date: httpDate(-100) }), SETTINGS)).toMatchObject({ ttlMs: 300_000 })
  })

  it('never keeps anything longer than the configured maximum', () => {
    expect(storeDecision(answer({ 'cache-control': 's-maxage=999999999' }), SETTINGS)).toMatchObject({ ttlMs: 3_600_000 })
  })

  it('counts the age the answer arrived with against its freshness', () => {
    expect(storeDecision(answer({ 'cache-control': 'max-age=100', age: '30' }, { responseDelayMs: 250 }), SETTINGS)).toEqual({ store: true, initialAgeMs: 30_250, ttlMs: 69_750, vary: [] })
    expect(storeDecision(answer({ 'cache-control': 'max-age=100', date: httpDate(-40) }), SETTINGS)).toMatchObject({ initialAgeMs: 40_000, ttlMs: 60_000 })
    expect(storeDecision(answer({ 'cache-control': 'max-age=100', age: '100' }), SETTINGS)).toEqual({ store: false, reason: 'stale' })
  })

  it.each([
    [{ 'cache-control': 'max-age=0' }, 'stale'],
    [{ 'cache-control': 'max-age=ten' }, 'stale'],
    [{ expires: '0' }, 'stale'],
    [{ expires: httpDate(-5) }, 'stale'],
    [{ 'cache-control': 'no-store' }, 'no-store'],
    [{ 'cache-control': 'public, no-store, max-age=60' }, 'no-store'],
    [{ 'cache-control': 'private, max-age=60' }, 'private'],
    [{ 'cache-control': 'private="x-user", max-age=60' }, 'private'],
    [{ 'cache-control': 'no-cache' }, 'no-cache'],
    [{ 'set-cookie': ['a=1'] }, 'set-cookie'],
    [{ vary: 'Accept, *' }, 'vary-any']
  ])('does not store an answer with %j (%s)', (headers, reason) => {
    expect(storeDecision(answer(headers as IncomingHttpHeaders), SETTINGS)).toEqual({ store: false, reason })
  })

  it('stores only 200 answers', () => {
    for (const statusCode of [203, 204, 206, 301, 304, 404, 500]) expect(storeDecision(answer({}, { statusCode }), SETTINGS)).toEqual({ store: false, reason: 'status' })
  })

  it("stores an answer to a request the upstream authorised itself only when the answer allows it (RFC 9111 §3.5)", () => {
    expect(storeDecision(answer({}, { forwardedAuthorization: true }), SETTINGS)).toEqual({ store: false, reason: 'authorization' })
    for (const cacheControl of ['public', 's-maxage=30', 'must-revalidate']) {
      expect(storeDecision(answer({ 'cache-control': cacheControl }, { forwardedAuthorization: true }), SETTINGS).store).toBe(true)
    }
  })

  it('names the request headers an answer varies by, lowercased, sorted and once each', () => {
    expect(varyNames('Accept-Language, accept-encoding,Accept-Language')).toEqual(['accept-encoding', 'accept-language'])
    expect(varyNames(['Origin', 'Accept'])).toEqual(['accept', 'origin'])
    expect(varyNames(undefined)).toEqual([])
    expect(varyNames('*')).toBe('*')
    expect(storeDecision(answer({ vary: 'Origin' }), SETTINGS)).toMatchObject({ store: true, vary: ['origin'] })
  })
})

describe('ages', () => {
  it('counts apparent age from Date in whole seconds: an answer is not older for being received late within its second', () => {
    expect(correctedInitialAgeMs({ date: httpDate(0) }, NOW, 0)).toBe(0)
    expect(correctedInitialAgeMs({ date: httpDate(-2) }, NOW, 0)).toBe(2000)
    // a Date in the future (a fast upstream clock) is no negative age
    expect(correctedInitialAgeMs({ date: httpDate(30) }, NOW, 10)).toBe(10)
    expect(correctedInitialAgeMs({ age: 'old' }, NOW, 10)).toBe(10)
  })

  it('ages a stored answer with the time it has been kept, and tells the client whole seconds', () => {
    expect(currentAgeMs(1500, NOW, NOW + 2000)).toBe(3500)
    expect(ageHeader(3500)).toBe('3')
    expect(acceptableAge({ noStore: false, noCache: false, maxAgeSeconds: 3 }, 3000)).toBe(true)
    expect(acceptableAge({ noStore: false, noCache: false, maxAgeSeconds: 3 }, 3001)).toBe(false)
    expect(acceptableAge({ noStore: false, noCache: false, maxAgeSeconds: undefined }, 1e9)).toBe(true)
  })
})

describe('stored headers', () => {
  it("drops hop-by-hop headers, those Connection lists, and the cache's and gateway's own; joins repeated ones", () => {
    expect(storedHeaders({
      'content-type': 'application/json',
      'content-length': '12',
      connection: 'keep-alive, x-hop',
      'x-hop': '1',
      'transfer-encoding': 'chunked',
      'keep-alive': 'timeout=5',
      age: '3',
      'x-cache': 'MISS',
      'x-request-id': 'upstream-id',
      link: ['</a>; rel=a', '</b>; rel=b'],
      etag: '"v1"'
    })).toEqual({ 'content-type': 'application/json', link: '</a>; rel=a, </b>; rel=b', etag: '"v1"' })
  })
})

describe('cache keys', () => {
  const parts: CacheKeyParts = { generation: 0, apiId: 'api', upstreamId: 'up', host: 'api.example.com', route: '/orders', upstreamPath: '/42', query: 'a=1', appId: 'app-1' }

  it('sorts query parameters by name, keeping the order of repeated names', () => {
    expect(normaliseQuery('b=2&a=1&c')).toBe('a=1&b=2&c')
    expect(normaliseQuery('tag=z&id=1&tag=a')).toBe('id=1&tag=z&tag=a')
    expect(normaliseQuery('&&x=1&')).toBe('x=1')
    expect(normaliseQuery('')).toBe('')
  })

  it('gives each part its say: another app, path, query, host, route, upstream or generation is another entry', () => {
    const key = cacheKey(parts)
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(cacheKey({ ...parts })).toBe(key)
    for (const changed of [
      { appId: 'app-2' }, { appId: undefined }, { upstreamPath: '/43' }, { query: 'a=2' }, { host: 'other.example.com' },
      { route: '/orders/v2' }, { upstreamId: 'up-2' }, { apiId: 'api-2' }, { generation: 1 }
    ]) expect(cacheKey({ ...parts, ...changed }), JSON.stringify(changed)).not.toBe(key)
    // parts cannot run into each other
    expect(cacheKey({ ...parts, upstreamPath: '/42\na=1', query: '' })).not.toBe(key)
  })

  it('keys variants by the values of the headers Vary names: an absent header is not an empty one, spaces in lists do not count', () => {
    const key = cacheKey(parts)
    const english = variantKey(key, ['accept-language'], { 'accept-language': 'en' })
    expect(variantKey(key, ['accept-language'], { 'accept-language': 'en' })).toBe(english)
    expect(variantKey(key, ['accept-language'], { 'accept-language': 'de' })).not.toBe(english)
    expect(variantKey(key, ['accept-language'], {})).not.toBe(variantKey(key, ['accept-language'], { 'accept-language': '' }))
    expect(variantKey(key, ['accept-encoding'], { 'accept-encoding': 'gzip,  br' })).toBe(variantKey(key, ['accept-encoding'], { 'accept-encoding': 'gzip, br' }))
    expect(variantKey(key, ['accept-language', 'origin'], { 'accept-language': 'en' })).not.toBe(english)
  })
})
