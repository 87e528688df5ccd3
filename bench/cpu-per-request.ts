// CPU time the gateway process spends per proxied request, at a fixed rate (TESTING-FAULTS.md:
// saturation throughput moves ±15% between runs on 2 shared cores, CPU time per request does
// not). Compares builds side by side: every directory in BENCH_DISTS (default `dist`) runs
// its own gateway on its own database, with in-memory counters and the access log on
// (LOG_LEVEL=info, to a pipe this script drains); rounds alternate between them and each
// build's median round is printed, with one-connection latency (wrk) after each round. Run
// after `npm run build`; loopback only, bounded in time. A build may name node flags of its
// own after `@` (flags separated by `+`), to compare V8 settings on the same build.
//   BENCH_DISTS=dist-before,dist,dist@--max-semi-space-size=32  BENCH_RATE (2000 req/s)  BENCH_SECONDS (6)  BENCH_ROUNDS (5)
//   BENCH_GATEWAY_ENV='OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 ...' extra variables for every gateway
//   BENCH_GATEWAY_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=/tmp/prof' node flags of every gateway
import { execFile, fork, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'
import pg from 'pg'
import { freePort } from '../test/helpers/ports.js'

const DISTS = (process.env.BENCH_DISTS ?? 'dist').split(',').filter(Boolean)
const RATE = Number(process.env.BENCH_RATE ?? 2000)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const POSTGRES = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'
const EXTRA_ENV = Object.fromEntries((process.env.BENCH_GATEWAY_ENV ?? '').split(' ').filter(Boolean).map(pair => pair.split('=', 2) as [string, string]))
const CLOCK_TICKS_PER_SECOND = 100

const children: ChildProcess[] = []

async function adminQuery (sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES })
  await client.connect()
  try { await client.query(sql) } finally { await client.end() }
}

/** utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/<pid>/stat). */
function cpuTicks (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12])
}

interface Gateway { dist: string, pid: number, url: string, apiKey: string, database: string }

/** p50 and p99 of one connection for 3 s, in µs (`wrk --latency`). */
async function oneConnectionLatency (gateway: Gateway): Promise<{ p50: number, p99: number }> {
  const output = await new Promise<string>((resolve, reject) => {
    execFile('wrk', ['-t1', '-c1', '-d3s', '--latency', '-H', `x-api-key: ${gateway.apiKey}`, gateway.url], (error, stdout) => { if (error !== null) reject(error); else resolve(stdout) })
  })
  const micros = (percentile: string): number => {
    const found = new RegExp(`^\\s*${percentile}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(output)
    if (found === null) return Number.NaN
    return Number(found[1]) * (found[2] === 'us' ? 1 : found[2] === 'ms' ? 1000 : 1e6)
  }
  return { p50: micros('50'), p99: micros('99') }
}

async function startGateway (dist: string, upstreamUrl: string): Promise<Gateway> {
  const database = `pgw_cpu_${randomBytes(4).toString('hex')}`
  await adminQuery(`CREATE DATABASE ${database}`)
  const gatewayPort = await freePort()
  const controlPort = await freePort()
  const adminToken = randomBytes(24).toString('hex')
  const databaseUrl = new URL(POSTGRES)
  databaseUrl.pathname = `/${database}`
  const [directory, ownFlags = ''] = dist.split('@')
  const child = spawn(process.execPath, [...(process.env.BENCH_GATEWAY_NODE_OPTIONS ?? '').split(' ').filter(Boolean), ...ownFlags.split('+').filter(Boolean), `${directory}/cli.js`, 'start'], {
    env: { ...process.env, DATABASE_URL: databaseUrl.toString(), GATEWAY_MASTER_KEY: randomBytes(32).toString('hex'), GATEWAY_ADMIN_TOKEN: adminToken, GATEWAY_PORT: String(gatewayPort), CONTROL_PORT: String(controlPort), HOST: '127.0.0.1', LOG_LEVEL: 'info', ...EXTRA_ENV },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  children.push(child)
  await new Promise<void>(resolve => child.stdout?.on('data', chunk => { if (String(chunk).includes('partner-gateway started')) resolve() }))
  const admin = async (path: string, body: unknown): Promise<any> => await (await fetch(`http://127.0.0.1:${controlPort}/admin/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()
  const upstream = await admin('/upstreams', { name: 'bench', targets: [{ url: upstreamUrl }] })
  const plan = await admin('/plans', { name: 'bench', rateLimit: { perSecond: 1_000_000, burst: 1_000_000 }, quota: { perDay: 1_000_000_000, perMonth: 2_000_000_000 } })
  const api = await admin('/apis', { name: 'bench', upstreamId: upstream.id, auth: ['apikey'], routes: [{ path: '/bench', stripPrefix: true }] })
  const partner = await admin('/partners', { name: 'Bench' })
  const app = await admin(`/partners/${partner.id as string}/apps`, { name: 'bench' })
  await admin('/grants', { appId: app.id, apiId: api.id, planId: plan.id })
  await new Promise(resolve => setTimeout(resolve, 1500))
  return { dist, pid: child.pid as number, url: `http://127.0.0.1:${gatewayPort}/bench/items`, apiKey: app.apiKey, database }
}

/** Microseconds of gateway CPU per request over one fixed-rate round. */
async function round (gateway: Gateway, seconds: number): Promise<number> {
  const before = cpuTicks(gateway.pid)
  const result = await autocannon({ url: gateway.url, connections: 10, duration: seconds, overallRate: RATE, headers: { 'x-api-key': gateway.apiKey } })
  const ticks = cpuTicks(gateway.pid) - before
  const requests = result.requests.total
  if (result.non2xx + result.errors > 0) console.warn(`${gateway.dist}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  return ticks / CLOCK_TICKS_PER_SECOND * 1e6 / requests
}

async function main (): Promise<void> {
  const gateways: Gateway[] = []
  try {
    const upstream = fork('bench/upstream-server.ts', [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' })
    children.push(upstream)
    const upstreamPort = await new Promise<number>(resolve => upstream.once('message', message => { resolve((message as { port: number }).port) }))
    for (const dist of DISTS) gateways.push(await startGateway(dist, `http://127.0.0.1:${upstreamPort}`))
    for (const gateway of gateways) await round(gateway, 2)
    const samples = new Map<string, number[]>(DISTS.map(dist => [dist, []]))
    const latencies = new Map<string, Array<{ p50: number, p99: number }>>(DISTS.map(dist => [dist, []]))
    for (let index = 0; index < ROUNDS; index++) {
      for (const gateway of gateways) {
        samples.get(gateway.dist)?.push(await round(gateway, SECONDS))
        latencies.get(gateway.dist)?.push(await oneConnectionLatency(gateway))
      }
    }
    const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
    console.log(`\nGateway CPU per request, API key, ${RATE} req/s for ${SECONDS} s, ${ROUNDS} rounds${Object.keys(EXTRA_ENV).length > 0 ? `, ${process.env.BENCH_GATEWAY_ENV as string}` : ''}`)
    console.log('| build | median µs | rounds µs | one connection p50 / p99 µs, medians (rounds\' p99) |')
    console.log('| --- | ---: | --- | --- |')
    for (const [dist, values] of samples) {
      const rounds = latencies.get(dist) ?? []
      const p50 = median(rounds.map(latency => latency.p50))
      const p99 = median(rounds.map(latency => latency.p99))
      console.log(`| ${dist} | ${median(values).toFixed(0)} | ${values.map(value => value.toFixed(0)).join(', ')} | ${p50.toFixed(0)} / ${p99.toFixed(0)} (${rounds.map(latency => latency.p99.toFixed(0)).join(', ')}) |`)
    }
  } finally {
    for (const child of children) child.kill('SIGTERM')
    await new Promise(resolve => setTimeout(resolve, 1000))
    for (const gateway of gateways) await adminQuery(`DROP DATABASE IF EXISTS ${gateway.database} WITH (FORCE)`)
  }
}

await main()
