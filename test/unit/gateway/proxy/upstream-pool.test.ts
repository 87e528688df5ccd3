// The pool's choices without any network: targets are failed by hand, picks are counted.
import type { FastifyBaseLogger } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { UpstreamPool } from '../../../../src/gateway/proxy/upstream-pool.js'
import type { UpstreamTls } from '../../../../src/gateway/proxy/upstream-tls.js'
import type { CompiledUpstream } from '../../../../src/gateway/snapshot/compile.js'

interface LogLine { level: string, fields: Record<string, unknown>, message: string }

function recordingLogger (lines: LogLine[]): FastifyBaseLogger {
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => { lines.push({ level, fields, message }) }
  return { warn: at('warn'), info: at('info'), error: at('error') } as unknown as FastifyBaseLogger
}

function definition (urls: string[], tlsOptions?: UpstreamTls): CompiledUpstream {
  return { id: 'u1', name: 'orders', targets: urls.map(url => ({ url, weight: 1 })), loadBalancing: 'round-robin', healthCheck: null, connectTimeoutMs: 1000, responseTimeoutMs: 1000, tlsOptions }
}

/** Node's own CAs, no client certificate: settings OpenSSL takes without any PEM */
function tls (fingerprint: string, change: Partial<UpstreamTls> = {}): UpstreamTls {
  return { ca: undefined, cert: undefined, key: undefined, servername: undefined, rejectUnauthorized: true, clientKeyUnreadable: false, fingerprint, ...change }
}

describe('UpstreamPool', () => {
  const pools: UpstreamPool[] = []
  afterEach(async () => { for (const pool of pools.splice(0)) await pool.close() })

  function poolOf (urls: string[] | CompiledUpstream, lines: LogLine[] = [], ejections: string[] = []): UpstreamPool {
    const pool = new UpstreamPool(Array.isArray(urls) ? definition(urls) : urls, {
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

  it('builds a new pool for an https target when the TLS settings change, and keeps it when they do not', () => {
    const pool = poolOf(definition(['https://a.test', 'http://b.test'], tls('one')))
    const [secure, plain] = pool.targets.map(target => target.pool)
    pool.update(definition(['https://a.test', 'http://b.test'], tls('one')))
    expect(pool.targets[0].pool).toBe(secure)
    pool.update(definition(['https://a.test', 'http://b.test'], tls('two')))
    const changed = pool.targets[0].pool
    expect(changed).not.toBe(secure)
    pool.update(definition(['https://a.test', 'http://b.test']))
    expect(pool.targets[0].pool).not.toBe(changed)
    // plain http targets keep their pool (and warm connections): TLS is none of their business
    expect(pool.targets[1].pool).toBe(plain)
  })

  it('gives WebSocket connections the same TLS settings, one secure context per setting', () => {
    const pool = poolOf(['https://a.test'])
    expect(pool.webSocketTls).toEqual({})
    pool.update(definition(['https://a.test'], tls('one', { servername: 'orders.internal' })))
    const first = pool.webSocketTls
    expect(first).toEqual({ secureContext: expect.any(Object), rejectUnauthorized: true, servername: 'orders.internal' })
    pool.update(definition(['https://a.test', 'https://b.test'], tls('one', { servername: 'orders.internal' })))
    expect(pool.webSocketTls.secureContext).toBe(first.secureContext)
    pool.update(definition(['https://a.test'], tls('two', { rejectUnauthorized: false })))
    expect(pool.webSocketTls).toEqual({ secureContext: expect.any(Object), rejectUnauthorized: false })
    expect(pool.webSocketTls.secureContext).not.toBe(first.secureContext)
  })

  it('logs settings OpenSSL refuses and connects with Node\'s defaults instead of failing the configuration change', () => {
    const lines: LogLine[] = []
    const pool = poolOf(['https://a.test'], lines)
    pool.update(definition(['https://a.test'], tls('one', { cert: 'not PEM', key: 'not PEM' })))
    expect(pool.webSocketTls).toEqual({})
    expect(pool.targets).toHaveLength(1)
    expect(lines.filter(line => line.level === 'error').map(line => line.message)).toEqual([expect.stringMatching(/TLS settings are not usable/)])
  })

  it('logs a client key it cannot open once per setting, not at every configuration change', () => {
    const lines: LogLine[] = []
    const unreadable = tls('one', { clientKeyUnreadable: true })
    const pool = poolOf(definition(['https://a.test'], unreadable), lines)
    pool.update(definition(['https://a.test', 'https://b.test'], unreadable))
    expect(lines.filter(line => line.level === 'error')).toEqual([{ level: 'error', fields: { upstream: 'orders' }, message: expect.stringMatching(/client key was sealed with another master key/) }])
    pool.update(definition(['https://a.test'], tls('two', { clientKeyUnreadable: true })))
    expect(lines.filter(line => line.level === 'error')).toHaveLength(2)
  })
})
