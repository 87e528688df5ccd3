// Throughput and latency of the full policy chain against the same upstream called
// directly and through a bare @fastify/http-proxy, side by side in one run. Loopback only,
// bounded in time. Run with `npm run bench` (builds first). Prints tables; asserts nothing.
//   BENCH_SECONDS (default 5), BENCH_ROUNDS (default 3), BENCH_CONNECTIONS (default 50), BENCH_RATE (default 500 req/s)
// Scenarios alternate round by round and each table row is the median round, because on a
// small machine the load generator, upstream, gateway and Redis compete for the same cores.
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { freePort } from '../test/helpers/ports.js'
import autocannon from 'autocannon'
import pg from 'pg'
import { Redis } from 'ioredis'
import { signRequest } from '../src/domain/sign-request.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
const RATE = Number(process.env.BENCH_RATE ?? 500)
const POSTGRES = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'
const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'

const children: ChildProcess[] = []


async function forkServer (script: string, args: string[]): Promise<number> {
  const child = fork(script, args, { execArgv: ['--import', 'tsx'], stdio: 'inherit' })
  children.push(child)
  return await new Promise(resolve => child.once('message', message => { resolve((message as { port: number }).port) }))
}

async function adminQuery (sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES })
  await client.connect()
  try { await client.query(sql) } finally { await client.end() }
}

interface Row { scenario: string, requestsPerSecond: number, p50: number, p99: number, errors: number }

async function load (scenario: string, url: string, options: { headers?: Record<string, string>, sign?: { key: string, secret: string, path: string }, rate?: number, connections?: number }): Promise<Row> {
  const result = await autocannon(({
    url,
    connections: options.connections ?? CONNECTIONS,
    duration: SECONDS,
    headers: options.headers,
    ...(options.rate !== undefined ? { overallRate: options.rate } : {}),
    ...(options.sign !== undefined
      ? {
          requests: [{
            setupRequest: (request: Record<string, unknown>) => {
              const sign = options.sign as { key: string, secret: string, path: string }
              return { ...request, headers: signRequest({ method: 'GET', url: sign.path }, sign.key, sign.secret) }
            }
          }]
        }
      : {})
  }) as autocannon.Options)
  return { scenario, requestsPerSecond: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx }
}

/** Runs every scenario once per round, interleaved, and keeps each scenario's median round. */
async function medianOfRounds (scenarios: Array<() => Promise<Row>>): Promise<Row[]> {
  const results: Row[][] = scenarios.map(() => [])
  for (let round = 0; round < ROUNDS; round++) {
    for (const [index, scenario] of scenarios.entries()) results[index].push(await scenario())
  }
  return results.map(rows => {
    const sorted = [...rows].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond || a.p99 - b.p99)
    return sorted[Math.floor(sorted.length / 2)]
  })
}

function printTable (title: string, rows: Row[], baseline?: Row): void {
  console.log(`\n${title}`)
  console.log('| scenario | req/s | p50 ms | p99 ms | errors+non-2xx | vs bare proxy |')
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |')
  for (const row of rows) {
    const ratio = baseline !== undefined ? `${Math.round(row.requestsPerSecond / baseline.requestsPerSecond * 100)}%` : ''
    console.log(`| ${row.scenario} | ${row.requestsPerSecond} | ${row.p50} | ${row.p99} | ${row.errors} | ${ratio} |`)
  }
}

async function main (): Promise<void> {
  const database = `pgw_bench_${randomBytes(4).toString('hex')}`
  const prefix = `pgwbench:${randomBytes(4).toString('hex')}:`
  await adminQuery(`CREATE DATABASE ${database}`)
  try {
    const upstreamPort = await forkServer('bench/upstream-server.ts', [])
    const upstreamUrl = `http://127.0.0.1:${upstreamPort}`
    const bareProxyPort = await forkServer('bench/bare-proxy.ts', [upstreamUrl])
    const gatewayPort = await freePort()
    const controlPort = await freePort()
    const adminToken = randomBytes(24).toString('hex')
    const databaseUrl = new URL(POSTGRES)
    databaseUrl.pathname = `/${database}`
    const gateway = spawn(process.execPath, [...(process.env.BENCH_GATEWAY_NODE_OPTIONS ?? '').split(' ').filter(Boolean), 'dist/cli.js', 'start'], {
      env: { ...process.env, DATABASE_URL: databaseUrl.toString(), ...(process.env.BENCH_MEMORY_COUNTERS === '1' ? {} : { REDIS_URL: REDIS }), REDIS_KEY_PREFIX: prefix, GATEWAY_MASTER_KEY: randomBytes(32).toString('hex'), GATEWAY_ADMIN_TOKEN: adminToken, GATEWAY_PORT: String(gatewayPort), CONTROL_PORT: String(controlPort), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit']
    })
    children.push(gateway)
    await new Promise<void>(resolve => gateway.stdout?.on('data', chunk => { if (String(chunk).includes('partner-gateway started')) resolve() }))
    const admin = async (path: string, body: unknown): Promise<any> => await (await fetch(`http://127.0.0.1:${controlPort}/admin/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()
    const up = await admin('/upstreams', { name: 'bench', targets: [{ url: upstreamUrl }] })
    const plan = await admin('/plans', { name: 'bench', rateLimit: { perSecond: 1_000_000, burst: 1_000_000 }, quota: { perDay: 1_000_000_000, perMonth: 2_000_000_000 } })
    const api = await admin('/apis', { name: 'bench', upstreamId: up.id, auth: ['hmac', 'apikey'], routes: [{ path: '/bench', stripPrefix: true }] })
    const partner = await admin('/partners', { name: 'Bench' })
    const app = await admin(`/partners/${partner.id as string}/apps`, { name: 'bench' })
    await admin('/grants', { appId: app.id, apiId: api.id, planId: plan.id })
    await new Promise(resolve => setTimeout(resolve, 1500))

    const gatewayUrl = `http://127.0.0.1:${gatewayPort}/bench/items`
    const sign = { key: app.key as string, secret: app.secret as string, path: '/bench/items' }
    console.log(`${SECONDS} s per scenario and round, ${CONNECTIONS} connections; gateway: full chain (auth, grant, Redis rate limit + quota in one Lua call, proxy), PostgreSQL + Redis; one process each`)
    const throughput = await medianOfRounds([
      async () => await load('upstream, direct', `${upstreamUrl}/items`, {}),
      async () => await load('bare @fastify/http-proxy', `http://127.0.0.1:${bareProxyPort}/bench/items`, {}),
      async () => await load('gateway, API key', gatewayUrl, { headers: { 'x-api-key': app.apiKey } }),
      async () => await load('gateway, HMAC signature', gatewayUrl, { sign })
    ])
    printTable(`Throughput (saturated; median of ${ROUNDS} rounds)`, throughput, throughput[1])
    const latency = await medianOfRounds([
      async () => await load(`upstream, direct @ ${RATE} req/s`, `${upstreamUrl}/items`, { rate: RATE, connections: 10 }),
      async () => await load(`bare proxy @ ${RATE} req/s`, `http://127.0.0.1:${bareProxyPort}/bench/items`, { rate: RATE, connections: 10 }),
      async () => await load(`gateway, API key @ ${RATE} req/s`, gatewayUrl, { headers: { 'x-api-key': app.apiKey }, rate: RATE, connections: 10 }),
      async () => await load(`gateway, HMAC @ ${RATE} req/s`, gatewayUrl, { sign, rate: RATE, connections: 10 })
    ])
    printTable(`Latency at moderate load (median of ${ROUNDS} rounds by p99)`, latency)
    console.log(`\nAdded p99 latency of the full chain over a direct call: API key ${(latency[2].p99 - latency[0].p99).toFixed(2)} ms, HMAC ${(latency[3].p99 - latency[0].p99).toFixed(2)} ms`)
  } finally {
    for (const child of children) child.kill('SIGTERM')
    await new Promise(resolve => setTimeout(resolve, 1000))
    await adminQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
    const redis = new Redis(REDIS)
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
  }
}

await main()
