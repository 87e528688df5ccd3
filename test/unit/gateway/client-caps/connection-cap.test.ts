// Counting open connections per client: the one over the cap is not counted, a closed one
// makes room, and clients do not share counts.
import { describe, expect, it } from 'vitest'
import { ConnectionsPerClient } from '../../../../src/gateway/client-caps/connection-cap.js'

describe('connections per client', () => {
  it('admits up to the cap, refuses the next without counting it, and makes room when one closes', () => {
    const counts = new ConnectionsPerClient(2)
    expect([counts.tryOpen('203.0.113.7'), counts.tryOpen('203.0.113.7'), counts.tryOpen('203.0.113.7')]).toEqual([true, true, false])
    expect(counts.openFor('203.0.113.7')).toBe(2)
    counts.close('203.0.113.7')
    expect(counts.tryOpen('203.0.113.7')).toBe(true)
    expect(counts.tryOpen('203.0.113.7')).toBe(false)
  })

  it('counts each client on its own', () => {
    const counts = new ConnectionsPerClient(1)
    expect(counts.tryOpen('203.0.113.7')).toBe(true)
    expect(counts.tryOpen('203.0.113.8')).toBe(true)
    expect(counts.tryOpen('2001:db8:1:2::/64')).toBe(true)
    expect(counts.tryOpen('203.0.113.7')).toBe(false)
  })

  it('forgets a client whose last connection closed', () => {
    const counts = new ConnectionsPerClient(3)
    counts.tryOpen('203.0.113.7')
    counts.tryOpen('203.0.113.7')
    counts.close('203.0.113.7')
    counts.close('203.0.113.7')
    expect(counts.openFor('203.0.113.7')).toBe(0)
    counts.close('203.0.113.7')
    expect([counts.tryOpen('203.0.113.7'), counts.tryOpen('203.0.113.7'), counts.tryOpen('203.0.113.7'), counts.tryOpen('203.0.113.7')]).toEqual([true, true, true, false])
  })
})
