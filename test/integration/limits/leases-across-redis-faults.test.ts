// Leased quota counts across Redis faults: the limit backends as a gateway composes them
// (leases on, local fallback) reach a private redis-server through a relay that the test
// cuts (refused, dropped, replies lost) or that is killed and restarted empty. Invariant:
// once Redis is back and the node has reconciled, the quota counter holds every call the
// node allowed, never fewer, and more only by what was in flight to Redis when a call
// failed without an answer (a reservation, or a give-back, that may or may not have run).
import { Redis } from 'ioredis'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createLimitBackends, type LimitBackends } from '../../../src/limits/index.js'
import { dayWindow } from '../../../src/limits/limit-math.js'
import { RedisRequestLimiter } from '../../../src/limits/redis-request-limiter.js'
import type { LimitPlan } from '../../../src/limits/request-limiter.js'
import { RedisAvailability } from '../../../src/store/redis-availability.js'
import { createRedis, type RedisConnection } from '../../../src/store/redis.js'
import { startPrivateRedis, type PrivateRedis } from '../../helpers/redis-server.js'
import { startTcpRelay, type RelayMode, type TcpRelay } from '../../helpers/tcp-relay.js'

const LEASE_MS = 100
// large enough for leases of about a hundred requests, far from any limit
const PLAN: LimitPlan = { ratePerSecond: 100_000, burst: 100_000, quotaPerDay: 1_000_000, quotaPerMonth: null }

let redis: PrivateRedis
beforeAll(async () => { redis = await startPrivateRedis() })
afterAll(async () => { await redis?.stop() })

/** Requests (want) and give-backs of calls that failed: they may have run in Redis all the same. */
const unanswered = new Map<string, { want: number, giveBack: number }>()
const reserve = RedisRequestLimiter.prototype.reserve
vi.spyOn(RedisRequestLimiter.prototype, 'reserve').mockImplementation(async function (this: RedisRequestLimiter, ...args: Parameters<RedisRequestLimiter['reserve']>) {
  try {
    return await reserve.apply(this, args)
  } catch (error) {
    const [subject, , want, giveBack] = args
    const failed = unanswered.get(subject) ?? { want: 0, giveBack: 0 }
    unanswered.set(subject, { want: failed.want + want, giveBack: failed.giveBack + (giveBack?.requests ?? 0) })
    throw error
  }
})

interface Node {
  subject: string
  relay: TcpRelay
  connection: RedisConnection
  availability: RedisAvailability
  limits: LimitBackends
  /** calls the node allowed for its subject: what the gateway served and recorded as usage */
  served: number
  /** the same for other subjects */
  servedFor: Map<string, number>
}
const nodes: Node[] = []
afterEach(async () => {
  for (const node of nodes.splice(0)) {
    await node.limits.close().catch(() => {})
    node.availability.close()
    node.connection.disconnect()
    await node.relay.close()
  }
})

async function startNode (options: { probeIntervalMs?: number, reconnectAfterMs?: number } = {}): Promise<Node> {
  const relay = await startTcpRelay(redis.port)
  const connection = createRedis(relay.url('redis'), { commandTimeoutMs: 50 })
  const availability = new RedisAvailability(connection, { log: pino({ level: 'silent' }), probeIntervalMs: options.probeIntervalMs ?? 50, reconnectAfterMs: options.reconnectAfterMs })
  await availability.waitForConnection(2_000)
  const subject = `app-${Math.random().toString(36).slice(2)}:api`
  const node: Node = { subject, relay, connection, availability, served: 0, servedFor: new Map(), limits: undefined as unknown as LimitBackends }
  // what the database and the node's unflushed usage hold: every call served so far
  const seedSource = async (of: string): Promise<{ dayUsed: number, monthUsed: number }> => {
    const served = of === subject ? node.served : node.servedFor.get(of) ?? 0
    return { dayUsed: served, monthUsed: served }
  }
  node.limits = await createLimitBackends({ keyPrefix: 'lease-faults:', redis: { connection, availability, faultPolicy: 'local', leaseMs: LEASE_MS, seedSource } })
  nodes.push(node)
  return node
}

async function serve (node: Node, calls: number, subject = node.subject): Promise<void> {
  for (let index = 0; index < calls; index++) {
    const decision = await node.limits.requestLimiter.consume(subject, PLAN)
    expect(decision.allowed).toBe(true)
    if (subject === node.subject) node.served++
    else node.servedFor.set(subject, (node.servedFor.get(subject) ?? 0) + 1)
  }
}

async function counter (node: Node, subject = node.subject): Promise<number> {
  const client = new Redis(redis.url)
  try {
    return Number(await client.get(`lease-faults:quota:{${subject}}:${dayWindow(Date.now()).id}`) ?? 0)
  } finally {
    client.disconnect()
  }
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

async function waitFor (condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

/** Replies lost, then the connection cut: what was sent ran, and the client never learns it (a lost reply needs a broken connection). */
async function loseRepliesThenCut (node: Node): Promise<void> {
  node.relay.setMode('refuse')
  await sleep(50)
  node.relay.setMode('pass')
}

/** Serves a few calls through a lease, so that the node holds unspent requests counted in Redis. */
async function holdLease (node: Node): Promise<void> {
  await serve(node, 3)
  expect(await counter(node)).toBeGreaterThan(node.served)
}

/** Redis back: waits until the node uses it again, serves calls through it (after the reconciliation on the same connection), gives every lease back. */
async function finish (node: Node): Promise<{ counted: number, unanswered: { want: number, giveBack: number } }> {
  await waitFor(() => node.availability.isUp, 'Redis to be marked up again')
  await serve(node, 5)
  await node.limits.close()
  nodes.splice(nodes.indexOf(node), 1)
  node.availability.close()
  node.connection.disconnect()
  await node.relay.close()
  return { counted: await counter(node), unanswered: unanswered.get(node.subject) ?? { want: 0, giveBack: 0 } }
}

describe('leased quota counts across Redis faults', () => {
  it('a give-back whose reply is lost runs once: the quota counter stays the calls served', async () => {
    const node = await startNode()
    await holdLease(node)
    // the lease expires; the sweeper's give-back reaches Redis and runs, its reply never comes back
    node.relay.setMode('lose-replies')
    await sleep(LEASE_MS * 5)
    await loseRepliesThenCut(node)
    const { counted, unanswered } = await finish(node)
    expect(counted).toBe(node.served + unanswered.want)
  })

  it('a reservation whose reply is lost gives the previous lease back once: the counter is the calls served plus the requests it reserved', async () => {
    const node = await startNode()
    await holdLease(node)
    node.relay.setMode('lose-replies')
    // the lease expires; the next calls reserve again (giving it back in the same call) and get no answer
    await sleep(LEASE_MS + 20)
    await serve(node, 6)
    await loseRepliesThenCut(node)
    const { counted, unanswered } = await finish(node)
    expect(unanswered.want).toBeGreaterThan(0)
    expect(counted).toBe(node.served + unanswered.want)
  })

  describe.each(['drop', 'refuse'] as RelayMode[])('Redis cut (%s) while a lease is held', mode => {
    it('counts every call served from the lease, locally and after, once', async () => {
      const node = await startNode()
      await holdLease(node)
      node.relay.setMode(mode)
      await serve(node, 10)
      // the lease expires during the cut; more calls find it expired
      await sleep(LEASE_MS * 3)
      await serve(node, 10)
      await sleep(LEASE_MS * 2)
      node.relay.setMode('pass')
      const { counted, unanswered } = await finish(node)
      // dropped bytes arrive when the relay passes again: whatever was sent during the cut ran, once
      if (mode === 'drop') expect(counted).toBe(node.served + unanswered.want)
      else expect(counted).toBe(node.served)
    })
  })

  it('a connection black-holed until it is replaced loses what was sent into it: never fewer than the calls served', async () => {
    const node = await startNode({ reconnectAfterMs: 300 })
    await holdLease(node)
    node.relay.setMode('drop')
    await serve(node, 10)
    await sleep(LEASE_MS * 3)
    await serve(node, 10)
    // the availability probe replaces the silent connection; its held bytes never reach Redis
    await sleep(1_000)
    node.relay.setMode('pass')
    const { counted, unanswered } = await finish(node)
    expect(counted).toBeGreaterThanOrEqual(node.served)
    expect(counted).toBeLessThanOrEqual(node.served + unanswered.want + unanswered.giveBack)
  })

  describe.each([50, 1_000])('Redis restarted without its data (probe every %i ms)', probeIntervalMs => {
    it('re-seeds from the calls served, and neither gives back the old lease nor adds the local calls again', async () => {
      const node = await startNode({ probeIntervalMs })
      await holdLease(node)
      await redis.kill()
      await serve(node, 10)
      await sleep(LEASE_MS * 3)
      await serve(node, 10)
      await redis.start()
      const { counted } = await finish(node)
      expect(counted).toBe(node.served)
    })

    it('adds the calls counted locally for every subject before any of them is re-seeded', async () => {
      const node = await startNode({ probeIntervalMs })
      const subjects = Array.from({ length: 20 }, (_, index) => `${node.subject}-${index}`)
      for (const subject of subjects) await serve(node, 1, subject)
      await redis.kill()
      for (const subject of subjects) await serve(node, 2, subject)
      // a call for the last subject the moment Redis is back finds its counter lost and re-seeds it
      const last = subjects[subjects.length - 1]
      const racing = new Promise<void>(resolve => {
        node.availability.once('up', () => { void serve(node, 1, last).then(resolve) })
      })
      await redis.start()
      await waitFor(() => node.availability.isUp, 'Redis to be marked up again')
      await racing
      for (const subject of subjects) await serve(node, 1, subject)
      await node.limits.close()
      for (const subject of subjects) expect(await counter(node, subject)).toBe(node.servedFor.get(subject))
    })
  })
})
