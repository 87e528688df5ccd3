// Failures per client in memory: a fixed window started by the first failure, and a bound on
// the clients remembered that forgets the least recently failed first.
import { describe, expect, it } from 'vitest'
import { MemoryFailureCounter } from '../../../src/limits/failure-counter.js'

const WINDOW_MS = 60_000
const T0 = Date.UTC(2026, 11, 2, 12)

describe('memory failure counter', () => {
  it('counts failures in a window that the first one starts, then from zero', async () => {
    const counter = new MemoryFailureCounter()
    expect(await counter.increment('203.0.113.7', WINDOW_MS, T0)).toEqual({ count: 1, resetInMs: WINDOW_MS })
    expect(await counter.increment('203.0.113.7', WINDOW_MS, T0 + 20_000)).toEqual({ count: 2, resetInMs: 40_000 })
    expect(await counter.increment('203.0.113.7', WINDOW_MS, T0 + WINDOW_MS - 1)).toEqual({ count: 3, resetInMs: 1 })
    expect(await counter.increment('203.0.113.7', WINDOW_MS, T0 + WINDOW_MS)).toEqual({ count: 1, resetInMs: WINDOW_MS })
  })

  it('counts each client on its own', async () => {
    const counter = new MemoryFailureCounter()
    await counter.increment('203.0.113.7', WINDOW_MS, T0)
    await counter.increment('203.0.113.7', WINDOW_MS, T0)
    expect((await counter.increment('203.0.113.8', WINDOW_MS, T0)).count).toBe(1)
  })

  it('remembers a bounded number of clients, forgetting the least recently failed first', async () => {
    const counter = new MemoryFailureCounter(2)
    await counter.increment('a', WINDOW_MS, T0)
    await counter.increment('b', WINDOW_MS, T0)
    await counter.increment('a', WINDOW_MS, T0 + 1)
    await counter.increment('c', WINDOW_MS, T0 + 2)
    expect((await counter.increment('a', WINDOW_MS, T0 + 3)).count).toBe(3)
    expect((await counter.increment('b', WINDOW_MS, T0 + 4)).count).toBe(1)
  })
})
