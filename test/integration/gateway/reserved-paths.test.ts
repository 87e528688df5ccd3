// /healthz, /readyz and /metrics belong to the gateway: an explicit catch-all route, and even a
// route stored on a reserved path before the control API refused them, never takes them over.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { provision, startStack, waitForPropagation, type Provisioned, type TestStack } from '../../helpers/stack.js'
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js'

describe('paths the gateway answers itself', () => {
  let stack: TestStack
  let upstream: TestUpstream
  let app: Provisioned
  let gateway: string

  beforeAll(async () => {
    stack = await startStack({ database: 'pglite', redis: false })
    upstream = await startUpstream()
    app = await provision(stack, { upstreamUrls: [upstream.url], routes: [{ path: '/' }] })
    // a route the control API no longer accepts, as an older version could have stored it
    await stack.control.database.prisma.route.create({ data: { apiId: app.apiId, path: '/healthz', methods: [], stripPrefix: false, websocket: false } })
    expect((await stack.admin('POST', '/admin/v1/plans', { name: 'bump-the-config-version' })).status).toBe(201)
    await waitForPropagation(stack)
    gateway = stack.gatewayUrls[0]
  })
  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
  })

  it('answers health, readiness and metrics itself under a catch-all route', async () => {
    const health = await fetch(`${gateway}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ status: 'ok' })
    const ready = await fetch(`${gateway}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toMatchObject({ status: 'ready' })
    const metrics = await fetch(`${gateway}/metrics`)
    expect(metrics.status).toBe(200)
    expect(await metrics.text()).toContain('# TYPE')
    expect(upstream.received).toEqual([])
  })

  it('refuses other methods on them with 405 instead of proxying', async () => {
    const post = await fetch(`${gateway}/healthz`, { method: 'POST', headers: { 'x-api-key': app.apiKey }, body: '{}' })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET, HEAD')
    expect(((await post.json()) as { error: { code: string } }).error.code).toBe('METHOD_NOT_ALLOWED')
    expect(upstream.received).toEqual([])
  })

  it('still proxies every other path to the catch-all API', async () => {
    const proxied = await fetch(`${gateway}/anything/else`, { headers: { 'x-api-key': app.apiKey } })
    expect(proxied.status).toBe(200)
    expect(((await proxied.json()) as { url: string }).url).toBe('/anything/else')
  })
})
