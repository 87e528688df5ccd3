// CPU profiles of the gateway's request path and of the bare proxy it is measured against:
// the embedded gateway (in-memory counters, API key, access log on) and bench/bare-proxy.ts
// (@fastify/http-proxy, no policies), each under `node --cpu-prof` at the same fixed rate,
// summarised by bench/profile-summary.ts into bench/results/profile-apikey-memory.txt with
// the time per request by source side by side. Only the samples of the fixed-rate runs count
// (not start-up or warm-up); the raw .cpuprofile files stay in a temp directory
// (BENCH_KEEP_PROFILE=1 keeps them).
// Run with `npm run bench:profile`.   BENCH_RATE (2000 req/s), BENCH_PROFILE_SECONDS (15),
// BENCH_PROFILE_AUTH (apikey, or hmac: a fresh signature and nonce per request, written to
// profile-hmac-memory.txt)
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { runLoad, type Credentials } from './lib/measure.js'
import { compileHelper, startHelperServer, stopAll, type Child } from './lib/processes.js'
import { formatNumber, machineDescription } from './lib/report.js'
import { startEmbeddedGateway, startUpstream } from './lib/stack.js'
import { formatSummary, summariseProfile, type CpuProfile, type ProfileSummary } from './profile-summary.js'

const RATE = Number(process.env.BENCH_RATE ?? 2000)
const SECONDS = Number(process.env.BENCH_PROFILE_SECONDS ?? 15)
const SAMPLING_INTERVAL_MICROS = 200
const AUTH = process.env.BENCH_PROFILE_AUTH === 'hmac' ? 'hmac' : 'apikey'
const AUTH_LABEL = AUTH === 'hmac' ? 'HMAC-SHA256 signature' : 'API key'
const REPOSITORY = path.resolve(import.meta.dirname, '..')

/** V8 stamps samples with CLOCK_MONOTONIC in µs, the clock of process.hrtime. */
function monotonicMicros (): number {
  return Number(process.hrtime.bigint() / 1000n)
}

function profilerFlags (directory: string): string[] {
  return ['--cpu-prof', `--cpu-prof-dir=${directory}`, `--cpu-prof-interval=${SAMPLING_INTERVAL_MICROS}`]
}

interface Profiled { summary: ProfileSummary, requests: number, requestsPerSecond: number, failed: number, file: string, window: { from: number, to: number } }

/** Warms the target up, profiles it at the fixed rate, stops it and reads its profile. */
async function profile (child: Child, profiles: string, url: string, credentials: Credentials): Promise<Profiled> {
  await runLoad(url, credentials, { connections: 10, seconds: 5 })
  const from = monotonicMicros()
  const load = await runLoad(url, credentials, { connections: 20, seconds: SECONDS, rate: RATE })
  const to = monotonicMicros()
  // the profile is written when the process exits
  await child.stop()
  const written = readdirSync(profiles).filter(name => name.endsWith('.cpuprofile')).map(name => path.join(profiles, name))
  // PGlite or other threads may write their own profiles: the main thread's is the largest
  const file = written.sort((a, b) => statSync(b).size - statSync(a).size)[0]
  if (file === undefined) throw new Error(`no .cpuprofile in ${profiles}`)
  const cpuProfile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  if (cpuProfile.startTime > from || cpuProfile.endTime < to) throw new Error('the profile does not cover the load run: are the clocks the same?')
  return { summary: summariseProfile(cpuProfile, { from, to }), requests: load.completed, requestsPerSecond: load.requestsPerSecond, failed: load.failed, file, window: { from, to } }
}

function busyMicros (profiled: Profiled): number {
  return profiled.summary.sampledMicros - profiled.summary.idleMicros
}

/** Main-thread time per request by source, the gateway's next to the bare proxy's. */
function sourcesSideBySide (gateway: Profiled, bare: Profiled): string {
  const perRequest = (profiled: Profiled): Map<string, number> => new Map(profiled.summary.sources.filter(source => source.source !== '(idle)').map(source => [source.source, source.selfMicros / profiled.requests]))
  const gatewayBySource = perRequest(gateway)
  const bareBySource = perRequest(bare)
  const sources = [...new Set([...gatewayBySource.keys(), ...bareBySource.keys()])]
    .map(source => ({ source, gateway: gatewayBySource.get(source) ?? 0, bare: bareBySource.get(source) ?? 0 }))
    .filter(row => row.gateway >= 0.05 || row.bare >= 0.05)
    .sort((a, b) => (b.gateway - b.bare) - (a.gateway - a.bare))
  const cell = (micros: number): string => micros.toFixed(1).padStart(8)
  return [
    `${'gateway'.padStart(8)} ${'bare'.padStart(8)} ${'Δ'.padStart(8)}  source (main-thread µs per request, busy time only)`,
    ...sources.map(row => `${cell(row.gateway)} ${cell(row.bare)} ${cell(row.gateway - row.bare)}  ${row.source}`),
    `${cell(busyMicros(gateway) / gateway.requests)} ${cell(busyMicros(bare) / bare.requests)} ${cell(busyMicros(gateway) / gateway.requests - busyMicros(bare) / bare.requests)}  all`
  ].join('\n')
}

function describeRun (what: string, profiled: Profiled): string {
  return `${what}: ${formatNumber(profiled.requests)} requests at ${formatNumber(profiled.requestsPerSecond)} req/s over ${SECONDS} s (autocannon overallRate ${formatNumber(RATE)}, 20 connections), ${profiled.failed} failed; busy (non-idle) main-thread time per request ≈ ${formatNumber(busyMicros(profiled) / profiled.requests, 1)} µs.`
}

async function main (): Promise<void> {
  const directory = mkdtempSync(path.join(tmpdir(), 'pgw-bench-profile-'))
  const header = machineDescription()
  try {
    const upstream = await startUpstream(REPOSITORY, directory)

    console.log(`profiling the gateway, ${SECONDS} s at ${formatNumber(RATE)} req/s…`)
    const gatewayProfiles = path.join(directory, 'gateway-profiles')
    const deployment = await startEmbeddedGateway(directory, upstream.url, 10, profilerFlags(gatewayProfiles))
    const app = deployment.fixture.apps[0]
    const credentials: Credentials = AUTH === 'hmac' ? { hmac: { key: app.key, secret: app.secret } } : { headers: { 'x-api-key': app.apiKey } }
    const gateway = await profile(deployment.gateway.child, gatewayProfiles, `${deployment.gatewayUrl}${deployment.fixture.path}`, credentials)

    console.log(`profiling the bare proxy, ${SECONDS} s at ${formatNumber(RATE)} req/s…`)
    const bareProfiles = path.join(directory, 'bare-profiles')
    mkdirSync(bareProfiles)
    const bareProxy = await startHelperServer(compileHelper(REPOSITORY, 'bench/bare-proxy.ts'), [upstream.url], path.join(directory, 'bare-proxy.log'), profilerFlags(bareProfiles))
    const bare = await profile(bareProxy.child, bareProfiles, `http://127.0.0.1:${bareProxy.port}/bench/items`, {})

    const document = [
      `CPU profile: gateway, embedded (PGlite), in-memory counters, ${AUTH_LABEL}, access log on (LOG_LEVEL=info to a file), against the bare @fastify/http-proxy (bench/bare-proxy.ts)`,
      `${header}`,
      `node --cpu-prof --cpu-prof-interval=${SAMPLING_INTERVAL_MICROS} (µs), one target after the other on the same upstream; only samples within each fixed-rate run.`,
      describeRun('gateway (dist/cli.js start)', gateway),
      describeRun('bare proxy', bare),
      `Regenerate with \`${AUTH === 'hmac' ? 'BENCH_PROFILE_AUTH=hmac ' : ''}npm run bench:profile\`. self = time in the function itself; total = with its callees. Write syscalls (writev, writeLatin1String, writeString) include the kernel delivering the bytes on loopback.`,
      '',
      'Main-thread time per request by source, gateway against bare proxy (largest difference first)',
      sourcesSideBySide(gateway, bare),
      '',
      '## Gateway',
      formatSummary(gateway.summary, 40),
      '',
      '## Bare proxy',
      formatSummary(bare.summary, 25),
      ''
    ].join('\n')
    const output = path.join(REPOSITORY, 'bench', 'results', `profile-${AUTH}-memory.txt`)
    writeFileSync(output, document)
    console.log(`\n${document}\nwritten to ${path.relative(REPOSITORY, output)}`)
    if (process.env.BENCH_KEEP_PROFILE === '1') {
      for (const [name, profiled] of [['gateway', gateway], ['bare', bare]] as const) {
        const kept = path.join(tmpdir(), `${name}-${path.basename(profiled.file)}`)
        writeFileSync(kept, readFileSync(profiled.file))
        console.log(`raw profile kept at ${kept} (the fixed-rate run: --from ${profiled.window.from} --to ${profiled.window.to})`)
      }
    }
  } finally {
    await stopAll()
    rmSync(directory, { recursive: true, force: true })
  }
}

await main()
