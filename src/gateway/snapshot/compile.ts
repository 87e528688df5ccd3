// Compiles the snapshot data into the lookup structures the request path reads: every
// per-request question (which route, which credential, which grant, which plan) is one
// map lookup. Secrets (credential secrets, upstream client keys) are decrypted once here,
// never per request. A delta derives the next snapshot from the previous one and shares
// every entry it does not change (layered-map.ts), so its cost follows the size of the
// change, not of the configuration.
import type { SecretBox } from '../../domain/crypto.js'
import type { ConfigDelta, ConfigSnapshotData, RoutingData, SnapshotApi, SnapshotApp, SnapshotCredential, SnapshotGrant, SnapshotPlan, SnapshotUpstream } from '../../store/config-snapshot.js'
import { compileTokenKeySet, type TokenKeySet } from '../auth/jwt.js'
import { compileUpstreamTls, type UpstreamTls } from '../proxy/upstream-tls.js'
import { compileRouteTable } from '../routing/route-table.js'
import { LayeredMap, type MapEdit } from './layered-map.js'

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
  /** what its limits count: the app × API (its key in the grants), made once so that requests build none */
  subject: string
}

export type CompiledApi = SnapshotApi & {
  authModes: Set<string>
  /** configured policies by name; their units are built by src/gateway/policies/build-chain.ts */
  policies: Readonly<Record<string, unknown>>
}

/** An app's rows as read (secrets still sealed): what a delta naming the app replaces, and what the disk cache holds. */
export interface AppRows {
  credentials: readonly SnapshotCredential[]
  grants: readonly SnapshotGrant[]
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
  apps: LayeredMap<string, SnapshotApp>
  credentialsByKey: LayeredMap<string, CompiledCredential>
  credentialsByApiKeyHash: LayeredMap<string, CompiledCredential>
  /** by `${appId}:${apiId}`, approved grants only */
  grants: LayeredMap<string, CompiledGrant>
  /** public keys that verify OAuth2 access tokens */
  tokenKeys: TokenKeySet
  /** the routing part as read; the same object as long as no delta changed it */
  routing: RoutingData
  /** by app id; apps without credentials or grants have none */
  appRows: LayeredMap<string, AppRows>
  /** every grant read (approved ones: a grant whose plan is unknown is not in `grants`) */
  grantsById: LayeredMap<string, SnapshotGrant>
  /** the ids of each partner's apps */
  appsOfPartner: LayeredMap<string, readonly string[]>
}

/** The records of a snapshot in the shape they were read, as iterables: a snapshot never changes, so they can be read a slice at a time. */
export type SnapshotRecords = Omit<ConfigSnapshotData, 'apps' | 'credentials' | 'grants'> & {
  apps: Iterable<SnapshotApp>
  credentials: Iterable<SnapshotCredential>
  grants: Iterable<SnapshotGrant>
}

export function grantKey (appId: string, apiId: string): string {
  return `${appId}:${apiId}`
}

interface CredentialMaps {
  byKey: Pick<MapEdit<string, CompiledCredential>, 'set'>
  byApiKeyHash: Pick<MapEdit<string, CompiledCredential>, 'set'>
}

/** The secret `previous` holds for the credential, when it has the same record (same id, same sealed secret). */
function unchangedSecret (previous: GatewaySnapshot | undefined, credential: SnapshotCredential): string | undefined {
  if (previous === undefined) return undefined
  const known = previous.appRows.get(credential.appId)?.credentials.find(row => row.id === credential.id)
  if (known === undefined || known.secretCiphertext !== credential.secretCiphertext) return undefined
  const compiled = previous.credentialsByKey.get(credential.key)
  return compiled?.id === credential.id ? compiled.secret : undefined
}

/** How many records a full compile handles between two chances for the event loop to serve requests (compileSnapshotInSlices). */
const RECORDS_PER_SLICE = 2_000

/** Runs steps that pause (yield) between slices to the end, without pausing. */
function withoutPauses<T> (steps: Generator<void, T>): T {
  let step = steps.next()
  while (step.done !== true) step = steps.next()
  return step.value
}

function addCredentials (credentials: Iterable<SnapshotCredential>, secretBox: SecretBox, maps: CredentialMaps, previous?: GatewaySnapshot): void {
  withoutPauses(addCredentialsInSlices(credentials, secretBox, maps, previous))
}

/** addCredentials, pausing (yield) after each slice of records. */
function * addCredentialsInSlices (credentials: Iterable<SnapshotCredential>, secretBox: SecretBox, maps: CredentialMaps, previous?: GatewaySnapshot): Generator<void, void> {
  let handled = 0
  for (const credential of credentials) {
    if (++handled % RECORDS_PER_SLICE === 0) yield
    let secret = unchangedSecret(previous, credential)
    if (secret === undefined) {
      try {
        secret = secretBox.decrypt(credential.secretCiphertext)
      } catch {
        // a secret sealed with another master key cannot sign anything; skip it rather than stop serving
        continue
      }
    }
    const compiled: CompiledCredential = { id: credential.id, appId: credential.appId, key: credential.key, secret, expiresAt: credential.expiresAt }
    maps.byKey.set(credential.key, compiled)
    maps.byApiKeyHash.set(credential.apiKeyHash, compiled)
  }
}

function plansById (plans: SnapshotPlan[]): Map<string, SnapshotPlan> {
  return new Map(plans.map(plan => [plan.id, plan]))
}

/** A grant whose plan is unknown grants nothing: it stays out of the compiled grants. */
function addCompiledGrant (compiled: Pick<MapEdit<string, CompiledGrant>, 'set'>, grant: SnapshotGrant, plans: Map<string, SnapshotPlan>): void {
  const plan = plans.get(grant.planId)
  if (plan === undefined) return
  const key = grantKey(grant.appId, grant.apiId)
  compiled.set(key, { id: grant.id, plan, subject: key })
}

function compileGrants (grants: Iterable<SnapshotGrant>, plans: Map<string, SnapshotPlan>): Map<string, CompiledGrant> {
  const compiled = new Map<string, CompiledGrant>()
  for (const grant of grants) addCompiledGrant(compiled, grant, plans)
  return compiled
}

/** Whether two reads of the plans hold the same plans, in whatever order. */
function samePlans (left: SnapshotPlan[], right: SnapshotPlan[]): boolean {
  if (left.length !== right.length) return false
  const byId = plansById(left)
  return right.every(plan => JSON.stringify(byId.get(plan.id)) === JSON.stringify(plan))
}

type CompiledRouting = Pick<GatewaySnapshot, 'routes' | 'apis' | 'upstreams' | 'tokenKeys'>

function compileUpstream (upstream: SnapshotUpstream, secretBox: SecretBox): CompiledUpstream {
  return upstream.tls == null ? upstream : { ...upstream, tlsOptions: compileUpstreamTls(upstream.tls, secretBox) }
}

function compileRouting (routing: RoutingData, secretBox: SecretBox): CompiledRouting {
  return {
    routes: compileRouteTable(routing.routes),
    apis: new Map(routing.apis.map(api => [api.id, {
      ...api,
      authModes: new Set(api.auth),
      policies: api.policies ?? {}
    }])),
    upstreams: new Map(routing.upstreams.map(upstream => [upstream.id, compileUpstream(upstream, secretBox)])),
    tokenKeys: compileTokenKeySet(routing.signingKeys)
  }
}

function routingOf (data: ConfigSnapshotData): RoutingData {
  return { upstreams: data.upstreams, apis: data.apis, routes: data.routes, plans: data.plans, signingKeys: data.signingKeys, portalOrigin: data.portalOrigin }
}

/**
 * The snapshot of `data`. Given the snapshot it replaces (the periodic full read), secrets it
 * holds unchanged are taken from it instead of decrypted again: decrypting is about half of
 * compiling.
 */
export function compileSnapshot (data: ConfigSnapshotData, secretBox: SecretBox, previous?: GatewaySnapshot): GatewaySnapshot {
  return withoutPauses(compileSteps(data, secretBox, previous))
}

/**
 * compileSnapshot for a gateway that serves meanwhile: at 100,000 apps the whole compile takes
 * a second or more, so it runs in slices of RECORDS_PER_SLICE records with the event loop
 * free between them, and requests wait for one slice (milliseconds) instead of the whole.
 */
export async function compileSnapshotInSlices (data: ConfigSnapshotData, secretBox: SecretBox, previous?: GatewaySnapshot): Promise<GatewaySnapshot> {
  const steps = compileSteps(data, secretBox, previous)
  let step = steps.next()
  while (step.done !== true) {
    await new Promise(resolve => setImmediate(resolve))
    step = steps.next()
  }
  return step.value
}

/** The compile, pausing (yield) after each slice of records. */
function * compileSteps (data: ConfigSnapshotData, secretBox: SecretBox, previous: GatewaySnapshot | undefined): Generator<void, GatewaySnapshot> {
  const credentialsByKey = new Map<string, CompiledCredential>()
  const credentialsByApiKeyHash = new Map<string, CompiledCredential>()
  yield * addCredentialsInSlices(data.credentials, secretBox, { byKey: credentialsByKey, byApiKeyHash: credentialsByApiKeyHash }, previous)
  const appRows = new Map<string, { credentials: SnapshotCredential[], grants: SnapshotGrant[] }>()
  const rowsOf = (appId: string): { credentials: SnapshotCredential[], grants: SnapshotGrant[] } => {
    let rows = appRows.get(appId)
    if (rows === undefined) appRows.set(appId, rows = { credentials: [], grants: [] })
    return rows
  }
  let handled = 0
  for (const credential of data.credentials) {
    if (++handled % RECORDS_PER_SLICE === 0) yield
    rowsOf(credential.appId).credentials.push(credential)
  }
  const plans = plansById(data.plans)
  const grants = new Map<string, CompiledGrant>()
  const grantsById = new Map<string, SnapshotGrant>()
  for (const grant of data.grants) {
    if (++handled % RECORDS_PER_SLICE === 0) yield
    rowsOf(grant.appId).grants.push(grant)
    grantsById.set(grant.id, grant)
    addCompiledGrant(grants, grant, plans)
  }
  // an array grown by push keeps room for 16 more entries: copies of the exact size save about
  // 30 MB at 100,000 apps (and a smaller heap makes every young-generation collection cheaper)
  for (const [appId, rows] of appRows) {
    if (++handled % RECORDS_PER_SLICE === 0) yield
    appRows.set(appId, { credentials: rows.credentials.slice(), grants: rows.grants.slice() })
  }
  const apps = new Map<string, SnapshotApp>()
  const appsOfPartner = new Map<string, string[]>()
  for (const app of data.apps) {
    if (++handled % RECORDS_PER_SLICE === 0) yield
    apps.set(app.id, app)
    const ids = appsOfPartner.get(app.partnerId)
    if (ids === undefined) appsOfPartner.set(app.partnerId, [app.id])
    else ids.push(app.id)
  }
  yield
  const routing = routingOf(data)
  return {
    version: BigInt(data.version),
    loadedAt: data.loadedAt,
    ...compileRouting(routing, secretBox),
    apps: LayeredMap.from(apps),
    credentialsByKey: LayeredMap.from(credentialsByKey),
    credentialsByApiKeyHash: LayeredMap.from(credentialsByApiKeyHash),
    grants: LayeredMap.from(grants),
    routing,
    appRows: LayeredMap.from<string, AppRows>(appRows),
    grantsById: LayeredMap.from(grantsById),
    appsOfPartner: LayeredMap.from<string, readonly string[]>(appsOfPartner)
  }
}

interface SnapshotEdit {
  apps: MapEdit<string, SnapshotApp>
  credentialsByKey: MapEdit<string, CompiledCredential>
  credentialsByApiKeyHash: MapEdit<string, CompiledCredential>
  grants: MapEdit<string, CompiledGrant>
  appRows: MapEdit<string, AppRows>
  grantsById: MapEdit<string, SnapshotGrant>
}

/** Forgets an app with its credentials and grants; returns its partner, if the app was known. */
function removeApp (edit: SnapshotEdit, appId: string): string | undefined {
  const app = edit.apps.get(appId)
  edit.apps.delete(appId)
  const rows = edit.appRows.get(appId)
  if (rows === undefined) return app?.partnerId
  for (const credential of rows.credentials) {
    if (edit.credentialsByKey.get(credential.key)?.id === credential.id) edit.credentialsByKey.delete(credential.key)
    if (edit.credentialsByApiKeyHash.get(credential.apiKeyHash)?.id === credential.id) edit.credentialsByApiKeyHash.delete(credential.apiKeyHash)
  }
  for (const grant of rows.grants) forgetGrant(edit, grant)
  edit.appRows.delete(appId)
  return app?.partnerId
}

function forgetGrant (edit: SnapshotEdit, grant: SnapshotGrant): void {
  const key = grantKey(grant.appId, grant.apiId)
  if (edit.grants.get(key)?.id === grant.id) edit.grants.delete(key)
  edit.grantsById.delete(grant.id)
}

function removeGrant (edit: SnapshotEdit, grantId: string): void {
  const grant = edit.grantsById.get(grantId)
  if (grant === undefined) return
  forgetGrant(edit, grant)
  const rows = edit.appRows.get(grant.appId)
  if (rows === undefined) return
  const grants = rows.grants.filter(each => each.id !== grantId)
  if (grants.length === 0 && rows.credentials.length === 0) edit.appRows.delete(grant.appId)
  else edit.appRows.set(grant.appId, { credentials: rows.credentials, grants })
}

/**
 * The snapshot with a delta applied: the apps, credentials and grants it names replaced,
 * the routing part recompiled only when it changed (the route table and the token keys,
 * with their caches, are kept otherwise), and only new credentials' secrets decrypted.
 * The maps are derived, not copied: the work is that of the records the delta names (and
 * of every grant when the plans changed).
 */
export function applyConfigDelta (previous: GatewaySnapshot, delta: ConfigDelta, secretBox: SecretBox): GatewaySnapshot {
  const routing = delta.routing ?? previous.routing
  const plans = plansById(routing.plans)
  const edit: SnapshotEdit = {
    apps: previous.apps.edit(),
    credentialsByKey: previous.credentialsByKey.edit(),
    credentialsByApiKeyHash: previous.credentialsByApiKeyHash.edit(),
    grants: previous.grants.edit(),
    appRows: previous.appRows.edit(),
    grantsById: previous.grantsById.edit()
  }
  const replacedApps = new Set(delta.appIds)
  for (const partnerId of delta.partnerIds) for (const appId of previous.appsOfPartner.get(partnerId) ?? []) replacedApps.add(appId)
  /** the partner each replaced app had */
  const formerPartners = new Map<string, string>()
  for (const appId of replacedApps) {
    const partnerId = removeApp(edit, appId)
    if (partnerId !== undefined) formerPartners.set(appId, partnerId)
  }
  for (const grantId of delta.grantIds) removeGrant(edit, grantId)

  for (const app of delta.identities.apps) edit.apps.set(app.id, app)
  addCredentials(delta.identities.credentials, secretBox, { byKey: edit.credentialsByKey, byApiKeyHash: edit.credentialsByApiKeyHash })
  const added = new Map<string, { credentials: SnapshotCredential[], grants: SnapshotGrant[] }>()
  const addedTo = (appId: string): { credentials: SnapshotCredential[], grants: SnapshotGrant[] } => {
    let rows = added.get(appId)
    if (rows === undefined) added.set(appId, rows = { credentials: [], grants: [] })
    return rows
  }
  for (const credential of delta.identities.credentials) addedTo(credential.appId).credentials.push(credential)
  for (const grant of delta.identities.grants) {
    addedTo(grant.appId).grants.push(grant)
    edit.grantsById.set(grant.id, grant)
    addCompiledGrant(edit.grants, grant, plans)
  }
  for (const [appId, rows] of added) {
    // replaced apps were removed above: what remains are the rows of apps the delta only added grants to
    const kept = edit.appRows.get(appId)
    edit.appRows.set(appId, kept === undefined ? rows : { credentials: [...kept.credentials, ...rows.credentials], grants: [...kept.grants, ...rows.grants] })
  }

  const grantsById = edit.grantsById.commit()
  return {
    version: BigInt(delta.version),
    loadedAt: Date.now(),
    ...(delta.routing !== undefined ? compileRouting(routing, secretBox) : { routes: previous.routes, apis: previous.apis, upstreams: previous.upstreams, tokenKeys: previous.tokenKeys }),
    apps: edit.apps.commit(),
    credentialsByKey: edit.credentialsByKey.commit(),
    credentialsByApiKeyHash: edit.credentialsByApiKeyHash.commit(),
    // new plan limits reach every grant on them
    grants: routing === previous.routing || samePlans(previous.routing.plans, routing.plans) ? edit.grants.commit() : LayeredMap.from(compileGrants(grantsById.values(), plans)),
    routing,
    appRows: edit.appRows.commit(),
    grantsById,
    appsOfPartner: partnersAfter(previous.appsOfPartner, formerPartners, delta.identities.apps)
  }
}

/** The apps of each partner after apps were replaced: only the partners an app left or joined change. */
function partnersAfter (before: LayeredMap<string, readonly string[]>, formerPartners: Map<string, string>, apps: SnapshotApp[]): LayeredMap<string, readonly string[]> {
  const current = new Map(apps.map(app => [app.id, app.partnerId]))
  const changed = new Set<string>()
  for (const [appId, partnerId] of formerPartners) if (current.get(appId) !== partnerId) changed.add(partnerId)
  for (const app of apps) if (formerPartners.get(app.id) !== app.partnerId) changed.add(app.partnerId)
  if (changed.size === 0) return before
  const edit = before.edit()
  for (const partnerId of changed) {
    const kept = (before.get(partnerId) ?? []).filter(appId => !formerPartners.has(appId) || current.get(appId) === partnerId)
    const joined = apps.filter(app => app.partnerId === partnerId && formerPartners.get(app.id) !== partnerId).map(app => app.id)
    const ids = [...kept, ...joined]
    if (ids.length === 0) edit.delete(partnerId)
    else edit.set(partnerId, ids)
  }
  return edit.commit()
}

/** The snapshot's records in the shape they were read: what the disk cache holds. */
export function snapshotRecords (snapshot: GatewaySnapshot): SnapshotRecords {
  return {
    version: snapshot.version.toString(),
    loadedAt: snapshot.loadedAt,
    ...snapshot.routing,
    apps: snapshot.apps.values(),
    credentials: (function * () { for (const rows of snapshot.appRows.values()) yield * rows.credentials })(),
    grants: snapshot.grantsById.values()
  }
}

/** The snapshot as the data it would be compiled from. */
export function snapshotData (snapshot: GatewaySnapshot): ConfigSnapshotData {
  const records = snapshotRecords(snapshot)
  return { ...records, apps: [...records.apps], credentials: [...records.credentials], grants: [...records.grants] }
}
