// The four measurements of a target: saturation throughput, CPU time per request at a
// fixed rate (the steady figure on a shared 2-core machine), one-connection latency with µs
// resolution, and Redis commands per request.
import { execFile, execFileSync } from 'node:child_process'
import { Agent, request as httpRequest } from 'node:http'
import { promisify } from 'node:util'
import autocannon from 'autocannon'
import { signRequest } from '../../src/domain/sign-request.js'
import { cpuSeconds } from './processes.js'

const execFileAsync = promisify(execFile)

/** How a client authenticates: fixed headers, or a fresh HMAC signature (and nonce) per request. */
export interface Credentials {
  headers?: Record<string, string>
  hmac?: { key: string, secret: string }
}

// more than a saturated gateway answers per second on these machines, for signing ahead
const SIGNED_AHEAD_PER_SECOND_SATURATED = 20_000

/**
 * autocannon options that send these credentials. HMAC requests (a fresh nonce each) are
 * signed before the run starts, so that the load generator, on the same two cores, spends
 * no more per request on them than on an API key's: signing as it sends cost it ~8 µs per
 * request, which took CPU from the measured processes. Past `expectedRequests` it signs as
 * it goes.
 */
function autocannonRequests (url: string, credentials: Credentials, expectedRequests: number): Partial<autocannon.Options> {
  const hmac = credentials.hmac
  if (hmac === undefined) return { headers: credentials.headers }
  const path = new URL(url).pathname
  const sign = (): Record<string, string> => signRequest({ method: 'GET', url: path }, hmac.key, hmac.secret)
  const signed = Array.from({ length: expectedRequests }, sign)
  let next = 0
  return {
    requests: [{
      setupRequest: (request: autocannon.Request) => ({ ...request, headers: next < signed.length ? signed[next++] : sign() })
    }]
  }
}

export interface LoadResult {
  requestsPerSecond: number
  completed: number
  /** transport errors, timeouts and responses other than 2xx */
  failed: number
}

export async function runLoad (url: string, credentials: Credentials, options: { connections: number, seconds: number, rate?: number }): Promise<LoadResult> {
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: options.seconds,
    ...(options.rate !== undefined ? { overallRate: options.rate } : {}),
    ...autocannonRequests(url, credentials, Math.ceil((options.rate ?? SIGNED_AHEAD_PER_SECOND_SATURATED) * options.seconds * 1.1) + options.connections)
  } as autocannon.Options)
  return {
    requestsPerSecond: result.requests.total / options.seconds,
    completed: result.requests.total,
    failed: result.errors + result.timeouts + result.non2xx
  }
}

export interface CpuResult {
  /** CPU µs of the serving processes per completed request */
  microsPerRequest: number
  completed: number
  failed: number
  /** requests per second actually completed */
  rate: number
}

/** CPU time (utime + stime) of `pids` over a fixed-rate run, divided by the requests completed. */
export async function cpuPerRequest (url: string, credentials: Credentials, pids: () => number[], options: { rate: number, seconds: number, connections: number }): Promise<CpuResult> {
  const measured = pids()
  const before = cpuSeconds(measured)
  const load = await runLoad(url, credentials, options)
  const after = cpuSeconds(measured)
  return { microsPerRequest: (after - before) * 1e6 / load.completed, completed: load.completed, failed: load.failed, rate: load.requestsPerSecond }
}

export interface LatencyResult {
  p50: number
  p99: number
  requests: number
  tool: 'wrk' | 'node'
}

function wrkMicros (text: string, percentile: string): number {
  const match = new RegExp(`^\\s*${percentile}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(text)
  if (match === null) throw new Error(`wrk printed no ${percentile}th percentile:\n${text}`)
  const scale = { us: 1, ms: 1000, s: 1e6 }[match[2] as 'us' | 'ms' | 's']
  return Number(match[1]) * scale
}

/** One connection, no queueing: what the proxy adds to one call, µs resolution. */
export async function wrkLatency (url: string, headers: Record<string, string>, seconds: number): Promise<LatencyResult> {
  const args = ['-t1', '-c1', `-d${seconds}s`, '--latency']
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`)
  const { stdout } = await execFileAsync('wrk', [...args, url])
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0)
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0)
  if (non2xx > 0) throw new Error(`wrk got ${non2xx} non-2xx responses from ${url}`)
  return { p50: wrkMicros(stdout, '50'), p99: wrkMicros(stdout, '99'), requests, tool: 'wrk' }
}

function percentile (sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]
}

/**
 * One kept-alive connection from this process, timed with process.hrtime around each request
 * (the signature is computed before the clock starts). For HMAC, which wrk cannot sign.
 */
export async function nodeLatency (url: string, credentials: Credentials, seconds: number): Promise<LatencyResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const target = new URL(url)
  const samples: number[] = []
  const end = Date.now() + seconds * 1000
  try {
    while (Date.now() < end) {
      const headers = credentials.hmac !== undefined
        ? signRequest({ method: 'GET', url: target.pathname }, credentials.hmac.key, credentials.hmac.secret)
        : credentials.headers ?? {}
      const started = process.hrtime.bigint()
      const status = await new Promise<number>((resolve, reject) => {
        const request = httpRequest({ agent, host: target.hostname, port: target.port, path: target.pathname, headers }, response => {
          response.resume()
          response.once('end', () => { resolve(response.statusCode ?? 0) })
        })
        request.once('error', reject)
        request.end()
      })
      samples.push(Number(process.hrtime.bigint() - started) / 1000)
      if (status !== 200) throw new Error(`${url} answered ${status}`)
    }
  } finally {
    agent.destroy()
  }
  samples.sort((a, b) => a - b)
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), requests: samples.length, tool: 'node' }
}

/** Sum of `calls=` in `INFO commandstats` of a private Redis: every command but INFO, or those `only` matches. */
export function redisCommandCount (port: number, only?: RegExp): number {
  const text = execFileSync('redis-cli', ['-p', String(port), 'info', 'commandstats']).toString()
  let calls = 0
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (only !== undefined ? only.test(match[1]) : match[1] !== 'info') calls += Number(match[2])
  }
  return calls
}

export function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}
