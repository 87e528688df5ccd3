// A gateway node that starts while the database is unreachable serves from the snapshot
// its previous run cached on disk.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../../src/config/load.js'
import { startProduct, type RunningProduct } from '../../../src/server.js'
import type { ConfigSnapshotData } from '../../../src/store/config-snapshot.js'
import { MASTER_KEY, provision, startStack, waitForPropagation, type Provisioned, type TestStack } from '../../helpers/stack.js'
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js'

// The cache is written just after each snapshot is installed, and provisioning creates the
// app before its grant: a cache that already holds the app's key may not hold the grant yet,
// and a call through it would be refused with 403. Wait for what the call needs.
async function waitForCachedGrant (cache: string, grantId: string): Promise<void> {
  // the cache is written at most every 5 s
  const deadline = Date.now() + 15_000
  for (;;) {
    // written in the background: absent at first, then replaced whole (write and rename)
    const cached = existsSync(cache) ? JSON.parse(readFileSync(cache, 'utf8')) as ConfigSnapshotData : undefined
    if (cached?.grants.some(grant => grant.id === grantId) === true) return
    if (Date.now() > deadline) throw new Error(`the cached snapshot (version ${cached?.version ?? 'none'}) never held grant ${grantId}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

describe('gateway without its database', () => {
  let stack: TestStack
  let upstream: TestUpstream
  let app: Provisioned
  let offline: RunningProduct | undefined
  const dataDir = mkdtempSync(path.join(tmpdir(), 'pgw-offline-'))

  beforeAll(async () => {
    stack = await startStack({ database: 'pglite', redis: false })
    upstream = await startUpstream()
    app = await provision(stack, { upstreamUrls: [upstream.url] })
    await waitForPropagation(stack)
  })
  afterAll(async () => {
    await offline?.close()
    await stack?.close()
    await upstream?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('starts from the cached snapshot and serves calls', async () => {
    const cache = path.join(stack.dataDir, 'snapshot-cache.json')
    await waitForCachedGrant(cache, app.grantId as string)
    copyFileSync(cache, path.join(dataDir, 'snapshot-cache.json'))
    offline = await startProduct(loadConfig({}, {
      roles: ['gateway'], databaseUrl: 'postgresql://postgres@127.0.0.1:1/unreachable', masterKey: MASTER_KEY, dataDir, host: '127.0.0.1', gatewayPort: 0, logLevel: 'silent'
    }), { logger: pino({ level: 'silent' }) })
    const prefix = (await stack.admin('GET', `/admin/v1/apis/${app.apiId}`)).body.routes[0].path
    const response = await fetch(`${offline.gatewayUrl as string}${prefix}/x`, { headers: { 'x-api-key': app.apiKey } })
    expect(response.status).toBe(200)
    const health = await (await fetch(`${offline.gatewayUrl as string}/healthz`)).json() as { database: string }
    expect(health.database).toBe('down')
  })
})
