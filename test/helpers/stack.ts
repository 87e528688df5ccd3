// Starts the whole product the way `partner-gateway start` does — control server and
// gateway(s) — against a fresh test database (embedded: a DATA_DIR that already holds the
// migrated database), optionally sharing Redis, and provisions partners, apps and APIs
// through the real operator API.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pino, { type Logger } from 'pino'
import { loadConfig } from '../../src/config/load.js'
import type { Config } from '../../src/config/schema.js'
import { startProduct, type RunningProduct } from '../../src/server.js'
import { createMigratedDataDir, createTestDatabase, randomPrefix, REDIS_URL, type DatabaseKind, type TestDatabase } from './database.js'
import { deleteRedisKeys } from './redis.js'

export interface StackOptions {
  database: DatabaseKind
  redis: boolean
  /** gateways besides the one running with the control server (postgresql only) */
  extraGateways?: number
  config?: Partial<Config>
  /** where every process logs; default silent (or TEST_LOG_LEVEL) */
  logger?: Logger
}

export interface JsonResponse { status: number, body: any, headers: Headers }

export interface TestStack {
  control: RunningProduct
  gateways: RunningProduct[]
  controlUrl: string
  gatewayUrls: string[]
  /** each gateway's TLS port, when `config` gives one (`gatewayTlsPort: 0` and certificates) */
  gatewayTlsUrls: Array<string | undefined>
  adminToken: string
  redisKeyPrefix: string
  dataDir: string
  admin: (method: string, path: string, body?: unknown) => Promise<JsonResponse>
  close: () => Promise<void>
}

export const MASTER_KEY = randomBytes(32).toString('hex')

export async function startStack (options: StackOptions): Promise<TestStack> {
  const embedded = options.database === 'pglite' && options.config?.databaseUrl === undefined
  const dataDir = embedded ? createMigratedDataDir('pgw-test-') : mkdtempSync(path.join(tmpdir(), 'pgw-test-'))
  let database: TestDatabase | undefined
  if (options.database === 'postgresql') database = await createTestDatabase('postgresql')
  const adminToken = randomBytes(24).toString('hex')
  const redisKeyPrefix = randomPrefix()
  const base: Partial<Config> = {
    adminToken,
    masterKey: MASTER_KEY,
    host: '127.0.0.1',
    gatewayPort: 0,
    controlPort: 0,
    dataDir,
    databaseUrl: database?.url,
    redisUrl: options.redis ? REDIS_URL : undefined,
    redisKeyPrefix,
    seedDemo: false,
    logLevel: 'silent',
    snapshotPollMs: 300,
    usageFlushMs: 200,
    // 2 shared cores run several test files at once: a 50 ms deadline would be missed by
    // event-loop stalls alone; the fault tests set the production default themselves
    redisCommandTimeoutMs: 500,
    ...options.config
  }
  const logger = options.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' })
  const control = await startProduct(loadConfig({}, base), { logger })
  const gateways = [control]
  for (let index = 0; index < (options.extraGateways ?? 0); index++) {
    gateways.push(await startProduct(loadConfig({}, { ...base, roles: ['gateway'], dataDir: path.join(dataDir, `gateway-${index}`) }), { logger }))
  }
  const controlUrl = control.controlUrl as string
  return {
    control,
    gateways,
    controlUrl,
    gatewayUrls: gateways.map(gateway => gateway.gatewayUrl as string),
    gatewayTlsUrls: gateways.map(gateway => gateway.gatewayTlsUrl),
    adminToken,
    redisKeyPrefix,
    dataDir,
    async admin (method, urlPath, body) {
      const response = await fetch(controlUrl + urlPath, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body)
      })
      const text = await response.text()
      return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) }
    },
    async close () {
      for (const gateway of gateways.slice(1).reverse()) await gateway.close()
      await control.close()
      if (options.redis) await deleteRedisKeys(redisKeyPrefix)
      await database?.drop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

export interface ProvisionOptions {
  upstreamUrls: string[]
  auth?: Array<'hmac' | 'apikey' | 'jwt'>
  routes?: Array<{ path: string, methods?: string[], stripPrefix?: boolean, websocket?: boolean, host?: string }>
  plan?: { rateLimit?: { perSecond: number, burst?: number } | null, quota?: { perDay?: number, perMonth?: number } | null, maxConnections?: number | null }
  upstream?: Record<string, unknown>
  grant?: boolean
}

export interface Provisioned {
  partnerId: string
  appId: string
  apiId: string
  planId: string
  upstreamId: string
  grantId?: string
  key: string
  secret: string
  apiKey: string
}

function expectStatus (response: JsonResponse, status: number, what: string): any {
  if (response.status !== status) throw new Error(`${what}: expected ${status}, got ${response.status} ${JSON.stringify(response.body)}`)
  return response.body
}

/** Creates upstream, plan, API, partner, app (with credential) and an approved grant through the operator API. */
export async function provision (stack: TestStack, options: ProvisionOptions): Promise<Provisioned> {
  const suffix = randomBytes(4).toString('hex')
  const upstream = expectStatus(await stack.admin('POST', '/admin/v1/upstreams', { name: `upstream-${suffix}`, targets: options.upstreamUrls.map(url => ({ url, weight: 1 })), ...options.upstream }), 201, 'create upstream')
  const plan = expectStatus(await stack.admin('POST', '/admin/v1/plans', { name: `plan-${suffix}`, ...(options.plan ?? {}) }), 201, 'create plan')
  const api = expectStatus(await stack.admin('POST', '/admin/v1/apis', {
    name: `api-${suffix}`,
    upstreamId: upstream.id,
    auth: options.auth ?? ['hmac', 'apikey'],
    routes: options.routes ?? [{ path: `/${suffix}`, stripPrefix: true }]
  }), 201, 'create api')
  const partner = expectStatus(await stack.admin('POST', '/admin/v1/partners', { name: `partner-${suffix}` }), 201, 'create partner')
  const app = expectStatus(await stack.admin('POST', `/admin/v1/partners/${partner.id as string}/apps`, { name: `app-${suffix}` }), 201, 'create app')
  let grantId: string | undefined
  if (options.grant !== false) {
    grantId = expectStatus(await stack.admin('POST', '/admin/v1/grants', { appId: app.id, apiId: api.id, planId: plan.id }), 201, 'create grant').id
  }
  return { partnerId: partner.id, appId: app.id, apiId: api.id, planId: plan.id, upstreamId: upstream.id, grantId, key: app.key, secret: app.secret, apiKey: app.apiKey }
}

/** Waits until every gateway has applied the current configuration version. */
export async function waitForPropagation (stack: TestStack): Promise<void> {
  const { body } = await stack.admin('GET', '/admin/v1/config/version')
  const target = BigInt(body.version)
  const deadline = Date.now() + 5000
  for (;;) {
    const versions = stack.gateways.map(gateway => gateway.gateway?.snapshotVersion() ?? 0n)
    if (versions.every(version => version >= target)) return
    if (Date.now() > deadline) throw new Error(`gateways at ${versions.join(', ')}; expected ${target}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}
