// SIGTERM under load, on the real process: one process, and a primary with two workers, on
// PostgreSQL and Redis. Requests in flight, and requests read from a kept-alive connection
// while the gateway drains, are answered in full (with Connection: close); none is ever a
// 5xx. A request whose client left while it waited for its rate limit (a relay in front of
// Redis holds the call) is a 499 that never reaches the upstream, even
// when the gateway stops before the rate limit answers. And the upstream pools close after the
// last request, not after the last connection: stopped with SIGSTOP, the gateway is made to
// read a connection's reset and its request's rate-limit answer in one go.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Redis } from 'ioredis'
import { Client } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { monthWindow } from '../../src/limits/limit-math.js'
import { createTestDatabase, randomPrefix, REDIS_URL, type TestDatabase } from '../helpers/database.js'
import { find, parseMetrics } from '../helpers/metrics-text.js'
import { freePort } from '../helpers/ports.js'
import { deleteRedisKeys } from '../helpers/redis.js'
import { provision, type JsonResponse, type Provisioned, type TestStack } from '../helpers/stack.js'
import { startTcpRelay, type TcpRelay } from '../helpers/tcp-relay.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'
import { waitFor } from '../helpers/wait-for.js'

const UPSTREAM_BODY = Buffer.alloc(16 * 1024, 'x')
const UPSTREAM_DELAY_MS = 20
const LOAD_CONNECTIONS = 20
const DEPARTING_CLIENTS = 6
/** longer than the test holds a rate-limit call: the call waits for the relay, not for its deadline */
const REDIS_COMMAND_TIMEOUT_MS = 10_000
/** each wait of the test: generous for a loaded 2-core machine, short of the test's timeout */
const WAIT_MS = 15_000
/** three processes compiling TypeScript through tsx take their time on a loaded 2-core machine */
const START_MS = 45_000
const TEST_MS = START_MS + 3 * WAIT_MS

interface Gateway {
  url: string
  accessLog: string
  /** the exit code once the process (with its workers) has stopped; rejects past WAIT_MS */
  exited: () => Promise<number | null>
  kill: (signal: NodeJS.Signals) => void
  /** what the process logged of the requests that failed (5xx), with their causes */
  failedRequests: () => string[]
}

interface AccessLine { path: string, status: number, outcome: string }

/** Requests holding an upstream slot, from before their rate limit to their end; with workers, the most any one holds. */
async function requestsInFlight (gateway: Gateway): Promise<number> {
  const response = await fetch(`${gateway.url}/metrics`, { headers: { connection: 'close' } })
  const samples = find(parseMetrics(await response.text()), 'gateway_upstream_requests_in_flight')
  return Math.max(0, ...samples.map(sample => sample.value))
}

/** Whether the port refuses connections: every process serving it has closed its listener. */
async function refused (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(false) })
    socket.once('error', () => { resolve(true) })
  })
}

/** The processes serving the gateway port: the one process, or every worker (each connection goes to the next). */
async function servingPids (gateway: Gateway, processes: number): Promise<number[]> {
  const pids = new Set<number>()
  await waitFor('every serving process to answer', async () => {
    const response = await fetch(`${gateway.url}/healthz`, { headers: { connection: 'close' } })
    pids.add(((await response.json()) as { pid: number }).pid)
    return pids.size === processes
  }, WAIT_MS)
  return [...pids]
}

/** The process's state letter from /proc (Linux): 'T' once a SIGSTOP has taken effect. */
function processState (pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
}

function readAccessLog (file: string): AccessLine[] {
  return readFileSync(file, 'utf8').split('\n').filter(line => line !== '').map(line => JSON.parse(line) as AccessLine)
}

describe.each([
  { deployment: 'one process', workers: 0 },
  { deployment: 'a primary and two workers', workers: 2 }
])('graceful shutdown under load: $deployment', ({ workers }) => {
  const prefix = randomPrefix()
  const adminToken = randomBytes(24).toString('hex')
  const masterKey = randomBytes(32).toString('hex')
  const directories: string[] = []
  const running: Gateway[] = []
  let database: TestDatabase
  let upstream: TestUpstream
  let relay: TcpRelay
  let app: Provisioned | undefined

  beforeAll(async () => {
    database = await createTestDatabase('postgresql')
    upstream = await startUpstream('slow', (_request, response) => {
      setTimeout(() => { response.end(UPSTREAM_BODY) }, UPSTREAM_DELAY_MS)
    })
    relay = await startTcpRelay(Number(new URL(REDIS_URL).port))
  })

  afterAll(async () => {
    for (const gateway of running) gateway.kill('SIGKILL')
    relay?.setMode('pass')
    await relay?.close()
    await upstream?.close()
    await database?.drop()
    await deleteRedisKeys(prefix)
    for (const directory of directories) rmSync(directory, { recursive: true, force: true })
  })

  /** `partner-gateway start` with the control role in the (primary) process; the first start provisions the API. */
  async function startGateway (): Promise<Gateway> {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'pgw-shutdown-load-'))
    directories.push(dataDir)
    const accessLog = path.join(dataDir, 'access.log')
    const [gatewayPort, controlPort] = [await freePort(), await freePort()]
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start'], {
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        REDIS_URL: relay.url('redis'),
        REDIS_KEY_PREFIX: prefix,
        REDIS_COMMAND_TIMEOUT_MS: String(REDIS_COMMAND_TIMEOUT_MS),
        // every request asks Redis for its rate limit: none is decided from a batch held in memory
        LIMIT_LEASE_MS: '0',
        GATEWAY_MASTER_KEY: masterKey,
        GATEWAY_ADMIN_TOKEN: adminToken,
        GATEWAY_WORKERS: String(workers),
        GATEWAY_PORT: String(gatewayPort),
        CONTROL_PORT: String(controlPort),
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        SEED_DEMO: 'false',
        LOG_LEVEL: 'info',
        ACCESS_LOG_FILE: accessLog,
        SHUTDOWN_TIMEOUT_SECONDS: '10'
      },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
    const exit = new Promise<number | null>(resolve => child.once('exit', code => { resolve(code) }))
    const gateway: Gateway = {
      url: `http://127.0.0.1:${gatewayPort}`,
      accessLog,
      exited: async () => await Promise.race([exit, new Promise<never>((_resolve, reject) => setTimeout(() => { reject(new Error(`the gateway did not exit within ${WAIT_MS} ms:\n${output}`)) }, WAIT_MS))]),
      kill: signal => { if (child.exitCode === null) child.kill(signal) },
      failedRequests: () => output.split('\n').filter(line => line.includes('"msg":"request failed"')).map(line => (JSON.parse(line) as { err: { message: string } }).err.message)
    }
    running.push(gateway)
    // the primary installs its signal handlers once every worker listens, then says so
    const started = workers === 0 ? 'partner-gateway started' : 'gateway workers on port'
    const startedBy = Date.now() + START_MS
    await waitFor('the gateway to start', () => {
      if (child.exitCode !== null) throw new Error(`the gateway exited at start:\n${output}`)
      return output.includes(started)
    }, START_MS)
    const admin = async (method: string, urlPath: string, body?: unknown): Promise<JsonResponse> => {
      const response = await fetch(`http://127.0.0.1:${controlPort}${urlPath}`, { method, headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) })
      const text = await response.text()
      return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) }
    }
    app ??= await provision({ admin } as unknown as TestStack, { upstreamUrls: [upstream.url], auth: ['apikey'], routes: [{ path: '/slow', stripPrefix: true }], plan: { rateLimit: { perSecond: 100_000, burst: 100_000 }, quota: { perMonth: 100_000_000 } } })
    // every worker has the API (a new connection goes to the next worker)
    let answered = 0
    await waitFor('the API to be served', async () => {
      const response = await fetch(`${gateway.url}/slow/ready`, { headers: { 'x-api-key': apiKey(), connection: 'close' } })
      await response.arrayBuffer()
      answered = response.status === 200 ? answered + 1 : 0
      return answered >= 4
    }, startedBy - Date.now())
    return gateway
  }

  const apiKey = (): string => (app as Provisioned).apiKey

  it('answers every request in flight or read during the drain in full, never a 5xx, and exits 0', async () => {
    const gateway = await startGateway()
    const answers = new Map<string, number>()
    const count = (answer: string): void => { answers.set(answer, (answers.get(answer) ?? 0) + 1) }
    let stopped = false
    const clients = Array.from({ length: LOAD_CONNECTIONS }, () => new Client(gateway.url, { pipelining: 1 }))
    const loads = clients.map(async client => {
      while (!stopped) {
        try {
          const response = await client.request({ method: 'GET', path: '/slow/item', headers: { 'x-api-key': apiKey() } })
          const body = Buffer.from(await response.body.arrayBuffer())
          if (response.statusCode === 200) count(body.equals(UPSTREAM_BODY) ? '200' : `200 with ${body.length} of ${UPSTREAM_BODY.length} bytes`)
          else count(`${response.statusCode} ${body.toString()}`)
        } catch (error) {
          // the server closed the connection (idle, or at its exit), then refuses new ones
          const code = (error as { code?: string }).code
          if (code === 'ECONNREFUSED') return
          if (code !== 'UND_ERR_SOCKET' && code !== 'ECONNRESET') count(`error ${code ?? String(error)}`)
          await new Promise(resolve => setTimeout(resolve, 10))
        }
      }
    })
    await waitFor('load to flow', () => (answers.get('200') ?? 0) >= 5 * LOAD_CONNECTIONS, WAIT_MS)

    gateway.kill('SIGTERM')
    expect(await gateway.exited()).toBe(0)
    stopped = true
    await Promise.all(loads)
    await Promise.all(clients.map(async client => { await client.destroy() }))

    const unexpected = [...answers].filter(([answer]) => answer !== '200')
    expect(unexpected).toEqual([])
    expect(gateway.failedRequests()).toEqual([])
    expect(readAccessLog(gateway.accessLog).filter(line => line.status >= 500)).toEqual([])
  }, TEST_MS)

  it('logs a request whose client left while it waited for its rate limit as 499 and never sends it upstream, when the gateway stops before the rate limit answers', async () => {
    const gateway = await startGateway()
    const port = Number(new URL(gateway.url).port)
    // Redis holds every rate-limit call (and what queues behind it) until the gateway is closing
    relay.setMode('drop')
    // when all of them wait, some process holds at least its share
    const waiting = Math.ceil(DEPARTING_CLIENTS / Math.max(1, workers))
    try {
      const sockets = Array.from({ length: DEPARTING_CLIENTS }, (_, index) => {
        const socket = connect(port, '127.0.0.1')
        socket.on('error', () => {})
        socket.write(`GET /slow/departed-${index} HTTP/1.1\r\nhost: 127.0.0.1\r\nx-api-key: ${apiKey()}\r\n\r\n`)
        return socket
      })
      await waitFor('the requests to wait for their rate limit', async () => await requestsInFlight(gateway) >= waiting, WAIT_MS)
      for (const socket of sockets) socket.destroy()
      gateway.kill('SIGTERM')
      // the connections are gone and the gateway is closing, while the requests still wait for their rate limit
      await waitFor('the gateway to stop listening', async () => await refused(port), WAIT_MS)
    } finally {
      relay.setMode('pass')
    }
    expect(await gateway.exited()).toBe(0)

    expect(gateway.failedRequests()).toEqual([])
    const departed = readAccessLog(gateway.accessLog).filter(line => line.path.startsWith('/slow/departed-'))
    expect(departed.length).toBeGreaterThanOrEqual(waiting)
    expect(departed.map(line => `${line.status} ${line.outcome}`)).toEqual(departed.map(() => '499 client_closed'))
    expect(upstream.received.filter(request => request.url.includes('departed'))).toEqual([])
  }, TEST_MS)

  it('logs 499, never 502, for a request whose connection was cut the moment before its rate limit answered: the upstream pools outlast it', async () => {
    const gateway = await startGateway()
    const port = Number(new URL(gateway.url).port)
    const pids = await servingPids(gateway, Math.max(1, workers))
    const redis = new Redis(REDIS_URL)
    const subject = `{${(app as Provisioned).appId}:${(app as Provisioned).apiId}}`
    // the month's count of the app's calls: the rate-limit call adds this one when Redis runs it
    const monthCount = `${prefix}quota:${subject}:${monthWindow(Date.now()).id}`
    const counted = await redis.get(monthCount)
    relay.setMode('drop')
    let stopped = false
    try {
      const socket = connect(port, '127.0.0.1')
      socket.on('error', () => {})
      socket.write(`GET /slow/cut HTTP/1.1\r\nhost: 127.0.0.1\r\nx-api-key: ${apiKey()}\r\n\r\n`)
      // (a heartbeat the relay held first holds the call back in the gateway until that one's deadline)
      await waitFor('the rate-limit call to wait at the relay', () => relay.held('request').includes(`${prefix}rate:${subject}`), WAIT_MS)
      gateway.kill('SIGTERM')
      // closing: the gateway waits for the one connection, whose request is in progress
      await waitFor('the gateway to stop listening', async () => await refused(port), WAIT_MS)
      for (const pid of pids) process.kill(pid, 'SIGSTOP')
      stopped = true
      // a signal takes effect when the process is next scheduled: it must not read the reset before it stops
      await waitFor('the serving processes to stop', () => pids.every(pid => processState(pid) === 'T'), WAIT_MS)
      // the client cuts the connection, then Redis answers: the stopped gateway finds both at once, in this order
      socket.resetAndDestroy()
      relay.setMode('pass')
      // Redis wrote its answer to the relay before it read this question, and the relay passes it on at once
      await waitFor('Redis to run the rate-limit call', async () => await redis.get(monthCount) !== counted, WAIT_MS)
    } finally {
      relay.setMode('pass')
      if (stopped) for (const pid of pids) process.kill(pid, 'SIGCONT')
      redis.disconnect()
    }
    expect(await gateway.exited()).toBe(0)
    expect(gateway.failedRequests()).toEqual([])
    const cut = readAccessLog(gateway.accessLog).filter(line => line.path === '/slow/cut')
    expect(cut.map(line => `${line.status} ${line.outcome}`)).toEqual(['499 client_closed'])
  }, TEST_MS)
})
