// A full read compiled again (the periodic safety net) decrypts only the secrets that changed,
// and compiles in slices while the gateway serves.
import { randomBytes } from 'node:crypto'
import { describe, expect, it, vi } from 'vitest'
import { SecretBox } from '../../../../src/domain/crypto.js'
import { compileSnapshot, compileSnapshotInSlices, type GatewaySnapshot } from '../../../../src/gateway/snapshot/compile.js'
import type { ConfigSnapshotData, SnapshotCredential } from '../../../../src/store/config-snapshot.js'

const box = new SecretBox(randomBytes(32))
const credential = (appId: string, secret = `secret-${appId}`): SnapshotCredential => ({ id: `cred-${appId}`, appId, key: `key-${appId}`, secretCiphertext: box.encrypt(secret), apiKeyHash: `hash-${appId}`, expiresAt: null })

function data (credentials: SnapshotCredential[], plans: ConfigSnapshotData['plans'] = []): ConfigSnapshotData {
  return {
    version: '10',
    loadedAt: 0,
    upstreams: [],
    apis: [],
    routes: [],
    plans,
    apps: credentials.map(each => ({ id: each.appId, partnerId: 'partner-1', name: each.appId, status: 'active' as const })),
    credentials,
    grants: plans.length === 0 ? [] : credentials.map(each => ({ id: `grant-${each.appId}`, appId: each.appId, apiId: 'api-1', planId: plans[0].id })),
    signingKeys: []
  }
}

describe('compileSnapshot', () => {
  it('takes the secrets the previous snapshot holds unchanged instead of decrypting them again', () => {
    const unchanged = credential('a1')
    const previous = compileSnapshot(data([unchanged, credential('a2', 'old')]), box)
    const decrypt = vi.spyOn(box, 'decrypt')
    try {
      const rotated = { ...credential('a2', 'new'), id: 'cred-a2-rotated' }
      const resealed = { ...credential('a3') }
      const next = compileSnapshot(data([unchanged, rotated, resealed]), box, previous)
      expect(next.credentialsByKey.get('key-a1')?.secret).toBe('secret-a1')
      expect(next.credentialsByKey.get('key-a2')?.secret).toBe('new')
      expect(next.credentialsByKey.get('key-a3')?.secret).toBe('secret-a3')
      // a1 came from the previous snapshot; a2 (another record) and a3 (new) were opened
      expect(decrypt.mock.calls.map(([sealed]) => sealed)).toEqual([rotated.secretCiphertext, resealed.secretCiphertext])
    } finally {
      decrypt.mockRestore()
    }
  })

  it('decrypts a secret sealed anew under the same credential id', () => {
    const previous = compileSnapshot(data([credential('a1', 'before')]), box)
    const next = compileSnapshot(data([credential('a1', 'after')]), box, previous)
    expect(next.credentialsByKey.get('key-a1')?.secret).toBe('after')
  })
})

describe('compileSnapshotInSlices', () => {
  const plan = { id: 'plan-1', name: 'gold', rateLimitPerSecond: 10, rateLimitBurst: null, quotaPerDay: null, quotaPerMonth: null, maxConnections: null }
  const large = data(Array.from({ length: 5_000 }, (_, index) => credential(`app-${index}`)), [plan])

  function contents (snapshot: GatewaySnapshot): unknown {
    return {
      version: snapshot.version,
      apps: [...snapshot.apps.entries()],
      credentialsByKey: [...snapshot.credentialsByKey.entries()],
      credentialsByApiKeyHash: [...snapshot.credentialsByApiKeyHash.entries()],
      grants: [...snapshot.grants.entries()],
      grantsById: [...snapshot.grantsById.entries()],
      appRows: [...snapshot.appRows.entries()],
      appsOfPartner: [...snapshot.appsOfPartner.entries()]
    }
  }

  it('compiles the same snapshot as compileSnapshot', async () => {
    const previous = compileSnapshot(large, box)
    expect(contents(await compileSnapshotInSlices(large, box, previous))).toEqual(contents(compileSnapshot(large, box)))
    expect(previous.grants.get('app-4999:api-1')?.plan).toBe(plan)
  })

  it('lets the event loop serve between its slices', async () => {
    let turns = 0
    let counting = true
    const count = (): void => {
      turns++
      if (counting) setImmediate(count)
    }
    setImmediate(count)
    const compiling = compileSnapshotInSlices(large, box)
    const turnsBefore = turns
    await compiling
    counting = false
    // 5,000 credentials, grants and apps: several slices of 2,000 records, a turn of the loop after each
    expect(turns - turnsBefore).toBeGreaterThanOrEqual(5)
  })
})
