import { describe, expect, it } from 'vitest'
import { Balancer } from '../../../../src/gateway/proxy/balancer.js'

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
