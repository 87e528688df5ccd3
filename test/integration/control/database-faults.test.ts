// PostgreSQL faults: the product reaches its database through a TCP relay the test cuts both
// ways. The control API answers 503 DATABASE_UNAVAILABLE within its deadlines (never a 500
// with a driver code, never a hang), /readyz says so, /healthz stays a liveness check, and
// the gateway keeps serving from its snapshot.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js'
import { provision, startStack, waitForPropagation, type Provisioned, type TestStack } from '../../helpers/stack.js'
import { startTcpRelay, type TcpRelay } from '../../helpers/tcp-relay.js'
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js'

/** connect 500 ms, statements 1 s (+1 s on the client): a cut must be answered well within this */
const BOUND_MS = 4_000

let database: TestDatabase
let relay: TcpRelay
let stack: TestStack
let upstream: TestUpstream
let app: Provisioned
let path: string

beforeAll(async () => {
  database = await createTestDatabase('postgresql')
  const direct = new URL(database.url as string)
  relay = await startTcpRelay(Number(direct.port || 5432))
  const relayed = new URL(database.url as string)
  relayed.port = String(relay.port)
  stack = await startStack({ database: 'pglite', redis: false, config: { databaseUrl: relayed.toString(), databaseConnectTimeoutMs: 500, databaseStatementTimeoutMs: 1_000 } })
  upstream = await startUpstream()
  app = await provision(stack, { upstreamUrls: [upstream.url] })
  path = (await stack.admin('GET', `/admin/v1/apis/${app.apiId}`)).body.routes[0].path
  await waitForPropagation(stack)
})
afterAll(async () => {
  await stack?.close()
  await relay?.close()
  await upstream?.close()
  await database?.drop()
})

async function timed<T> (work: () => Promise<T>): Promise<{ result: T, ms: number }> {
  const started = performance.now()
  const result = await work()
  return { result, ms: performance.now() - started }
}

describe.each(['refuse', 'drop'] as const)('PostgreSQL cut (%s)', mode => {
  it('answers 503 DATABASE_UNAVAILABLE in bounded time, is not ready, stays live, and recovers', async () => {
    relay.setMode(mode)
    try {
      for (const [method, url, body] of [['GET', '/admin/v1/partners'], ['POST', '/admin/v1/partners', { name: `cut-${mode}` }]] as const) {
        const { result, ms } = await timed(async () => await stack.admin(method, url, body))
        expect(result.status, `${method} ${url}`).toBe(503)
        expect(result.body).toEqual({ error: { code: 'DATABASE_UNAVAILABLE', message: expect.any(String), requestId: expect.any(String) } })
        expect(ms).toBeLessThan(BOUND_MS)
      }
      const token = await timed(async () => await fetch(`${stack.controlUrl}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: app.key, client_secret: app.secret }).toString()
      }))
      expect(token.result.status).toBe(503)
      expect(await token.result.json()).toMatchObject({ error: 'temporarily_unavailable' })
      expect(token.ms).toBeLessThan(BOUND_MS)
      const ready = await timed(async () => await fetch(`${stack.controlUrl}/readyz`))
      expect(ready.result.status).toBe(503)
      expect(await ready.result.json()).toMatchObject({ status: 'not_ready', database: 'down' })
      expect(ready.ms).toBeLessThan(BOUND_MS)
      expect((await fetch(`${stack.controlUrl}/healthz`)).status).toBe(200)

      const gatewayReady = await fetch(`${stack.gatewayUrls[0]}/readyz`)
      expect(gatewayReady.status).toBe(200)
      expect(await gatewayReady.json()).toMatchObject({ status: 'ready', database: 'down' })
      const call = await fetch(`${stack.gatewayUrls[0]}${path}/x`, { headers: { 'x-api-key': app.apiKey } })
      expect(call.status).toBe(200)
    } finally {
      relay.setMode('pass')
    }
    const deadline = Date.now() + 10_000
    let status = 0
    while (Date.now() < deadline && (status = (await stack.admin('GET', '/admin/v1/partners')).status) !== 200) await new Promise(resolve => setTimeout(resolve, 100))
    expect(status).toBe(200)
    expect((await fetch(`${stack.controlUrl}/readyz`)).status).toBe(200)
  })
})
