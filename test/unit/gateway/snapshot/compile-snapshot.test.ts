// A full read compiled again (the periodic safety net) decrypts only the secrets that changed.
import { randomBytes } from 'node:crypto'
import { describe, expect, it, vi } from 'vitest'
import { SecretBox } from '../../../../src/domain/crypto.js'
import { compileSnapshot } from '../../../../src/gateway/snapshot/compile.js'
import type { ConfigSnapshotData, SnapshotCredential } from '../../../../src/store/config-snapshot.js'

const box = new SecretBox(randomBytes(32))
const credential = (appId: string, secret = `secret-${appId}`): SnapshotCredential => ({ id: `cred-${appId}`, appId, key: `key-${appId}`, secretCiphertext: box.encrypt(secret), apiKeyHash: `hash-${appId}`, expiresAt: null })

function data (credentials: SnapshotCredential[]): ConfigSnapshotData {
  return {
    version: '10',
    loadedAt: 0,
    upstreams: [],
    apis: [],
    routes: [],
    plans: [],
    apps: credentials.map(each => ({ id: each.appId, partnerId: 'partner-1', name: each.appId, status: 'active' as const })),
    credentials,
    grants: [],
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
