import { describe, expect, it } from 'vitest'
import { NonceTable, NonceTableFullError } from '../../../src/limits/nonce-table.js'

const START = Date.UTC(2026, 10, 26, 12)

describe('NonceTable', () => {
  it('refuses a nonce while it lives and accepts it again once it expired', () => {
    const table = new NonceTable({ maxEntries: 100, nowMs: START })
    expect(table.remember('key', 'n-1', START + 60_000, START)).toBe(true)
    expect(table.remember('key', 'n-1', START + 60_000, START + 1)).toBe(false)
    expect(table.remember('key', 'n-1', START + 60_000, START + 59_000)).toBe(false)
    expect(table.remember('key', 'n-1', START + 200_000, START + 61_000)).toBe(true)
    expect(table.remember('key', 'n-1', START + 200_000, START + 62_000)).toBe(false)
  })

  it('keeps a nonce at least until its expiry, rounded up to the second', () => {
    const table = new NonceTable({ maxEntries: 100, nowMs: START })
    expect(table.remember('key', 'n-1', START + 1_500, START)).toBe(true)
    expect(table.remember('key', 'n-1', START + 1_500, START + 1_999)).toBe(false)
    expect(table.remember('key', 'n-1', START + 1_500, START + 2_000)).toBe(true)
  })

  it('tells the same nonce of another key apart, wherever the two strings split', () => {
    const table = new NonceTable({ maxEntries: 100, nowMs: START })
    expect(table.remember('key-a', 'n', START + 60_000, START)).toBe(true)
    expect(table.remember('key-b', 'n', START + 60_000, START)).toBe(true)
    expect(table.remember('ab', 'c', START + 60_000, START)).toBe(true)
    expect(table.remember('a', 'bc', START + 60_000, START)).toBe(true)
    expect(table.remember('ab', 'c', START + 60_000, START)).toBe(false)
  })

  it('keeps every live nonce while it grows', () => {
    const table = new NonceTable({ maxEntries: 1_000_000, nowMs: START })
    const count = 200_000
    let accepted = 0
    for (let index = 0; index < count; index++) if (table.remember('key', `nonce-${index}`, START + 60_000, START)) accepted++
    let replays = 0
    for (let index = 0; index < count; index++) if (!table.remember('key', `nonce-${index}`, START + 60_000, START + 30_000)) replays++
    expect(accepted).toBe(count)
    expect(replays).toBe(count)
    expect(table.liveEntries(START + 30_000)).toBe(count)
    expect(table.capacity).toBeGreaterThanOrEqual(count * 2)
  })

  it('bounds live nonces, not nonces ever seen: an hour at 500/s with a 60 s lifetime stays small', () => {
    // the store this replaced refused every nonce once a million had been seen within twice the window
    const table = new NonceTable({ maxEntries: 40_000, nowMs: START })
    let refused = 0
    for (let second = 0; second < 3_600; second++) {
      const now = START + second * 1_000
      for (let index = 0; index < 500; index++) if (!table.remember('key', `${second}-${index}`, now + 60_000, now)) refused++
    }
    expect(refused).toBe(0)
    expect(table.liveEntries(START + 3_599_000)).toBeLessThanOrEqual(61 * 500)
    expect(table.capacity).toBeLessThanOrEqual(4 * 61 * 500 * 2)
  })

  it('refuses new nonces while full, without forgetting live ones, and accepts again once some expire', () => {
    const table = new NonceTable({ maxEntries: 5_000, nowMs: START })
    let accepted = 0
    let full = false
    for (let index = 0; index < 20_000 && !full; index++) {
      try {
        table.remember('key', `n-${index}`, START + 10_000, START)
        accepted++
      } catch (error) {
        expect(error).toBeInstanceOf(NonceTableFullError)
        full = true
      }
    }
    expect(full).toBe(true)
    expect(accepted).toBeGreaterThanOrEqual(5_000)
    expect(table.capacity).toBe(16_384)
    expect(() => table.remember('key', 'late', START + 10_000, START + 500)).toThrow(NonceTableFullError)
    for (let index = 0; index < accepted; index++) expect(table.remember('key', `n-${index}`, START + 10_000, START + 9_000)).toBe(false)
    expect(table.remember('key', 'after', START + 30_000, START + 11_000)).toBe(true)
  })

  it('finds no false replays among a million random nonces', () => {
    const table = new NonceTable({ maxEntries: 2_000_000, nowMs: START })
    let replays = 0
    for (let index = 0; index < 1_000_000; index++) {
      if (!table.remember('key', `${Math.random().toString(36).slice(2)}${index.toString(36)}`, START + 60_000, START)) replays++
    }
    expect(replays).toBe(0)
  })
})
