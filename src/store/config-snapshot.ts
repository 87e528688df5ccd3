// Reads everything the data plane needs from the database in one consistent transaction,
// as plain JSON-serialisable data (secrets still encrypted), so the gateway can cache it on
// disk and keep serving from it when the database is away.
import type { CorsConfig } from '../gateway/policies/cors.js'
import type { PrismaClient } from './db.js'

export interface SnapshotUpstream {
  id: string
  name: string
  targets: Array<{ url: string, weight: number }>
  loadBalancing: 'round-robin' | 'least-connections'
  healthCheck: null | { path: string, intervalMs?: number, timeoutMs?: number, healthyThreshold?: number, unhealthyThreshold?: number }
  connectTimeoutMs: number
  responseTimeoutMs: number
}

export interface SnapshotRoute {
  id: string
  apiId: string
  methods: string[]
  host: string | null
  path: string
  stripPrefix: boolean
  websocket: boolean
}

export interface SnapshotApi {
  id: string
  name: string
  upstreamId: string
  auth: Array<'hmac' | 'apikey' | 'jwt'>
  /** null: the gateway does no CORS for the API (absent in snapshots cached before this field) */
  cors?: CorsConfig | null
}

export interface SnapshotPlan {
  id: string
  name: string
  rateLimitPerSecond: number | null
  rateLimitBurst: number | null
  quotaPerDay: number | null
  quotaPerMonth: number | null
  maxConnections: number | null
}

export interface SnapshotApp {
  id: string
  partnerId: string
  name: string
  /** active only when both the app and its partner are active */
  status: 'active' | 'suspended'
}

export interface SnapshotCredential {
  id: string
  appId: string
  key: string
  secretCiphertext: string
  apiKeyHash: string
  /** epoch ms after which the credential stops working; null = no expiry */
  expiresAt: number | null
}

export interface SnapshotGrant {
  id: string
  appId: string
  apiId: string
  planId: string
}

export interface SnapshotSigningKey {
  kid: string
  algorithm: string
  publicJwk: Record<string, unknown>
  /** epoch ms when the key stopped signing; null while it signs (absent in snapshots cached before this field) */
  retiredAt?: number | null
}

export interface ConfigSnapshotData {
  version: string
  loadedAt: number
  upstreams: SnapshotUpstream[]
  apis: SnapshotApi[]
  routes: SnapshotRoute[]
  plans: SnapshotPlan[]
  apps: SnapshotApp[]
  credentials: SnapshotCredential[]
  grants: SnapshotGrant[]
  signingKeys: SnapshotSigningKey[]
  /** the partner portal's origin (setting portalOrigin), which APIs with cors.portal allow */
  portalOrigin?: string | null
}

export async function readConfigVersion (prisma: PrismaClient): Promise<bigint> {
  const state = await prisma.configState.findUniqueOrThrow({ where: { id: 1 } })
  return state.version
}

export async function loadConfigSnapshot (prisma: PrismaClient): Promise<ConfigSnapshotData> {
  const now = new Date()
  return await prisma.$transaction(async tx => {
    const state = await tx.configState.findUniqueOrThrow({ where: { id: 1 } })
    // one after another: a transaction is one connection, which runs one query at a time anyway
    const upstreams = await tx.upstream.findMany({ include: { targets: { orderBy: { id: 'asc' } } } })
    const apis = await tx.api.findMany()
    const routes = await tx.route.findMany({ orderBy: { id: 'asc' } })
    const plans = await tx.plan.findMany()
    const apps = await tx.app.findMany({ include: { partner: { select: { status: true } } } })
    const credentials = await tx.credential.findMany({ where: { revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] } })
    const grants = await tx.grant.findMany({ where: { status: 'approved' } })
    // retired keys verify tokens until those expire. The token lifetime is the control
    // server's setting, so a week bounds it here; the gateway refuses tokens a retired key
    // claims to have signed after its retirement, and the JWKS endpoint uses the exact window.
    const signingKeys = await tx.signingKey.findMany({ where: { OR: [{ retiredAt: null }, { retiredAt: { gt: new Date(now.getTime() - 7 * 86_400_000) } }] } })
    const portalOrigin = await tx.setting.findUnique({ where: { key: 'portalOrigin' } })
    return {
      version: state.version.toString(),
      loadedAt: Date.now(),
      upstreams: upstreams.map(upstream => ({
        id: upstream.id,
        name: upstream.name,
        targets: upstream.targets.map(target => ({ url: target.url, weight: target.weight })),
        loadBalancing: upstream.loadBalancing === 'least-connections' ? 'least-connections' : 'round-robin',
        healthCheck: (upstream.healthCheck ?? null) as SnapshotUpstream['healthCheck'],
        connectTimeoutMs: upstream.connectTimeoutMs,
        responseTimeoutMs: upstream.responseTimeoutMs
      })),
      apis: apis.map(api => ({ id: api.id, name: api.name, upstreamId: api.upstreamId, auth: api.auth as SnapshotApi['auth'], cors: (api.cors ?? null) as SnapshotApi['cors'] })),
      routes: routes.map(route => ({ id: route.id, apiId: route.apiId, methods: route.methods, host: route.host, path: route.path, stripPrefix: route.stripPrefix, websocket: route.websocket })),
      plans: plans.map(plan => ({ id: plan.id, name: plan.name, rateLimitPerSecond: plan.rateLimitPerSecond, rateLimitBurst: plan.rateLimitBurst, quotaPerDay: plan.quotaPerDay, quotaPerMonth: plan.quotaPerMonth, maxConnections: plan.maxConnections })),
      apps: apps.map(app => ({ id: app.id, partnerId: app.partnerId, name: app.name, status: app.status === 'active' && app.partner.status === 'active' ? 'active' : 'suspended' })),
      credentials: credentials.map(credential => ({ id: credential.id, appId: credential.appId, key: credential.key, secretCiphertext: credential.secretCiphertext, apiKeyHash: credential.apiKeyHash, expiresAt: credential.expiresAt?.getTime() ?? null })),
      grants: grants.map(grant => ({ id: grant.id, appId: grant.appId, apiId: grant.apiId, planId: grant.planId })),
      signingKeys: signingKeys.map(key => ({ kid: key.kid, algorithm: key.algorithm, publicJwk: key.publicJwk as Record<string, unknown>, retiredAt: key.retiredAt?.getTime() ?? null })),
      portalOrigin: typeof portalOrigin?.value === 'string' ? portalOrigin.value : null
    }
  }, { isolationLevel: 'RepeatableRead' })
}
