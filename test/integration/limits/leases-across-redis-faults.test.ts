// Leased quota counts across Redis faults: the limit backends as a gateway composes them
// (leases on, local fallback) reach a private redis-server through a relay that the test
// cuts (refused, dropped, replies lost) or that is killed and restarted empty. Invariant:
// once Redis is back and the node has settled, the quota counter holds every call the node
// allowed, never fewer, and more only by calls that failed without an answer and may have
// run all the same (a reservation, or a give-back that then stays counted).
import { Redis } from 'ioredis'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createLimitBackends, type LimitBackends } from '../../../src/limits/index.js'
import { dayWindow } from '../../../src/limits/limit-math.js'
import { RedisRequestLimiter } from '../../../src/limits/redis-request-limiter.js'
import type { LimitPlan } from '../../../src/limits/request-limiter.js'
import { mayHaveRun, RedisAvailability } from '../../../src/store/redis-availability.js'
import { createRedis, type RedisConnection } from '../../../src/store/redis.js'
import { startPrivateRedis, type PrivateRedis } from '../../helpers/redis-server.js'
import { waitFor } from '../../helpers/wait-for.js'
import { startTcpRelay, type RelayMode, type TcpRelay } from '../../helpers/tcp-relay.js'

const LEASE_MS = 100
// large enough for leases of about a hundred requests, far from any limit
const PLAN: LimitPlan = { ratePerSecond: 100_000, burst: 100_000, quotaPerDay: 1_000_000, quotaPerMonth: null }

let redis: PrivateRedis
beforeAll(async () => { redis = await startPrivateRedis() })
afterAll(async () => { await redis?.stop() })

interface Unanswered { want: number, giveBack: number }
/** Requests reserved (want) and given back in calls that failed after they may have reached Redis. */
const unansweredBySubject = new Map<string, Unanswered>()
const reserve = RedisRequestLimiter.prototype.reserve
vi.spyOn(RedisRequestLimiter.prototype, 'reserve').mockImplementation(async function (this: RedisRequestLimiter, ...args: Parameters<RedisRequestLimiter['reserve']>) {
  try {
    return await reserve.apply(this, args)
  } catch (error) {
    const [subject, , want, giveBack] = args
    if (mayHaveRun(error)) {
      const failed = unanswered(subject)
      unansweredBySubject.set(subject, { want: failed.want + want, giveBack: failed.giveBack + (giveBack?.requests ?? 0) })
    }
    throw error
  }
})

function unanswered (subject: string): Unanswered {
  return unansweredBySubject.get(subject) ?? { want: 0, giveBack: 0 }
}

interface Node {
  subject: string
  relay: TcpRelay
  connection: RedisConnection
  availability: RedisAvailability
  limits: LimitBackends
  /** calls the node allowed per subject: what the gateway served and recorded as usage */
  served: Map<string, number>
  /** times Redis was marked down */
  downs: number
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
  // a silent connection is kept (its held bytes arrive when the relay passes again) unless a test says otherwise
  const availability = new RedisAvailability(connection, { log: pino({ level: 'silent' }), probeIntervalMs: options.probeIntervalMs ?? 50, reconnectAfterMs: options.reconnectAfterMs ?? 60_000 })
  await availability.waitForConnection(2_000)
  const subject = `app-${Math.random().toString(36).slice(2)}:api`
  const node: Node = { subject, relay, connection, availability, served: new Map(), downs: 0, limits: undefined as unknown as LimitBackends }
  availability.on('down', () => { node.downs++ })
  // what the database and the node's unflushed usage hold: every call served so far
  const seedSource = async (of: string): Promise<{ dayUsed: number, monthUsed: number }> => ({ dayUsed: served(node, of), monthUsed: served(node, of) })
  node.limits = await createLimitBackends({ keyPrefix: 'lease-faults:', redis: { connection, availability, faultPolicy: 'local', leaseMs: LEASE_MS, seedSource } })
  nodes.push(node)
  await waitFor('the first connection', () => availability.isUp, 10_000, 10)
  node.downs = 0
  // the subject's counters exist already: its first call does not re-seed them (on a loaded machine a
  // re-seed that misses its deadline fails the call before the reservation itself was sent)
  const client = new Redis(redis.url)
  try {
    await client.set(`lease-faults:quota:{${subject}}:seeded`, 'first')
  } finally {
    client.disconnect()
  }
  return node
}

function served (node: Node, subject = node.subject): number {
  return node.served.get(subject) ?? 0
}

async function serve (node: Node, calls: number, subject = node.subject): Promise<void> {
  for (let index = 0; index < calls; index++) {
    const decision = await node.limits.requestLimiter.consume(subject, PLAN)
    expect(decision.allowed).toBe(true)
    node.served.set(subject, served(node, subject) + 1)
  }
}

async function counters (subjects: string[]): Promise<number[]> {
  const client = new Redis(redis.url)
  try {
    return await Promise.all(subjects.map(async subject => Number(await client.get(`lease-faults:quota:{${subject}}:${dayWindow(Date.now()).id}`) ?? 0)))
  } finally {
    client.disconnect()
  }
}

async function counter (node: Node, subject = node.subject): Promise<number> {
  return (await counters([subject]))[0]
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** Replies lost, then the connection cut: what was sent ran, and the client never learns it (a lost reply needs a broken connection). */
async function loseRepliesThenCut (node: Node): Promise<void> {
  node.relay.setMode('refuse')
  await sleep(50)
  node.relay.setMode('pass')
}

/** Serves calls until the node holds unspent requests of a lease, counted in Redis. */
async function holdLease (node: Node): Promise<void> {
  for (let calls = 0; calls < 100; calls++) {
    await serve(node, 1)
    if (await counter(node) > served(node)) return
  }
  throw new Error('no lease held after 100 calls')
}

/**
 * Redis back: each subject gets a call (a lost counter is re-seeded by the first one Redis
 * decides), then the node has time to give every lease back and add what it counted locally;
 * repeated until every subject's counters are seeded, Redis stayed up throughout and the
 * counters stopped moving (a loaded machine may miss deadlines and fall back locally for a
 * moment: those calls are added a moment later).
 */
async function settle (node: Node, subjects = [node.subject]): Promise<void> {
  for (let round = 0; round < 10; round++) {
    await waitFor('Redis to be marked up again', () => node.availability.isUp, 10_000, 10)
    const downs = node.downs
    for (const subject of subjects) await serve(node, 1, subject)
    const before = await counters(subjects)
    await sleep(LEASE_MS * 5)
    const stable = (await counters(subjects)).every((count, index) => count === before[index])
    if (node.downs === downs && node.availability.isUp && stable && await seeded(subjects)) return
  }
  throw new Error('the counters did not settle')
}

async function seeded (subjects: string[]): Promise<boolean> {
  const client = new Redis(redis.url)
  try {
    return await client.exists(...subjects.map(subject => `lease-faults:quota:{${subject}}:seeded`)) === subjects.length
  } finally {
    client.disconnect()
  }
}

/** The counter holds the calls served and what calls without an answer may have added. */
async function expectCounted (node: Node, options: { unansweredRan: boolean }, subject = node.subject): Promise<void> {
  const counted = await counter(node, subject)
  const { want, giveBack } = unanswered(subject)
  const what = `${counted} counted for ${served(node, subject)} served, unanswered: ${want} reserved, ${giveBack} given back`
  // when every unanswered call surely ran (the bytes reached Redis), its requests are counted exactly
  expect(counted, what).toBeGreaterThanOrEqual(served(node, subject) + (options.unansweredRan ? want : 0))
  expect(counted, what).toBeLessThanOrEqual(served(node, subject) + want + giveBack)
}

describe('leased quota counts across Redis faults', () => {
  it('a give-back whose reply is lost runs once: the quota counter stays the calls served', async () => {
    const node = await startNode()
    await holdLease(node)
    // the lease expires; the sweeper's give-back reaches Redis and runs, its reply never comes back
    node.relay.setMode('lose-replies')
    await sleep(LEASE_MS * 5)
    await loseRepliesThenCut(node)
    await settle(node)
    await expectCounted(node, { unansweredRan: true })
  })

  it('a reservation whose reply is lost gives the previous lease back once', async () => {
    const node = await startNode()
    await holdLease(node)
    node.relay.setMode('lose-replies')
    // the lease expires; the next calls reserve again (giving it back in the same call) and get no answer
    await sleep(LEASE_MS + 20)
    await serve(node, 6)
    await loseRepliesThenCut(node)
    await settle(node)
    expect(unanswered(node.subject).want).toBeGreaterThan(0)
    await expectCounted(node, { unansweredRan: true })
  })

  it('a call counted locally after one missed deadline, Redis still up, is added without waiting for an outage', async () => {
    const node = await startNode()
    await holdLease(node)
    await sleep(LEASE_MS * 3)
    // the next reservation gets no answer in time: this call is decided locally
    node.relay.setMode('drop')
    await serve(node, 1)
    node.relay.setMode('pass')
    await settle(node)
    await expectCounted(node, { unansweredRan: true })
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
      await settle(node)
      // dropped bytes arrive when the relay passes again: whatever was sent during the cut ran, once
      await expectCounted(node, { unansweredRan: mode === 'drop' })
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
    await settle(node)
    await expectCounted(node, { unansweredRan: false })
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
      await settle(node)
      await expectCounted(node, { unansweredRan: false })
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
      await racing
      await settle(node, subjects)
      for (const subject of subjects) await expectCounted(node, { unansweredRan: false }, subject)
    })
  })

  it('an add of local calls that got no answer is not sent again once a re-seed has counted them', async () => {
    const node = await startNode({ probeIntervalMs: 200 })
    await holdLease(node)
    await redis.kill()
    // the lease expires: these calls are counted locally
    await sleep(LEASE_MS * 2)
    await serve(node, 5)
    // the add sent when Redis is back goes into a silent connection and times out
    node.availability.once('up', () => { node.relay.setMode('drop') })
    await redis.start()
    await waitFor('Redis to be marked up again', () => node.availability.isUp && node.relay.mode === 'drop', 10_000, 10)
    await sleep(100)
    // it arrives late and finds the counters lost; the next call re-seeds them, counting those calls
    node.relay.setMode('pass')
    await serve(node, 1)
    // Redis away and back once more: the add must not run now
    node.relay.setMode('refuse')
    await waitFor('Redis to be marked down', () => !node.availability.isUp, 10_000, 10)
    node.relay.setMode('pass')
    await settle(node)
    await expectCounted(node, { unansweredRan: false })
  })
})
