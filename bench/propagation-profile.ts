// CPU profiles of one control change at scale: the seeded 100,000 apps and 10,000 routes of
// the scale mode (bench/scale.ts), the control server and the gateway as separate processes
// (PostgreSQL + a private Redis), both under `node --cpu-prof`. Revokes grants one at a time
// through the operator API, timing the PATCH and the time until the gateway refuses the app,
// then summarises each process's samples within the revocations (and the gateway's in the
// seconds after, when it writes its snapshot cache) into bench/results/profile-scale-revoke.txt.
// Run with `npm run build && npx tsx bench/propagation-profile.ts`.
//   BENCH_SCALE_APPS (100000), BENCH_SCALE_APIS (1000), BENCH_SCALE_ROUTES_PER_API (10), BENCH_REVOCATIONS (5)
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { cpuSeconds, stopAll } from './lib/processes.js'
import { createDatabase, newSecrets, waitUntilServed } from './lib/product.js'
import { formatNumber, machineDescription, table } from './lib/report.js'
import { startClusteredGateway, startUpstream, type GatewayDeployment } from './lib/stack.js'
import { formatSummary, summariseProfile, type CpuProfile } from './profile-summary.js'
import { seed, type SeededApp } from './scale.js'

const REVOCATIONS = Number(process.env.BENCH_REVOCATIONS ?? 5)
/**
 * after each revocation: the gateway writes its snapshot cache at most every 5 s, so that
 * write falls in the pause and each revocation's work is its own
 */
const PAUSE_MS = 8000
const SAMPLING_INTERVAL_MICROS = 500
const REPOSITORY = path.resolve(import.meta.dirname, '..')

/** V8 stamps samples with CLOCK_MONOTONIC in µs, the clock of process.hrtime. */
function monotonicMicros (): number {
  return Number(process.hrtime.bigint() / 1000n)
}

interface Revocation { patchMs: number, propagationMs: number, gatewayCpuMs: number, from: number, to: number }

async function revoke (deployment: GatewayDeployment, app: SeededApp): Promise<Revocation> {
  const url = `${deployment.gatewayUrl}${app.path}`
  await waitUntilServed(url, { 'x-api-key': app.apiKey })
  const cpuBefore = cpuSeconds([deployment.gateway.child.pid])
  const from = monotonicMicros()
  const started = performance.now()
  await deployment.operator.call('PATCH', `/grants/${app.grantId}`, { status: 'revoked' })
  const answered = performance.now()
  for (;;) {
    const response = await fetch(url, { headers: { 'x-api-key': app.apiKey } })
    await response.arrayBuffer()
    if (response.status !== 200) break
    if (performance.now() - answered > 60_000) throw new Error('the revoked grant still works after 60 s')
  }
  const to = monotonicMicros()
  return { patchMs: answered - started, propagationMs: performance.now() - answered, gatewayCpuMs: (cpuSeconds([deployment.gateway.child.pid]) - cpuBefore) * 1000, from, to }
}

/** The main thread's profile of the process whose profiles went to `directory` (other threads write smaller ones). */
function readProfile (directory: string): CpuProfile {
  const written = readdirSync(directory).filter(name => name.endsWith('.cpuprofile')).map(name => path.join(directory, name))
  const file = written.sort((a, b) => statSync(b).size - statSync(a).size)[0]
  if (file === undefined) throw new Error(`no .cpuprofile in ${directory}`)
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
}

async function main (): Promise<void> {
  const directory = mkdtempSync(path.join(tmpdir(), 'pgw-bench-propagation-'))
  const profileDirectory = (name: string): string => path.join(directory, `${name}-profiles`)
  const profileFlags = (name: string): string[] => ['--cpu-prof', `--cpu-prof-dir=${profileDirectory(name)}`, `--cpu-prof-interval=${SAMPLING_INTERVAL_MICROS}`]
  const header = machineDescription()
  const database = await createDatabase()
  try {
    const upstream = await startUpstream(REPOSITORY, directory)
    const secrets = newSecrets()
    console.log('seeding…')
    const seeded = await seed(database.url, secrets.masterKey, upstream.url)
    console.log(`  seeded in ${seeded.seconds.toFixed(1)} s; starting the control server and the gateway under --cpu-prof…`)
    const deployment = await startClusteredGateway(directory, upstream.url, 0, {
      name: 'scale', databaseUrl: database.url, masterKey: secrets.masterKey, nodeFlags: { control: profileFlags('control'), gateway: profileFlags('gateway') }
    })
    // the gateway writes its first snapshot cache right after start: let that pass
    await new Promise(resolve => setTimeout(resolve, PAUSE_MS))
    const revocations: Revocation[] = []
    for (let index = 0; index < REVOCATIONS; index++) {
      const result = await revoke(deployment, seeded.apps[index * 1000 + 3])
      console.log(`  revocation ${index + 1}: PATCH ${formatNumber(result.patchMs)} ms, refused ${formatNumber(result.propagationMs)} ms after its response, gateway CPU ${formatNumber(result.gatewayCpuMs)} ms`)
      revocations.push(result)
      await new Promise(resolve => setTimeout(resolve, PAUSE_MS))
    }
    const end = monotonicMicros()
    // the profiles are written when the processes exit
    await deployment.gateway.child.stop()
    await deployment.control?.child.stop()
    const revoking = revocations.map(({ from, to }) => ({ from, to }))
    const pauses = revocations.map(({ to }, index) => ({ from: to, to: revocations[index + 1]?.from ?? end }))
    const gatewayProfile = readProfile(profileDirectory('gateway'))
    const sections = [
      ['gateway, from each PATCH to the first refusal (its answers to the polling requests included)', gatewayProfile, revoking],
      ['gateway, in the pauses after each refusal (the snapshot cache write)', gatewayProfile, pauses],
      ['control server, from each PATCH to the first refusal', readProfile(profileDirectory('control')), revoking]
    ] as const
    const document = [
      `CPU profiles of a revoked grant reaching the gateway: ${formatNumber(seeded.apps.length)} apps, 10,000 routes (bench/scale.ts's seed)`,
      header,
      `node --cpu-prof --cpu-prof-interval=${SAMPLING_INTERVAL_MICROS} (µs) on the control server and on the gateway (separate processes, PostgreSQL + a private Redis, access log on).`,
      `${REVOCATIONS} revocations with a ${formatNumber(PAUSE_MS)} ms pause after each: PATCH /admin/v1/grants/:id {"status":"revoked"}, then the app's request repeated until the gateway refuses it.`,
      'Regenerate with `npm run build && npx tsx bench/propagation-profile.ts`. self = time in the function itself; total = with its callees.',
      '',
      table(['revocation', 'PATCH ms', 'ms from the PATCH response to the first refusal', 'gateway CPU ms meanwhile (PATCH included)'], [false, true, true, true],
        revocations.map((result, index) => [String(index + 1), formatNumber(result.patchMs), formatNumber(result.propagationMs), formatNumber(result.gatewayCpuMs)])),
      '',
      ...sections.flatMap(([title, profile, window]) => [`## ${title}`, '', formatSummary(summariseProfile(profile, window), 25), ''])
    ].join('\n')
    const output = path.join(REPOSITORY, 'bench', 'results', 'profile-scale-revoke.txt')
    writeFileSync(output, document)
    console.log(`\n${document}\nwritten to ${path.relative(REPOSITORY, output)}`)
  } finally {
    await stopAll()
    await database.drop()
    if (process.env.BENCH_KEEP_TMP === '1') console.log(`logs and profiles kept in ${directory}`)
    else rmSync(directory, { recursive: true, force: true })
  }
}

await main()
