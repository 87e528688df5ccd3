// CPU profile of the gateway's request path: the embedded gateway (in-memory counters, API
// key, access log on) under `node --cpu-prof` at a fixed rate, summarised by
// bench/profile-summary.ts into bench/results/profile-apikey-memory.txt. Only the samples of
// the fixed-rate run count (not start-up or warm-up); the raw .cpuprofile stays in a temp
// directory (its path is printed; BENCH_KEEP_PROFILE=1 keeps it).
// Run with `npm run bench:profile`.   BENCH_RATE (2000 req/s), BENCH_PROFILE_SECONDS (15)
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { runLoad } from './lib/measure.js'
import { stopAll } from './lib/processes.js'
import { formatNumber, machineDescription } from './lib/report.js'
import { startEmbeddedGateway, startUpstream } from './lib/stack.js'
import { formatSummary, summariseProfile, type CpuProfile } from './profile-summary.js'

const RATE = Number(process.env.BENCH_RATE ?? 2000)
const SECONDS = Number(process.env.BENCH_PROFILE_SECONDS ?? 15)
const SAMPLING_INTERVAL_MICROS = 200
const REPOSITORY = path.resolve(import.meta.dirname, '..')

/** V8 stamps samples with CLOCK_MONOTONIC in µs, the clock of process.hrtime. */
function monotonicMicros (): number {
  return Number(process.hrtime.bigint() / 1000n)
}

async function main (): Promise<void> {
  const directory = mkdtempSync(path.join(tmpdir(), 'pgw-bench-profile-'))
  const profiles = path.join(directory, 'profiles')
  const header = machineDescription()
  try {
    const upstream = await startUpstream(REPOSITORY, directory)
    const deployment = await startEmbeddedGateway(directory, upstream.url, 10, ['--cpu-prof', `--cpu-prof-dir=${profiles}`, `--cpu-prof-interval=${SAMPLING_INTERVAL_MICROS}`])
    const url = `${deployment.gatewayUrl}${deployment.fixture.path}`
    const credentials = { headers: { 'x-api-key': deployment.fixture.apps[0].apiKey } }
    console.log('warming up…')
    await runLoad(url, credentials, { connections: 10, seconds: 5 })
    console.log(`profiling ${SECONDS} s at ${formatNumber(RATE)} req/s…`)
    const from = monotonicMicros()
    const load = await runLoad(url, credentials, { connections: 20, seconds: SECONDS, rate: RATE })
    const to = monotonicMicros()
    // the profile is written when the process exits
    await deployment.gateway.child.stop()
    const written = readdirSync(profiles).filter(name => name.endsWith('.cpuprofile')).map(name => path.join(profiles, name))
    // PGlite or other threads may write their own profiles: the main thread's is the largest
    const file = written.sort((a, b) => statSync(b).size - statSync(a).size)[0]
    if (file === undefined) throw new Error('the gateway wrote no .cpuprofile')
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
    if (profile.startTime > from || profile.endTime < to) throw new Error('the profile does not cover the load run: are the clocks the same?')
    const summary = summariseProfile(profile, { from, to })
    const busyMicros = summary.sampledMicros - summary.idleMicros
    const document = [
      'CPU profile: gateway, embedded (PGlite), in-memory counters, API key, access log on (LOG_LEVEL=info to a file)',
      `${header}`,
      `node --cpu-prof --cpu-prof-interval=${SAMPLING_INTERVAL_MICROS} (µs) dist/cli.js start; ${formatNumber(load.completed)} requests at ${formatNumber(load.requestsPerSecond)} req/s over ${SECONDS} s (autocannon overallRate ${formatNumber(RATE)}, 20 connections), ${load.failed} failed;`,
      `only samples within the fixed-rate run; busy (non-idle) main-thread time per request ≈ ${formatNumber(busyMicros / load.completed, 1)} µs.`,
      'Regenerate with `npm run bench:profile`. self = time in the function itself; total = with its callees.',
      '',
      formatSummary(summary, 40),
      ''
    ].join('\n')
    const output = path.join(REPOSITORY, 'bench', 'results', 'profile-apikey-memory.txt')
    writeFileSync(output, document)
    console.log(`\n${document}\nwritten to ${path.relative(REPOSITORY, output)}`)
    if (process.env.BENCH_KEEP_PROFILE === '1') {
      const kept = path.join(tmpdir(), path.basename(file))
      writeFileSync(kept, readFileSync(file))
      console.log(`raw profile kept at ${kept}`)
    }
  } finally {
    await stopAll()
    rmSync(directory, { recursive: true, force: true })
  }
}

await main()
