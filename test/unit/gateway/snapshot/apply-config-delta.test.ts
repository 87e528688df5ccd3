// Applying a delta to a compiled snapshot gives what compiling the changed data from scratch
// gives, while keeping the parts that did not change (and their caches) as they were.
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { SecretBox } from '../../../../src/domain/crypto.js'
import { applyConfigDelta, compileSnapshot } from '../../../../src/gateway/snapshot/compile.js'
import type { ConfigDelta, ConfigSnapshotData, SnapshotApp, SnapshotCredential, SnapshotGrant } from '../../../../src/store/config-snapshot.js'

const box = new SecretBox(randomBytes(32))
const plan = { id: 'plan-1', name: 'p', rateLimitPerSecond: 10, rateLimitBurst: 10, quotaPerDay: null, quotaPerMonth: null, maxConnections: null }
const app = (id: string, partnerId = 'partner-1'): SnapshotApp => ({ id, partnerId, name: id, status: 'active' })
const credential = (appId: string, key = `key-${appId}`): SnapshotCredential => ({ id: `cred-${key}`, appId, key, secretCiphertext: box.encrypt(`secret-${key}`), apiKeyHash: `hash-${key}`, expiresAt: null })
const grant = (appId: string, id = `grant-${appId}`): SnapshotGrant => ({ id, appId, apiId: 'api-1', planId: 'plan-1' })

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
    expect(after.data.grants.map(each => each.id)).toEqual(['grant-a1', 'grant-b1'])
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
})
