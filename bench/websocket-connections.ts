// Opens N concurrent WebSocket connections (default 10,000) through one gateway process to
// a local echo upstream, then prints the gateway's memory per connection and message
// round-trip latency percentiles. Loopback only; stops by itself within BENCH_TIMEOUT_S.
// Run with `npm run bench:websocket` (raises the open-file limit). Options:
//   BENCH_CONNECTIONS (10000), BENCH_MESSAGES (2000), BENCH_TIMEOUT_S (180)
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { freePort } from '../test/helpers/ports.js'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { WebSocket } from 'ws'

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10_000)
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 2000)
const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT_S ?? 180)
const OPEN_CONCURRENCY = 200

const POSTGRES = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'

const children: ChildProcess[] = []
const dataDir = mkdtempSync(path.join(tmpdir(), 'pgw-bench-ws-'))
const database = `pgw_bench_${randomBytes(4).toString('hex')}`

async function adminQuery (sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES })
  await client.connect()
  try { await client.query(sql) } finally { await client.end() }
}

async function cleanUp (): Promise<void> {
  for (const child of children) child.kill('SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
  await new Promise(resolve => setTimeout(resolve, 500))
  await adminQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {})
}
setTimeout(() => { console.error(`gave up after ${TIMEOUT_S} s`); void cleanUp().finally(() => process.exit(1)) }, TIMEOUT_S * 1000).unref()


function rssMegabytes (pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find(entry => entry.startsWith('VmRSS:')) ?? 'VmRSS: 0 kB'
  return Number(/(\d+)/.exec(line)?.[1] ?? 0) / 1024
}

function percentile (sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]
}

async function main (): Promise<void> {
  const openFiles = Number(/Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 0)
  // the gateway holds two sockets per connection (client and upstream side)
  if (openFiles > 0 && openFiles < CONNECTIONS * 2 + 500) console.warn(`warning: the open-file limit is ${openFiles}; the gateway needs about ${CONNECTIONS * 2 + 500} for ${CONNECTIONS} connections (set BENCH_CONNECTIONS lower or raise ulimit -n)`)
  const echo = fork('bench/websocket-echo-server.ts', [], { execArgv: ['--import', 'tsx'] })
  children.push(echo)
  const echoPort = await new Promise<number>(resolve => echo.once('message', message => { resolve((message as { port: number }).port) }))
  const gatewayPort = await freePort()
  const controlPort = await freePort()
  const adminToken = randomBytes(24).toString('hex')
  // PostgreSQL rather than the embedded database, whose WebAssembly heap would swamp the RSS figures
  await adminQuery(`CREATE DATABASE ${database}`)
  const databaseUrl = new URL(POSTGRES)
  databaseUrl.pathname = `/${database}`
  const gateway = spawn(process.execPath, ['dist/cli.js', 'start'], {
    env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: databaseUrl.toString(), GATEWAY_MASTER_KEY: randomBytes(32).toString('hex'), GATEWAY_ADMIN_TOKEN: adminToken, GATEWAY_PORT: String(gatewayPort), CONTROL_PORT: String(controlPort), HOST: '127.0.0.1', LOG_LEVEL: 'warn', WEBSOCKET_MAX_CONNECTIONS: String(CONNECTIONS * 2) },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  children.push(gateway)
  await new Promise<void>(resolve => gateway.stdout?.on('data', chunk => { if (String(chunk).includes('partner-gateway started')) resolve() }))
  const admin = async (urlPath: string, body: unknown): Promise<any> => await (await fetch(`http://127.0.0.1:${controlPort}/admin/v1${urlPath}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()
  const up = await admin('/upstreams', { name: 'echo', targets: [{ url: `http://127.0.0.1:${echoPort}` }] })
  const plan = await admin('/plans', { name: 'unlimited' })
  const api = await admin('/apis', { name: 'stream', upstreamId: up.id, auth: ['apikey'], routes: [{ path: '/stream', websocket: true, stripPrefix: true }] })
  const partner = await admin('/partners', { name: 'Bench' })
  const app = await admin(`/partners/${partner.id as string}/apps`, { name: 'bench' })
  await admin('/grants', { appId: app.id, apiId: api.id, planId: plan.id })
  await new Promise(resolve => setTimeout(resolve, 1500))

  const pid = gateway.pid as number
  const rssBefore = rssMegabytes(pid)
  const sockets: WebSocket[] = []
  const started = Date.now()
  let failed = 0
  for (let batch = 0; batch < CONNECTIONS; batch += OPEN_CONCURRENCY) {
    await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, CONNECTIONS - batch) }, async () => {
      const socket = new WebSocket(`ws://127.0.0.1:${gatewayPort}/stream/feed`, { headers: { 'x-api-key': app.apiKey }, perMessageDeflate: false })
      await new Promise<void>(resolve => {
        socket.once('open', () => { sockets.push(socket); resolve() })
        socket.once('error', () => { failed++; resolve() })
      })
    }))
  }
  const openSeconds = (Date.now() - started) / 1000
  await new Promise(resolve => setTimeout(resolve, 2000))
  const rssOpen = rssMegabytes(pid)

  const latencies: number[] = []
  const payload = 'x'.repeat(64)
  for (let index = 0; index < MESSAGES; index++) {
    const socket = sockets[Math.floor(Math.random() * sockets.length)]
    const sent = performance.now()
    await new Promise<void>(resolve => {
      socket.once('message', () => { latencies.push(performance.now() - sent); resolve() })
      socket.send(payload)
    })
  }
  latencies.sort((a, b) => a - b)
  console.log(`\nWebSocket connections through one gateway process (PostgreSQL, in-memory counters; gateway in its own process, RSS from /proc)`)
  console.log('| connections open | failed | time to open | gateway RSS before | RSS with connections | per connection |')
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: |')
  console.log(`| ${sockets.length} | ${failed} | ${openSeconds.toFixed(1)} s | ${rssBefore.toFixed(0)} MB | ${rssOpen.toFixed(0)} MB | ${((rssOpen - rssBefore) * 1024 / Math.max(1, sockets.length)).toFixed(1)} KB |`)
  console.log(`\n| messages (64 B, one at a time, random connection) | p50 | p90 | p99 | max |`)
  console.log('| ---: | ---: | ---: | ---: | ---: |')
  console.log(`| ${latencies.length} | ${percentile(latencies, 0.5).toFixed(3)} ms | ${percentile(latencies, 0.9).toFixed(3)} ms | ${percentile(latencies, 0.99).toFixed(3)} ms | ${latencies[latencies.length - 1].toFixed(3)} ms |`)
  for (const socket of sockets) socket.terminate()
}

main().then(async () => { await cleanUp(); process.exit(0) }, async error => { console.error(error); await cleanUp(); process.exit(1) })
