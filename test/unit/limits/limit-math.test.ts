import { describe, expect, it } from 'vitest'
import { dayWindow, gcra, gcraParameters, monthWindow } from '../../../src/limits/limit-math.js'

describe('GCRA', () => {
  const parameters = gcraParameters(1, 3)

  it('allows a full burst, then one request per interval', () => {
    let arrival: number | undefined
    const results = [0, 0, 0, 0].map(() => {
      const result = gcra(arrival, 1000, parameters)
      if (result.allowed) arrival = result.newArrivalMs
      return result
    })
    expect(results.map(result => result.allowed)).toEqual([true, true, true, false])
    expect(results.map(result => result.remaining)).toEqual([2, 1, 0, 0])
    expect(results[3].retryAfterSeconds).toBe(1)
    expect(gcra(arrival, 2000, parameters).allowed).toBe(true)
    expect(gcra(arrival, 1999, parameters).allowed).toBe(false)
  })

  it('refills the whole burst after burst × interval', () => {
    const full = gcra(undefined, 0, parameters)
    expect(full.resetSeconds).toBe(1)
    expect(gcra(4000, 4000, parameters).remaining).toBe(2)
  })
})

describe('calendar windows', () => {
  it('rolls the day at UTC midnight and the month on the first', () => {
    const lastMoment = Date.UTC(2026, 11, 31, 23, 59, 59, 999)
    expect(dayWindow(lastMoment)).toEqual({ id: '2026-12-31', resetAtMs: Date.UTC(2027, 0, 1), resetAt: new Date(Date.UTC(2027, 0, 1)) })
    expect(monthWindow(lastMoment)).toEqual({ id: '2026-12', resetAtMs: Date.UTC(2027, 0, 1), resetAt: new Date(Date.UTC(2027, 0, 1)) })
    expect(dayWindow(lastMoment + 1).id).toBe('2027-01-01')
  })
})
