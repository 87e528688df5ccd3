// Reads everything the data plane needs from the database in one consistent transaction,
// as plain JSON-serialisable data (secrets still encrypted), so the gateway can cache it on
// disk and keep serving from it when the database is away.
import type { PrismaClient } from './db.js'

export interface SnapshotUpstream {
  id: string
  name: string
  targets: Array<{ url: string, weight: number }>
  loadBalancing: 'round-robin' | 'least-connections'
  healthCheck: null | { path: string, intervalMs?: number, timeoutMs?: number, healthyThreshold?: number, unhealthyThreshold?: number }
  connectTimeoutMs: number
  responseTimeoutMs: number
  /** TLS to its https:// targets; null: Node's defaults (absent in snapshots cached before this field) */
  tls?: SnapshotUpstreamTls | null
}

export interface SnapshotUpstreamTls {
  /** PEM; null: Node's own CAs */
  caBundle: string | null
  /** PEM, with clientKeyCiphertext or neither */
  clientCertificate: string | null
  /** the client certificate's key, still sealed with the master key (decrypted when compiled) */
  clientKeyCiphertext: string | null
  servername: string | null
  insecureSkipVerify: boolean
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
  /** configured policies by name (src/gateway/policies/registry.ts); absent in snapshots cached before this field */
  policies?: Record<string, unknown>
  /** bumped by each purge of the API's cached responses; absent in snapshots cached before this field */
  cacheGeneration?: number
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
  /** configured policies by name (APP_POLICIES in src/gateway/policies/registry.ts); present only when there are some, so that 100,000 apps stay small */
  policies?: Record<string, unknown>
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

type Transaction = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0]

/** The small, rarely changing part: what routes a request and what limits it. */
export type RoutingData = Pick<ConfigSnapshotData, 'upstreams' | 'apis' | 'routes' | 'plans' | 'signingKeys' | 'portalOrigin'>

async function readRouting (tx: Transaction, now: Date): Promise<RoutingData> {
  // one after another: a transaction is one connection, which runs one query at a time anyway
  const upstreams = await tx.upstream.findMany({ include: { targets: { orderBy: { id: 'asc' } } } })
  const apis = await tx.api.findMany()
  const routes = await tx.route.findMany({ orderBy: { id: 'asc' } })
  const plans = await tx.plan.findMany()
  // retired keys verify tokens until those expire. The token lifetime is the control
  // server's setting, so a week bounds it here; the gateway refuses tokens a retired key
  // claims to have signed after its retirement, and the JWKS endpoint uses the exact window.
  const signingKeys = await tx.signingKey.findMany({ where: { OR: [{ retiredAt: null }, { retiredAt: { gt: new Date(now.getTime() - 7 * 86_400_000) } }] } })
  const portalOrigin = await tx.setting.findUnique({ where: { key: 'portalOrigin' } })
  return {
    upstreams: upstreams.map(upstream => ({
      id: upstream.id,
      name: upstream.name,
      targets: upstream.targets.map(target => ({ url: target.url, weight: target.weight })),
      loadBalancing: upstream.loadBalancing === 'least-connections' ? 'least-connections' : 'round-robin',
      healthCheck: (upstream.healthCheck ?? null) as SnapshotUpstream['healthCheck'],
      connectTimeoutMs: upstream.connectTimeoutMs,
      responseTimeoutMs: upstream.responseTimeoutMs,
      tls: toSnapshotTls(upstream)
    })),
    apis: apis.map(api => ({ id: api.id, name: api.name, upstreamId: api.upstreamId, auth: api.auth as SnapshotApi['auth'], policies: api.policies as Record<string, unknown>, cacheGeneration: api.cacheGeneration })),
    routes: routes.map(route => ({ id: route.id, apiId: route.apiId, methods: route.methods, host: route.host, path: route.path, stripPrefix: route.stripPrefix, websocket: route.websocket })),
    plans: plans.map(plan => ({ id: plan.id, name: plan.name, rateLimitPerSecond: plan.rateLimitPerSecond, rateLimitBurst: plan.rateLimitBurst, quotaPerDay: plan.quotaPerDay, quotaPerMonth: plan.quotaPerMonth, maxConnections: plan.maxConnections })),
    signingKeys: signingKeys.map(key => ({ kid: key.kid, algorithm: key.algorithm, publicJwk: key.publicJwk as Record<string, unknown>, retiredAt: key.retiredAt?.getTime() ?? null })),
    portalOrigin: typeof portalOrigin?.value === 'string' ? portalOrigin.value : null
  }
}

function toSnapshotTls (upstream: { tlsCaBundle: string | null, tlsClientCertificate: string | null, tlsClientKeyCiphertext: string | null, tlsServername: string | null, tlsInsecureSkipVerify: boolean }): SnapshotUpstreamTls | null {
  const tls = {
    caBundle: upstream.tlsCaBundle,
    clientCertificate: upstream.tlsClientCertificate,
    clientKeyCiphertext: upstream.tlsClientKeyCiphertext,
    servername: upstream.tlsServername,
    insecureSkipVerify: upstream.tlsInsecureSkipVerify
  }
  const unset = tls.caBundle === null && tls.clientCertificate === null && tls.clientKeyCiphertext === null && tls.servername === null && !tls.insecureSkipVerify
  return unset ? null : tls
}

export type SnapshotIdentities = Pick<ConfigSnapshotData, 'apps' | 'credentials' | 'grants'>

/**
 * Makes the ids that rows just read repeat one string each: an app's id comes again in its
 * credentials and grants, a partner's in its apps, an API's and a plan's in thousands of
 * grants, and every row read (or parsed from the disk cache) brings its own copy. At 100,000
 * apps the copies are about a fifth of the snapshot's memory, and the larger the heap, the
 * slower each young-generation collection, which every request pays for.
 */
export function shareRepeatedIds<T extends SnapshotIdentities> (identities: T): T {
  const strings = new Map<string, string>()
  const shared = (id: string): string => {
    const known = strings.get(id)
    if (known !== undefined) return known
    strings.set(id, id)
    return id
  }
  for (const app of identities.apps) {
    app.id = shared(app.id)
    app.partnerId = shared(app.partnerId)
  }
  for (const credential of identities.credentials) credential.appId = shared(credential.appId)
  for (const grant of identities.grants) {
    grant.appId = shared(grant.appId)
    grant.apiId = shared(grant.apiId)
    grant.planId = shared(grant.planId)
  }
  return identities
}

/** Apps, their usable credentials and approved grants; all of them, or those of some apps. */
async function readIdentities (tx: Transaction, now: Date, appIds?: string[]): Promise<SnapshotIdentities> {
  const ofApps = appIds === undefined ? {} : { appId: { in: appIds } }
  const apps = await tx.app.findMany({ where: appIds === undefined ? {} : { id: { in: appIds } }, include: { partner: { select: { status: true } } } })
  const credentials = await tx.credential.findMany({ where: { ...ofApps, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] } })
  const grants = await tx.grant.findMany({ where: { ...ofApps, status: 'approved' } })
  return shareRepeatedIds({
    apps: apps.map(toSnapshotApp),
    credentials: credentials.map(credential => ({ id: credential.id, appId: credential.appId, key: credential.key, secretCiphertext: credential.secretCiphertext, apiKeyHash: credential.apiKeyHash, expiresAt: credential.expiresAt?.getTime() ?? null })),
    grants: grants.map(toSnapshotGrant)
  })
}

function toSnapshotApp (app: { id: string, partnerId: string, name: string, status: string, policies: unknown, partner: { status: string } }): SnapshotApp {
  const snapshotApp: SnapshotApp = { id: app.id, partnerId: app.partnerId, name: app.name, status: app.status === 'active' && app.partner.status === 'active' ? 'active' : 'suspended' }
  const policies = app.policies as Record<string, unknown>
  if (Object.keys(policies).length > 0) snapshotApp.policies = policies
  return snapshotApp
}

function toSnapshotGrant (grant: { id: string, appId: string, apiId: string, planId: string }): SnapshotGrant {
  return { id: grant.id, appId: grant.appId, apiId: grant.apiId, planId: grant.planId }
}

export async function loadConfigSnapshot (prisma: PrismaClient): Promise<ConfigSnapshotData> {
  const now = new Date()
  return await prisma.$transaction(async tx => {
    const state = await tx.configState.findUniqueOrThrow({ where: { id: 1 } })
    const routing = await readRouting(tx, now)
    const identities = await readIdentities(tx, now)
    return { version: state.version.toString(), loadedAt: Date.now(), ...routing, ...identities }
    // 100,000 apps take seconds to read: more than Prisma's default 5 s for a whole transaction
  }, { isolationLevel: 'RepeatableRead', timeout: 60_000 })
}

/**
 * What changed since a snapshot's version, with the rows to replace: the apps named by the
 * changes (and those of the partners named), the grants named, and the routing part when
 * anything else changed. Read in one transaction, so rows and version agree.
 */
export interface ConfigDelta {
  version: string
  /** apps whose app, credential and grant rows are replaced by those below */
  appIds: string[]
  /** partners whose apps are all replaced (the snapshot's apps of these partners too: deleted ones are gone) */
  partnerIds: string[]
  /** grants replaced by those below (absent there: no longer approved) */
  grantIds: string[]
  identities: SnapshotIdentities
  /** present when the routing part changed */
  routing?: RoutingData
}

/** Audited changes the gateway never reads (portal users, operators, their tokens); any other kind reloads the routing part. */
const CONTROL_PLANE_ONLY = new Set(['partner-user', 'operator', 'admin-token'])

/** Past this many apps and grants, reading everything again is the cheaper way. */
const MAX_DELTA_ENTITIES = 2_000

/**
 * The changes after `fromVersion`, or undefined when they cannot be told from the audit log
 * (a write that audited nothing, entries without a target, too many changes): then the
 * whole snapshot must be read again.
 */
export async function loadConfigDelta (prisma: PrismaClient, fromVersion: bigint): Promise<ConfigDelta | undefined> {
  const now = new Date()
  return await prisma.$transaction(async tx => {
    const state = await tx.configState.findUniqueOrThrow({ where: { id: 1 } })
    const version = state.version
    const empty = { apps: [], credentials: [], grants: [] }
    if (version === fromVersion) return { version: version.toString(), appIds: [], partnerIds: [], grantIds: [], identities: empty }
    if (version < fromVersion || version - fromVersion > BigInt(MAX_DELTA_ENTITIES)) return undefined
    const entries = await tx.auditLog.findMany({ where: { configVersion: { gt: fromVersion, lte: version } }, select: { configVersion: true, targetType: true, targetId: true } })
    if (new Set(entries.map(entry => entry.configVersion)).size !== Number(version - fromVersion)) return undefined
    const appIds = new Set<string>()
    const partnerIds = new Set<string>()
    const grantIds = new Set<string>()
    let routingChanged = false
    for (const entry of entries) {
      if (CONTROL_PLANE_ONLY.has(entry.targetType)) continue
      const set = entry.targetType === 'app' ? appIds : entry.targetType === 'partner' ? partnerIds : entry.targetType === 'grant' ? grantIds : undefined
      if (set === undefined) routingChanged = true
      else if (entry.targetId === null) return undefined
      else set.add(entry.targetId)
    }
    if (partnerIds.size > 0) {
      for (const app of await tx.app.findMany({ where: { partnerId: { in: [...partnerIds] } }, select: { id: true } })) appIds.add(app.id)
    }
    if (appIds.size + grantIds.size > MAX_DELTA_ENTITIES) return undefined
    const identities = appIds.size > 0 ? await readIdentities(tx, now, [...appIds]) : { ...empty, grants: [] as SnapshotGrant[] }
    if (grantIds.size > 0) {
      const named = await tx.grant.findMany({ where: { id: { in: [...grantIds] }, status: 'approved' } })
      const known = new Set(identities.grants.map(grant => grant.id))
      for (const grant of named) if (!known.has(grant.id)) identities.grants.push(toSnapshotGrant(grant))
    }
    return {
      version: version.toString(),
      appIds: [...appIds],
      partnerIds: [...partnerIds],
      grantIds: [...grantIds],
      identities,
      routing: routingChanged ? await readRouting(tx, now) : undefined
    }
  }, { isolationLevel: 'RepeatableRead' })
}
