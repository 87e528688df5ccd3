import { describe, expect, it } from 'vitest'
import { TargetHealth, type HealthChange } from '../../../../src/gateway/proxy/health.js'

const OPTIONS = { failuresToEject: 2, baseEjectionMs: 1000, maxEjectionMs: 3000 }
const CHECK = { path: '/health', healthyThreshold: 2, unhealthyThreshold: 2 }

function recorded (): { health: TargetHealth, changes: HealthChange[] } {
  const changes: HealthChange[] = []
  return { health: new TargetHealth(OPTIONS, change => { changes.push(change) }), changes }
}

describe('TargetHealth', () => {
  it('ejects after consecutive failures for a doubling cool-down capped at the ceiling', () => {
    const { health } = recorded()
    health.recordFailure(0)
    expect(health.isAvailable(0)).toBe(true)
    health.recordFailure(0)
    expect(health.isAvailable(999)).toBe(false)
    expect(health.isAvailable(1000)).toBe(true)
    // back from its cool-down, one more failure ejects it again, for twice as long
    health.recordFailure(1000)
    expect(health.isAvailable(2999)).toBe(false)
    expect(health.isAvailable(3000)).toBe(true)
    health.recordFailure(3000)
    expect(health.isAvailable(5999)).toBe(false)
    expect(health.isAvailable(6000)).toBe(true)
    health.recordFailure(6000)
    expect(health.isAvailable(8999)).toBe(false)
    expect(health.isAvailable(9000)).toBe(true)
  })

  it('forgives failures after a success', () => {
    const { health } = recorded()
    health.recordFailure(0)
    health.recordSuccess()
    health.recordFailure(10)
    expect(health.isAvailable(10)).toBe(true)
  })

  it('starts the doubling over once the target has stayed in service for a whole ceiling', () => {
    const { health } = recorded()
    health.recordFailure(0)
    health.recordFailure(0)
    expect(health.isAvailable(1000)).toBe(true)
    health.recordFailure(1000)
    expect(health.isAvailable(3000)).toBe(true)
    health.recordFailure(6000)
    expect(health.isAvailable(6999)).toBe(false)
    expect(health.isAvailable(7000)).toBe(true)
  })

  it('does not extend an ejection with failures of traffic sent to it anyway', () => {
    const { health, changes } = recorded()
    health.recordFailure(0)
    health.recordFailure(0)
    health.recordFailure(500)
    health.recordFailure(900)
    expect(health.isAvailable(1000)).toBe(true)
    expect(changes.filter(change => change.kind === 'ejected')).toHaveLength(1)
  })

  it('brings an ejected target back at once when a request to it succeeds', () => {
    const { health, changes } = recorded()
    health.recordFailure(0)
    health.recordFailure(0)
    health.recordSuccess(100)
    expect(health.isAvailable(100)).toBe(true)
    expect(changes).toEqual([{ kind: 'ejected', cause: 'failures', ejectionMs: 1000 }, { kind: 'returned', cause: 'request-succeeded' }])
  })

  it('brings a passively ejected target back on the first passing probe', () => {
    const { health, changes } = recorded()
    health.recordFailure(0)
    health.recordFailure(0)
    health.recordProbe(true, CHECK, 10)
    expect(health.isAvailable(10)).toBe(true)
    expect(changes[1]).toEqual({ kind: 'returned', cause: 'health-check' })
  })

  it('takes a target out after failed probes and back after the healthy threshold of passing ones', () => {
    const { health, changes } = recorded()
    health.recordProbe(false, CHECK, 0)
    expect(health.isAvailable(0)).toBe(true)
    health.recordProbe(false, CHECK, 0)
    health.recordProbe(false, CHECK, 0)
    expect(health.isAvailable(0)).toBe(false)
    health.recordProbe(true, CHECK, 0)
    expect(health.isAvailable(0)).toBe(false)
    health.recordProbe(true, CHECK, 0)
    expect(health.isAvailable(0)).toBe(true)
    expect(changes).toEqual([{ kind: 'ejected', cause: 'health-check' }, { kind: 'returned', cause: 'health-check' }])
  })

  it('reports each ejection and each return exactly once however often it is asked', () => {
    const { health, changes } = recorded()
    health.recordFailure(0)
    health.recordFailure(0)
    for (let now = 0; now < 2000; now += 100) health.isAvailable(now)
    expect(changes).toEqual([{ kind: 'ejected', cause: 'failures', ejectionMs: 1000 }, { kind: 'returned', cause: 'ejection-over' }])
  })

  it('stays out while its health check fails even when its passive ejection is over', () => {
    const { health, changes } = recorded()
    health.recordProbe(false, CHECK, 0)
    health.recordProbe(false, CHECK, 0)
    health.recordFailure(0)
    health.recordFailure(0)
    expect(health.isAvailable(5000)).toBe(false)
    expect(changes).toEqual([{ kind: 'ejected', cause: 'health-check' }])
  })
})
