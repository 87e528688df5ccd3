// The operator API client for the console: JSON over fetch with the operator session cookie
// (sent only to /admin/v1), and the session's CSRF token on every state-changing request.
import { createJsonClient } from '../api.js'
import type { IpRestrictionConfig } from '../ip-restriction.js'

const operatorClient = createJsonClient('/admin/v1', 'The control server cannot be reached. Check your connection and try again.')
export const adminApi = operatorClient.call
export const setConsoleCsrfToken = operatorClient.setCsrfToken

/** Every page of a cursor-paginated list (the console's lists are operator-sized). */
export async function allPages<T> (path: string): Promise<T[]> {
  const items: T[] = []
  let cursor: string | null = null
  const separator = path.includes('?') ? '&' : '?'
  do {
    const page: { items: T[], nextCursor: string | null } = await adminApi('GET', `${path}${separator}limit=200${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`)
    items.push(...page.items)
    cursor = page.nextCursor
  } while (cursor !== null && items.length < 10_000)
  return items
}

export type Role = 'admin' | 'viewer'
export interface ConsoleSession { operator: { id: string, email: string, role: Role }, csrfToken: string, expiresAt: string }

export interface Partner { id: string, name: string, email: string | null, status: 'active' | 'pending' | 'suspended', createdAt: string, updatedAt: string }
export interface PartnerUser { id: string, email: string, createdAt: string, lastLoginAt: string | null }
export interface App { id: string, partnerId: string, name: string, status: 'active' | 'suspended', ipRestriction: IpRestrictionConfig | null, createdAt: string, updatedAt: string }
export interface Credential { id: string, key: string, apiKeyPrefix: string, status: 'active' | 'expiring' | 'revoked' | 'expired', createdAt: string, expiresAt: string | null, revokedAt: string | null }
export interface AppDetail extends App { credentials: Credential[] }
export interface NewSecret { key: string, secret: string, apiKey: string }
export interface CreatedApp extends App, NewSecret { credentialId: string }
export interface Rotated extends NewSecret { id: string, createdAt: string, previous: Credential[] }
export interface Plan { id: string, name: string, rateLimit: { perSecond: number, burst: number } | null, quota: { perDay: number | null, perMonth: number | null }, maxConnections: number | null, createdAt: string, updatedAt: string }
export interface Route { id: string, methods: string[], host: string | null, path: string, stripPrefix: boolean, websocket: boolean }
// an API's policies as the operator API shows them (their schemas: src/gateway/policies/*/); null = not set
export interface CorsConfig { origins: '*' | string[], portal?: boolean, methods?: string[], headers?: string[], exposeHeaders?: string[], credentials?: boolean, maxAgeSeconds?: number }
export interface RequestLimitsConfig { maxBodyBytes?: number, maxHeaderBytes?: number, maxUrlLength?: number, contentTypes?: string[] }
export interface CachedRoute { path: string, host?: string | null, ttlSeconds?: number, public?: boolean }
export interface ResponseCacheConfig { routes: CachedRoute[], ttlSeconds?: number, maxBodyBytes?: number, public?: boolean }
export interface ApiPolicies { cors: CorsConfig | null, ipRestriction: IpRestrictionConfig | null, requestLimits: RequestLimitsConfig | null, responseCache: ResponseCacheConfig | null }
export interface Api extends ApiPolicies { id: string, name: string, description: string, upstreamId: string, auth: string[], routes: Route[], autoApprove: boolean, planIds: string[], hasOpenApi: boolean, createdAt: string, updatedAt: string }
export interface Upstream { id: string, name: string, targets: Array<{ url: string, weight: number }>, loadBalancing: string, healthCheck: { path: string, intervalMs: number } | null, timeouts: { connectMs: number, responseMs: number } }
export type GrantStatus = 'requested' | 'approved' | 'rejected' | 'revoked'
export interface Grant { id: string, appId: string, apiId: string, planId: string, status: GrantStatus, createdAt: string, updatedAt: string }
export interface SigningKey { kid: string, alg: string, createdAt: string, retiredAt: string | null }
export interface AuditEntry { id: string, actor: string, action: string, targetType: string, targetId: string | null, details: unknown, createdAt: string }
export interface Operator { id: string, email: string, role: Role, createdAt: string, lastLoginAt: string | null }

export interface Target { upstream: string, target: string, healthy: boolean }
export interface GatewayNode {
  id: string
  hostname: string
  pid: number
  version: string
  status: 'up' | 'down' | 'stopped'
  startedAt: string
  reportedAt: string
  stoppedAt: string | null
  configVersion: string
  versionsBehind: number
  snapshotAgeSeconds: number
  requestsPerMinute: number
  webSocketConnections: number
  databaseUp: boolean
  redisUp: boolean | null
  targets: Target[]
}
export interface Nodes { currentConfigVersion: string, items: GatewayNode[] }
export interface Point { minute: string, requests: number, errors: number, refused: number, p99Ms: number | null }
export interface Overview {
  generatedAt: string
  minutes: number
  nodes: { up: number, down: number, stopped: number }
  totals: { requestsPerMinute: number, refusedPerMinute: number, errorRate: number | null, p99Ms: number | null, webSocketConnections: number }
  apis: Array<{ api: string, requestsPerMinute: number, refusedPerMinute: number, errorRate: number | null, p99Ms: number | null, webSocketConnections: number, series: Point[] }>
  rejections: Array<{ reason: string, perMinute: number, inRange: number }>
  topApps: Array<{ appId: string, appName: string, partnerId: string, partnerName: string, calls: number, rejected: number }>
}
