import { describe, expect, it } from 'vitest'
import { Balancer } from '../../../../src/gateway/proxy/balancer.js'
import { TargetHealth } from '../../../../src/gateway/proxy/health.js'

describe('Balancer', () => {
  it('interleaves smooth weighted round-robin picks', () => {
    const balancer = new Balancer('round-robin')
    const targets = [{ weight: 2, activeRequests: 0 }, { weight: 1, activeRequests: 0 }]
    const picks = Array.from({ length: 6 }, () => balancer.pick(targets, () => true))
    expect(picks).toEqual([0, 1, 0, 0, 1, 0])
  })

  it('skips unavailable targets and returns -1 when none is left', () => {
    const balancer = new Balancer('round-robin')
    const targets = [{ weight: 1, activeRequests: 0 }, { weight: 1, activeRequests: 0 }]
    expect(Array.from({ length: 3 }, () => balancer.pick(targets, index => index === 1))).toEqual([1, 1, 1])
    expect(balancer.pick(targets, () => false)).toBe(-1)
  })

  it('picks the least loaded target per unit of weight and rotates ties', () => {
    const balancer = new Balancer('least-connections')
    expect(balancer.pick([{ weight: 1, activeRequests: 4 }, { weight: 4, activeRequests: 8 }], () => true)).toBe(1)
    const idle = [{ weight: 1, activeRequests: 0 }, { weight: 1, activeRequests: 0 }, { weight: 1, activeRequests: 0 }]
    expect(Array.from({ length: 3 }, () => balancer.pick(idle, () => true)).sort()).toEqual([0, 1, 2])
  })
})

describe('TargetHealth', () => {
  it('ejects after consecutive failures for a doubling cool-down, and forgives after a success', () => {
    const health = new TargetHealth({ failuresToEject: 2, baseEjectionMs: 1000, maxEjectionMs: 3000 })
    health.recordFailure(0)
    expect(health.isAvailable(0)).toBe(true)
    health.recordFailure(0)
    expect(health.isAvailable(999)).toBe(false)
    expect(health.isAvailable(1000)).toBe(true)
    health.recordFailure(1000)
    expect(health.isAvailable(2999)).toBe(false)
    expect(health.isAvailable(3000)).toBe(true)
    health.recordSuccess()
    health.recordFailure(4000)
    expect(health.isAvailable(4000)).toBe(true)
  })
})
