// Scale mode (`npm run bench -- --scale`): 1,000 APIs with 10,000 routes and 100,000 apps
// with their credentials and 200,000 grants, seeded straight into PostgreSQL with
// array-parameter INSERTs (seconds, not the hours the operator API would take). Reports the
// gateway's CPU per request on one of those apps against a 10-app gateway in the same run,
// the snapshot's build time and the gateway's memory, and how long a revoked grant takes to
// reach the gateway.
// CPU per request is the lowest of the rounds, as in the default mode.
//   BENCH_SCALE_APPS (100000), BENCH_SCALE_APIS (1000), BENCH_SCALE_ROUTES_PER_API (10), BENCH_ROUNDS (5),
//   BENCH_GATEWAY_FLAGS: node flags for both gateway processes, e.g. "--max-semi-space-size=32"
import { randomUUID } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import pg from 'pg'
import { generateCredentialMaterial } from '../src/domain/credentials.js'
import { parseMasterKey, SecretBox } from '../src/domain/crypto.js'
import { compileSnapshot, compileSnapshotInSlices } from '../src/gateway/snapshot/compile.js'
import { loadConfigSnapshot, type ConfigSnapshotData } from '../src/store/config-snapshot.js'
import { PrismaPg } from '@prisma/adapter-pg'
import { openDatabase, PrismaClient } from '../src/store/db.js'
import { cpuPerRequest, median, runLoad, wrkLatency } from './lib/measure.js'
import { cpuSeconds, rssMegabytes, stopAll } from './lib/processes.js'
import { createDatabase, newSecrets, waitUntilServed } from './lib/product.js'
import { formatNumber, table } from './lib/report.js'
import { startClusteredGateway, startUpstream, type GatewayDeployment } from './lib/stack.js'

const APPS = Number(process.env.BENCH_SCALE_APPS ?? 100_000)
const APIS = Number(process.env.BENCH_SCALE_APIS ?? 1000)
const ROUTES_PER_API = Number(process.env.BENCH_SCALE_ROUTES_PER_API ?? 10)
const APPS_PER_PARTNER = 100
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const RATE = Number(process.env.BENCH_RATE ?? 2000)
const CPU_SECONDS = Number(process.env.BENCH_CPU_SECONDS ?? 5)
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 4)
const REVOCATIONS = 5
/** starts of the gateway on the seeded database before giving up (its snapshot read may exceed its transaction deadline) */
const START_ATTEMPTS = 3
const INSERT_CHUNK = 20_000
const GATEWAY_FLAGS = (process.env.BENCH_GATEWAY_FLAGS ?? '').split(' ').filter(Boolean)

export interface SeededApp { id: string, apiKey: string, path: string, grantId: string }

/** INSERT … SELECT FROM unnest(arrays): one statement per chunk of rows, typed by `types`. */
async function insertRows (client: pg.Client, tableName: string, columns: string[], types: string[], rows: unknown[][], constants: Record<string, string> = {}): Promise<void> {
  const constantColumns = Object.keys(constants)
  const quoted = [...columns, ...constantColumns].map(column => `"${column}"`).join(', ')
  const selected = [...columns.map((_, index) => `c${index}`), ...Object.values(constants)].join(', ')
  const unnest = types.map((type, index) => `$${index + 1}::${type}[]`).join(', ')
  const aliases = columns.map((_, index) => `c${index}`).join(', ')
  for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
    const chunk = rows.slice(start, start + INSERT_CHUNK)
    const parameters = columns.map((_, index) => chunk.map(row => row[index]))
    await client.query(`INSERT INTO "${tableName}" (${quoted}) SELECT ${selected} FROM unnest(${unnest}) AS t(${aliases})`, parameters)
  }
}

function apiPath (apiIndex: number): string {
  return `/api-${String(apiIndex).padStart(4, '0')}`
}

/**
 * Seeds the configuration; every app gets one credential (made like the control plane makes
 * them: SHA-256 of the API key, the HMAC secret sealed with the master key) and grants on two APIs.
 */
export async function seed (databaseUrl: string, masterKey: string, upstreamUrl: string): Promise<{ apps: SeededApp[], seconds: number }> {
  const started = performance.now()
  const database = await openDatabase({ databaseUrl })
  await database.migrate()
  await database.close()
  const secretBox = new SecretBox(parseMasterKey(masterKey))
  const apps: SeededApp[] = []
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    await client.query('BEGIN')
    const upstreamId = randomUUID()
    await insertRows(client, 'Upstream', ['id', 'name'], ['uuid', 'text'], [[upstreamId, 'scale']], { updatedAt: 'now()' })
    await insertRows(client, 'UpstreamTarget', ['id', 'upstreamId', 'url'], ['uuid', 'uuid', 'text'], [[randomUUID(), upstreamId, upstreamUrl]])
    const plans = Array.from({ length: 10 }, (_, index) => [randomUUID(), `scale-${index}`, 20_000 + index, 20_000, 1_000_000_000, 2_000_000_000])
    await insertRows(client, 'Plan', ['id', 'name', 'rateLimitPerSecond', 'rateLimitBurst', 'quotaPerDay', 'quotaPerMonth'], ['uuid', 'text', 'int', 'int', 'int', 'int'], plans, { updatedAt: 'now()' })
    const apiIds = Array.from({ length: APIS }, () => randomUUID())
    await insertRows(client, 'Api', ['id', 'name', 'upstreamId'], ['uuid', 'text', 'uuid'], apiIds.map((id, index) => [id, `api-${index}`, upstreamId]),
      { auth: `'{apikey,hmac}'::text[]`, planIds: `'{}'::text[]`, updatedAt: 'now()' })
    const routes: unknown[][] = []
    for (const [apiIndex, apiId] of apiIds.entries()) {
      for (let route = 0; route < ROUTES_PER_API; route++) routes.push([randomUUID(), apiId, `${apiPath(apiIndex)}/r${route}`])
    }
    await insertRows(client, 'Route', ['id', 'apiId', 'path'], ['uuid', 'uuid', 'text'], routes, { methods: `'{}'::text[]`, stripPrefix: 'true' })
    const partnerIds = Array.from({ length: Math.ceil(APPS / APPS_PER_PARTNER) }, () => randomUUID())
    await insertRows(client, 'Partner', ['id', 'name'], ['uuid', 'text'], partnerIds.map((id, index) => [id, `partner-${index}`]), { updatedAt: 'now()' })
    const appRows: unknown[][] = []
    const credentialRows: unknown[][] = []
    const grantRows: unknown[][] = []
    for (let index = 0; index < APPS; index++) {
      const appId = randomUUID()
      appRows.push([appId, partnerIds[Math.floor(index / APPS_PER_PARTNER)], `app-${index}`])
      const material = generateCredentialMaterial()
      credentialRows.push([randomUUID(), appId, material.key, secretBox.encrypt(material.secret), material.apiKeyHash, material.apiKeyPrefix])
      const firstApi = index % APIS
      const grantId = randomUUID()
      grantRows.push([grantId, appId, apiIds[firstApi], plans[index % plans.length][0]])
      grantRows.push([randomUUID(), appId, apiIds[(firstApi + Math.floor(APIS / 2)) % APIS], plans[index % plans.length][0]])
      apps.push({ id: appId, apiKey: material.apiKey, path: `${apiPath(firstApi)}/r${index % ROUTES_PER_API}/items`, grantId })
    }
    await insertRows(client, 'App', ['id', 'partnerId', 'name'], ['uuid', 'uuid', 'text'], appRows, { updatedAt: 'now()' })
    await insertRows(client, 'Credential', ['id', 'appId', 'key', 'secretCiphertext', 'apiKeyHash', 'apiKeyPrefix'], ['uuid', 'uuid', 'text', 'text', 'text', 'text'], credentialRows)
    await insertRows(client, 'Grant', ['id', 'appId', 'apiId', 'planId'], ['uuid', 'uuid', 'uuid', 'uuid'], grantRows, { status: `'approved'`, updatedAt: 'now()' })
    await client.query('UPDATE "ConfigState" SET version = version + 1, "updatedAt" = now() WHERE id = 1')
    await client.query('COMMIT')
    await client.query('ANALYZE')
  } finally {
    await client.end()
  }
  return { apps, seconds: (performance.now() - started) / 1000 }
}

interface SnapshotTimes {
  /** with the product's database settings: ms, or why it failed */
  product: { ms: number, error?: string }
  /** with no transaction deadline, to see how long the read takes */
  unboundedLoadMs: number
  compileMs: number
  /** the periodic full read's compile, in slices beside the previous snapshot: all of it, and the longest the event loop waited meanwhile */
  slicedCompileMs: number
  longestPauseMs: number
  jsonMegabytes: number
  /** the compiled snapshot's share of the heap (collected before and after) */
  heapMegabytes: number
}

/** The heap in use after a full collection, MB (gc is exposed for this process only when asked for). */
function heapInUse (): number {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
  return process.memoryUsage().heapUsed / 1024 / 1024
}

/** Runs `work` and measures the longest the event loop waited meanwhile (the gap between two turns of it). */
async function longestPause (work: () => Promise<unknown>): Promise<number> {
  let longestMs = 0
  let last = performance.now()
  let running = true
  const turn = (): void => {
    const now = performance.now()
    longestMs = Math.max(longestMs, now - last)
    last = now
    if (running) setImmediate(turn)
  }
  setImmediate(turn)
  try {
    await work()
  } finally {
    running = false
  }
  return longestMs
}

/**
 * Reads and compiles the snapshot in this process the way a gateway does, timing both steps:
 * once through the product's own database setup, and once with no deadline on the
 * transaction, so that the time is known even where the product's deadline cuts it off.
 */
async function timeSnapshot (databaseUrl: string, masterKey: string): Promise<SnapshotTimes> {
  const product: SnapshotTimes['product'] = { ms: 0 }
  const database = await openDatabase({ databaseUrl })
  const started = performance.now()
  try {
    await loadConfigSnapshot(database.prisma)
  } catch (error) {
    product.error = describeError((error as Error).message)
  } finally {
    product.ms = performance.now() - started
    await database.close()
  }
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }), transactionOptions: { timeout: 300_000 } })
  try {
    const heapBefore = heapInUse()
    const loadStarted = performance.now()
    let data: ConfigSnapshotData | undefined = await loadConfigSnapshot(prisma)
    const unboundedLoadMs = performance.now() - loadStarted
    const secretBox = new SecretBox(parseMasterKey(masterKey))
    const compileStarted = performance.now()
    const previous = compileSnapshot(data, secretBox)
    const compileMs = performance.now() - compileStarted
    const slicedStarted = performance.now()
    const longestPauseMs = await longestPause(async () => await compileSnapshotInSlices(data as ConfigSnapshotData, secretBox, previous))
    const slicedCompileMs = performance.now() - slicedStarted
    const jsonMegabytes = JSON.stringify(data).length / 1024 / 1024
    // what a gateway holds: the compiled snapshot, which keeps the records it was read from
    data = undefined
    const heapMegabytes = heapInUse() - heapBefore
    // read after the measurement, so that the snapshot is surely alive during it
    if (previous.apps.size !== APPS) throw new Error(`the snapshot holds ${previous.apps.size} apps, not ${APPS}`)
    return { product, unboundedLoadMs, compileMs, slicedCompileMs, longestPauseMs, jsonMegabytes, heapMegabytes }
  } finally {
    await prisma.$disconnect()
  }
}

/** The lines of an error message or an uncaught error's output that say what happened: no stack frames, no blanks. */
function describeError (text: string): string {
  const lines = text.split('\n').map(line => line.trim()).filter(line => line !== '' && !line.startsWith('at ') && !/^[{}[\]]/.test(line))
  // Prisma quotes the calling source between its first line and the cause
  const cause = lines.slice(1).find(line => /error/i.test(line))
  return (cause !== undefined ? `${lines[0]} ${cause}` : lines.slice(0, 3).join(' ')).slice(0, 400)
}

/** The errors the product logged (pino JSON lines at level error or above), as `message: cause`. */
function loggedErrors (logFile: string): string[] {
  const errors: string[] = []
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue
    const entry = JSON.parse(line) as { level?: number, msg?: string, err?: { message?: string } }
    if ((entry.level ?? 0) >= 50) errors.push(`${entry.msg ?? ''}${entry.err?.message !== undefined ? `: ${describeError(entry.err.message)}` : ''}`)
  }
  return errors
}

function countDistinct (messages: string[]): string {
  const counts = new Map<string, number>()
  for (const message of messages) counts.set(message, (counts.get(message) ?? 0) + 1)
  return [...counts.entries()].map(([message, count]) => `${count} × "${message}"`).join('; ')
}

function statusCounts (statuses: number[]): string {
  return statuses.length === 0 ? 'none' : countDistinct(statuses.map(String))
}

/** The last error the product logged, for a gateway that did not start. */
function lastLoggedError (logFile: string): string {
  const uncaught = readFileSync(logFile, 'utf8').split('\n').filter(line => !line.startsWith('{')).join('\n')
  return loggedErrors(logFile).at(-1) ?? describeError(uncaught)
}

/** Revokes the app's grant through the operator API and polls the gateway with the app's key until it refuses. */
async function revokePropagation (deployment: GatewayDeployment, app: SeededApp): Promise<{ ms: number, patchMs: number, status: number, gatewayCpuMs: number, refusedBefore: number[] }> {
  const url = `${deployment.gatewayUrl}${app.path}`
  const refusedBefore = await waitUntilServed(url, { 'x-api-key': app.apiKey })
  const cpuBefore = cpuSeconds([deployment.gateway.child.pid])
  const patched = performance.now()
  await deployment.operator.call('PATCH', `/grants/${app.grantId}`, { status: 'revoked' })
  const revoked = performance.now()
  const patchMs = revoked - patched
  for (;;) {
    const response = await fetch(url, { headers: { 'x-api-key': app.apiKey } })
    await response.arrayBuffer()
    if (response.status !== 200) {
      return { ms: performance.now() - revoked, patchMs, status: response.status, gatewayCpuMs: (cpuSeconds([deployment.gateway.child.pid]) - cpuBefore) * 1000, refusedBefore }
    }
    if (performance.now() - revoked > 60_000) throw new Error('the revoked grant still works after 60 s')
  }
}

function snapshotSection (times: SnapshotTimes): string {
  return [
    `## Snapshot build (${formatNumber(APPS)} apps), in the bench process`,
    '',
    table(['step', 'ms'], [false, true], [
      ['read from PostgreSQL with the product\'s settings (loadConfigSnapshot: one repeatable-read Prisma transaction, 5 s deadline)', times.product.error === undefined ? formatNumber(times.product.ms) : `failed after ${formatNumber(times.product.ms)}: ${times.product.error}`],
      ['the same read with no transaction deadline', formatNumber(times.unboundedLoadMs)],
      [`compile (compileSnapshot: decrypt ${formatNumber(APPS)} secrets, build the maps and the route table)`, formatNumber(times.compileMs)],
      ['the periodic full read\'s compile while serving (compileSnapshotInSlices, secrets taken from the previous snapshot): all of it', formatNumber(times.slicedCompileMs)],
      ['… of which the longest the event loop waited for one slice (requests wait at most this long)', formatNumber(times.longestPauseMs, 1)]
    ]),
    '',
    `The snapshot as JSON (what the gateway caches on disk): ${formatNumber(times.jsonMegabytes, 1)} MB. The compiled snapshot in the heap (the records as read and the lookup maps): ${formatNumber(times.heapMegabytes, 1)} MB.`
  ].join('\n')
}

function seedNote (seconds: number): string {
  return `Seeded straight into PostgreSQL in ${seconds.toFixed(1)} s: ${formatNumber(APIS)} APIs with ${ROUTES_PER_API} routes each, ${formatNumber(APPS)} apps (${APPS_PER_PARTNER} per partner) with one credential each (API key hash, HMAC secret sealed with the master key) and grants on two APIs (${formatNumber(APPS * 2)} grants).`
}

async function measureAgainstSmall (small: GatewayDeployment, large: GatewayDeployment, apps: SeededApp[]): Promise<string> {
  const measuredApp = apps[Math.floor(APPS / 2) + 7]
  const refusedAtStart = await waitUntilServed(`${large.gatewayUrl}${measuredApp.path}`, { 'x-api-key': measuredApp.apiKey })
  const deployments = [
    { name: '10 apps, 1 route', deployment: small, url: `${small.gatewayUrl}${small.fixture.path}`, apiKey: small.fixture.apps[0].apiKey },
    { name: `${formatNumber(APPS)} apps, ${formatNumber(APIS * ROUTES_PER_API)} routes`, deployment: large, url: `${large.gatewayUrl}${measuredApp.path}`, apiKey: measuredApp.apiKey }
  ]
  const results = deployments.map(() => ({ cpu: [] as number[], p50: [] as number[], p99: [] as number[], rssAfterStart: 0, failed: 0 }))
  for (const [index, each] of deployments.entries()) {
    results[index].rssAfterStart = rssMegabytes([each.deployment.gateway.child.pid])
    results[index].failed += (await runLoad(each.url, { headers: { 'x-api-key': each.apiKey } }, { connections: 10, seconds: 3 })).failed
  }
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [index, each] of deployments.entries()) {
      const pids = (): number[] => [each.deployment.gateway.child.pid, each.deployment.redis?.child.pid as number]
      const cpu = await cpuPerRequest(each.url, { headers: { 'x-api-key': each.apiKey } }, pids, { rate: RATE, seconds: CPU_SECONDS, connections: 20 })
      const latency = await wrkLatency(each.url, { 'x-api-key': each.apiKey }, LATENCY_SECONDS)
      results[index].cpu.push(cpu.microsPerRequest)
      results[index].p50.push(latency.p50)
      results[index].p99.push(latency.p99)
      results[index].failed += cpu.failed
      console.log(`  round ${round}, ${each.name}: ${formatNumber(cpu.microsPerRequest, 1)} µs CPU/request, p50/p99 ${formatNumber(latency.p50)}/${formatNumber(latency.p99)} µs${cpu.failed > 0 ? `, ${cpu.failed} failed` : ''}`)
    }
  }
  const revocations = []
  for (let index = 0; index < REVOCATIONS; index++) {
    const result = await revokePropagation(large, apps[index * 1000 + 3])
    console.log(`  revoked grant (PATCH ${formatNumber(result.patchMs)} ms) → gateway answers ${result.status} after ${formatNumber(result.ms)} ms`)
    revocations.push(result)
  }
  const largeErrors = loggedErrors(large.gateway.logFile)
  const smallErrors = loggedErrors(small.gateway.logFile)
  const smallest = Math.min(...results[0].cpu)
  const rows = deployments.map((each, index) => {
    const cpu = Math.min(...results[index].cpu)
    return [
      each.name,
      `${formatNumber(cpu)} (${results[index].cpu.map(value => formatNumber(value)).join(', ')})`,
      `${(cpu / smallest).toFixed(3)}×`,
      `${formatNumber(median(results[index].p50))} / ${formatNumber(median(results[index].p99))}`,
      formatNumber(each.deployment.gateway.startMs),
      `${formatNumber(results[index].rssAfterStart)} / ${formatNumber(rssMegabytes([each.deployment.gateway.child.pid]))}`,
      // startProduct keeps each process's data next to its log: <name>.log, <name>-data/
      formatNumber(statSync(path.join(each.deployment.gateway.logFile.replace(/\.log$/, '-data'), 'snapshot-cache.json')).size / 1024 / 1024, 1),
      String(results[index].failed)
    ]
  })
  return [
    `## CPU per request and memory, ${ROUNDS} rounds`,
    '',
    table(['gateway configuration', `CPU µs/request at ${formatNumber(RATE)} req/s, gateway + Redis, lowest round (each round)`, '× 10 apps', 'one connection p50 / p99 µs (median)', 'gateway start to ready, ms', 'gateway RSS MB after start / after the load and the revocations', 'snapshot cache on disk, MB', 'failed requests (warm-up included)'], [false, true, true, true, true, true, true, true], rows),
    '',
    'Both gateways: PostgreSQL + a private Redis, GATEWAY_ROLES=gateway beside a control process, access log on; API key; the measured app of the large one is one of the seeded apps. ' +
    'Start to ready: from spawning `node dist/cli.js start` until /readyz answers 200 (Node start-up, Redis, the snapshot read and compiled). Target: CPU within 5% of the 10-app figure. RSS after the revocations: a control change derives the snapshot from the previous one, sharing the entries it leaves alone; the whole snapshot is read again every 10 minutes.',
    '',
    '## One control change reaching the gateway',
    '',
    table(['revocation', 'ms from the revoke response to the first refusal', 'status', 'revoke request (PATCH) ms', 'gateway CPU ms meanwhile (PATCH included)', 'before the revoke: answers other than 200 to the app (polled every 100 ms)'], [false, true, true, true, true, false],
      revocations.map((result, index) => [String(index + 1), formatNumber(result.ms), String(result.status), formatNumber(result.patchMs), formatNumber(result.gatewayCpuMs), statusCounts(result.refusedBefore)])),
    '',
    'PATCH /admin/v1/grants/:id {"status":"revoked"} on the control server; the gateway, a separate process, is polled with that app\'s API key (one request after another) until it stops answering 200. Target: ≤ 1,000 ms. ' +
    `Before each revoke the bench waits for the (other) app to be served; right after start the measured app got: ${statusCounts(refusedAtStart)}.`,
    '',
    `Errors logged during the whole run by the large gateway: ${largeErrors.length === 0 ? 'none' : countDistinct(largeErrors)}; by the 10-app gateway: ${smallErrors.length === 0 ? 'none' : countDistinct(smallErrors)}. ` +
    '(Requests in flight when autocannon closes its connections at the end of a load run are logged 499 client_closed, not as errors.)'
  ].join('\n')
}

/** Where the results go: latest-scale.md for the default sizes, a file named by the app count otherwise. */
export function scaleResultsFile (): string {
  return APPS === 100_000 && APIS === 1000 && ROUTES_PER_API === 10 ? 'latest-scale.md' : `latest-scale-${APPS}-apps.md`
}

export async function runScaleMode (repository: string, directory: string): Promise<string> {
  const upstream = await startUpstream(repository, directory)
  const secrets = newSecrets()
  const database = await createDatabase()
  try {
    console.log(`seeding ${formatNumber(APIS)} APIs, ${formatNumber(APIS * ROUTES_PER_API)} routes, ${formatNumber(APPS)} apps with credentials and ${formatNumber(APPS * 2)} grants…`)
    const seeded = await seed(database.url, secrets.masterKey, upstream.url)
    console.log(`  seeded in ${seeded.seconds.toFixed(1)} s`)
    const snapshotTimes = await timeSnapshot(database.url, secrets.masterKey)
    console.log(`  snapshot: read ${snapshotTimes.product.error === undefined ? `${formatNumber(snapshotTimes.product.ms)} ms` : `failed (${snapshotTimes.product.error})`}; without a deadline ${formatNumber(snapshotTimes.unboundedLoadMs)} ms; compiled ${formatNumber(snapshotTimes.compileMs)} ms, in slices ${formatNumber(snapshotTimes.slicedCompileMs)} ms with pauses of at most ${formatNumber(snapshotTimes.longestPauseMs, 1)} ms (in the bench process)`)

    console.log('starting a 10-app gateway and the seeded one (PostgreSQL + private Redis each)…')
    const small = await startClusteredGateway(directory, upstream.url, 10, { name: 'small', nodeFlags: { gateway: GATEWAY_FLAGS } })
    try {
      const failedStarts: string[] = []
      let large: GatewayDeployment | undefined
      for (let attempt = 1; attempt <= START_ATTEMPTS && large === undefined; attempt++) {
        const name = `large${attempt}`
        try {
          large = await startClusteredGateway(directory, upstream.url, 0, { name, databaseUrl: database.url, masterKey: secrets.masterKey, nodeFlags: { gateway: GATEWAY_FLAGS } })
        } catch {
          const reason = lastLoggedError(path.join(directory, `${name}-gateway.log`))
          console.log(`  start ${attempt}: the gateway on the seeded database exited before it was ready: ${reason}`)
          failedStarts.push(reason)
        }
      }
      const startNote = failedStarts.length === 0
        ? 'The gateway on the seeded database started at the first attempt.'
        : `**The gateway on the seeded database failed to start ${failedStarts.length} time(s) out of ${failedStarts.length + (large === undefined ? 0 : 1)}** (\`node dist/cli.js start\` exited before /readyz answered): ${countDistinct(failedStarts)}.`
      const measured = large === undefined
        ? 'So CPU per request, memory and the time a revoked grant takes to reach the gateway could not be measured at this size in this run.'
        : await measureAgainstSmall(small, large, seeded.apps)
      return [seedNote(seeded.seconds), '', startNote, '', measured, '', snapshotSection(snapshotTimes)].join('\n')
    } finally {
      await stopAll()
      await small.dropDatabase?.()
    }
  } finally {
    await stopAll()
    await database.drop()
  }
}
