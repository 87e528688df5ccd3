// Several gateway nodes sharing PostgreSQL and Redis behave as one gateway.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signRequest } from '../../helpers/sign-request.js'
import { provision, startStack, waitForPropagation, type TestStack } from '../../helpers/stack.js'
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js'

describe('two gateway nodes sharing PostgreSQL and Redis', () => {
  let stack: TestStack
  let upstream: TestUpstream

  beforeAll(async () => {
    stack = await startStack({ database: 'postgresql', redis: true, extraGateways: 1 })
    upstream = await startUpstream()
  })
  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
  })

  async function routePrefix (apiId: string): Promise<string> {
    return (await stack.admin('GET', `/admin/v1/apis/${apiId}`)).body.routes[0].path
  }

  it('enforces one shared rate limit exactly under concurrent requests to both nodes', async () => {
    const app = await provision(stack, { upstreamUrls: [upstream.url], plan: { rateLimit: { perSecond: 1, burst: 20 } } })
    const prefix = await routePrefix(app.apiId)
    await waitForPropagation(stack)
    const started = Date.now()
    const requests = Array.from({ length: 60 }, async (_, index) => {
      const response = await fetch(`${stack.gatewayUrls[index % 2]}${prefix}/x`, { headers: { 'x-api-key': app.apiKey } })
      await response.arrayBuffer()
      return response.status
    })
    const statuses = await Promise.all(requests)
    // the burst, plus the one token a second refills while a loaded machine sends the 60
    const refilled = Math.ceil((Date.now() - started) / 1000)
    const allowed = statuses.filter(status => status === 200).length
    expect(allowed).toBeGreaterThanOrEqual(20)
    expect(allowed).toBeLessThanOrEqual(20 + refilled)
    expect(statuses.filter(status => status === 429)).toHaveLength(60 - allowed)
  })

  it('rejects on one node a nonce already used on the other', async () => {
    const app = await provision(stack, { upstreamUrls: [upstream.url] })
    const prefix = await routePrefix(app.apiId)
    await waitForPropagation(stack)
    const headers = signRequest({ method: 'GET', url: `${prefix}/n` }, app.key, app.secret)
    expect((await fetch(`${stack.gatewayUrls[0]}${prefix}/n`, { headers })).status).toBe(200)
    const replay = await fetch(`${stack.gatewayUrls[1]}${prefix}/n`, { headers })
    expect(replay.status).toBe(401)
    expect(((await replay.json()) as { error: { code: string } }).error.code).toBe('REPLAYED_NONCE')
  })

  it('propagates a revocation to every node within a second', async () => {
    const app = await provision(stack, { upstreamUrls: [upstream.url] })
    const prefix = await routePrefix(app.apiId)
    await waitForPropagation(stack)
    for (const gateway of stack.gatewayUrls) {
      expect((await fetch(`${gateway}${prefix}/x`, { headers: { 'x-api-key': app.apiKey } })).status).toBe(200)
    }
    expect((await stack.admin('DELETE', `/admin/v1/apps/${app.appId}/credentials/${app.key}`)).status).toBe(204)
    const started = Date.now()
    const revokedAt: number[] = []
    for (const gateway of stack.gatewayUrls) {
      while (Date.now() - started < 1000) {
        const response = await fetch(`${gateway}${prefix}/x`, { headers: { 'x-api-key': app.apiKey } })
        if (response.status === 401) break
      }
      revokedAt.push(Date.now() - started)
    }
    expect(Math.max(...revokedAt)).toBeLessThan(1000)
  })

  it('sums the usage counted by both nodes', async () => {
    const app = await provision(stack, { upstreamUrls: [upstream.url] })
    const prefix = await routePrefix(app.apiId)
    await waitForPropagation(stack)
    for (let index = 0; index < 6; index++) {
      await (await fetch(`${stack.gatewayUrls[index % 2]}${prefix}/x`, { headers: { 'x-api-key': app.apiKey } })).arrayBuffer()
    }
    const deadline = Date.now() + 3000
    let calls = 0
    while (Date.now() < deadline && calls !== 6) {
      const usage = await stack.admin('GET', `/admin/v1/apps/${app.appId}/usage`)
      calls = usage.body.items.reduce((sum: number, item: { calls: number }) => sum + item.calls, 0)
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    expect(calls).toBe(6)
  })
})
