// Configuration changes reach the gateway as deltas: a grant revoked, a credential rotated or
// a partner deleted replaces only those records (the compiled routing stays the same object),
// while a new API recompiles the routing part; both databases.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DATABASE_KINDS } from '../../helpers/database.js'
import { provision, startStack, waitForPropagation, type Provisioned, type TestStack } from '../../helpers/stack.js'
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js'

describe.each(DATABASE_KINDS)('incremental snapshot updates on %s', kind => {
  let stack: TestStack
  let upstream: TestUpstream
  let app: Provisioned
  let path: string
  const gateway = (): NonNullable<TestStack['control']['gateway']> => stack.control.gateway as NonNullable<TestStack['control']['gateway']>
  const call = async (apiKey: string, urlPath = `${path}/x`): Promise<number> => (await fetch(stack.gatewayUrls[0] + urlPath, { headers: { 'x-api-key': apiKey } })).status

  beforeAll(async () => {
    stack = await startStack({ database: kind, redis: false })
    upstream = await startUpstream()
    app = await provision(stack, { upstreamUrls: [upstream.url] })
    path = (await stack.admin('GET', `/admin/v1/apis/${app.apiId}`)).body.routes[0].path
    await waitForPropagation(stack)
  })
  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
  })

  it('applies a revoked grant and a rotated credential without recompiling the routing', async () => {
    const routes = gateway().snapshot().routes
    expect(await call(app.apiKey)).toBe(200)
    const rotated = await stack.admin('POST', `/admin/v1/apps/${app.appId}/credentials`, { overlapSeconds: 0 })
    expect(rotated.status).toBe(201)
    await waitForPropagation(stack)
    expect(await call(app.apiKey)).toBe(401)
    expect(await call(rotated.body.apiKey)).toBe(200)
    expect((await stack.admin('PATCH', `/admin/v1/grants/${app.grantId as string}`, { status: 'revoked' })).status).toBe(200)
    await waitForPropagation(stack)
    expect(await call(rotated.body.apiKey)).toBe(403)
    expect(gateway().snapshot().routes).toBe(routes)
  })

  it('forgets every app of a deleted partner', async () => {
    const other = await provision(stack, { upstreamUrls: [upstream.url] })
    const otherPath = (await stack.admin('GET', `/admin/v1/apis/${other.apiId}`)).body.routes[0].path
    await waitForPropagation(stack)
    expect(await call(other.apiKey, `${otherPath as string}/x`)).toBe(200)
    await stack.admin('DELETE', `/admin/v1/grants/${other.grantId as string}`)
    await stack.admin('DELETE', `/admin/v1/apps/${other.appId}`)
    expect((await stack.admin('DELETE', `/admin/v1/partners/${other.partnerId}`)).status).toBe(204)
    await waitForPropagation(stack)
    expect(gateway().snapshot().apps.has(other.appId)).toBe(false)
    expect(await call(other.apiKey, `${otherPath as string}/x`)).toBe(401)
  })

  it('recompiles the routing for a new API', async () => {
    const routes = gateway().snapshot().routes
    const third = await provision(stack, { upstreamUrls: [upstream.url] })
    const thirdPath = (await stack.admin('GET', `/admin/v1/apis/${third.apiId}`)).body.routes[0].path
    await waitForPropagation(stack)
    expect(gateway().snapshot().routes).not.toBe(routes)
    expect(await call(third.apiKey, `${thirdPath as string}/x`)).toBe(200)
  })
})
