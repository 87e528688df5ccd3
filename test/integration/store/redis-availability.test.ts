// RedisAvailability against a private redis-server behind a relay: a cut costs one deadline,
// later calls fail at once, each change of state is logged once, and it comes back by itself;
// a failed call is told apart as never sent or possibly run.
import { Writable } from 'node:stream'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mayHaveRun, RedisAvailability, RedisUnavailableError } from '../../../src/store/redis-availability.js'
import { createRedis } from '../../../src/store/redis.js'
import { startPrivateRedis, type PrivateRedis } from '../../helpers/redis-server.js'
import { startTcpRelay } from '../../helpers/tcp-relay.js'

let redis: PrivateRedis
beforeAll(async () => { redis = await startPrivateRedis() })
afterAll(async () => { await redis?.stop() })

function capturedLogger (): { lines: Array<Record<string, unknown>>, logger: pino.Logger } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString())); done() } })
  return { lines, logger: pino({ level: 'info' }, stream) }
}

describe.each(['drop', 'refuse'] as const)('RedisAvailability when Redis is cut (%s)', mode => {
  it('fails the first call within the deadline, the next ones at once, logs each change once and recovers', async () => {
    const relay = await startTcpRelay(redis.port)
    const connection = createRedis(relay.url('redis'), { commandTimeoutMs: 50 })
    const { lines, logger } = capturedLogger()
    const availability = new RedisAvailability(connection, { log: logger, probeIntervalMs: 50 })
    try {
      await availability.waitForConnection(2_000)
      expect(await availability.run(async () => await connection.ping())).toBe('PONG')

      relay.setMode(mode)
      // refused: the first call finds the connection gone; dropped: three deadlines missed in a row
      let calls = 0
      while (availability.isUp && calls < 10) {
        const started = performance.now()
        await expect(availability.run(async () => await connection.ping())).rejects.toBeInstanceOf(RedisUnavailableError)
        expect(performance.now() - started).toBeLessThan(500)
        calls++
      }
      expect(availability.isUp).toBe(false)
      expect(calls).toBeLessThanOrEqual(mode === 'drop' ? 3 : 1)
      const started = performance.now()
      for (let index = 0; index < 100; index++) await expect(availability.run(async () => await connection.ping())).rejects.toBeInstanceOf(RedisUnavailableError)
      expect(performance.now() - started).toBeLessThan(100)

      await new Promise(resolve => setTimeout(resolve, 300))
      relay.setMode('pass')
      const deadline = Date.now() + 10_000
      while (!availability.isUp && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
      expect(availability.isUp).toBe(true)
      expect(await availability.run(async () => await connection.ping())).toBe('PONG')

      const stateLines = lines.filter(line => line.redis !== undefined)
      expect(stateLines.map(line => line.redis)).toEqual(['down', 'up'])
      expect(stateLines[0].level).toBe(40)
    } finally {
      availability.close()
      connection.disconnect()
      await relay.close()
    }
  })
})

it('notices a silent cut without any calls of its own, by its heartbeat, and comes back', async () => {
  const relay = await startTcpRelay(redis.port)
  const connection = createRedis(relay.url('redis'), { commandTimeoutMs: 50 })
  const { logger } = capturedLogger()
  const availability = new RedisAvailability(connection, { log: logger, probeIntervalMs: 50, heartbeatIntervalMs: 100 })
  try {
    await availability.waitForConnection(2_000)
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(availability.isUp).toBe(true)
    relay.setMode('drop')
    const cut = performance.now()
    await new Promise<void>(resolve => { availability.once('down', resolve) })
    // three heartbeats missing their deadline in a row
    expect(performance.now() - cut).toBeLessThan(2_000)
    relay.setMode('pass')
    await new Promise<void>(resolve => { availability.once('up', resolve) })
  } finally {
    availability.close()
    connection.disconnect()
    await relay.close()
  }
})

it('tells calls that were never sent from calls that may have run without an answer', async () => {
  const relay = await startTcpRelay(redis.port)
  const connection = createRedis(relay.url('redis'), { commandTimeoutMs: 50 })
  const { logger } = capturedLogger()
  const availability = new RedisAvailability(connection, { log: logger, probeIntervalMs: 50 })
  const failure = async (call: () => Promise<unknown>): Promise<unknown> => await call().then(() => { throw new Error('expected a failure') }, error => error)
  try {
    await availability.waitForConnection(2_000)
    // sent, then silence: it may run when the bytes arrive
    relay.setMode('drop')
    expect(mayHaveRun(await failure(async () => await availability.run(async () => await connection.incr('sent'))))).toBe(true)
    relay.setMode('refuse')
    await new Promise(resolve => setTimeout(resolve, 50))
    // no connection to write to, and Redis known down: never sent
    expect(mayHaveRun(await failure(async () => await connection.incr('unsent')))).toBe(false)
    expect(mayHaveRun(await failure(async () => await availability.run(async () => await connection.incr('unsent'))))).toBe(false)
    relay.setMode('pass')
    // an error Redis answered: the command did not run
    await new Promise<void>(resolve => { availability.once('up', resolve) })
    expect(mayHaveRun(await failure(async () => await connection.eval('return redis.error_reply("NOPE")', 0)))).toBe(false)
  } finally {
    availability.close()
    connection.disconnect()
    await relay.close()
  }
})

it('passes errors Redis itself answered through without marking it down', async () => {
  const connection = createRedis(redis.url, { commandTimeoutMs: 50 })
  const { logger } = capturedLogger()
  const availability = new RedisAvailability(connection, { log: logger })
  try {
    await availability.waitForConnection(2_000)
    await expect(availability.run(async () => await connection.eval('return redis.call("NOSUCHCOMMAND")', 0))).rejects.not.toBeInstanceOf(RedisUnavailableError)
    expect(availability.isUp).toBe(true)
  } finally {
    availability.close()
    connection.disconnect()
  }
})
