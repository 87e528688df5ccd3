// The gateway as a user runs it: `node dist/cli.js start` configured by environment
// variables, with the access log on (LOG_LEVEL=info) written to a file, configured through
// the operator API like any deployment.
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import pg from 'pg'
import { freePort, startChild, waitForHttp, type Child } from './processes.js'

export const POSTGRES_ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'

/** Every setting the product reads from the environment is set here or removed, so the caller's shell cannot leak in. */
const PRODUCT_VARIABLES = ['DATABASE_URL', 'REDIS_URL', 'GATEWAY_WORKERS', 'GATEWAY_ROLES', 'LOG_LEVEL', 'DATA_DIR', 'PUBLIC_URL', 'SEED_DEMO', 'LIMIT_LEASE_MS', 'REDIS_KEY_PREFIX']

export interface ProductOptions {
  name: string
  directory: string
  roles: Array<'gateway' | 'control'>
  gatewayPort: number
  controlPort: number
  adminToken: string
  masterKey: string
  databaseUrl?: string
  redisUrl?: string
  workers?: number
  /** extra node flags, e.g. --cpu-prof */
  nodeFlags?: string[]
}

export interface RunningProcess {
  child: Child
  logFile: string
  /** from spawn until every role it runs answered /readyz */
  startMs: number
}

export async function startProduct (options: ProductOptions): Promise<RunningProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const name of PRODUCT_VARIABLES) delete env[name]
  Object.assign(env, {
    HOST: '127.0.0.1',
    GATEWAY_PORT: String(options.gatewayPort),
    CONTROL_PORT: String(options.controlPort),
    GATEWAY_ROLES: options.roles.join(','),
    GATEWAY_ADMIN_TOKEN: options.adminToken,
    GATEWAY_MASTER_KEY: options.masterKey,
    // tokens are issued by the control server and verified by gateways that may be other processes
    PUBLIC_URL: `http://127.0.0.1:${options.controlPort}`,
    DATA_DIR: path.join(options.directory, `${options.name}-data`),
    LOG_LEVEL: 'info',
    ...(options.databaseUrl !== undefined ? { DATABASE_URL: options.databaseUrl } : {}),
    // one prefix for all processes of a deployment (each has a Redis of its own): the control
    // server publishes its change events under it, and a gateway under another never hears them
    ...(options.redisUrl !== undefined ? { REDIS_URL: options.redisUrl, REDIS_KEY_PREFIX: 'pgwbench:' } : {}),
    ...(options.workers !== undefined ? { GATEWAY_WORKERS: String(options.workers) } : {})
  })
  const logFile = path.join(options.directory, `${options.name}.log`)
  const started = performance.now()
  const child = startChild(process.execPath, [...(options.nodeFlags ?? []), 'dist/cli.js', 'start'], { env, logFile, graceMs: 20_000 })
  if (options.roles.includes('control')) await waitForHttp(`http://127.0.0.1:${options.controlPort}/readyz`, 120_000, child)
  if (options.roles.includes('gateway')) await waitForHttp(`http://127.0.0.1:${options.gatewayPort}/readyz`, 120_000, child)
  return { child, logFile, startMs: performance.now() - started }
}

export async function adminQuery (sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL })
  await client.connect()
  try { await client.query(sql) } finally { await client.end() }
}

/** A fresh PostgreSQL database, dropped by the returned function. */
export async function createDatabase (): Promise<{ url: string, drop: () => Promise<void> }> {
  const name = `pgw_bench_${randomBytes(4).toString('hex')}`
  await adminQuery(`CREATE DATABASE ${name}`)
  const url = new URL(POSTGRES_ADMIN_URL)
  url.pathname = `/${name}`
  return { url: url.toString(), drop: async () => { await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) } }
}

export class OperatorClient {
  constructor (readonly controlUrl: string, readonly token: string) {}

  async call (method: string, path: string, body?: unknown): Promise<any> {
    const response = await fetch(`${this.controlUrl}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined
    })
    const text = await response.text()
    if (response.status >= 300) throw new Error(`${method} ${path} answered ${response.status}: ${text}`)
    return text === '' ? undefined : JSON.parse(text)
  }
}

export interface BenchApp {
  id: string
  key: string
  secret: string
  apiKey: string
  grantId: string
}

export interface BenchFixture {
  apiId: string
  planId: string
  /** path on the gateway that reaches the upstream's /items */
  path: string
  apps: BenchApp[]
}

export const BENCH_PATH = '/bench/items'

/**
 * One upstream, one API accepting every auth mode on /bench, one plan with a rate limit and
 * quotas that a benchmark never reaches (so every request runs the whole chain and passes),
 * and `appCount` apps granted on it.
 */
export async function configureFixture (operator: OperatorClient, upstreamUrl: string, appCount: number): Promise<BenchFixture> {
  const upstream = await operator.call('POST', '/upstreams', { name: 'bench', targets: [{ url: upstreamUrl }] })
  const plan = await operator.call('POST', '/plans', { name: 'bench', rateLimit: { perSecond: 20_000, burst: 20_000 }, quota: { perDay: 1_000_000_000, perMonth: 2_000_000_000 } })
  const api = await operator.call('POST', '/apis', { name: 'bench', upstreamId: upstream.id, auth: ['apikey', 'hmac', 'jwt'], routes: [{ path: '/bench', stripPrefix: true }] })
  const partner = await operator.call('POST', '/partners', { name: 'Bench' })
  const apps: BenchApp[] = []
  for (let index = 0; index < appCount; index++) {
    const app = await operator.call('POST', `/partners/${partner.id as string}/apps`, { name: `bench-${index}` })
    const grant = await operator.call('POST', '/grants', { appId: app.id, apiId: api.id, planId: plan.id })
    apps.push({ id: app.id, key: app.key, secret: app.secret, apiKey: app.apiKey, grantId: grant.id })
  }
  return { apiId: api.id, planId: plan.id, path: BENCH_PATH, apps }
}

/** An OAuth2 access token for the app (client credentials grant). */
export async function accessToken (controlUrl: string, app: { key: string, secret: string }): Promise<string> {
  const response = await fetch(`${controlUrl}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${app.key}:${app.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials'
  })
  const body = await response.json() as { access_token?: string }
  if (body.access_token === undefined) throw new Error(`no access token: ${JSON.stringify(body)}`)
  return body.access_token
}

/** Waits until the gateway lets the app through (its snapshot holds the configuration); returns the other statuses seen meanwhile. */
export async function waitUntilServed (url: string, headers: Record<string, string>, timeoutMs = 30_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs
  const refusals: number[] = []
  for (;;) {
    const response = await fetch(url, { headers })
    await response.arrayBuffer()
    if (response.status === 200) return refusals
    refusals.push(response.status)
    if (Date.now() > deadline) throw new Error(`${url} still answers ${response.status}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

export { freePort }
export function newSecrets (): { adminToken: string, masterKey: string } {
  return { adminToken: randomBytes(24).toString('hex'), masterKey: randomBytes(32).toString('hex') }
}
