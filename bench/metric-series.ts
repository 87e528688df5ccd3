// CPU nanoseconds per inc() / observe() of prom-client's bound children against the gateway's
// bound series (src/observability/bound-series.ts), with the labels and buckets of the
// request path, the garbage they make (young-generation collections per million calls) and
// the CPU time of a scrape that reads them. CPU time rather than wall time: it holds on busy
// shared cores. About 30 seconds:
//   npx tsx bench/metric-series.ts    BENCH_ROUNDS (7 per process)  BENCH_PASSES (2)
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks'
import { setImmediate } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { Counter, Histogram, Registry } from 'prom-client'
import { BoundCounter, BoundHistogram } from '../src/observability/bound-series.js'
import { LATENCY_BUCKETS } from '../src/observability/gateway-metrics.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7)
const PASSES = Number(process.env.BENCH_PASSES ?? 2)
const REQUEST_LABELS = ['api', 'route', 'app', 'method', 'status', 'outcome'] as const
const REQUEST = { api: 'orders', route: 'shop.example/orders', app: 'app-0c9f4e', method: 'GET', status: '200', outcome: 'proxied' }
// request latencies between 0.2 ms and 200 ms, log-uniform: most land in the first buckets
const LATENCIES = Float64Array.from({ length: 1024 }, (_, index) => 0.0002 * 1000 ** (((index * 7919) % 1024) / 1024))

interface Children { requests: { inc: (value?: number) => void }, bytes: { inc: (value?: number) => void }, duration: { observe: (value: number) => void } }
interface Metrics {
  requests: { labels: (labels: Record<typeof REQUEST_LABELS[number], string>) => Children['requests'] }
  bytes: { labels: (labels: { api: string }) => Children['bytes'] }
  duration: { labels: (labels: { api: string, route: string }) => Children['duration'] }
}

function promClientMetrics (registry: Registry): Metrics {
  return {
    requests: new Counter({ name: 'requests_total', help: 'requests', labelNames: REQUEST_LABELS, registers: [registry] }),
    bytes: new Counter({ name: 'bytes_total', help: 'bytes', labelNames: ['api'], registers: [registry] }),
    duration: new Histogram({ name: 'duration_seconds', help: 'duration', labelNames: ['api', 'route'], buckets: LATENCY_BUCKETS, registers: [registry] })
  }
}

function boundMetrics (registry: Registry): Metrics {
  return {
    requests: new BoundCounter({ name: 'requests_total', help: 'requests', labelNames: REQUEST_LABELS, registers: [registry] }),
    bytes: new BoundCounter({ name: 'bytes_total', help: 'bytes', labelNames: ['api'], registers: [registry] }),
    duration: new BoundHistogram({ name: 'duration_seconds', help: 'duration', labelNames: ['api', 'route'], buckets: LATENCY_BUCKETS, registers: [registry] })
  }
}

function children (metrics: Metrics): Children {
  return { requests: metrics.requests.labels(REQUEST), bytes: metrics.bytes.labels({ api: REQUEST.api }), duration: metrics.duration.labels({ api: REQUEST.api, route: REQUEST.route }) }
}

/** What the request path does per request: the request counter, two latencies, bytes in and out. */
function oneRequest (children: Children, index: number): void {
  children.requests.inc()
  children.duration.observe(LATENCIES[index & 1023])
  children.duration.observe(LATENCIES[(index + 512) & 1023])
  children.bytes.inc(180)
  children.bytes.inc(420)
}

const CASES: Record<string, { operations: number, run: (children: Children, operations: number) => void }> = {
  'counter inc(), 6 labels': { operations: 2_000_000, run: (children, operations) => { for (let index = 0; index < operations; index++) children.requests.inc() } },
  'counter inc(bytes), 1 label': { operations: 2_000_000, run: (children, operations) => { for (let index = 0; index < operations; index++) children.bytes.inc(index & 4095) } },
  'histogram observe(), 15 buckets': { operations: 1_000_000, run: (children, operations) => { for (let index = 0; index < operations; index++) children.duration.observe(LATENCIES[index & 1023]) } },
  'one request (5 calls)': { operations: 400_000, run: (children, operations) => { for (let index = 0; index < operations; index++) oneRequest(children, index) } }
}

/** CPU time of this process (its collector's threads included) in nanoseconds. */
function cpuNanoseconds (): number {
  const { user, system } = process.cpuUsage()
  return (user + system) * 1000
}

function nanosecondsPerOperation (run: () => void, operations: number): number {
  const start = cpuNanoseconds()
  run()
  return (cpuNanoseconds() - start) / operations
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

/** A scrape of `apis` × 5 routes: one histogram series per route, 8 request series per route, bytes per API. */
async function scrapeMilliseconds (make: (registry: Registry) => Metrics, apis: number): Promise<number[]> {
  const registry = new Registry()
  const metrics = make(registry)
  for (let api = 0; api < apis; api++) {
    metrics.bytes.labels({ api: `api-${api}` }).inc(100)
    for (let route = 0; route < 5; route++) {
      const routeLabel = `/api-${api}/route-${route}`
      metrics.duration.labels({ api: `api-${api}`, route: routeLabel }).observe(LATENCIES[route])
      for (let status = 0; status < 8; status++) metrics.requests.labels({ ...REQUEST, api: `api-${api}`, route: routeLabel, status: String(200 + status) }).inc()
    }
  }
  for (let warmUp = 0; warmUp < 5; warmUp++) await registry.metrics()
  const times: number[] = []
  for (let round = 0; round < ROUNDS * 3; round++) {
    const start = cpuNanoseconds()
    await registry.metrics()
    times.push((cpuNanoseconds() - start) / 1e6)
  }
  return times
}

type Implementation = 'prom-client' | 'bound'
const IMPLEMENTATIONS: Record<Implementation, (registry: Registry) => Metrics> = { 'prom-client': promClientMetrics, bound: boundMetrics }
interface Timings { perCall: Record<string, number[]>, minorCollectionsPerMillion: Record<string, number>, scrapeMs: number[] }

/** In a child process: every case of one implementation, ROUNDS times after a warm-up. */
async function measure (implementation: Implementation): Promise<Timings> {
  let minorCollections = 0
  const collections = new PerformanceObserver(list => {
    for (const entry of list.getEntries()) if ((entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minorCollections++
  })
  collections.observe({ entryTypes: ['gc'] })
  const timings: Timings = { perCall: {}, minorCollectionsPerMillion: {}, scrapeMs: [] }
  for (const [name, { operations, run }] of Object.entries(CASES)) {
    const series = children(IMPLEMENTATIONS[implementation](new Registry()))
    // prom-client is two orders slower: a tenth of the calls keeps its rounds short
    const calls = implementation === 'bound' ? operations : operations / 10
    run(series, calls / 10)
    await setImmediate()
    const collectedBefore = minorCollections
    timings.perCall[name] = Array.from({ length: ROUNDS }, () => nanosecondsPerOperation(() => { run(series, calls) }, calls))
    // the observer hears of collections asynchronously
    await setImmediate()
    timings.minorCollectionsPerMillion[name] = (minorCollections - collectedBefore) / (ROUNDS * calls) * 1e6
  }
  collections.disconnect()
  timings.scrapeMs = await scrapeMilliseconds(IMPLEMENTATIONS[implementation], 40)
  return timings
}

async function inChildProcess (implementation: Implementation): Promise<Timings> {
  const child = fork(fileURLToPath(import.meta.url), [], { execArgv: ['--import', 'tsx'], env: { ...process.env, BENCH_IMPLEMENTATION: implementation }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const [timings] = await once(child, 'message') as [Timings]
  return timings
}

const measuring = process.env.BENCH_IMPLEMENTATION as Implementation | undefined
if (measuring !== undefined) {
  process.send?.(await measure(measuring))
} else {
  // each implementation in its own process, so that the call sites of the cases see one kind
  // of child only, as the gateway's do; passes alternate so that a busy neighbour slows both alike
  const results: Record<Implementation, Timings[]> = { 'prom-client': [], bound: [] }
  for (let pass = 0; pass < PASSES; pass++) {
    for (const implementation of ['prom-client', 'bound'] as const) results[implementation].push(await inChildProcess(implementation))
  }
  const pooled = (implementation: Implementation, name: string): number => median(results[implementation].flatMap(timings => timings.perCall[name]))
  const collections = (implementation: Implementation, name: string): string => median(results[implementation].map(timings => timings.minorCollectionsPerMillion[name])).toFixed(1)
  const scrape = (implementation: Implementation): number => median(results[implementation].flatMap(timings => timings.scrapeMs))
  console.log(`Node ${process.version}, median of ${PASSES} × ${ROUNDS} rounds, CPU ns per call (per request for the last row)\n`)
  console.log('| case | prom-client child | bound series | ratio | young GCs per 1M calls, prom-client / bound |')
  console.log('|---|---:|---:|---:|---:|')
  for (const name of Object.keys(CASES)) {
    const [before, after] = [pooled('prom-client', name), pooled('bound', name)]
    console.log(`| ${name} | ${before.toFixed(1)} | ${after.toFixed(1)} | ${(before / after).toFixed(0)}× | ${collections('prom-client', name)} / ${collections('bound', name)} |`)
  }
  console.log(`\nCPU time of a scrape of 40 APIs × 5 routes (1,600 request series, 200 histogram series): prom-client ${scrape('prom-client').toFixed(2)} ms, bound series ${scrape('bound').toFixed(2)} ms`)
}
