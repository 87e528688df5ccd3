import { describe, expect, it } from 'vitest'
import { ConcurrencyLimit } from '../../../../src/gateway/proxy/concurrency-limit.js'

describe('ConcurrencyLimit', () => {
  it('gives one app at most its share of the upstream', () => {
    const limit = new ConcurrencyLimit({ maxInFlight: 4, appSharePercent: 50 })
    expect([limit.tryAcquire('a'), limit.tryAcquire('a'), limit.tryAcquire('a')]).toEqual(['admitted', 'admitted', 'app-over-share'])
    expect(limit.inFlightOf('a')).toBe(2)
  })

  it('refuses everyone once the upstream is full, and admits again after a release', () => {
    const limit = new ConcurrencyLimit({ maxInFlight: 4, appSharePercent: 50 })
    for (const app of ['a', 'a', 'b', 'b']) expect(limit.tryAcquire(app)).toBe('admitted')
    expect(limit.tryAcquire('c')).toBe('upstream-full')
    // an app over its share hears about its own excess, not the full upstream
    expect(limit.tryAcquire('a')).toBe('app-over-share')
    limit.release('b')
    expect(limit.tryAcquire('c')).toBe('admitted')
  })

  it('returns to zero and forgets apps once every slot is released', () => {
    const limit = new ConcurrencyLimit({ maxInFlight: 10, appSharePercent: 30 })
    limit.tryAcquire('a')
    limit.tryAcquire('a')
    limit.tryAcquire('b')
    limit.release('a')
    limit.release('b')
    limit.release('a')
    expect({ total: limit.inFlight, a: limit.inFlightOf('a'), b: limit.inFlightOf('b') }).toEqual({ total: 0, a: 0, b: 0 })
  })

  it('refuses a release without a slot instead of going negative', () => {
    const limit = new ConcurrencyLimit({ maxInFlight: 1, appSharePercent: 100 })
    expect(() => { limit.release('a') }).toThrow(/without a slot/)
    expect(limit.inFlight).toBe(0)
  })

  it('lets every app hold at least one request however small its share', () => {
    expect(new ConcurrencyLimit({ maxInFlight: 1, appSharePercent: 1 }).maxPerApp).toBe(1)
    expect(new ConcurrencyLimit({ maxInFlight: 256, appSharePercent: 50 }).maxPerApp).toBe(128)
  })
})
