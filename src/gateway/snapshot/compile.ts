// Compiles the snapshot data into the lookup structures the request path reads: every
// per-request question (which route, which credential, which grant, which plan) is one
// Map lookup. Secrets (credential secrets, upstream client keys) are decrypted once here,
// never per request.
import type { SecretBox } from '../../domain/crypto.js'
import type { ConfigDelta, ConfigSnapshotData, SnapshotApi, SnapshotApp, SnapshotCredential, SnapshotGrant, SnapshotPlan, SnapshotUpstream } from '../../store/config-snapshot.js'
import { compileTokenKeySet, type TokenKeySet } from '../auth/jwt.js'
import { compileCorsPolicy, type CorsPolicy } from '../policies/cors.js'
import { compileUpstreamTls, type UpstreamTls } from '../proxy/upstream-tls.js'
import { compileRouteTable } from '../routing/route-table.js'

export interface CompiledCredential {
  id: string
  appId: string
  key: string
  secret: string
  expiresAt: number | null
}

export interface CompiledGrant {
  id: string
  plan: SnapshotPlan
}

export type CompiledApi = SnapshotApi & {
  authModes: Set<string>
  /** undefined when the API has no CORS configuration: the request path then does nothing for CORS */
  corsPolicy: CorsPolicy | undefined
}

export type CompiledUpstream = SnapshotUpstream & {
  /** undefined: Node's defaults for https:// targets */
  tlsOptions?: UpstreamTls
}

export interface GatewaySnapshot {
  version: bigint
  loadedAt: number
  routes: ReturnType<typeof compileRouteTable>
  apis: Map<string, CompiledApi>
  upstreams: Map<string, CompiledUpstream>
  apps: Map<string, SnapshotApp>
  credentialsByKey: Map<string, CompiledCredential>
  credentialsByApiKeyHash: Map<string, CompiledCredential>
  /** by `${appId}:${apiId}`, approved grants only */
  grants: Map<string, CompiledGrant>
  /** public keys that verify OAuth2 access tokens */
  tokenKeys: TokenKeySet
  data: ConfigSnapshotData
}

export function grantKey (appId: string, apiId: string): string {
  return `${appId}:${apiId}`
}

function addCredentials (credentials: Iterable<SnapshotCredential>, secretBox: SecretBox, byKey: Map<string, CompiledCredential>, byApiKeyHash: Map<string, CompiledCredential>): void {
  for (const credential of credentials) {
    let secret: string
    try {
      secret = secretBox.decrypt(credential.secretCiphertext)
    } catch {
      // a secret sealed with another master key cannot sign anything; skip it rather than stop serving
      continue
    }
    const compiled: CompiledCredential = { id: credential.id, appId: credential.appId, key: credential.key, secret, expiresAt: credential.expiresAt }
    byKey.set(credential.key, compiled)
    byApiKeyHash.set(credential.apiKeyHash, compiled)
  }
}

function compileGrants (grants: SnapshotGrant[], plans: SnapshotPlan[]): Map<string, CompiledGrant> {
  const plansById = new Map(plans.map(plan => [plan.id, plan]))
  const compiled = new Map<string, CompiledGrant>()
  for (const grant of grants) {
    const plan = plansById.get(grant.planId)
    if (plan !== undefined) compiled.set(grantKey(grant.appId, grant.apiId), { id: grant.id, plan })
  }
  return compiled
}

type RoutingPart = Pick<GatewaySnapshot, 'routes' | 'apis' | 'upstreams' | 'tokenKeys'>

function compileUpstream (upstream: SnapshotUpstream, secretBox: SecretBox): CompiledUpstream {
  return upstream.tls == null ? upstream : { ...upstream, tlsOptions: compileUpstreamTls(upstream.tls, secretBox) }
}

function compileRouting (data: ConfigSnapshotData, secretBox: SecretBox): RoutingPart {
  return {
    routes: compileRouteTable(data.routes),
    apis: new Map(data.apis.map(api => [api.id, {
      ...api,
      authModes: new Set(api.auth),
      corsPolicy: api.cors != null ? compileCorsPolicy(api.cors, data.portalOrigin ?? null) : undefined
    }])),
    upstreams: new Map(data.upstreams.map(upstream => [upstream.id, compileUpstream(upstream, secretBox)])),
    tokenKeys: compileTokenKeySet(data.signingKeys)
  }
}

export function compileSnapshot (data: ConfigSnapshotData, secretBox: SecretBox): GatewaySnapshot {
  const credentialsByKey = new Map<string, CompiledCredential>()
  const credentialsByApiKeyHash = new Map<string, CompiledCredential>()
  addCredentials(data.credentials, secretBox, credentialsByKey, credentialsByApiKeyHash)
  return {
    version: BigInt(data.version),
    loadedAt: data.loadedAt,
    ...compileRouting(data, secretBox),
    apps: new Map(data.apps.map(app => [app.id, app])),
    credentialsByKey,
    credentialsByApiKeyHash,
    grants: compileGrants(data.grants, data.plans),
    data
  }
}

/**
 * The snapshot with a delta applied: the apps, credentials and grants it names replaced,
 * the routing part recompiled only when it changed (the route table and the token keys,
 * with their caches, are kept otherwise), and only new credentials' secrets decrypted.
 */
export function applyConfigDelta (previous: GatewaySnapshot, delta: ConfigDelta, secretBox: SecretBox): GatewaySnapshot {
  const old = previous.data
  const replacedApps = new Set(delta.appIds)
  if (delta.partnerIds.length > 0) {
    const partners = new Set(delta.partnerIds)
    for (const app of old.apps) if (partners.has(app.partnerId)) replacedApps.add(app.id)
  }
  const replacedGrants = new Set(delta.grantIds)
  const data: ConfigSnapshotData = {
    ...old,
    ...delta.routing,
    version: delta.version,
    loadedAt: Date.now(),
    apps: replacedApps.size === 0 ? old.apps : old.apps.filter(app => !replacedApps.has(app.id)).concat(delta.identities.apps),
    credentials: replacedApps.size === 0 ? old.credentials : old.credentials.filter(credential => !replacedApps.has(credential.appId)).concat(delta.identities.credentials),
    grants: replacedApps.size === 0 && replacedGrants.size === 0 ? old.grants : old.grants.filter(grant => !replacedApps.has(grant.appId) && !replacedGrants.has(grant.id)).concat(delta.identities.grants)
  }
  let { credentialsByKey, credentialsByApiKeyHash } = previous
  if (replacedApps.size > 0) {
    credentialsByKey = new Map(credentialsByKey)
    credentialsByApiKeyHash = new Map(credentialsByApiKeyHash)
    for (const credential of old.credentials) {
      if (!replacedApps.has(credential.appId)) continue
      credentialsByKey.delete(credential.key)
      credentialsByApiKeyHash.delete(credential.apiKeyHash)
    }
    addCredentials(delta.identities.credentials, secretBox, credentialsByKey, credentialsByApiKeyHash)
  }
  return {
    version: BigInt(delta.version),
    loadedAt: data.loadedAt,
    ...(delta.routing !== undefined ? compileRouting(data, secretBox) : { routes: previous.routes, apis: previous.apis, upstreams: previous.upstreams, tokenKeys: previous.tokenKeys }),
    apps: replacedApps.size === 0 ? previous.apps : new Map(data.apps.map(app => [app.id, app])),
    credentialsByKey,
    credentialsByApiKeyHash,
    grants: delta.routing === undefined && data.grants === old.grants ? previous.grants : compileGrants(data.grants, data.plans),
    data
  }
}
