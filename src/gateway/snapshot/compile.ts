// Compiles the snapshot data into the lookup structures the request path reads: every
// per-request question (which route, which credential, which grant, which plan) is one
// Map lookup. Secrets are decrypted once here, never per request.
import type { SecretBox } from '../../domain/crypto.js'
import type { ConfigSnapshotData, SnapshotApi, SnapshotApp, SnapshotPlan, SnapshotUpstream } from '../../store/config-snapshot.js'
import { compileTokenKeySet, type TokenKeySet } from '../auth/jwt.js'
import { compileCorsPolicy, type CorsPolicy } from '../policies/cors.js'
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

export interface GatewaySnapshot {
  version: bigint
  loadedAt: number
  routes: ReturnType<typeof compileRouteTable>
  apis: Map<string, CompiledApi>
  upstreams: Map<string, SnapshotUpstream>
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

export function compileSnapshot (data: ConfigSnapshotData, secretBox: SecretBox): GatewaySnapshot {
  const plans = new Map(data.plans.map(plan => [plan.id, plan]))
  const credentialsByKey = new Map<string, CompiledCredential>()
  const credentialsByApiKeyHash = new Map<string, CompiledCredential>()
  for (const credential of data.credentials) {
    let secret: string
    try {
      secret = secretBox.decrypt(credential.secretCiphertext)
    } catch {
      // a secret sealed with another master key cannot sign anything; skip it rather than stop serving
      continue
    }
    const compiled: CompiledCredential = { id: credential.id, appId: credential.appId, key: credential.key, secret, expiresAt: credential.expiresAt }
    credentialsByKey.set(credential.key, compiled)
    credentialsByApiKeyHash.set(credential.apiKeyHash, compiled)
  }
  const grants = new Map<string, CompiledGrant>()
  for (const grant of data.grants) {
    const plan = plans.get(grant.planId)
    if (plan !== undefined) grants.set(grantKey(grant.appId, grant.apiId), { id: grant.id, plan })
  }
  return {
    version: BigInt(data.version),
    loadedAt: data.loadedAt,
    routes: compileRouteTable(data.routes),
    apis: new Map(data.apis.map(api => [api.id, {
      ...api,
      authModes: new Set(api.auth),
      corsPolicy: api.cors != null ? compileCorsPolicy(api.cors, data.portalOrigin ?? null) : undefined
    }])),
    upstreams: new Map(data.upstreams.map(upstream => [upstream.id, upstream])),
    apps: new Map(data.apps.map(app => [app.id, app])),
    credentialsByKey,
    credentialsByApiKeyHash,
    grants,
    tokenKeys: compileTokenKeySet(data.signingKeys),
    data
  }
}
