// Whether Redis can be used right now, decided in one place (the fault switch of the limit
// backends reads it). A call that fails because Redis is unreachable or too slow marks it
// down; from then on callers get an immediate RedisUnavailableError instead of waiting,
// while a background probe pings it and marks it up again, which is when the fallbacks
// reconcile what they counted meanwhile. A heartbeat pings it while it is up and quiet, so a node
// with no traffic (or whose traffic is served from leases) notices a silent cut too, and its
// gateway_redis_up and /readyz say so. Each change of state is logged once.
import { EventEmitter } from 'node:events'
import type { FastifyBaseLogger } from 'fastify'
import { ReplyError } from 'ioredis'
import type { RedisConnection } from './redis.js'

export class RedisUnavailableError extends Error {
  readonly code = 'REDIS_UNAVAILABLE'
  constructor (cause?: unknown) {
    super('Redis is unavailable', { cause })
  }
}

// replies that say the server is there but cannot serve now
const UNAVAILABLE_REPLIES = /^(LOADING|CLUSTERDOWN|MASTERDOWN|TRYAGAIN|READONLY|BUSY)\b/

/** A failure of the connection (timeout, refused, reset, closed) rather than an answer from Redis. */
export function isAvailabilityFailure (error: unknown): boolean {
  if (error instanceof ReplyError) return UNAVAILABLE_REPLIES.test((error as Error).message)
  return true
}

// ioredis refuses to write a command while it has no connection (no offline queue): it was never sent
const NOT_SENT = /isn't (writeable|ready) and enableOfflineQueue options is false/

/**
 * Whether a failed call may have run in Redis all the same: a command sent before its connection
 * went silent or closed may have been executed with its reply lost (or may arrive late), so a
 * write that must not run twice is not sent again. Only a call refused before it was sent, or
 * answered with an error by Redis, surely did not run.
 */
export function mayHaveRun (error: unknown): boolean {
  if (error instanceof RedisUnavailableError) return error.cause !== undefined && mayHaveRun(error.cause)
  if (error instanceof ReplyError) return false
  return !(error instanceof Error && NOT_SENT.test(error.message))
}

/** A reply that did not come within the deadline (as opposed to a connection known to be gone). */
function isTimeout (error: unknown): boolean {
  return (error as Error).message === 'Command timed out'
}

export interface RedisAvailabilityOptions {
  log: FastifyBaseLogger
  /**
   * Deadlines missed in a row before Redis counts as down. One late reply can be this
   * process's own event loop stalling (a GC pause, a burst); a connection refused or
   * closed counts at once.
   */
  timeoutsToMarkDown?: number
  /** how often a down Redis is probed */
  probeIntervalMs?: number
  /** a connection that stays black-holed this long is replaced by a new one */
  reconnectAfterMs?: number
  /** how often an up Redis is pinged when no call was answered meanwhile; its missed deadlines count like any call's */
  heartbeatIntervalMs?: number
}

export class RedisAvailability extends EventEmitter<{ up: [], down: [] }> {
  readonly #redis: RedisConnection
  readonly #log: FastifyBaseLogger
  readonly #probeIntervalMs: number
  readonly #reconnectAfterMs: number
  readonly #timeoutsToMarkDown: number
  #timeoutsInARow = 0
  /** calls answered so far: a heartbeat is needed only when none was answered since the last one */
  #answered = 0
  #answeredAtHeartbeat = 0
  #up = true
  #downSince = 0
  #lastReconnect = 0
  #probeTimer: NodeJS.Timeout | undefined
  readonly #heartbeatTimer: NodeJS.Timeout
  #probing = false
  #closed = false

  constructor (redis: RedisConnection, options: RedisAvailabilityOptions) {
    super()
    this.#redis = redis
    this.#log = options.log
    this.#probeIntervalMs = options.probeIntervalMs ?? 250
    this.#reconnectAfterMs = options.reconnectAfterMs ?? 5_000
    this.#timeoutsToMarkDown = options.timeoutsToMarkDown ?? 3
    // ioredis reports every failed reconnect as an 'error' event; the state change below is the one log line
    // (a Cluster also reports failed slot refreshes while it serves: only a connection that is not ready counts)
    redis.on('error', error => { if (this.#up && redis.status !== 'ready') this.markDown(error) })
    redis.on('close', () => { if (this.#up && !this.#closed) this.markDown(new Error('connection closed')) })
    this.#heartbeatTimer = setInterval(() => { void this.#heartbeat() }, options.heartbeatIntervalMs ?? 1_000)
    this.#heartbeatTimer.unref()
  }

  async #heartbeat (): Promise<void> {
    const quiet = this.#answered === this.#answeredAtHeartbeat
    this.#answeredAtHeartbeat = this.#answered
    if (!quiet || !this.#up || this.#redis.status !== 'ready') return
    await this.run(async () => await this.#redis.ping()).catch(() => {})
  }

  get isUp (): boolean {
    return this.#up
  }

  /** Waits (bounded) for the first connection, so a node does not start in the fallback for nothing. */
  async waitForConnection (timeoutMs: number): Promise<void> {
    const ready = await new Promise<boolean>(resolve => {
      if (this.#redis.status === 'ready') { resolve(true); return }
      const timer = setTimeout(() => { cleanup(); resolve(false) }, timeoutMs)
      const onReady = (): void => { cleanup(); resolve(true) }
      const cleanup = (): void => { clearTimeout(timer); this.#redis.off('ready', onReady) }
      this.#redis.on('ready', onReady)
    })
    if (!ready) this.markDown(new Error(`no connection within ${timeoutMs} ms`))
  }

  /**
   * Runs one Redis call. While Redis is known to be down it fails at once; a failure of the
   * connection marks it down (a missed deadline only when it repeats) and fails the call; an
   * error Redis itself answered is passed through.
   */
  async run<T> (call: () => Promise<T>): Promise<T> {
    if (!this.#up) throw new RedisUnavailableError()
    try {
      const result = await call()
      this.#timeoutsInARow = 0
      this.#answered++
      return result
    } catch (error) {
      if (!isAvailabilityFailure(error)) throw error
      if (!isTimeout(error) || ++this.#timeoutsInARow >= this.#timeoutsToMarkDown) this.markDown(error)
      throw new RedisUnavailableError(error)
    }
  }

  markDown (error: unknown): void {
    if (!this.#up || this.#closed) return
    this.#up = false
    this.#timeoutsInARow = 0
    this.#downSince = Date.now()
    this.#log.warn({ redis: 'down', reason: (error as Error).message }, 'Redis unavailable; limits and nonces use the fallback until it is back')
    this.emit('down')
    this.#probeTimer = setInterval(() => { void this.#probe() }, this.#probeIntervalMs)
    this.#probeTimer.unref()
  }

  async #probe (): Promise<void> {
    if (this.#probing || this.#up) return
    this.#probing = true
    try {
      if (this.#redis.status === 'ready') {
        await this.#redis.ping()
        this.#markUp()
        return
      }
    } catch {
      // still down: a black-holed connection never errors by itself, so replace it now and then
      const now = Date.now()
      if (now - Math.max(this.#downSince, this.#lastReconnect) > this.#reconnectAfterMs) {
        this.#lastReconnect = now
        this.#redis.disconnect(true)
      }
    } finally {
      this.#probing = false
    }
  }

  #markUp (): void {
    if (this.#closed) return
    clearInterval(this.#probeTimer)
    this.#probeTimer = undefined
    this.#up = true
    this.#log.info({ redis: 'up', downForMs: Date.now() - this.#downSince }, 'Redis available again; reconciling the counts kept meanwhile')
    this.emit('up')
  }

  close (): void {
    this.#closed = true
    clearInterval(this.#heartbeatTimer)
    clearInterval(this.#probeTimer)
    this.removeAllListeners()
  }
}
