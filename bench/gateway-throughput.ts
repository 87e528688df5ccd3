// What the gateway costs per request against the same upstream called directly, through nginx
// and through a bare @fastify/http-proxy, in one run; then GATEWAY_WORKERS=2 against one
// process. Loopback only, bounded in time; prints the tables and writes them to
// bench/results/latest.md. Run with `npm run bench` (builds first); `npm run bench -- --scale`
// (or BENCH_SCALE=1) runs the scale mode instead (bench/scale.ts, bench/results/latest-scale.md).
//
// Per target and round: saturation throughput (autocannon, 50 connections), CPU time per
// request of the serving processes at a fixed rate (/proc/<pid>/stat before and after,
// Redis's own CPU included where the gateway uses it), one-connection latency (wrk -c1,
// µs resolution), and for Redis its commands per request (INFO commandstats). Targets take
// turns round by round, because on a 2-core machine the load generator, the upstream, the
// target and Redis share the cores. The CPU figure is the lowest round: other processes can
// only add to a process's CPU time (cache and core sharing), never take from it. Throughput
// and latency are medians over rounds.
//   BENCH_ROUNDS (3), BENCH_RATE (2000 req/s), BENCH_CPU_SECONDS (4), BENCH_SATURATION_SECONDS (3),
//   BENCH_CONNECTIONS (50), BENCH_LATENCY_SECONDS (3), BENCH_APPS (10), BENCH_KEEP_TMP=1 keeps the logs
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { cpuPerRequest, median, nodeLatency, redisCommandCount, runLoad, wrkLatency, type Credentials, type CpuResult, type LatencyResult, type LoadResult } from './lib/measure.js'
import { processTree, rssMegabytes, stopAll } from './lib/processes.js'
import { freePort, startProduct } from './lib/product.js'
import { formatNumber, machineDescription, table } from './lib/report.js'
import { runScaleMode, scaleResultsFile } from './scale.js'
import { startBaselines, startClusteredGateway, startEmbeddedGateway, type GatewayDeployment } from './lib/stack.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const RATE = Number(process.env.BENCH_RATE ?? 2000)
const CPU_SECONDS = Number(process.env.BENCH_CPU_SECONDS ?? 4)
const SATURATION_SECONDS = Number(process.env.BENCH_SATURATION_SECONDS ?? 3)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 3)
const APPS = Number(process.env.BENCH_APPS ?? 10)
const WARMUP_SECONDS = 3
/** connections of the fixed-rate run: enough that a slow response never holds the rate back */
const RATE_CONNECTIONS = 20
const REPOSITORY = path.resolve(import.meta.dirname, '..')

interface Target {
  name: string
  url: string
  credentials: Credentials
  /** wrk cannot sign HMAC requests: those are timed by a Node client (see nodeLatency) */
  latencyTool: 'wrk' | 'node'
  /** processes whose CPU a request costs */
  serving: () => number[]
  /** the serving process(es) whose memory is reported (Redis excluded) */
  memory: () => number[]
  redisPort?: number
  isGateway: boolean
}

interface Round {
  saturation: LoadResult
  cpu: CpuResult
  latency: LatencyResult
  /** gateway rows: the bare proxy's latency by the same tool, measured right before this row's */
  baselineLatency?: LatencyResult
  /** gateway rows: the bare proxy's CPU per request, measured right before this row's */
  baselineCpu?: CpuResult
  redisCommands?: number
  redisScriptCalls?: number
}

function wrkHeaders (credentials: Credentials): Record<string, string> {
  return credentials.headers ?? {}
}

function redisScriptCalls (port: number): number {
  return redisCommandCount(port, /^(eval|evalsha|evalsha_ro|eval_ro|fcall|fcall_ro)$/)
}

async function oneConnectionLatency (url: string, credentials: Credentials, tool: Target['latencyTool']): Promise<LatencyResult> {
  return tool === 'wrk' ? await wrkLatency(url, wrkHeaders(credentials), LATENCY_SECONDS) : await nodeLatency(url, credentials, LATENCY_SECONDS)
}

/** Measures one round of `target`; a gateway's CPU and latency runs are each paired with one of the bare proxy just before (latency by the same tool). */
async function measure (target: Target, bare: Target): Promise<Round> {
  const saturation = await runLoad(target.url, target.credentials, { connections: CONNECTIONS, seconds: SATURATION_SECONDS })
  const fixedRate = { rate: RATE, seconds: CPU_SECONDS, connections: RATE_CONNECTIONS }
  const baselineCpu = target.isGateway ? await cpuPerRequest(bare.url, bare.credentials, bare.serving, fixedRate) : undefined
  const commandsBefore = target.redisPort !== undefined ? redisCommandCount(target.redisPort) : 0
  const scriptsBefore = target.redisPort !== undefined ? redisScriptCalls(target.redisPort) : 0
  const cpu = await cpuPerRequest(target.url, target.credentials, target.serving, fixedRate)
  const round: Round = { saturation, cpu, baselineCpu, latency: { p50: 0, p99: 0, requests: 0, tool: target.latencyTool } }
  if (target.redisPort !== undefined) {
    round.redisCommands = (redisCommandCount(target.redisPort) - commandsBefore) * 1000 / cpu.completed
    round.redisScriptCalls = (redisScriptCalls(target.redisPort) - scriptsBefore) * 1000 / cpu.completed
  }
  if (target.isGateway) round.baselineLatency = await oneConnectionLatency(bare.url, bare.credentials, target.latencyTool)
  round.latency = await oneConnectionLatency(target.url, target.credentials, target.latencyTool)
  console.log(`  ${target.name}: ${formatNumber(saturation.requestsPerSecond)} req/s saturated, ${formatNumber(cpu.microsPerRequest, 1)} µs CPU/request at ${formatNumber(cpu.rate)} req/s, p50/p99 ${formatNumber(round.latency.p50)}/${formatNumber(round.latency.p99)} µs (${round.latency.tool})${round.redisCommands !== undefined ? `, ${formatNumber(round.redisCommands, 1)} Redis commands/1,000` : ''}${saturation.failed + cpu.failed > 0 ? `, ${saturation.failed + cpu.failed} failed` : ''}`)
  return round
}

function gatewayTargets (label: string, deployment: GatewayDeployment, serving: () => number[], memory: () => number[], redisPort?: number): Target[] {
  const app = deployment.fixture.apps[0]
  const url = `${deployment.gatewayUrl}${deployment.fixture.path}`
  const common = { url, serving, memory, redisPort, isGateway: true }
  return [
    { ...common, name: `gateway, ${label}, API key`, credentials: { headers: { 'x-api-key': app.apiKey } }, latencyTool: 'wrk' },
    { ...common, name: `gateway, ${label}, HMAC`, credentials: { hmac: { key: app.key, secret: app.secret } }, latencyTool: 'node' },
    { ...common, name: `gateway, ${label}, OAuth2 token`, credentials: { headers: { authorization: `Bearer ${deployment.token}` } }, latencyTool: 'wrk' }
  ]
}

interface Summary {
  target: Target
  saturation: number
  cpu: number
  cpuRounds: number[]
  /** gateway rows: each round's CPU per request over the bare proxy's just before */
  cpuRatioRounds?: number[]
  p50: number
  p99: number
  p99Rounds: number[]
  /** gateway rows: medians over the rounds of (this row − the bare proxy measured just before) */
  deltaP50?: number
  deltaP99?: number
  deltaP99Rounds?: number[]
  failed: number
  redisCommands?: number
  redisScriptCalls?: number
  rss: number
}

function summarise (target: Target, rounds: Round[]): Summary {
  const some = (pick: (round: Round) => number | undefined): number | undefined => rounds[0] !== undefined && pick(rounds[0]) !== undefined ? median(rounds.map(round => pick(round) as number)) : undefined
  return {
    target,
    saturation: median(rounds.map(round => round.saturation.requestsPerSecond)),
    cpu: Math.min(...rounds.map(round => round.cpu.microsPerRequest)),
    cpuRounds: rounds.map(round => round.cpu.microsPerRequest),
    ...(target.isGateway ? { cpuRatioRounds: rounds.map(round => round.cpu.microsPerRequest / (round.baselineCpu as CpuResult).microsPerRequest) } : {}),
    p50: median(rounds.map(round => round.latency.p50)),
    p99: median(rounds.map(round => round.latency.p99)),
    p99Rounds: rounds.map(round => round.latency.p99),
    ...(target.isGateway ? pairedDeltas(rounds) : {}),
    failed: rounds.reduce((sum, round) => sum + round.saturation.failed + round.cpu.failed, 0),
    redisCommands: some(round => round.redisCommands),
    redisScriptCalls: some(round => round.redisScriptCalls),
    rss: rssMegabytes(target.memory())
  }
}

function pairedDeltas (rounds: Round[]): Pick<Summary, 'deltaP50' | 'deltaP99' | 'deltaP99Rounds'> {
  const deltas = (pick: (latency: LatencyResult) => number): number[] => rounds.map(round => pick(round.latency) - pick(round.baselineLatency as LatencyResult))
  return { deltaP50: median(deltas(latency => latency.p50)), deltaP99: median(deltas(latency => latency.p99)), deltaP99Rounds: deltas(latency => latency.p99) }
}

function signed (value: number): string {
  return `${value >= 0 ? '+' : '−'}${formatNumber(Math.abs(value))}`
}

function mainTable (summaries: Summary[], bare: Summary): string {
  const rows = summaries.map(summary => {
    const note = summary.target.latencyTool === 'node' ? ' ¹' : ''
    return [
      summary.target.name,
      formatNumber(summary.saturation),
      `${formatNumber(summary.cpu)} (${summary.cpuRounds.map(value => formatNumber(value)).join(', ')})`,
      summary.cpuRatioRounds !== undefined
        ? `${median(summary.cpuRatioRounds).toFixed(2)}× (${summary.cpuRatioRounds.map(ratio => ratio.toFixed(2)).join(', ')})`
        : `${(summary.cpu / bare.cpu).toFixed(2)}×`,
      `${formatNumber(summary.p50)} / ${formatNumber(summary.p99)}${note} (${summary.p99Rounds.map(value => formatNumber(value)).join(', ')})`,
      summary.deltaP50 !== undefined && summary.deltaP99 !== undefined ? `${signed(summary.deltaP50)} / ${signed(summary.deltaP99)} (${(summary.deltaP99Rounds ?? []).map(signed).join(', ')})` : '',
      formatNumber(summary.rss),
      summary.redisCommands !== undefined ? `${formatNumber(summary.redisCommands, 1)} (${formatNumber(summary.redisScriptCalls ?? 0, 1)})` : '–',
      summary.failed > 0 ? String(summary.failed) : '0'
    ]
  })
  return table(
    ['target', 'saturation req/s', `CPU µs/request at ${formatNumber(RATE)} req/s, lowest round (each round)`, '× bare proxy (gateway rows: median of each round\'s ratio to a bare-proxy run just before; others: lowest rounds)', 'one connection p50 / p99 µs, medians (each round\'s p99)', 'Δ p50 / Δ p99 vs the bare proxy just before, medians (each round\'s Δ p99) µs', 'RSS MB', 'Redis commands per 1,000 req (of which script calls)', 'failed requests'],
    [false, true, true, true, true, true, true, true, true],
    rows
  )
}

async function runDefaultMode (directory: string): Promise<string> {
  console.log('starting the upstream, nginx, the bare proxy and the gateways…')
  const baselines = await startBaselines(REPOSITORY, directory)
  const embedded = await startEmbeddedGateway(directory, baselines.upstreamUrl, APPS)
  const clustered = await startClusteredGateway(directory, baselines.upstreamUrl, APPS)
  const redis = clustered.redis as NonNullable<typeof clustered.redis>
  try {
    const upstreamPid = baselines.upstream.pid
    const bareTarget: Target = { name: 'bare @fastify/http-proxy', url: `${baselines.bareProxyUrl as string}/bench/items`, credentials: {}, latencyTool: 'wrk', serving: () => [baselines.bareProxy?.pid as number], memory: () => [baselines.bareProxy?.pid as number], isGateway: false }
    const targets: Target[] = [
      { name: 'upstream called directly', url: `${baselines.upstreamUrl}/items`, credentials: {}, latencyTool: 'wrk', serving: () => [upstreamPid], memory: () => [upstreamPid], isGateway: false },
      { name: 'nginx, 1 worker, proxy_pass + keepalive', url: `${baselines.nginxUrl as string}/bench/items`, credentials: {}, latencyTool: 'wrk', serving: () => processTree(baselines.nginx?.pid as number), memory: () => processTree(baselines.nginx?.pid as number), isGateway: false },
      bareTarget,
      ...gatewayTargets('embedded, in-memory counters', embedded, () => [embedded.gateway.child.pid], () => [embedded.gateway.child.pid]),
      ...gatewayTargets('PostgreSQL + Redis', clustered, () => [clustered.gateway.child.pid, redis.child.pid], () => [clustered.gateway.child.pid], redis.port)
    ]
    console.log(`warming up (${WARMUP_SECONDS} s each)…`)
    for (const target of targets) await runLoad(target.url, target.credentials, { connections: 10, seconds: WARMUP_SECONDS })
    const rounds = new Map<Target, Round[]>(targets.map(target => [target, []]))
    for (let round = 1; round <= ROUNDS; round++) {
      console.log(`round ${round} of ${ROUNDS}`)
      for (const target of targets) rounds.get(target)?.push(await measure(target, bareTarget))
    }
    const summaries = targets.map(target => summarise(target, rounds.get(target) ?? []))
    const bare = summaries[2]

    console.log('workers: one gateway process, then GATEWAY_WORKERS=2, on the same database, Redis and workload (API key)…')
    const workers = await compareWorkers(directory, clustered, redis)

    return [
      `## Per request, ${ROUNDS} rounds`,
      '',
      mainTable(summaries, bare),
      '',
      `Fixed rate ${formatNumber(RATE)} req/s for ${CPU_SECONDS} s over ${RATE_CONNECTIONS} connections (autocannon \`overallRate\`); CPU = utime + stime of the serving processes from /proc/<pid>/stat, divided by the requests completed (clock ticks of 10 ms: ±1 µs per request at this rate and duration): the figure to compare, steady where saturation throughput moves ±15% between runs. ` +
      `The CPU column is the lowest of the rounds (other processes on the machine only ever add to a process's CPU time), each round's figure in parentheses; throughput and latency are medians over the rounds. A gateway row's ratio to the bare proxy pairs each of its rounds with a run of the bare proxy right before it and takes the median of those ratios: the machine's speed drifts over minutes (the same build's lowest rounds moved 95–152 µs between runs an hour apart), so a ratio of figures taken minutes apart moves with it. Saturation: autocannon, ${CONNECTIONS} connections, ${SATURATION_SECONDS} s (load generator on the same 2 cores). ` +
      `One connection: \`wrk -t1 -c1 -d${LATENCY_SECONDS}s --latency\`; in every round each gateway row's run comes right after one of the bare proxy by the same tool, and the Δ columns are the medians of those pairs' differences (one-connection p99 moves 2–3× within minutes on these shared cores, so only pairs taken seconds apart compare). ` +
      `Embedded rows: one process (\`npm start\` defaults: PGlite, in-memory counters, control server in the same process), so the three auth rows share it and its RSS. ` +
      `PostgreSQL + Redis rows: gateway and control as separate processes (GATEWAY_ROLES), CPU of the gateway plus its private redis-server, RSS of the gateway alone; Redis commands = sum of \`calls=\` in INFO commandstats except INFO over the fixed-rate run (commands run inside Lua scripts count too; script calls ≈ round trips). ` +
      'The gateway runs as `node dist/cli.js start` with LOG_LEVEL=info (access log on, to a file), a plan with rate limit 20,000/s and quotas, API key / HMAC-SHA256 / OAuth2 client-credentials bearer token on one API; HMAC load is signed (a fresh nonce per request) before each run, so the load generator spends as little per request as with the other credentials. ' +
      `nginx logs every request (its default, to a file); the bare proxy logs nothing.\n\n` +
      `¹ HMAC rows: wrk cannot sign HMAC-SHA256 per request, so one kept-alive connection from a Node client timed with process.hrtime (signature and nonce made before the clock starts); its Δ is against the bare proxy timed by the same client just before.`,
      '',
      '## GATEWAY_WORKERS=2 against one process (PostgreSQL + Redis, API key)',
      '',
      workers
    ].join('\n')
  } finally {
    await stopAll()
    await clustered.dropDatabase?.()
  }
}

async function compareWorkers (directory: string, single: GatewayDeployment & { databaseUrl?: string }, redis: { child: { pid: number }, port: number, url: string }): Promise<string> {
  const app = single.fixture.apps[0]
  const credentials = { headers: { 'x-api-key': app.apiKey } }
  const measureDeployment = async (name: string, url: string, pids: () => number[]): Promise<string[]> => {
    await runLoad(url, credentials, { connections: 10, seconds: WARMUP_SECONDS })
    const saturation: number[] = []
    const cpu: number[] = []
    let failed = 0
    for (let round = 0; round < ROUNDS; round++) {
      const load = await runLoad(url, credentials, { connections: CONNECTIONS, seconds: SATURATION_SECONDS })
      const fixed = await cpuPerRequest(url, credentials, pids, { rate: RATE, seconds: CPU_SECONDS, connections: RATE_CONNECTIONS })
      saturation.push(load.requestsPerSecond)
      cpu.push(fixed.microsPerRequest)
      failed += load.failed + fixed.failed
    }
    const rss = rssMegabytes(pids().filter(pid => pid !== redis.child.pid))
    console.log(`  ${name}: ${formatNumber(median(saturation))} req/s saturated, ${formatNumber(Math.min(...cpu), 1)} µs CPU/request${failed > 0 ? `, ${failed} failed` : ''}`)
    return [name, formatNumber(median(saturation)), `${formatNumber(Math.min(...cpu))} (${cpu.map(value => formatNumber(value)).join(', ')})`, formatNumber(rss), String(failed)]
  }
  const url = `${single.gatewayUrl}${single.fixture.path}`
  const one = await measureDeployment('one process', url, () => [single.gateway.child.pid, redis.child.pid])
  await single.gateway.child.stop()
  const port = await freePort()
  const cluster = await startProduct({
    name: 'workers', directory, roles: ['gateway'], gatewayPort: port, controlPort: await freePort(), ...single.secrets,
    databaseUrl: single.databaseUrl, redisUrl: redis.url, workers: 2
  })
  const primary = cluster.child.pid
  const two = await measureDeployment('GATEWAY_WORKERS=2 (primary + 2 workers)', `http://127.0.0.1:${port}${single.fixture.path}`, () => [...processTree(primary), redis.child.pid])
  return [
    table(['gateway', 'saturation req/s', `CPU µs/request at ${formatNumber(RATE)} req/s, all processes + Redis, lowest round (each round)`, 'RSS MB (all gateway processes)', 'failed requests'], [false, true, true, true, true], [one, two]),
    '',
    'Back to back on the same database and Redis; CPU summed over the primary, its workers and the redis-server. On this 2-core machine the load generator, the upstream and Redis compete with the two workers for the same two cores, so these figures show what the extra processes cost rather than what more cores would give.'
  ].join('\n')
}

async function main (): Promise<void> {
  const scale = process.argv.includes('--scale') || process.env.BENCH_SCALE === '1'
  const directory = mkdtempSync(path.join(tmpdir(), 'pgw-bench-'))
  const header = machineDescription()
  const started = Date.now()
  const stopOnSignal = (): void => { void stopAll().finally(() => process.exit(130)) }
  process.once('SIGINT', stopOnSignal)
  process.once('SIGTERM', stopOnSignal)
  try {
    const body = scale ? await runScaleMode(REPOSITORY, directory) : await runDefaultMode(directory)
    const title = scale ? '# Gateway benchmark: 100,000 apps, 10,000 routes' : '# Gateway benchmark: cost per request'
    const document = `${title}\n\n${header} · took ${Math.round((Date.now() - started) / 1000)} s (\`npm run bench${scale ? ' -- --scale' : ''}\`)\n\n${body}\n`
    const file = path.join(REPOSITORY, 'bench', 'results', scale ? scaleResultsFile() : 'latest.md')
    writeFileSync(file, document)
    console.log(`\n${document}\nwritten to ${path.relative(REPOSITORY, file)}`)
  } finally {
    await stopAll()
    if (process.env.BENCH_KEEP_TMP === '1') console.log(`logs and data kept in ${directory}`)
    else rmSync(directory, { recursive: true, force: true })
  }
}

await main()
