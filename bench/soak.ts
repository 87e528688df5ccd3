// Soak under faults (issue #9): one control process and two gateway processes on their own
// PostgreSQL database and a private redis-server, both reached through TCP relays (each in a
// process of its own, bench/tcp-relay-process.ts), carry mixed
// traffic at a fixed moderate rate (API-key and HMAC calls, short WebSocket sessions) while Redis
// is killed and cut off, PostgreSQL refused and silently dropped, and the configuration changes.
// Then it checks that no fault became an outage: no 5xx, bounded latency, memory and file
// descriptors back to baseline, recorded usage equal to the calls served, exit 0 on SIGTERM.
// Loopback only and bounded: a watchdog ends everything SOAK_SECONDS + 120 s after the start.
// Run with `npm run soak` (builds first); writes bench/results/soak-latest.md, exits 1 if a check failed.
//   SOAK_SECONDS (default 180), SOAK_RATE (HTTP calls/s, default 100), SOAK_WEBSOCKETS_PER_SECOND (default 3)
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import path from 'node:path'
import pg from 'pg'
import { Pool } from 'undici'
import { WebSocket } from 'ws'
import { signQueryString, signRequest } from '../src/domain/sign-request.js'
import { freePort } from '../test/helpers/ports.js'
import { startPrivateRedis, type PrivateRedis } from '../test/helpers/redis-server.js'
import type { RelayMode } from '../test/helpers/tcp-relay.js'

const SOAK_SECONDS = Number(process.env.SOAK_SECONDS ?? 180)
const RATE = Number(process.env.SOAK_RATE ?? 100)
const WEBSOCKETS_PER_SECOND = Number(process.env.SOAK_WEBSOCKETS_PER_SECOND ?? 3)
const POSTGRES = process.env.SOAK_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'

const WARM_UP_SECONDS = 10
const FAULT_SECONDS = 10
/** faults per cycle: Redis killed, Redis dropped, PostgreSQL refused then dropped */
const FAULT_SECONDS_PER_CYCLE = 4 * FAULT_SECONDS
const CONFIG_CHANGE_EVERY_SECONDS = 20
const SETTLE_SECONDS = 10
const SHUTDOWN_TIMEOUT_SECONDS = 10
/** a client gives up on a call after this; far above anything the product may take */
const CALL_TIMEOUT_MS = 10_000
/** the latency no call should exceed, faults or not */
const LATENCY_FLAG_MS = 2_000
/** the control API must answer 503 within its connect + statement deadlines (2 s + 5 s + 1 s client margin) */
const CONTROL_FAULT_ANSWER_MS = 8_000
const MESSAGES_PER_SESSION = 3
const FDS_TOLERANCE = 10
const UPSTREAM_KEEP_ALIVE_MS = 4_000
const RSS_TOLERANCE = 1.5
const WATCHDOG_SECONDS = SOAK_SECONDS + 120

// ---------- records ----------

type Auth = 'apikey' | 'hmac'
interface HttpOutcome { at: number, ms: number, gateway: number, auth: Auth, status: number, code: string }
interface WebSocketOutcome { at: number, ms: number, gateway: number, auth: Auth, status: number, code: string, upgraded: boolean, echoed: number, closeCode: number, failure: string }
interface ControlOutcome { at: number, action: string, status: number, code: string, ms: number, expect: 'success' | 'database-unavailable' | 'skipped' }
interface FaultWindow { name: string, start: number, end: number }
interface ResourceSample { rssMb: number, fds: number, breakdown: string }
interface ProductProcess { name: string, child: ChildProcess, logFile: string, exit?: { code: number | null, signal: string | null, afterMs: number } }
interface Check { name: string, passed: boolean, detail: string }

const httpOutcomes: HttpOutcome[] = []
const webSocketOutcomes: WebSocketOutcome[] = []
const controlOutcomes: ControlOutcome[] = []
const faultWindows: FaultWindow[] = []
const events: Array<{ at: number, time: string, event: string }> = []
const products: ProductProcess[] = []
/** upstreams and relays */
const helpers: ChildProcess[] = []
let redis: PrivateRedis | undefined
const database = `pgw_soak_${randomBytes(4).toString('hex')}`
const workDir = mkdtempSync(path.join(tmpdir(), 'pgw-soak-'))

let trafficStart = performance.now()
let trafficStartEpochMs = Date.now()
/** the soak's own event-loop delay: it adds to the client-side latencies */
const soakLoopDelay = monitorEventLoopDelay({ resolution: 10 })
/** seconds since traffic started (negative during set-up) */
const now = (): number => (performance.now() - trafficStart) / 1000
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

function logEvent (event: string): void {
  const entry = { at: now(), time: new Date().toISOString(), event }
  events.push(entry)
  console.log(`[${entry.time} +${entry.at.toFixed(1)} s] ${event}`)
}

// ---------- processes and services ----------

async function adminQuery<T extends pg.QueryResultRow = pg.QueryResultRow> (sql: string, parameters: unknown[] = [], databaseName?: string): Promise<T[]> {
  const url = new URL(POSTGRES)
  if (databaseName !== undefined) url.pathname = `/${databaseName}`
  const client = new pg.Client({ connectionString: url.toString() })
  await client.connect()
  try { return (await client.query<T>(sql, parameters)).rows } finally { await client.end() }
}

async function forkUpstream (script: string): Promise<number> {
  // idle upstream connections close well within the settle time, so leftovers there would be leaks
  const child = fork(script, [], { execArgv: ['--import', 'tsx'], stdio: 'ignore', env: { ...process.env, UPSTREAM_KEEP_ALIVE_MS: String(UPSTREAM_KEEP_ALIVE_MS) } })
  helpers.push(child)
  return await new Promise((resolve, reject) => {
    child.once('message', message => { resolve((message as { port: number }).port) })
    child.once('exit', code => { reject(new Error(`${script} exited with ${String(code)}`)) })
  })
}

interface RelayProcess { port: number, setMode: (mode: RelayMode) => Promise<void> }

/** A TCP relay to the service on `targetPort`, in its own process (bench/tcp-relay-process.ts). */
async function startRelay (targetPort: number, targetHost: string): Promise<RelayProcess> {
  const child = fork('bench/tcp-relay-process.ts', [String(targetPort), targetHost], { execArgv: ['--import', 'tsx'], stdio: 'ignore' })
  helpers.push(child)
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', message => { resolve((message as { port: number }).port) })
    child.once('exit', code => { reject(new Error(`the relay to ${targetPort} exited with ${String(code)}`)) })
  })
  return {
    port,
    setMode: async mode => {
      await new Promise(resolve => { child.once('message', resolve); child.send({ mode }) })
    }
  }
}

/** Starts `node dist/cli.js start` with its output in a log file; resolves once it says it started. */
async function startProduct (name: string, environment: Record<string, string>): Promise<ProductProcess> {
  const logFile = path.join(workDir, `${name}.log`)
  const log = createWriteStream(logFile)
  const child = spawn(process.execPath, ['dist/cli.js', 'start'], { env: { ...process.env, ...environment }, stdio: ['ignore', 'pipe', 'pipe'] })
  const product: ProductProcess = { name, child, logFile }
  products.push(product)
  child.stdout?.pipe(log)
  child.stderr?.pipe(log)
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`${name} did not start within 30 s; see ${logFile}`)) }, 30_000)
    child.stdout?.on('data', chunk => { if (String(chunk).includes('partner-gateway started')) { clearTimeout(timer); resolve() } })
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`${name} exited with ${String(code)} while starting; see ${logFile}`)) })
  })
  return product
}

/** Loopback ports whose connections the fd breakdown names: the gateway's own is where clients arrive. */
interface KnownPorts { gateway: number, peers: Map<number, string> }

/** RSS, open file descriptors, and what the descriptors are (client connections, upstream, Redis, PostgreSQL, …). */
function sampleResources (pid: number, ports: KnownPorts): ResourceSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  const fds = readdirSync(`/proc/${pid}/fd`)
  // socket inode → its ports, from the kernel's TCP tables (hex `address:port` columns, inode in column 10)
  const sockets = new Map<string, { local: number, remote: number, listening: boolean }>()
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/)
      if (columns.length < 10) continue
      sockets.set(columns[9], { local: parseInt(columns[1].split(':')[1], 16), remote: parseInt(columns[2].split(':')[1], 16), listening: columns[3] === '0A' })
    }
  }
  const kinds = new Map<string, number>()
  for (const fd of fds) {
    let target = ''
    try { target = readlinkSync(`/proc/${pid}/fd/${fd}`) } catch { continue }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1]
    const socket = inode === undefined ? undefined : sockets.get(inode)
    const kind = inode === undefined
      ? 'files'
      : socket === undefined
        ? 'other sockets'
        : socket.listening ? 'listening' : socket.local === ports.gateway ? 'clients' : ports.peers.get(socket.remote) ?? 'other TCP'
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
  }
  const breakdown = [...kinds].sort((a, b) => b[1] - a[1]).map(([kind, count]) => `${kind} ${count}`).join(', ')
  return { rssMb: rssKb / 1024, fds: fds.length, breakdown }
}

let cleanedUp = false
async function cleanUp (): Promise<void> {
  if (cleanedUp) return
  cleanedUp = true
  for (const child of [...products.map(product => product.child), ...helpers]) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  await redis?.stop().catch(() => {})
  await sleep(500)
  await adminQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(error => { console.error(`could not drop ${database}:`, error) })
}

// ---------- traffic ----------

interface AppCredentials { id: string, key: string, secret: string, apiKey: string }

function errorCode (body: string): string {
  try {
    return (JSON.parse(body) as { error?: { code?: string } }).error?.code ?? ''
  } catch {
    return ''
  }
}

async function httpCall (pools: Pool[], apps: AppCredentials[], index: number): Promise<HttpOutcome> {
  const gateway = index % pools.length
  const auth: Auth = Math.floor(index / 2) % 2 === 0 ? 'apikey' : 'hmac'
  const app = apps[Math.floor(index / 4) % apps.length]
  const requestPath = `/soak/items?call=${index}`
  // a fresh nonce and timestamp per HMAC call
  const headers = auth === 'apikey' ? { 'x-api-key': app.apiKey } : signRequest({ method: 'GET', url: requestPath }, app.key, app.secret)
  const started = performance.now()
  const outcome: HttpOutcome = { at: now(), ms: 0, gateway, auth, status: 0, code: '' }
  try {
    const response = await pools[gateway].request({ method: 'GET', path: requestPath, headers, headersTimeout: CALL_TIMEOUT_MS, bodyTimeout: CALL_TIMEOUT_MS })
    const body = await response.body.text()
    outcome.status = response.statusCode
    if (response.statusCode >= 300) outcome.code = errorCode(body)
  } catch (error) {
    outcome.code = (error as { code?: string }).code ?? (error as Error).message
  }
  outcome.ms = performance.now() - started
  return outcome
}

/** Rejects when `work` has not settled within `ms`. */
async function within<T> (ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what} timed out`)) }, ms) })
  try { return await Promise.race([work, timeout]) } finally { clearTimeout(timer) }
}

/** Opens a WebSocket through a gateway, exchanges a few messages with the echo upstream and closes it. */
async function webSocketSession (gatewayPorts: number[], apps: AppCredentials[], index: number): Promise<WebSocketOutcome> {
  const gateway = index % gatewayPorts.length
  const auth: Auth = Math.floor(index / 2) % 2 === 0 ? 'apikey' : 'hmac'
  const app = apps[Math.floor(index / 4) % apps.length]
  // HMAC the way a browser does it: signed query parameters, as it cannot set headers
  const requestPath = auth === 'apikey' ? '/stream/echo' : signQueryString('/stream/echo', app.key, app.secret)
  const started = performance.now()
  const outcome: WebSocketOutcome = { at: now(), ms: 0, gateway, auth, status: 0, code: '', upgraded: false, echoed: 0, closeCode: 0, failure: '' }
  const socket = new WebSocket(`ws://127.0.0.1:${gatewayPorts[gateway]}${requestPath}`, { headers: auth === 'apikey' ? { 'x-api-key': app.apiKey } : {}, handshakeTimeout: CALL_TIMEOUT_MS, perMessageDeflate: false })
  socket.on('error', () => {}) // failures are read below; a late one (after terminate) must not crash the soak
  try {
    await within(CALL_TIMEOUT_MS, 'upgrade', new Promise<void>((resolve, reject) => {
      socket.once('open', () => { resolve() })
      socket.once('error', reject)
      socket.once('unexpected-response', (_request, response) => {
        outcome.status = response.statusCode ?? 0
        let body = ''
        response.on('data', chunk => { body += String(chunk) })
        response.on('end', () => {
          outcome.code = errorCode(body)
          reject(new Error(`upgrade answered ${outcome.status} ${outcome.code}`))
        })
      })
    }))
    outcome.status = 101
    outcome.upgraded = true
    for (let message = 0; message < MESSAGES_PER_SESSION; message++) {
      const payload = `soak ${index} ${message}`
      const echo = await within(CALL_TIMEOUT_MS, 'echo', new Promise<string>(resolve => {
        socket.once('message', data => { resolve(String(data)) })
        socket.send(payload)
      }))
      if (echo === payload) outcome.echoed++
    }
    outcome.closeCode = await within(CALL_TIMEOUT_MS, 'close', new Promise<number>(resolve => {
      socket.once('close', code => { resolve(code) })
      socket.close(1000, 'done')
    }))
    if (outcome.echoed !== MESSAGES_PER_SESSION) outcome.failure = `${outcome.echoed}/${MESSAGES_PER_SESSION} echoes matched`
    else if (outcome.closeCode !== 1000) outcome.failure = `closed with ${outcome.closeCode}`
  } catch (error) {
    outcome.failure = (error as Error).message
    socket.terminate()
  }
  outcome.ms = performance.now() - started
  return outcome
}

/** Sends calls and sessions at fixed rates (open loop: a slow answer does not slow the sender) until stopped. */
function startTraffic (pools: Pool[], gatewayPorts: number[], apps: AppCredentials[]): () => Promise<void> {
  const inFlight = new Set<Promise<void>>()
  const started = performance.now()
  let calls = 0
  let sessions = 0
  const track = (work: Promise<void>): void => {
    inFlight.add(work)
    void work.finally(() => inFlight.delete(work))
  }
  const ticker = setInterval(() => {
    const elapsedSeconds = (performance.now() - started) / 1000
    while (calls < Math.floor(elapsedSeconds * RATE)) {
      track(httpCall(pools, apps, calls++).then(outcome => { httpOutcomes.push(outcome) }))
    }
    while (sessions < Math.floor(elapsedSeconds * WEBSOCKETS_PER_SECOND)) {
      track(webSocketSession(gatewayPorts, apps, sessions++).then(outcome => { webSocketOutcomes.push(outcome) }))
    }
  }, 5)
  return async () => {
    clearInterval(ticker)
    await Promise.all([...inFlight])
  }
}

// ---------- faults and configuration changes ----------

interface ScheduledStep { at: number, run: () => Promise<void> | void }

interface FaultPlan {
  steps: ScheduledStep[]
  /** when PostgreSQL is cut, [start, end] in seconds after traffic start */
  postgresCuts: Array<[number, number]>
}

/**
 * After the warm-up, cycles of: gap, Redis killed, gap, Redis dropped, gap, PostgreSQL refused
 * then dropped (the control API probed in each), and a last gap; one cycle per 90 s of soak.
 */
function planFaults (redisRelay: RelayProcess, postgresRelay: RelayProcess, controlProbe: (what: string) => Promise<void>): FaultPlan {
  const cycles = Math.max(1, Math.floor(SOAK_SECONDS / 90))
  const gap = (SOAK_SECONDS - cycles * FAULT_SECONDS_PER_CYCLE) / (cycles * 3 + 1)
  if (gap < 3) throw new Error(`SOAK_SECONDS=${SOAK_SECONDS} leaves ${gap.toFixed(1)} s between faults; use at least 55`)
  const plan: FaultPlan = { steps: [], postgresCuts: [] }
  const window = (name: string, start: number, begin: () => Promise<void> | void, end: () => Promise<void> | void): void => {
    const record: FaultWindow = { name, start: Number.NaN, end: Number.NaN }
    plan.steps.push({ at: start, run: async () => { record.start = now(); faultWindows.push(record); await begin() } })
    plan.steps.push({ at: start + FAULT_SECONDS, run: async () => { await end(); record.end = now() } })
  }
  let at = WARM_UP_SECONDS
  for (let cycle = 0; cycle < cycles; cycle++) {
    at += gap
    window('Redis killed', at, async () => { await redis?.kill(); logEvent('Redis killed (SIGKILL)') }, async () => { await redis?.start(); logEvent('Redis restarted (empty)') })
    at += FAULT_SECONDS + gap
    window('Redis dropped', at, async () => { await redisRelay.setMode('drop'); logEvent('Redis relay: drop') }, async () => { await redisRelay.setMode('pass'); logEvent('Redis relay: pass') })
    at += FAULT_SECONDS + gap
    plan.postgresCuts.push([at, at + 2 * FAULT_SECONDS])
    window('PostgreSQL refused', at, async () => { await postgresRelay.setMode('refuse'); logEvent('PostgreSQL relay: refuse') }, () => {})
    plan.steps.push({ at: at + 3, run: async () => { await controlProbe('PostgreSQL refused') } })
    at += FAULT_SECONDS
    window('PostgreSQL dropped', at, async () => { await postgresRelay.setMode('drop'); logEvent('PostgreSQL relay: drop') }, async () => { await postgresRelay.setMode('pass'); logEvent('PostgreSQL relay: pass') })
    plan.steps.push({ at: at + 3, run: async () => { await controlProbe('PostgreSQL dropped') } })
    at += FAULT_SECONDS
  }
  return plan
}

/** Runs the steps at their times (seconds after traffic start), one after the other. */
async function runSchedule (steps: ScheduledStep[]): Promise<void> {
  for (const step of [...steps].sort((a, b) => a.at - b.at)) {
    const wait = (step.at - now()) * 1000
    if (wait > 0) await sleep(wait)
    await step.run()
  }
}

type Admin = (method: string, urlPath: string, body?: unknown) => Promise<{ status: number, body: any, ms: number }>

interface CreatedApi { name: string, path: string }

/**
 * A configuration change every CONFIG_CHANGE_EVERY_SECONDS, in turn: create an API, change the
 * plan's rate, change the new API's description; skipped while PostgreSQL is cut or about to be.
 * The first comes while Redis is down, so gateways learn about it by polling, not by the event.
 */
function planConfigurationChanges (admin: Admin, ids: { planId: string, upstreamId: string }, postgresCuts: Array<[number, number]>): { steps: ScheduledStep[], createdApis: CreatedApi[] } {
  const createdApis: CreatedApi[] = []
  let changes = 0
  let extraApi: { id: string, name: string } | undefined
  const nextChange = (): { action: string, method: string, urlPath: string, body: unknown } => {
    const number = changes++
    if (number % 3 === 0 || extraApi === undefined) {
      const name = `soak-extra-${number}`
      return { action: `create API ${name}`, method: 'POST', urlPath: '/apis', body: { name, upstreamId: ids.upstreamId, auth: ['apikey'], routes: [{ path: `/extra-${number}`, stripPrefix: true }] } }
    }
    if (number % 3 === 1) {
      const perSecond = number % 2 === 0 ? 10_000 : 12_000
      return { action: `plan rate → ${perSecond}/s`, method: 'PATCH', urlPath: `/plans/${ids.planId}`, body: { rateLimit: { perSecond } } }
    }
    return { action: `describe API ${extraApi.name}`, method: 'PATCH', urlPath: `/apis/${extraApi.id}`, body: { description: `changed at +${now().toFixed(0)} s` } }
  }
  const steps: ScheduledStep[] = []
  for (let at = WARM_UP_SECONDS + 5; at < WARM_UP_SECONDS + SOAK_SECONDS - 2; at += CONFIG_CHANGE_EVERY_SECONDS) {
    steps.push({
      at,
      run: async () => {
        const started = now()
        if (postgresCuts.some(([start, end]) => started > start - 2 && started < end + 1)) {
          controlOutcomes.push({ at: started, action: 'configuration change skipped (PostgreSQL cut)', status: 0, code: '', ms: 0, expect: 'skipped' })
          return
        }
        const { action, method, urlPath, body } = nextChange()
        try {
          const response = await admin(method, urlPath, body)
          if (method === 'POST' && response.status === 201) {
            extraApi = { id: response.body.id, name: response.body.name }
            createdApis.push({ name: response.body.name, path: response.body.routes[0].path })
          }
          controlOutcomes.push({ at: started, action, status: response.status, code: response.body?.error?.code ?? '', ms: response.ms, expect: 'success' })
          logEvent(`configuration change: ${action} → ${response.status}`)
        } catch (error) {
          controlOutcomes.push({ at: started, action, status: 0, code: (error as Error).message, ms: (now() - started) * 1000, expect: 'success' })
          logEvent(`configuration change: ${action} → ${(error as Error).message}`)
        }
      }
    })
  }
  return { steps, createdApis }
}

/** Whether each gateway knows the APIs created during the soak: 403 NOT_GRANTED (the route exists, the app has no grant), not 404. */
async function probePropagation (gatewayPorts: number[], createdApis: CreatedApi[], apiKey: string): Promise<string[]> {
  const answers: string[] = []
  for (const api of createdApis) {
    for (const [index, port] of gatewayPorts.entries()) {
      const response = await fetch(`http://127.0.0.1:${port}${api.path}/items`, { headers: { 'x-api-key': apiKey, connection: 'close' }, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) })
      answers.push(`gateway-${index + 1} ${api.path}: ${response.status} ${errorCode(await response.text())}`)
    }
  }
  return answers
}

// ---------- statistics ----------

function percentile (sorted: number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * fraction) - 1)]
}

/** The fault a call was in flight during, if any; calls before `warmUpEnd` are the warm-up. */
function windowOf (start: number, ms: number, warmUpEnd: number): string {
  const end = start + ms / 1000
  const fault = faultWindows.find(window => start <= window.end && end >= window.start)
  if (fault !== undefined) return fault.name
  return start < warmUpEnd ? 'warm-up' : 'no fault'
}

const formatMs = (value: number): string => Number.isNaN(value) ? '–' : value.toFixed(1)

function countBy<T> (items: T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>()
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1)
  return counts
}

function summariseLog (file: string): { warnings: number, errors: number, messages: string } {
  let warnings = 0
  let errors = 0
  const messages = new Map<string, number>()
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      const entry = JSON.parse(line) as { level?: number, msg?: string }
      if ((entry.level ?? 0) < 40) continue
      if ((entry.level ?? 0) >= 50) errors++
      else warnings++
      messages.set(entry.msg ?? '', (messages.get(entry.msg ?? '') ?? 0) + 1)
    } catch {}
  }
  return { warnings, errors, messages: [...messages].sort((a, b) => b[1] - a[1]).map(([message, count]) => `${count}× ${message}`).join('; ') }
}

interface RedisFallback { at: number, reason: string, downForMs: number | undefined, duringRedisFault: boolean }

/** Each time a process fell back from Redis (its log lines down and up), and whether that overlapped a Redis fault. */
function redisFallbacks (file: string): RedisFallback[] {
  const fallbacks: RedisFallback[] = []
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.includes('"redis":')) continue
    const entry = JSON.parse(line) as { time: number, redis: 'down' | 'up', reason?: string, downForMs?: number }
    const at = (entry.time - trafficStartEpochMs) / 1000
    if (entry.redis === 'down') fallbacks.push({ at, reason: entry.reason ?? '', downForMs: undefined, duringRedisFault: false })
    else if (fallbacks.length > 0) fallbacks[fallbacks.length - 1].downForMs = entry.downForMs
  }
  for (const fallback of fallbacks) {
    const end = fallback.at + (fallback.downForMs ?? Number.POSITIVE_INFINITY) / 1000
    fallback.duringRedisFault = faultWindows.some(window => window.name.startsWith('Redis') && fallback.at <= window.end + 1 && end >= window.start)
  }
  return fallbacks
}

// ---------- the soak ----------

async function main (): Promise<void> {
  const startedAt = new Date()
  const loadAtStart = loadavg()
  console.log(`soak: ${SOAK_SECONDS} s of faults after ${WARM_UP_SECONDS} s warm-up, ${RATE} HTTP calls/s and ${WEBSOCKETS_PER_SECOND} WebSocket sessions/s over 2 gateways; logs in ${workDir}`)
  await adminQuery(`CREATE DATABASE ${database}`)
  redis = await startPrivateRedis()
  const redisRelay = await startRelay(redis.port, '127.0.0.1')
  const postgresRelay = await startRelay(Number(new URL(POSTGRES).port || 5432), new URL(POSTGRES).hostname)
  const httpUpstreamPort = await forkUpstream('bench/upstream-server.ts')
  const echoUpstreamPort = await forkUpstream('bench/websocket-echo-server.ts')

  const databaseUrl = new URL(POSTGRES)
  databaseUrl.host = `127.0.0.1:${postgresRelay.port}`
  databaseUrl.pathname = `/${database}`
  const adminToken = randomBytes(24).toString('hex')
  const common = {
    DATABASE_URL: databaseUrl.toString(),
    REDIS_URL: `redis://127.0.0.1:${redisRelay.port}`,
    REDIS_KEY_PREFIX: 'pgwsoak:',
    GATEWAY_MASTER_KEY: randomBytes(32).toString('hex'),
    HOST: '127.0.0.1',
    // the default level: access-log lines cost their share, and Redis coming back is logged at info
    LOG_LEVEL: 'info',
    GATEWAY_WORKERS: '0',
    SHUTDOWN_TIMEOUT_SECONDS: String(SHUTDOWN_TIMEOUT_SECONDS)
  }
  const controlPort = await freePort()
  await startProduct('control', { ...common, GATEWAY_ROLES: 'control', CONTROL_PORT: String(controlPort), GATEWAY_ADMIN_TOKEN: adminToken, DATA_DIR: path.join(workDir, 'control') })
  const gatewayPorts: number[] = []
  for (const name of ['gateway-1', 'gateway-2']) {
    const port = await freePort()
    gatewayPorts.push(port)
    await startProduct(name, { ...common, GATEWAY_ROLES: 'gateway', GATEWAY_PORT: String(port), DATA_DIR: path.join(workDir, name) })
  }
  const gateways = products.filter(product => product.name.startsWith('gateway'))

  const admin: Admin = async (method, urlPath, body) => {
    const started = performance.now()
    const response = await fetch(`http://127.0.0.1:${controlPort}/admin/v1${urlPath}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS * 2)
    })
    const text = await response.text()
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text), ms: performance.now() - started }
  }
  const create = async (urlPath: string, body: unknown): Promise<any> => {
    const response = await admin('POST', urlPath, body)
    if (response.status !== 201) throw new Error(`POST ${urlPath}: ${response.status} ${JSON.stringify(response.body)}`)
    return response.body
  }

  // one API per upstream (an API has one upstream): HTTP calls and WebSocket sessions, the same plan
  const httpUpstream = await create('/upstreams', { name: 'soak-http', targets: [{ url: `http://127.0.0.1:${httpUpstreamPort}` }] })
  const echoUpstream = await create('/upstreams', { name: 'soak-echo', targets: [{ url: `http://127.0.0.1:${echoUpstreamPort}` }] })
  const plan = await create('/plans', { name: 'soak', rateLimit: { perSecond: 10_000, burst: 10_000 }, quota: { perDay: 100_000_000, perMonth: 1_000_000_000 } })
  const httpApi = await create('/apis', { name: 'soak-http', upstreamId: httpUpstream.id, auth: ['hmac', 'apikey'], routes: [{ path: '/soak', stripPrefix: true }] })
  const streamApi = await create('/apis', { name: 'soak-stream', upstreamId: echoUpstream.id, auth: ['hmac', 'apikey'], routes: [{ path: '/stream', websocket: true, stripPrefix: true }] })
  const partner = await create('/partners', { name: 'Soak' })
  const apps: AppCredentials[] = []
  for (let index = 1; index <= 3; index++) {
    const app = await create(`/partners/${partner.id as string}/apps`, { name: `soak-${index}` })
    // the HTTP grant last: once a gateway serves the last app over HTTP it has the whole configuration
    for (const api of [streamApi, httpApi]) await create('/grants', { appId: app.id, apiId: api.id, planId: plan.id })
    apps.push({ id: app.id, key: app.key, secret: app.secret, apiKey: app.apiKey })
  }

  const pools = gatewayPorts.map(port => new Pool(`http://127.0.0.1:${port}`, { connections: 32, keepAliveTimeout: 4_000 }))
  // wait until both gateways serve every app; these calls are counted as usage too
  let setUpCalls = 0
  for (let index = 0; index < pools.length * apps.length * 2; index++) {
    const deadline = Date.now() + 15_000
    for (;;) {
      const outcome = await httpCall(pools, apps, index)
      if (outcome.status === 200) { setUpCalls++; break }
      if (Date.now() > deadline) throw new Error(`gateway ${outcome.gateway + 1} does not serve the soak API: ${outcome.status} ${outcome.code}`)
      await sleep(200)
    }
  }

  const watchedSeconds = WARM_UP_SECONDS + SOAK_SECONDS
  trafficStart = performance.now()
  trafficStartEpochMs = Date.now()
  soakLoopDelay.enable()
  logEvent(`traffic starts (${WARM_UP_SECONDS} s warm-up, then ${SOAK_SECONDS} s under the fault schedule)`)
  const stopTraffic = startTraffic(pools, gatewayPorts, apps)
  const peers = new Map([[httpUpstreamPort, 'upstream'], [echoUpstreamPort, 'upstream'], [redisRelay.port, 'Redis'], [postgresRelay.port, 'PostgreSQL']])
  const sample = (index: number): ResourceSample => sampleResources(gateways[index].child.pid as number, { gateway: gatewayPorts[index], peers })
  const empty: ResourceSample = { rssMb: 0, fds: 0, breakdown: '' }
  const resources = gateways.map(() => ({ baseline: empty, peak: empty, end: empty, settled: empty }))
  const sampler = setInterval(() => {
    gateways.forEach((gateway, index) => {
      if (gateway.child.exitCode !== null) return
      const current = sample(index)
      const peak = resources[index].peak
      resources[index].peak = { rssMb: Math.max(peak.rssMb, current.rssMb), fds: Math.max(peak.fds, current.fds), breakdown: current.fds >= peak.fds ? current.breakdown : peak.breakdown }
    })
  }, 1_000)

  await sleep(WARM_UP_SECONDS * 1000)
  gateways.forEach((_gateway, index) => { resources[index].baseline = sample(index) })
  logEvent(`baseline: ${resources.map((sample, index) => `gateway-${index + 1} ${sample.baseline.rssMb.toFixed(0)} MB RSS, ${sample.baseline.fds} fds`).join('; ')}`)

  const controlProbe = async (what: string): Promise<void> => {
    const at = now()
    try {
      const response = await admin('GET', '/plans')
      controlOutcomes.push({ at, action: `GET /plans during ${what}`, status: response.status, code: response.body?.error?.code ?? '', ms: response.ms, expect: 'database-unavailable' })
    } catch (error) {
      controlOutcomes.push({ at, action: `GET /plans during ${what}`, status: 0, code: (error as Error).message, ms: (now() - at) * 1000, expect: 'database-unavailable' })
    }
  }
  const faults = planFaults(redisRelay, postgresRelay, controlProbe)
  const changes = planConfigurationChanges(admin, { planId: plan.id, upstreamId: httpUpstream.id }, faults.postgresCuts)
  await Promise.all([runSchedule(faults.steps), runSchedule(changes.steps)])
  await sleep(Math.max(0, watchedSeconds - now()) * 1000)
  await stopTraffic()
  soakLoopDelay.disable()
  logEvent(`traffic stopped: ${httpOutcomes.length} HTTP calls, ${webSocketOutcomes.length} WebSocket sessions`)
  clearInterval(sampler)
  gateways.forEach((_gateway, index) => { resources[index].end = sample(index) })
  await Promise.all(pools.map(async pool => { await pool.close() }))
  await sleep(SETTLE_SECONDS * 1000)
  gateways.forEach((_gateway, index) => { resources[index].settled = sample(index) })
  logEvent(`settled after ${SETTLE_SECONDS} s: ${resources.map((sample, index) => `gateway-${index + 1} ${sample.settled.rssMb.toFixed(0)} MB RSS, ${sample.settled.fds} fds`).join('; ')}`)

  const propagation = await probePropagation(gatewayPorts, changes.createdApis, apps[0].apiKey)

  logEvent('SIGTERM to every process')
  await Promise.all(products.map(async product => {
    const signalled = performance.now()
    const exited = new Promise<{ code: number | null, signal: string | null }>(resolve => product.child.once('exit', (code, signal) => { resolve({ code, signal }) }))
    product.child.kill('SIGTERM')
    const result = await Promise.race([exited, sleep((SHUTDOWN_TIMEOUT_SECONDS + 15) * 1000).then(() => undefined)])
    if (result === undefined) {
      product.child.kill('SIGKILL')
      product.exit = { code: null, signal: 'SIGKILL after no exit', afterMs: performance.now() - signalled }
    } else {
      product.exit = { ...result, afterMs: performance.now() - signalled }
    }
  }))
  logEvent(`exit codes: ${products.map(product => `${product.name} ${String(product.exit?.code)}`).join(', ')}`)

  const appIds = apps.map(app => app.id)
  const [usage] = await adminQuery<{ calls: string | null, rejected: string | null }>('SELECT sum("calls")::text AS calls, sum("rejected")::text AS rejected FROM "UsageDaily" WHERE "appId" = ANY($1::uuid[])', [appIds], database)

  const report = buildReport({ startedAt, loadAtStart, resources, usage: { calls: Number(usage.calls ?? 0), rejected: Number(usage.rejected ?? 0) }, setUpCalls, propagation })
  mkdirSync('bench/results', { recursive: true })
  writeFileSync('bench/results/soak-latest.md', report.markdown)
  console.log(`\n${report.markdown}`)
  console.log('report written to bench/results/soak-latest.md')
  process.exitCode = report.failed ? 1 : 0
}

// ---------- the report ----------

function buildReport (input: { startedAt: Date, loadAtStart: number[], resources: Array<{ baseline: ResourceSample, peak: ResourceSample, end: ResourceSample, settled: ResourceSample }>, usage: { calls: number, rejected: number }, setUpCalls: number, propagation: string[] }): { markdown: string, failed: boolean } {
  const checks: Check[] = []
  const lines: string[] = []
  const warmUpEnd = WARM_UP_SECONDS

  // status classes
  const classOf = (status: number): string => status === 0 ? 'no answer' : `${Math.floor(status / 100)}xx`
  const classes = ['2xx', '3xx', '4xx', '5xx', 'no answer']
  const statusRows = [
    ...(['apikey', 'hmac'] as const).flatMap(auth => [0, 1].map(gateway => {
      const outcomes = httpOutcomes.filter(outcome => outcome.auth === auth && outcome.gateway === gateway)
      const counts = countBy(outcomes, outcome => classOf(outcome.status))
      return `| HTTP, ${auth === 'apikey' ? 'API key' : 'HMAC'}, gateway-${gateway + 1} | ${outcomes.length} | ${classes.map(name => counts.get(name) ?? 0).join(' | ')} |`
    })),
    ...(['apikey', 'hmac'] as const).map(auth => {
      const outcomes = webSocketOutcomes.filter(outcome => outcome.auth === auth)
      const counts = countBy(outcomes, outcome => outcome.upgraded ? '101' : classOf(outcome.status))
      return `| WebSocket upgrade, ${auth === 'apikey' ? 'API key' : 'HMAC query'} | ${outcomes.length} | ${counts.get('101') ?? 0} (101) | ${counts.get('3xx') ?? 0} | ${counts.get('4xx') ?? 0} | ${counts.get('5xx') ?? 0} | ${counts.get('no answer') ?? 0} |`
    })
  ]
  const serverErrors = [...httpOutcomes.filter(outcome => outcome.status >= 500), ...webSocketOutcomes.filter(outcome => outcome.status >= 500)]
  const listCodes = (items: Array<{ status: number, code: string }>): string => [...countBy(items, item => `${item.status} ${item.code}`.trim())].map(([code, count]) => `${count}× ${code}`).join(', ')
  checks.push({ name: 'no 5xx (the upstreams never answer one)', passed: serverErrors.length === 0, detail: serverErrors.length === 0 ? 'none' : listCodes(serverErrors) })
  const otherFailures = httpOutcomes.filter(outcome => outcome.status < 500 && (outcome.status < 200 || outcome.status >= 300))
  checks.push({ name: 'every other HTTP call answered 2xx (limits never reject at this rate)', passed: otherFailures.length === 0, detail: otherFailures.length === 0 ? `${httpOutcomes.length} calls` : listCodes(otherFailures) })
  const failedSessions = webSocketOutcomes.filter(outcome => outcome.failure !== '')
  checks.push({ name: `every WebSocket session upgraded, echoed ${MESSAGES_PER_SESSION} messages, closed 1000`, passed: failedSessions.length === 0, detail: failedSessions.length === 0 ? `${webSocketOutcomes.length} sessions` : [...countBy(failedSessions, outcome => outcome.failure)].map(([failure, count]) => `${count}× ${failure}`).join(', ') })

  // latency by window
  const windowNames = ['warm-up', 'no fault', 'Redis killed', 'Redis dropped', 'PostgreSQL refused', 'PostgreSQL dropped']
  const latencyRows: string[] = []
  const webSocketRows: string[] = []
  let slowest = 0
  for (const name of windowNames) {
    const inWindow = httpOutcomes.filter(outcome => windowOf(outcome.at, outcome.ms, warmUpEnd) === name)
    const sorted = inWindow.map(outcome => outcome.ms).sort((a, b) => a - b)
    const max = sorted.length > 0 ? sorted[sorted.length - 1] : Number.NaN
    if (!Number.isNaN(max)) slowest = Math.max(slowest, max)
    const failures = inWindow.filter(outcome => outcome.status < 200 || outcome.status >= 300).length
    latencyRows.push(`| ${name} | ${inWindow.length} | ${failures} | ${formatMs(percentile(sorted, 0.5))} | ${formatMs(percentile(sorted, 0.99))} | ${formatMs(max)} | ${max > LATENCY_FLAG_MS ? `**over ${LATENCY_FLAG_MS} ms**` : ''} |`)
    const sessions = webSocketOutcomes.filter(outcome => windowOf(outcome.at, outcome.ms, warmUpEnd) === name)
    const sessionTimes = sessions.map(outcome => outcome.ms).sort((a, b) => a - b)
    webSocketRows.push(`| ${name} | ${sessions.length} | ${sessions.filter(outcome => outcome.failure === '').length} | ${formatMs(percentile(sessionTimes, 0.5))} | ${formatMs(percentile(sessionTimes, 0.99))} | ${formatMs(sessionTimes[sessionTimes.length - 1] ?? Number.NaN)} |`)
  }
  checks.push({ name: `no HTTP call took over ${LATENCY_FLAG_MS} ms, faults or not`, passed: slowest <= LATENCY_FLAG_MS, detail: `slowest ${slowest.toFixed(1)} ms` })

  // control API
  const expectedSuccess = controlOutcomes.filter(outcome => outcome.expect === 'success')
  const failedChanges = expectedSuccess.filter(outcome => outcome.status < 200 || outcome.status >= 300)
  checks.push({ name: 'configuration changes succeeded while PostgreSQL was up', passed: expectedSuccess.length > 0 && failedChanges.length === 0, detail: `${expectedSuccess.length - failedChanges.length}/${expectedSuccess.length}${failedChanges.length > 0 ? `; ${listCodes(failedChanges)}` : ''}` })
  const propagated = input.propagation.length > 0 && input.propagation.every(answer => answer.endsWith('403 NOT_GRANTED'))
  checks.push({ name: 'both gateways serve the APIs created during the soak (403 NOT_GRANTED for an app without a grant, not 404)', passed: propagated, detail: input.propagation.join(', ') })
  const probes = controlOutcomes.filter(outcome => outcome.expect === 'database-unavailable')
  const badProbes = probes.filter(outcome => outcome.status !== 503 || outcome.code !== 'DATABASE_UNAVAILABLE' || outcome.ms > CONTROL_FAULT_ANSWER_MS)
  checks.push({ name: `control API answered 503 DATABASE_UNAVAILABLE within ${CONTROL_FAULT_ANSWER_MS / 1000} s while PostgreSQL was cut`, passed: probes.length > 0 && badProbes.length === 0, detail: probes.map(outcome => `${outcome.status} ${outcome.code} in ${outcome.ms.toFixed(0)} ms`).join(', ') })

  // resources
  const resourceRows = input.resources.map((sample, index) => {
    const returned = sample.settled.fds <= sample.baseline.fds + FDS_TOLERANCE && sample.settled.rssMb <= sample.baseline.rssMb * RSS_TOLERANCE
    checks.push({ name: `gateway-${index + 1} back to baseline (fds ≤ baseline + ${FDS_TOLERANCE}, RSS ≤ baseline × ${RSS_TOLERANCE})`, passed: returned, detail: `fds ${sample.baseline.fds} → ${sample.settled.fds}, RSS ${sample.baseline.rssMb.toFixed(0)} → ${sample.settled.rssMb.toFixed(0)} MB` })
    const cell = (value: ResourceSample): string => `${value.rssMb.toFixed(0)} MB / ${value.fds}`
    return `| gateway-${index + 1} | ${cell(sample.baseline)} | ${cell(sample.peak)} | ${cell(sample.end)} | ${cell(sample.settled)} | ${returned ? 'yes' : '**no**'} |`
  })
  const descriptorRows = input.resources.flatMap((sample, index) => (['baseline', 'peak', 'end', 'settled'] as const).map(moment => `| gateway-${index + 1} | ${moment} | ${sample[moment].fds} | ${sample[moment].breakdown} |`))

  // usage: a call counts when it passes the limits, HTTP or WebSocket upgrade (src/gateway/policies/rate-limit/rate-limit.ts)
  const http2xx = httpOutcomes.filter(outcome => outcome.status >= 200 && outcome.status < 300).length
  const upgrades = webSocketOutcomes.filter(outcome => outcome.upgraded).length
  const expectedUsage = http2xx + upgrades + input.setUpCalls
  checks.push({ name: 'recorded usage (UsageDaily.calls) equals the calls served', passed: input.usage.calls === expectedUsage, detail: `recorded ${input.usage.calls} (rejected ${input.usage.rejected}), served ${expectedUsage} = ${http2xx} HTTP 2xx + ${upgrades} WebSocket upgrades + ${input.setUpCalls} set-up calls` })

  // shutdown
  const exitRows = products.map(product => `| ${product.name} | ${String(product.exit?.code ?? '–')} | ${product.exit?.signal ?? ''} | ${formatMs(product.exit?.afterMs ?? Number.NaN)} |`)
  const badExits = products.filter(product => product.exit?.code !== 0)
  checks.push({ name: 'every process exited 0 on SIGTERM', passed: badExits.length === 0, detail: products.map(product => `${product.name} ${String(product.exit?.code)}`).join(', ') })

  const fallbackRows = products.map(product => {
    const fallbacks = redisFallbacks(product.logFile)
    const outside = fallbacks.filter(fallback => !fallback.duringRedisFault)
    const describe = (fallback: RedisFallback): string => `+${fallback.at.toFixed(1)} s ${fallback.reason} (${fallback.downForMs === undefined ? 'no up line' : `${fallback.downForMs} ms`})`
    return `| ${product.name} | ${fallbacks.length - outside.length} | ${outside.length} | ${outside.map(describe).join('; ')} |`
  })
  const logRows = products.map(product => {
    const summary = summariseLog(product.logFile)
    return `| ${product.name} | ${summary.warnings} | ${summary.errors} | ${summary.messages.replace(/\|/g, '\\|')} |`
  })

  const failed = checks.filter(check => !check.passed)
  lines.push(
    `# Soak under faults — ${input.startedAt.toISOString()}`,
    '',
    `Machine: ${execFileSync('nproc').toString().trim()} cores (\`nproc\`), Node ${process.version}, ${process.platform}; load average ${input.loadAtStart[0].toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end (the cores are shared). Loopback only. The soak's own event-loop delay during traffic (it sends the load, so this adds to the client-side latencies below; the relays run in processes of their own): p50 ${(soakLoopDelay.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(soakLoopDelay.percentile(99) / 1e6).toFixed(1)} ms, max ${(soakLoopDelay.max / 1e6).toFixed(1)} ms.`,
    `Set-up: one control process and two gateway processes (\`node dist/cli.js start\`), PostgreSQL (own database) and a private redis-server, each behind a TCP relay; an HTTP upstream (advertising a ${UPSTREAM_KEEP_ALIVE_MS / 1000} s keep-alive) and a WebSocket echo upstream (one API each, as an API has one upstream); one plan (10,000/s, 100 M/day) granted to 3 apps on both APIs.`,
    `Traffic: ${WARM_UP_SECONDS} s warm-up, then ${SOAK_SECONDS} s (\`SOAK_SECONDS\`) under the fault schedule; ${RATE} HTTP calls/s alternating gateways, API key and HMAC (fresh nonce each); ${WEBSOCKETS_PER_SECOND} WebSocket sessions/s (API key header or HMAC-signed query; ${MESSAGES_PER_SESSION} echoed messages, close 1000). Configuration changes every ${CONFIG_CHANGE_EVERY_SECONDS} s while PostgreSQL is up. Product settings at their defaults (\`LOG_LEVEL=info\`, 50 ms Redis deadline, \`REDIS_FAULT_POLICY=local\`) but \`SHUTDOWN_TIMEOUT_SECONDS=${SHUTDOWN_TIMEOUT_SECONDS}\`.`,
    '',
    `**Result: ${failed.length === 0 ? 'PASS' : `FAIL (${failed.length} of ${checks.length} checks)`}**`,
    '',
    '## Checks',
    '| check | result | detail |',
    '| --- | --- | --- |',
    ...checks.map(check => `| ${check.name} | ${check.passed ? 'pass' : '**FAIL**'} | ${check.detail.replace(/\|/g, '\\|')} |`),
    '',
    '## Fault schedule (as run)',
    '| t (s) | time (UTC) | event |',
    '| ---: | --- | --- |',
    ...events.map(event => `| ${event.at.toFixed(1)} | ${event.time.slice(11, 23)} | ${event.event} |`),
    '',
    '## Calls by status class',
    '| calls | total | 2xx | 3xx | 4xx | 5xx | no answer |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...statusRows,
    '',
    `## HTTP latency by fault window (a call counts in a window if it was in flight during it; ms, client side)`,
    '| window | calls | not 2xx | p50 | p99 | max | flag |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...latencyRows,
    '',
    '## WebSocket sessions by fault window (open, 3 echoes, close; ms)',
    '| window | sessions | succeeded | p50 | p99 | max |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...webSocketRows,
    '',
    '## Control API',
    '| t (s) | action | status | code | ms |',
    '| ---: | --- | ---: | --- | ---: |',
    ...[...controlOutcomes].sort((a, b) => a.at - b.at).map(outcome => `| ${outcome.at.toFixed(1)} | ${outcome.action} | ${outcome.expect === 'skipped' ? '–' : outcome.status} | ${outcome.code} | ${outcome.expect === 'skipped' ? '' : outcome.ms.toFixed(0)} |`),
    '',
    '## Gateway memory (RSS) and open file descriptors',
    `| gateway | baseline (after warm-up) | peak | end of traffic | after ${SETTLE_SECONDS} s settle | back to baseline |`,
    '| --- | ---: | ---: | ---: | ---: | --- |',
    ...resourceRows,
    '',
    '| gateway | when | fds | what they are |',
    '| --- | --- | ---: | --- |',
    ...descriptorRows,
    '',
    '## Recorded usage',
    `UsageDaily.calls for the 3 apps, read from PostgreSQL after every process exited: **${input.usage.calls}**; calls served: **${expectedUsage}** (${http2xx} HTTP 2xx + ${upgrades} WebSocket upgrades, which count as calls, + ${input.setUpCalls} calls made while waiting for the gateways to serve the APIs).`,
    '',
    '## Shutdown (SIGTERM)',
    '| process | exit code | signal | ms to exit |',
    '| --- | ---: | --- | ---: |',
    ...exitRows,
    '',
    '## Redis fallbacks (from each process\'s `"redis":"down"` log lines)',
    'A fallback outside a Redis fault is a call that missed the 50 ms deadline (`REDIS_COMMAND_TIMEOUT_MS`) on a busy machine; the node used its local share until the next probe found Redis.',
    '',
    '| process | during a Redis fault | outside Redis faults | outside: when, why, how long |',
    '| --- | ---: | ---: | --- |',
    ...fallbackRows,
    '',
    '## Log lines at warn and above',
    '| process | warn | error | messages |',
    '| --- | ---: | ---: | --- |',
    ...logRows,
    ''
  )
  return { markdown: lines.join('\n'), failed: failed.length > 0 }
}

const watchdog = setTimeout(() => {
  console.error(`soak: watchdog after ${WATCHDOG_SECONDS} s; stopping everything`)
  void cleanUp().finally(() => process.exit(2))
}, WATCHDOG_SECONDS * 1000)
watchdog.unref()
process.once('SIGINT', () => { void cleanUp().finally(() => process.exit(130)) })

try {
  await main()
} catch (error) {
  console.error(error)
  process.exitCode = 1
} finally {
  await cleanUp()
  if (process.exitCode === 0) rmSync(workDir, { recursive: true, force: true })
  else console.error(`soak: process logs kept in ${workDir}`)
  process.exit()
}
