// Applying a delta to a compiled snapshot gives what compiling the changed data from scratch
// gives, while keeping the parts that did not change (and their caches) as they were.
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { SecretBox } from '../../../../src/domain/crypto.js'
import { applyConfigDelta, compileSnapshot, snapshotData, type GatewaySnapshot } from '../../../../src/gateway/snapshot/compile.js'
import type { ConfigDelta, ConfigSnapshotData, RoutingData, SnapshotApp, SnapshotCredential, SnapshotGrant } from '../../../../src/store/config-snapshot.js'

const box = new SecretBox(randomBytes(32))
const plan = { id: 'plan-1', name: 'p', rateLimitPerSecond: 10, rateLimitBurst: 10, quotaPerDay: null, quotaPerMonth: null, maxConnections: null }
const app = (id: string, partnerId = 'partner-1'): SnapshotApp => ({ id, partnerId, name: id, status: 'active' })
const credential = (appId: string, key = `key-${appId}`): SnapshotCredential => ({ id: `cred-${key}`, appId, key, secretCiphertext: box.encrypt(`secret-${key}`), apiKeyHash: `hash-${key}`, expiresAt: null })
const grant = (appId: string, id = `grant-${appId}`, apiId = 'api-1'): SnapshotGrant => ({ id, appId, apiId, planId: 'plan-1' })

function data (): ConfigSnapshotData {
  return {
    version: '10',
    loadedAt: 0,
    upstreams: [{ id: 'up-1', name: 'up', targets: [{ url: 'http://127.0.0.1:1', weight: 1 }], loadBalancing: 'round-robin', healthCheck: null, connectTimeoutMs: 1000, responseTimeoutMs: 1000 }],
    apis: [{ id: 'api-1', name: 'orders', upstreamId: 'up-1', auth: ['apikey'] }],
    routes: [{ id: 'route-1', apiId: 'api-1', methods: [], host: null, path: '/orders', stripPrefix: true, websocket: false }],
    plans: [plan],
    apps: [app('a1'), app('a2'), app('b1', 'partner-2')],
    credentials: [credential('a1'), credential('a2'), credential('b1')],
    grants: [grant('a1'), grant('a2'), grant('b1')],
    signingKeys: []
  }
}

function delta (change: Partial<ConfigDelta>): ConfigDelta {
  return { version: '11', appIds: [], partnerIds: [], grantIds: [], identities: { apps: [], credentials: [], grants: [] }, ...change }
}

describe('applyConfigDelta', () => {
  it('replaces a rotated credential: the old key stops working, the new one works, routing is kept', () => {
    const before = compileSnapshot(data(), box)
    const after = applyConfigDelta(before, delta({ appIds: ['a1'], identities: { apps: [app('a1')], credentials: [credential('a1', 'key-a1-new')], grants: [grant('a1')] } }), box)
    expect(after.version).toBe(11n)
    expect(after.credentialsByKey.has('key-a1')).toBe(false)
    expect(after.credentialsByApiKeyHash.has('hash-key-a1')).toBe(false)
    expect(after.credentialsByKey.get('key-a1-new')?.secret).toBe('secret-key-a1-new')
    expect(after.credentialsByKey.get('key-a2')).toBe(before.credentialsByKey.get('key-a2'))
    expect(after.routes).toBe(before.routes)
    expect(after.tokenKeys).toBe(before.tokenKeys)
    expect(before.credentialsByKey.has('key-a1')).toBe(true)
  })

  it('drops a revoked grant named by the delta', () => {
    const before = compileSnapshot(data(), box)
    const after = applyConfigDelta(before, delta({ grantIds: ['grant-a2'] }), box)
    expect(after.grants.has('a2:api-1')).toBe(false)
    expect(after.grants.has('a1:api-1')).toBe(true)
    expect(snapshotData(after).grants.map(each => each.id)).toEqual(['grant-a1', 'grant-b1'])
  })

  it('removes every app of a partner the delta names, deleted ones included', () => {
    const before = compileSnapshot(data(), box)
    // the partner was deleted: the database has none of its apps any more
    const after = applyConfigDelta(before, delta({ partnerIds: ['partner-1'] }), box)
    expect([...after.apps.keys()]).toEqual(['b1'])
    expect(after.credentialsByKey.has('key-a1')).toBe(false)
    expect(after.credentialsByKey.has('key-a2')).toBe(false)
    expect(after.grants.has('a1:api-1')).toBe(false)
    expect(after.grants.has('b1:api-1')).toBe(true)
  })

  it('recompiles routing and grants when the routing part changed', () => {
    const before = compileSnapshot(data(), box)
    const cheaper = { ...plan, rateLimitPerSecond: 1 }
    const routing = { ...data(), plans: [cheaper], routes: [...data().routes, { id: 'route-2', apiId: 'api-1', methods: [], host: null, path: '/billing', stripPrefix: true, websocket: false }] }
    const after = applyConfigDelta(before, delta({ routing: { upstreams: routing.upstreams, apis: routing.apis, routes: routing.routes, plans: routing.plans, signingKeys: [] } }), box)
    expect(after.routes).not.toBe(before.routes)
    expect(after.routes.match('GET', 'localhost', '/billing/x')?.route.id).toBe('route-2')
    expect(after.grants.get('a1:api-1')?.plan.rateLimitPerSecond).toBe(1)
    expect(after.credentialsByKey).toBe(before.credentialsByKey)
  })

  it('carries an upstream\'s new TLS settings in a routing delta, with the client key opened and a new fingerprint', () => {
    const before = compileSnapshot(data(), box)
    expect(before.upstreams.get('up-1')?.tlsOptions).toBeUndefined()
    const tls = { caBundle: 'CA PEM', clientCertificate: 'CERT PEM', clientKeyCiphertext: box.encrypt('KEY PEM'), servername: 'orders.internal', insecureSkipVerify: false }
    const withTls = (changed: typeof tls) => delta({ routing: { ...data(), upstreams: [{ ...data().upstreams[0], tls: changed }] } })
    const after = applyConfigDelta(before, withTls(tls), box)
    const options = after.upstreams.get('up-1')?.tlsOptions
    expect(options).toMatchObject({ ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM', rejectUnauthorized: true, servername: 'orders.internal', clientKeyUnreadable: false })
    const again = applyConfigDelta(after, { ...withTls(tls), version: '12' }, box)
    expect(again.upstreams.get('up-1')?.tlsOptions?.fingerprint).toBe(options?.fingerprint)
    const skipping = applyConfigDelta(after, { ...withTls({ ...tls, insecureSkipVerify: true }), version: '12' }, box)
    expect(skipping.upstreams.get('up-1')?.tlsOptions?.fingerprint).not.toBe(options?.fingerprint)
    expect(skipping.upstreams.get('up-1')?.tlsOptions?.rejectUnauthorized).toBe(false)
  })

  it('connects without the client certificate, flagged, when its key was sealed with another master key', () => {
    const otherBox = new SecretBox(randomBytes(32))
    const changed = data()
    changed.upstreams = [{ ...changed.upstreams[0], tls: { caBundle: null, clientCertificate: 'CERT PEM', clientKeyCiphertext: otherBox.encrypt('KEY PEM'), servername: null, insecureSkipVerify: false } }]
    const options = compileSnapshot(changed, box).upstreams.get('up-1')?.tlsOptions
    expect(options).toMatchObject({ cert: undefined, key: undefined, rejectUnauthorized: true, clientKeyUnreadable: true })
  })

  it('matches a snapshot compiled from the changed data', () => {
    const before = compileSnapshot(data(), box)
    const after = applyConfigDelta(before, delta({ appIds: ['a2', 'a3'], identities: { apps: [app('a3')], credentials: [credential('a3')], grants: [grant('a3')] } }), box)
    const changed = data()
    changed.apps = [app('a1'), app('b1', 'partner-2'), app('a3')]
    changed.credentials = [credential('a1'), credential('b1'), credential('a3')]
    changed.grants = [grant('a1'), grant('b1'), grant('a3')]
    const fresh = compileSnapshot(changed, box)
    expect([...after.apps.keys()].sort()).toEqual([...fresh.apps.keys()].sort())
    expect([...after.credentialsByKey.keys()].sort()).toEqual([...fresh.credentialsByKey.keys()].sort())
    expect([...after.grants.keys()].sort()).toEqual([...fresh.grants.keys()].sort())
  })

  it('derives the maps for a revoked grant and a rotated credential instead of copying them', () => {
    const many = data()
    many.apps = Array.from({ length: 5_000 }, (_, index) => app(`app-${index}`, `partner-${index % 50}`))
    many.credentials = many.apps.map(each => credential(each.id))
    many.grants = many.apps.map(each => grant(each.id))
    const before = compileSnapshot(many, box)
    const revoked = applyConfigDelta(before, delta({ grantIds: ['grant-app-42'] }), box)
    expect(revoked.grants.has('app-42:api-1')).toBe(false)
    expect(revoked.grants.size).toBe(4_999)
    expect(revoked.grants.sharesBaseWith(before.grants)).toBe(true)
    expect(revoked.grantsById.sharesBaseWith(before.grantsById)).toBe(true)
    expect(revoked.appRows.sharesBaseWith(before.appRows)).toBe(true)
    for (const unchanged of ['apps', 'credentialsByKey', 'credentialsByApiKeyHash', 'appsOfPartner', 'routing', 'routes', 'apis'] as const) {
      expect(revoked[unchanged]).toBe(before[unchanged])
    }
    const rotated = applyConfigDelta(revoked, delta({ version: '12', appIds: ['app-7'], identities: { apps: [app('app-7', 'partner-7')], credentials: [credential('app-7', 'key-app-7-new')], grants: [grant('app-7')] } }), box)
    expect(rotated.credentialsByKey.has('key-app-7')).toBe(false)
    expect(rotated.credentialsByKey.get('key-app-7-new')?.secret).toBe('secret-key-app-7-new')
    for (const derived of ['apps', 'credentialsByKey', 'credentialsByApiKeyHash', 'grants', 'grantsById', 'appRows'] as const) {
      expect(rotated[derived].sharesBaseWith(before[derived] as never)).toBe(true)
    }
    expect(rotated.appsOfPartner).toBe(before.appsOfPartner)
  })

  it('reads, after many deltas and through folded layers, as the changed data compiled from scratch', () => {
    // the database as the delta loader reads it: approved grants only
    const database = data()
    const plans = [plan, { ...plan, id: 'plan-2', rateLimitPerSecond: 99 }]
    database.plans = plans
    database.apis = [...database.apis, { id: 'api-2', name: 'billing', upstreamId: 'up-1', auth: ['apikey'] }]
    database.apps = Array.from({ length: 1_500 }, (_, index) => app(`app-${index}`, `partner-${index % 3}`))
    database.credentials = database.apps.map(each => credential(each.id))
    database.grants = database.apps.map(each => grant(each.id))
    let version = 10
    let snapshot = compileSnapshot(structuredClone(database), box)
    /** The delta loadConfigDelta would read for these changes, applied; then compared with a fresh compile. */
    const change = (named: { appIds?: string[], partnerIds?: string[], grantIds?: string[], routing?: RoutingData }): void => {
      const appIds = new Set([...named.appIds ?? [], ...database.apps.filter(each => named.partnerIds?.includes(each.partnerId)).map(each => each.id)])
      const identities = {
        apps: database.apps.filter(each => appIds.has(each.id)),
        credentials: database.credentials.filter(each => appIds.has(each.appId)),
        grants: database.grants.filter(each => appIds.has(each.appId) || named.grantIds?.includes(each.id))
      }
      version++
      snapshot = applyConfigDelta(snapshot, structuredClone({ version: String(version), appIds: [...appIds], partnerIds: named.partnerIds ?? [], grantIds: named.grantIds ?? [], identities, routing: named.routing }), box)
      expectSameSnapshot(snapshot, compileSnapshot(structuredClone({ ...database, version: String(version) }), box))
    }
    const revoked = database.grants.slice(0, 700).map(each => each.id)
    database.grants = database.grants.slice(700)
    change({ grantIds: revoked })
    const rotated = database.apps.slice(600, 1_000).map(each => each.id)
    database.credentials = database.credentials.map(each => rotated.includes(each.appId) ? credential(each.appId, `${each.key}-rotated`) : each)
    change({ appIds: rotated })
    database.apps = database.apps.filter(each => each.partnerId !== 'partner-2')
    const kept = new Set(database.apps.map(each => each.id))
    database.credentials = database.credentials.filter(each => kept.has(each.appId))
    database.grants = database.grants.filter(each => kept.has(each.appId))
    change({ partnerIds: ['partner-2'] })
    const joined = Array.from({ length: 300 }, (_, index) => app(`new-${index}`, index % 2 === 0 ? 'partner-0' : 'partner-9'))
    database.apps.push(...joined)
    database.credentials.push(...joined.map(each => credential(each.id)))
    const second = database.apps.slice(0, 600).map(each => ({ ...grant(each.id, `second-${each.id}`, 'api-2'), planId: 'plan-2' }))
    database.grants.push(...second)
    change({ appIds: joined.map(each => each.id), grantIds: second.map(each => each.id) })
    database.plans = [plan, { ...plans[1], rateLimitPerSecond: 5 }]
    change({ routing: { upstreams: database.upstreams, apis: database.apis, routes: database.routes, plans: database.plans, signingKeys: [] } })
    expect(snapshot.grants.get('app-0:api-2')?.plan.rateLimitPerSecond).toBe(5)
  })
})

function sortedById<T extends { id: string }> (records: Iterable<T>): T[] {
  return [...records].sort((left, right) => left.id < right.id ? -1 : 1)
}

function sortedEntries<V> (entries: Iterable<[string, V]>): Array<[string, V]> {
  return [...entries].sort(([left], [right]) => left < right ? -1 : 1)
}

function expectSameSnapshot (derived: GatewaySnapshot, fresh: GatewaySnapshot): void {
  const derivedData = snapshotData(derived)
  const freshData = snapshotData(fresh)
  for (const records of ['apps', 'credentials', 'grants'] as const) expect(sortedById<{ id: string }>(derivedData[records])).toEqual(sortedById<{ id: string }>(freshData[records]))
  expect(sortedEntries(derived.apps)).toEqual(sortedEntries(fresh.apps))
  expect(sortedEntries(derived.credentialsByKey)).toEqual(sortedEntries(fresh.credentialsByKey))
  expect(sortedEntries(derived.credentialsByApiKeyHash)).toEqual(sortedEntries(fresh.credentialsByApiKeyHash))
  expect(sortedEntries(derived.grants)).toEqual(sortedEntries(fresh.grants))
  expect(sortedEntries(derived.grantsById)).toEqual(sortedEntries(fresh.grantsById))
  const partners = (snapshot: GatewaySnapshot): Array<[string, string[]]> => sortedEntries([...snapshot.appsOfPartner].map(([partnerId, appIds]) => [partnerId, [...appIds].sort()]))
  expect(partners(derived)).toEqual(partners(fresh))
  expect(derived.apps.size).toBe(fresh.apps.size)
  expect(derived.grants.size).toBe(fresh.grants.size)
  expect(derived.credentialsByKey.size).toBe(fresh.credentialsByKey.size)
}
