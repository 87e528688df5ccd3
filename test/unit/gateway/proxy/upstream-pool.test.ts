// The pool's choices without any network: targets are failed by hand, picks are counted.
import type { FastifyBaseLogger } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { UpstreamPool } from '../../../../src/gateway/proxy/upstream-pool.js'
import type { SnapshotUpstream } from '../../../../src/store/config-snapshot.js'

interface LogLine { level: string, fields: Record<string, unknown>, message: string }

function recordingLogger (lines: LogLine[]): FastifyBaseLogger {
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => { lines.push({ level, fields, message }) }
  return { warn: at('warn'), info: at('info') } as unknown as FastifyBaseLogger
}

function definition (urls: string[]): SnapshotUpstream {
  return { id: 'u1', name: 'orders', targets: urls.map(url => ({ url, weight: 1 })), loadBalancing: 'round-robin', healthCheck: null, connectTimeoutMs: 1000, responseTimeoutMs: 1000 }
}

describe('UpstreamPool', () => {
  const pools: UpstreamPool[] = []
  afterEach(async () => { for (const pool of pools.splice(0)) await pool.close() })

  function poolOf (urls: string[], lines: LogLine[] = [], ejections: string[] = []): UpstreamPool {
    const pool = new UpstreamPool(definition(urls), {
      concurrency: { maxInFlight: 8, appSharePercent: 50 },
      passiveHealth: { failuresToEject: 2, baseEjectionMs: 60_000, maxEjectionMs: 120_000 },
      log: recordingLogger(lines),
      onEjection: (upstream, cause) => { ejections.push(`${upstream}:${cause}`) }
    })
    pools.push(pool)
    return pool
  }

  function eject (pool: UpstreamPool, index: number): void {
    pool.targets[index].health.recordFailure(Date.now())
    pool.targets[index].health.recordFailure(Date.now())
  }

  function picks (pool: UpstreamPool, count: number): string[] {
    return Array.from({ length: count }, () => pool.pick()?.url ?? 'none')
  }

  it('sends nothing to an ejected target while the others can carry the traffic', () => {
    const pool = poolOf(['http://a.test', 'http://b.test'])
    eject(pool, 0)
    expect(new Set(picks(pool, 6))).toEqual(new Set(['http://b.test']))
  })

  it('keeps using the only target of an upstream when it is ejected', () => {
    const pool = poolOf(['http://a.test'])
    eject(pool, 0)
    expect(pool.targets[0].health.isAvailable(Date.now())).toBe(false)
    expect(picks(pool, 3)).toEqual(['http://a.test', 'http://a.test', 'http://a.test'])
  })

  it('balances over every target once fewer than half are healthy, and logs entering and leaving that once', () => {
    const lines: LogLine[] = []
    const pool = poolOf(['http://a.test', 'http://b.test', 'http://c.test'], lines)
    eject(pool, 0)
    eject(pool, 1)
    expect(new Set(picks(pool, 9))).toEqual(new Set(['http://a.test', 'http://b.test', 'http://c.test']))
    pool.targets[0].health.recordSuccess()
    picks(pool, 3)
    expect(lines.filter(line => line.message.includes('balancing over')).map(line => line.level)).toEqual(['warn', 'info'])
  })

  it('logs and counts each ejection and return once, naming the upstream and target', () => {
    const lines: LogLine[] = []
    const ejections: string[] = []
    const pool = poolOf(['http://a.test', 'http://b.test'], lines, ejections)
    eject(pool, 0)
    picks(pool, 5)
    pool.targets[0].health.recordProbe(true, { path: '/health' }, Date.now())
    picks(pool, 5)
    expect(ejections).toEqual(['orders:failures'])
    expect(lines).toEqual([
      { level: 'warn', fields: { upstream: 'orders', target: 'http://a.test', cause: 'failures', ejectionMs: 60_000 }, message: 'upstream target ejected' },
      { level: 'info', fields: { upstream: 'orders', target: 'http://a.test', cause: 'health-check' }, message: 'upstream target returned' }
    ])
    expect(pool.targetHealth()).toEqual([{ target: 'http://a.test', healthy: true, connections: 0 }, { target: 'http://b.test', healthy: true, connections: 0 }])
  })

  it('keeps target health and the in-flight count across a configuration change', () => {
    const pool = poolOf(['http://a.test', 'http://b.test'])
    eject(pool, 0)
    pool.concurrency.tryAcquire('app')
    pool.update(definition(['http://a.test', 'http://b.test', 'http://c.test']))
    expect(pool.targetHealth().map(target => target.healthy)).toEqual([false, true, true])
    expect(pool.concurrency.inFlight).toBe(1)
  })
})
