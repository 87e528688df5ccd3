// The counter backends and change events on a real three-node Redis Cluster, started by
// the test on free loopback ports: every script's keys must hash to one slot.
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLimitBackends, type LimitBackends } from '../../../src/limits/index.js'
import { RedisChangeBus } from '../../../src/store/change-bus.js'
import { RedisAvailability } from '../../../src/store/redis-availability.js'
import { createRedis, type RedisConnection } from '../../../src/store/redis.js'
import pino from 'pino'
import { freePort } from '../../helpers/ports.js'

const run = promisify(execFile)

describe('Redis Cluster', () => {
  const directory = mkdtempSync(path.join(tmpdir(), 'pgw-redis-cluster-'))
  const servers: ChildProcess[] = []
  let ports: number[] = []
  let redis: RedisConnection
  let backends: LimitBackends

  beforeAll(async () => {
    ports = [await freePort(), await freePort(), await freePort()]
    for (const port of ports) {
      servers.push(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', path.join(directory, `nodes-${port}.conf`), '--save', '', '--appendonly', 'no', '--dir', directory], { stdio: 'ignore' }))
    }
    for (const port of ports) {
      for (let attempt = 0; attempt < 50; attempt++) {
        if (await run('redis-cli', ['-p', String(port), 'ping']).then(result => result.stdout.includes('PONG'), () => false)) break
        await new Promise(resolve => setTimeout(resolve, 100))
      }
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map(port => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'])
    for (let attempt = 0; attempt < 50; attempt++) {
      if ((await run('redis-cli', ['-p', String(ports[0]), 'cluster', 'info'])).stdout.includes('cluster_state:ok')) break
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    // the same deadlines and fault switch as a gateway node
    redis = createRedis(ports.map(port => `redis://127.0.0.1:${port}`).join(','), { commandTimeoutMs: 1000 })
    const availability = new RedisAvailability(redis, { log: pino({ level: 'silent' }) })
    await availability.waitForConnection(10_000)
    // a cluster still settling can report errors at first; the probe marks it up once it answers
    for (let attempt = 0; attempt < 100 && !availability.isUp; attempt++) await new Promise(resolve => setTimeout(resolve, 100))
    backends = await createLimitBackends({ redis: { connection: redis, availability, faultPolicy: 'closed' }, keyPrefix: 'pgw:' })
  }, 60_000)

  afterAll(async () => {
    redis?.disconnect()
    for (const server of servers) server.kill('SIGKILL')
    rmSync(directory, { recursive: true, force: true })
  })

  it('runs the rate limit and quota script for subjects spread over every slot range', async () => {
    const plan = { ratePerSecond: 1, burst: 2, quotaPerDay: 5, quotaPerMonth: 10 }
    for (let index = 0; index < 20; index++) {
      const subject = `app-${index}:api`
      expect((await backends.requestLimiter.consume(subject, plan)).allowed).toBe(true)
      expect((await backends.requestLimiter.consume(subject, plan)).allowed).toBe(true)
      expect((await backends.requestLimiter.consume(subject, plan)).reason).toBe('rate')
    }
  })

  it('remembers nonces and counts connections on the cluster', async () => {
    expect(await backends.nonceStore.remember('key', 'n1', 60_000)).toBe(true)
    expect(await backends.nonceStore.remember('key', 'n1', 60_000)).toBe(false)
    expect(await backends.connectionCounter.acquire('app:api', 'c1', 1)).toBe(true)
    expect(await backends.connectionCounter.acquire('app:api', 'c2', 1)).toBe(false)
    await backends.connectionCounter.heartbeat()
  })

  it('delivers configuration change events through cluster pub/sub', async () => {
    const bus = new RedisChangeBus(redis, 'pgw:')
    const received = new Promise<bigint>(resolve => { bus.subscribe(resolve) })
    await new Promise(resolve => setTimeout(resolve, 300))
    await bus.publish(42n)
    expect(await received).toBe(42n)
    await bus.close()
  })
})
