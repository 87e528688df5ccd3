// Changes reach the gateway through the change event (Redis pub/sub), not the version poll:
// with the poll an hour away, a revoked grant is refused at once (the bound leaves room for
// the 2 shared cores of a test run; alone it takes tens of milliseconds).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { provision, startStack, type Provisioned, type TestStack } from '../../helpers/stack.js'
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js'

describe('configuration change events over Redis', () => {
  let stack: TestStack
  let upstream: TestUpstream
  let app: Provisioned
  let path: string

  beforeAll(async () => {
    stack = await startStack({ database: 'postgresql', redis: true, extraGateways: 1, config: { snapshotPollMs: 3_600_000 } })
    upstream = await startUpstream()
    app = await provision(stack, { upstreamUrls: [upstream.url] })
    path = (await stack.admin('GET', `/admin/v1/apis/${app.apiId}`)).body.routes[0].path
  })
  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
  })

  async function statusWithin (gatewayUrl: string, expected: number, ms: number): Promise<number> {
    const deadline = Date.now() + ms
    let status = 0
    do {
      status = (await fetch(`${gatewayUrl}${path}/x`, { headers: { 'x-api-key': app.apiKey } })).status
      if (status === expected) return status
      await new Promise(resolve => setTimeout(resolve, 20))
    } while (Date.now() < deadline)
    return status
  }

  it('applies a new grant and its revocation on every node without waiting for the poll', async () => {
    for (const gatewayUrl of stack.gatewayUrls) expect(await statusWithin(gatewayUrl, 200, 2_000)).toBe(200)
    expect((await stack.admin('PATCH', `/admin/v1/grants/${app.grantId as string}`, { status: 'revoked' })).status).toBe(200)
    for (const gatewayUrl of stack.gatewayUrls) expect(await statusWithin(gatewayUrl, 403, 2_000)).toBe(403)
  })
})
