// The response cache on Redis never turns a Redis fault into a failed or slow request: the
// gateway reaches a private redis-server through a TCP relay the test cuts both ways
// (refused, and silently dropped); meanwhile every lookup is a miss answered by the upstream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startPrivateRedis, type PrivateRedis } from '../../helpers/redis-server.js'
import { provision, startStack, waitForPropagation } from '../../helpers/stack.js'
import { startTcpRelay } from '../../helpers/tcp-relay.js'
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js'

/** Generous next to the 50 ms deadline, far below the seconds a hanging client would wait. */
const FAST_MS = 1_000

let redis: PrivateRedis
let upstream: TestUpstream
beforeAll(async () => {
  redis = await startPrivateRedis()
  upstream = await startUpstream()
})
afterAll(async () => {
  await redis?.stop()
  await upstream?.close()
})

async function timedCall (url: string, apiKey: string): Promise<{ status: number, cache: string | null, ms: number }> {
  const started = performance.now()
  const response = await fetch(url, { headers: { 'x-api-key': apiKey }, signal: AbortSignal.timeout(30_000) })
  await response.text()
  return { status: response.status, cache: response.headers.get('x-cache'), ms: performance.now() - started }
}

describe.each(['drop', 'refuse'] as const)('response cache when Redis is cut (%s)', mode => {
  it('answers every call from the upstream within the deadline, and uses the entries Redis kept once it is back', async () => {
    const relay = await startTcpRelay(redis.port)
    const stack = await startStack({ database: 'postgresql', redis: false, config: { redisUrl: relay.url('redis'), redisCommandTimeoutMs: 50, responseCacheStore: 'redis' } })
    try {
      const app = await provision(stack, { upstreamUrls: [upstream.url] })
      const route = (await stack.admin('GET', `/admin/v1/apis/${app.apiId}`)).body.routes[0].path as string
      expect((await stack.admin('PATCH', `/admin/v1/apis/${app.apiId}`, { responseCache: { routes: [{ path: route }] } })).status).toBe(200)
      await waitForPropagation(stack)
      const url = `${stack.gatewayUrls[0]}${route}/items`
      expect((await timedCall(url, app.apiKey)).cache).toBe('MISS')
      expect((await timedCall(url, app.apiKey)).cache).toBe('HIT')

      relay.setMode(mode)
      const before = upstream.received.length
      for (let index = 0; index < 5; index++) {
        const answer = await timedCall(url, app.apiKey)
        expect(answer).toMatchObject({ status: 200, cache: 'MISS' })
        expect(answer.ms).toBeLessThan(FAST_MS)
      }
      expect(upstream.received.length - before).toBe(5)

      relay.setMode('pass')
      const deadline = Date.now() + 10_000
      let back = await timedCall(url, app.apiKey)
      while (back.cache !== 'HIT' && Date.now() < deadline) {
        await new Promise(resolve => setTimeout(resolve, 100))
        back = await timedCall(url, app.apiKey)
      }
      expect(back).toMatchObject({ status: 200, cache: 'HIT' })
    } finally {
      await stack.close()
      await relay.close()
    }
  }, 120_000)
})
