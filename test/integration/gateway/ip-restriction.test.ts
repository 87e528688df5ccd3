// IP allow and deny lists through the real control API and gateway: per API (refused before
// any credential is read) and per app (set by the operator or by the partner itself), over
// HTTP and WebSocket upgrades, with the client address from the peer or, behind a trusted
// proxy only, from X-Forwarded-For. Refusals are never forwarded nor counted against quotas.
// Open WebSockets are judged again when a list changes: those it no longer admits close.
import { once } from 'node:events'
import type { IncomingMessage } from 'node:http'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { PortalClient } from '../partner/portal-client.js'
import { provision, startStack, waitForPropagation, type Provisioned, type TestStack } from '../../helpers/stack.js'
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js'

type Api = Provisioned & { prefix: string }

interface Answer { status: number, body: any }

/** Whether this machine has an IPv6 loopback to listen on (containers may not). */
async function hasIpv6Loopback (): Promise<boolean> {
  const server = createServer()
  return await new Promise(resolve => {
    server.once('error', () => { resolve(false) })
    server.listen(0, '::1', () => { server.close(() => { resolve(true) }) })
  })
}

/** An HTTP upstream that also echoes WebSocket messages. */
async function startEchoUpstream (): Promise<TestUpstream & { sockets: WebSocketServer }> {
  const upstream = await startUpstream('echo')
  const sockets = new WebSocketServer({ server: upstream.server })
  sockets.on('connection', socket => { socket.on('message', (data, isBinary) => { socket.send(data, { binary: isBinary }) }) })
  return { ...upstream, sockets, close: async () => { sockets.close(); await upstream.close() } }
}

async function call (url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, { headers })
  const text = await response.text()
  return { status: response.status, body: text.startsWith('{') ? JSON.parse(text) : text }
}

/** A WebSocket upgrade: 101 and an echoed message, or the refusal's status and JSON body. */
async function upgrade (url: string, headers: Record<string, string>): Promise<Answer> {
  const socket = new WebSocket(url, { headers })
  // terminating a socket whose handshake was refused reports an error we expect
  socket.on('error', () => {})
  const opened = once(socket, 'open').then(() => 'open' as const)
  const refused = once(socket, 'unexpected-response').then(([, response]) => response as IncomingMessage)
  const outcome = await Promise.race([opened, refused])
  if (outcome === 'open') {
    socket.send('ping')
    const [data] = await once(socket, 'message') as [Buffer]
    socket.close()
    return { status: 101, body: data.toString() }
  }
  const chunks: Buffer[] = []
  for await (const chunk of outcome) chunks.push(chunk as Buffer)
  socket.terminate()
  return { status: outcome.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) }
}

/** An open WebSocket that has echoed one message. */
async function open (url: string, headers: Record<string, string>): Promise<WebSocket> {
  const socket = new WebSocket(url, { headers })
  await once(socket, 'open')
  await echoes(socket, 'hello')
  return socket
}

async function echoes (socket: WebSocket, text: string): Promise<void> {
  socket.send(text)
  const [data] = await once(socket, 'message') as [Buffer]
  expect(data.toString()).toBe(text)
}

async function closed (socket: WebSocket): Promise<{ code: number, reason: string }> {
  if (socket.readyState === WebSocket.CLOSED) throw new Error('already closed')
  const [code, reason] = await once(socket, 'close') as [number, Buffer]
  return { code, reason: reason.toString() }
}

/** Makes a change and expects every socket closed with 1008 and `reason`. */
async function expectClosedBy (sockets: WebSocket[], change: () => Promise<unknown>, reason: string): Promise<void> {
  const closing = sockets.map(closed)
  await change()
  for (const close of closing) expect(await close).toEqual({ code: 1008, reason })
}

/** Records whether the socket closes before the test closes it. */
function watchClose (socket: WebSocket): { closed: boolean } {
  const watch = { closed: false }
  socket.once('close', () => { watch.closed = true })
  return watch
}

function ipNotAllowed (address: string, subject: RegExp | string): unknown {
  return { status: 403, body: { error: { code: 'IP_NOT_ALLOWED', message: expect.stringMatching(typeof subject === 'string' ? `^Calls from ${address} are not allowed by the IP restriction of ${subject}$` : subject), requestId: expect.any(String) } } }
}

async function provisionApi (stack: TestStack, upstream: TestUpstream, options: Partial<Parameters<typeof provision>[1]> = {}): Promise<Api> {
  const suffix = Math.random().toString(36).slice(2, 10)
  const app = await provision(stack, { upstreamUrls: [upstream.url], routes: [{ path: `/ip-${suffix}`, stripPrefix: true, websocket: true }], ...options })
  return { ...app, prefix: `/ip-${suffix}` }
}

async function patch (stack: TestStack, path: string, body: unknown): Promise<void> {
  const response = await stack.admin('PATCH', path, body)
  expect(response.status, JSON.stringify(response.body)).toBe(200)
}

describe('IP restriction at the gateway', () => {
  let stack: TestStack
  let upstream: TestUpstream & { sockets: WebSocketServer }
  let ipv6 = false
  let gateway: string
  const ws = (): string => gateway.replace('http', 'ws')
  const gatewayOf = (index: number): NonNullable<TestStack['control']['gateway']> => stack.gateways[index].gateway as NonNullable<TestStack['control']['gateway']>

  async function recordedUsage (appId: string): Promise<{ calls: number, rejected: number }> {
    const rows = await stack.control.database.prisma.usageDaily.findMany({ where: { appId } })
    return { calls: rows.reduce((sum, row) => sum + Number(row.calls), 0), rejected: rows.reduce((sum, row) => sum + Number(row.rejected), 0) }
  }

  beforeAll(async () => {
    ipv6 = await hasIpv6Loopback()
    // dual-stack when it can: IPv4 peers then reach the gateway as ::ffff:127.0.0.1, and ::1 calls too
    // two gateways sharing PostgreSQL and Redis: a change must reach both, the quota is one
    stack = await startStack({ database: 'postgresql', redis: true, extraGateways: 1, config: { host: ipv6 ? '::' : '127.0.0.1' } })
    gateway = stack.gatewayUrls[0]
    upstream = await startEchoUpstream()
  })

  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
  })

  it("refuses an address outside the API's allow list with 403 IP_NOT_ALLOWED before asking for credentials, HTTP and WebSocket alike", async () => {
    const api = await provisionApi(stack, upstream)
    await patch(stack, `/admin/v1/apis/${api.apiId}`, { ipRestriction: { allow: ['192.0.2.0/24', '2001:db8::/32'] } })
    const stored = (await stack.admin('GET', `/admin/v1/apis/${api.apiId}`)).body
    expect(stored.ipRestriction).toEqual({ allow: ['192.0.2.0/24', '2001:db8::/32'] })
    await waitForPropagation(stack)
    const before = upstream.received.length
    const refusal = ipNotAllowed('127.0.0.1', `the API ${stored.name as string}`)
    expect(await call(`${gateway}${api.prefix}/orders`, { 'x-api-key': api.apiKey })).toEqual(refusal)
    // no credentials at all: still the address, not MISSING_CREDENTIALS
    expect(await call(`${gateway}${api.prefix}/orders`)).toEqual(refusal)
    expect(await upgrade(`${ws()}${api.prefix}/stream`, { 'x-api-key': api.apiKey })).toEqual(refusal)
    expect(upstream.received.length).toBe(before)
    const metrics = await (await fetch(`${gateway}/metrics`)).text()
    expect(metrics).toContain(`gateway_rejections_total{api="${stored.name as string}",reason="IP_NOT_ALLOWED"} 3`)

    await patch(stack, `/admin/v1/apis/${api.apiId}`, { ipRestriction: { allow: ['192.0.2.0/24', '127.0.0.1'] } })
    await waitForPropagation(stack)
    expect((await call(`${gateway}${api.prefix}/orders`, { 'x-api-key': api.apiKey })).status).toBe(200)
    expect(await upgrade(`${ws()}${api.prefix}/stream`, { 'x-api-key': api.apiKey })).toEqual({ status: 101, body: 'ping' })
    await patch(stack, `/admin/v1/apis/${api.apiId}`, { ipRestriction: null })
    expect((await stack.admin('GET', `/admin/v1/apis/${api.apiId}`)).body.ipRestriction).toBeNull()
  })

  it('lets the deny list win over the allow list', async () => {
    const api = await provisionApi(stack, upstream)
    await patch(stack, `/admin/v1/apis/${api.apiId}`, { ipRestriction: { allow: ['127.0.0.0/8', '::1'], deny: ['127.0.0.1'] } })
    await waitForPropagation(stack)
    expect(await call(`${gateway}${api.prefix}/orders`, { 'x-api-key': api.apiKey })).toMatchObject({ status: 403, body: { error: { code: 'IP_NOT_ALLOWED' } } })
    expect(await upgrade(`${ws()}${api.prefix}/stream`, { 'x-api-key': api.apiKey })).toMatchObject({ status: 403, body: { error: { code: 'IP_NOT_ALLOWED' } } })
  })

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const api = await provisionApi(stack, upstream)
    await patch(stack, `/admin/v1/apis/${api.apiId}`, { ipRestriction: { allow: ['127.0.0.1'] } })
    await waitForPropagation(stack)
    expect((await call(`${gateway}${api.prefix}/orders`, { 'x-api-key': api.apiKey, 'x-forwarded-for': '192.0.2.1' })).status).toBe(200)
    await patch(stack, `/admin/v1/apis/${api.apiId}`, { ipRestriction: { deny: ['127.0.0.1'] } })
    await waitForPropagation(stack)
    const refused = await call(`${gateway}${api.prefix}/orders`, { 'x-api-key': api.apiKey, 'x-forwarded-for': '192.0.2.1' })
    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'IP_NOT_ALLOWED', message: expect.stringContaining('Calls from 127.0.0.1 ') } } })
    expect((await upgrade(`${ws()}${api.prefix}/stream`, { 'x-api-key': api.apiKey, 'x-forwarded-for': '192.0.2.1' })).status).toBe(403)
  })

  it('tells IPv6 loopback calls from IPv4 ones', async ({ skip }) => {
    if (!ipv6) skip('no IPv6 loopback on this machine: the unit tests cover IPv6 rules')
    const api = await provisionApi(stack, upstream)
    await patch(stack, `/admin/v1/apis/${api.apiId}`, { ipRestriction: { allow: ['::1/128'] } })
    await waitForPropagation(stack)
    const v6 = gateway.replace('127.0.0.1', '[::1]')
    expect((await call(`${v6}${api.prefix}/orders`, { 'x-api-key': api.apiKey })).status).toBe(200)
    expect(await upgrade(`${v6.replace('http', 'ws')}${api.prefix}/stream`, { 'x-api-key': api.apiKey })).toEqual({ status: 101, body: 'ping' })
    expect((await call(`${gateway}${api.prefix}/orders`, { 'x-api-key': api.apiKey })).body.error.code).toBe('IP_NOT_ALLOWED')
    await patch(stack, `/admin/v1/apis/${api.apiId}`, { ipRestriction: { deny: ['::1'] } })
    await waitForPropagation(stack)
    expect(await call(`${v6}${api.prefix}/orders`, { 'x-api-key': api.apiKey })).toEqual(ipNotAllowed('::1', /^Calls from ::1 are not allowed/))
    expect((await call(`${gateway}${api.prefix}/orders`, { 'x-api-key': api.apiKey })).status).toBe(200)
  })

  it("refuses one app by its own list and not another on the same API, counts nothing against the refused app's quota, and applies a change to every running gateway as a delta", async () => {
    const api = await provisionApi(stack, upstream, { plan: { quota: { perDay: 2 } } })
    const other = await stack.admin('POST', `/admin/v1/partners/${api.partnerId}/apps`, { name: `other-${api.prefix.slice(4)}` })
    expect(other.status).toBe(201)
    expect((await stack.admin('POST', '/admin/v1/grants', { appId: other.body.id, apiId: api.apiId, planId: api.planId })).status).toBe(201)
    await patch(stack, `/admin/v1/apps/${api.appId}`, { ipRestriction: { allow: ['192.0.2.0/24'] } })
    expect((await stack.admin('GET', `/admin/v1/apps/${api.appId}`)).body).toMatchObject({ ipRestriction: { allow: ['192.0.2.0/24'] } })
    expect((await stack.admin('GET', `/admin/v1/apps/${other.body.id as string}`)).body.ipRestriction).toBeNull()
    await waitForPropagation(stack)
    const appName = (await stack.admin('GET', `/admin/v1/apps/${api.appId}`)).body.name as string

    const before = upstream.received.length
    for (const url of stack.gatewayUrls) {
      expect(await call(`${url}${api.prefix}/orders`, { 'x-api-key': api.apiKey })).toEqual(ipNotAllowed('127.0.0.1', `the app ${appName}`))
    }
    expect(await upgrade(`${ws()}${api.prefix}/stream`, { 'x-api-key': api.apiKey })).toEqual(ipNotAllowed('127.0.0.1', `the app ${appName}`))
    expect(upstream.received.length).toBe(before)
    expect((await call(`${gateway}${api.prefix}/orders`, { 'x-api-key': other.body.apiKey })).status).toBe(200)
    // only apps with policies carry them in the snapshot
    expect(gatewayOf(0).snapshot().apps.get(api.appId)?.policies).toEqual({ ipRestriction: { allow: ['192.0.2.0/24'] } })
    expect(Object.keys(gatewayOf(0).snapshot().apps.get(other.body.id) ?? {})).not.toContain('policies')

    // lifting the list: a change of one app, so the gateways keep their compiled routing
    const routes = stack.gateways.map((_, index) => gatewayOf(index).snapshot().routes)
    await patch(stack, `/admin/v1/apps/${api.appId}`, { ipRestriction: null })
    await waitForPropagation(stack)
    routes.forEach((table, index) => { expect(gatewayOf(index).snapshot().routes).toBe(table) })
    for (const url of stack.gatewayUrls) expect((await call(`${url}${api.prefix}/orders`, { 'x-api-key': api.apiKey })).status).toBe(200)
    // the three refusals used none of the quota of 2 a day
    expect(await call(`${gateway}${api.prefix}/orders`, { 'x-api-key': api.apiKey })).toMatchObject({ status: 429, body: { error: { code: 'QUOTA_EXCEEDED' } } })
    const deadline = Date.now() + 10_000
    while ((await recordedUsage(api.appId)).rejected < 1 && Date.now() < deadline) await sleep(50)
    await sleep(400)
    expect(await recordedUsage(api.appId)).toEqual({ calls: 2, rejected: 1 })
  })

  it("closes an open WebSocket with 1008 when the API's deny list comes to name its address, and keeps it through a change that still admits it", async () => {
    const api = await provisionApi(stack, upstream)
    const apiName = (await stack.admin('GET', `/admin/v1/apis/${api.apiId}`)).body.name as string
    await waitForPropagation(stack)
    // without trusted proxies the header names nobody: the connection is 127.0.0.1's
    const socket = await open(`${ws()}${api.prefix}/stream`, { 'x-api-key': api.apiKey, 'x-forwarded-for': '192.0.2.1' })
    const watch = watchClose(socket)
    await patch(stack, `/admin/v1/apis/${api.apiId}`, { ipRestriction: { deny: ['192.0.2.1', '198.51.100.0/24'] } })
    await waitForPropagation(stack)
    await echoes(socket, 'still admitted')
    expect(watch.closed).toBe(false)

    await expectClosedBy([socket], async () => { await patch(stack, `/admin/v1/apis/${api.apiId}`, { ipRestriction: { deny: ['192.0.2.1', '127.0.0.1'] } }) }, 'client address not allowed by the API')
    const metrics = await (await fetch(`${gateway}/metrics`)).text()
    expect(metrics).toContain(`gateway_websocket_policy_closes_total{api="${apiName}",reason="ip_not_allowed"} 1`)
  })

  it("closes an app's open WebSockets on every gateway when its partner narrows its allow list, and keeps another app's open", async () => {
    const api = await provisionApi(stack, upstream)
    const partner = new PortalClient(stack.controlUrl)
    const suffix = api.prefix.slice(4)
    expect((await partner.signup(`Partner ${suffix}`, `ws-${suffix}@example.com`)).status).toBe(201)
    const locked = await partner.call('POST', '/partner/v1/apps', { name: 'streamer', ipRestriction: { allow: ['198.51.100.10', '127.0.0.1'] } })
    expect(locked.status, JSON.stringify(locked.body)).toBe(201)
    const lockedId = locked.body.id as string
    expect((await stack.admin('POST', '/admin/v1/grants', { appId: lockedId, apiId: api.apiId, planId: api.planId })).status).toBe(201)
    await waitForPropagation(stack)
    const headers = { 'x-api-key': locked.body.apiKey as string }
    const sockets = await Promise.all(stack.gatewayUrls.map(async url => await open(`${url.replace('http', 'ws')}${api.prefix}/stream`, headers)))
    const watches = sockets.map(watchClose)
    // the operator's app, without a list, on the same API
    const other = await open(`${ws()}${api.prefix}/stream`, { 'x-api-key': api.apiKey })

    // the operator widens the list: it still admits the connections
    await patch(stack, `/admin/v1/apps/${lockedId}`, { ipRestriction: { allow: ['198.51.100.10', '198.51.100.11', '127.0.0.1'] } })
    await waitForPropagation(stack)
    for (const socket of sockets) await echoes(socket, 'still admitted')
    expect(watches.map(watch => watch.closed)).toEqual([false, false])

    await expectClosedBy(sockets, async () => {
      const narrowed = await partner.call('PATCH', `/partner/v1/apps/${lockedId}`, { ipRestriction: { allow: ['198.51.100.10', '198.51.100.11'] } })
      expect(narrowed.status, JSON.stringify(narrowed.body)).toBe(200)
    }, 'client address not allowed by the app')
    await echoes(other, 'another app')
    other.close()
    await closed(other)
  })

  it('refuses malformed lists with 400 and a message naming the entry, for APIs and apps', async () => {
    const api = await provisionApi(stack, upstream)
    const problems: Array<[unknown, RegExp]> = [
      [{ allow: ['10.0.0.0/33'] }, /^ipRestriction\.allow: 10\.0\.0\.0\/33 is not a CIDR/],
      [{ deny: ['2001:db8::/129'] }, /^ipRestriction\.deny: 2001:db8::\/129 is not a CIDR/],
      [{ allow: ['10.0.0.1', 'office'] }, /^ipRestriction\.allow: office is not an IP address or CIDR$/],
      [{ allow: [] }, /allow is empty/],
      [{}, /needs an allow or a deny list/],
      [{ allow: '10.0.0.1' }, /ipRestriction/],
      [{ allow: ['10.0.0.1'], except: ['10.0.0.2'] }, /ipRestriction/],
      [{ deny: Array.from({ length: 257 }, (_, index) => `10.0.${index >> 8}.${index & 255}`) }, /ipRestriction/]
    ]
    for (const [ipRestriction, message] of problems) {
      for (const path of [`/admin/v1/apis/${api.apiId}`, `/admin/v1/apps/${api.appId}`]) {
        const response = await stack.admin('PATCH', path, { ipRestriction })
        expect({ path, status: response.status, code: response.body.error.code }).toEqual({ path, status: 400, code: 'VALIDATION_FAILED' })
        expect(response.body.error.message).toMatch(message)
      }
    }
    const created = await stack.admin('POST', `/admin/v1/partners/${api.partnerId}/apps`, { name: 'never-created', ipRestriction: { allow: ['10.0.0.0/33'] } })
    expect(created.status).toBe(400)
    expect((await stack.admin('GET', `/admin/v1/partners/${api.partnerId}/apps`)).body.items.map((app: { name: string }) => app.name)).not.toContain('never-created')
    expect((await stack.admin('GET', `/admin/v1/apis/${api.apiId}`)).body.ipRestriction).toBeNull()
    expect((await stack.admin('GET', `/admin/v1/apps/${api.appId}`)).body.ipRestriction).toBeNull()
  })

  it("lets a partner lock its own app's credentials to its servers from the partner API", async () => {
    const api = await provisionApi(stack, upstream)
    const partner = new PortalClient(stack.controlUrl)
    const suffix = api.prefix.slice(4)
    expect((await partner.signup(`Partner ${suffix}`, `dev-${suffix}@example.com`)).status).toBe(201)
    const created = await partner.call('POST', '/partner/v1/apps', { name: 'backend', ipRestriction: { allow: ['198.51.100.10', '198.51.100.11'] } })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(created.body.ipRestriction).toEqual({ allow: ['198.51.100.10', '198.51.100.11'] })
    expect((await stack.admin('POST', '/admin/v1/grants', { appId: created.body.id, apiId: api.apiId, planId: api.planId })).status).toBe(201)
    await waitForPropagation(stack)
    expect(await call(`${gateway}${api.prefix}/orders`, { 'x-api-key': created.body.apiKey })).toEqual(ipNotAllowed('127.0.0.1', 'the app backend'))

    const bad = await partner.call('PATCH', `/partner/v1/apps/${created.body.id as string}`, { ipRestriction: { allow: ['198.51.100.0/33'] } })
    expect({ status: bad.status, code: bad.body.error.code, message: bad.body.error.message }).toEqual({ status: 400, code: 'VALIDATION_FAILED', message: expect.stringContaining('198.51.100.0/33 is not a CIDR') })
    const widened = await partner.call('PATCH', `/partner/v1/apps/${created.body.id as string}`, { ipRestriction: { allow: ['198.51.100.10', '198.51.100.11', '127.0.0.1'] } })
    expect(widened.status).toBe(200)
    expect(widened.body.ipRestriction.allow).toContain('127.0.0.1')
    expect((await partner.call('GET', '/partner/v1/apps')).body.items[0].ipRestriction.allow).toContain('127.0.0.1')
    await waitForPropagation(stack)
    expect((await call(`${gateway}${api.prefix}/orders`, { 'x-api-key': created.body.apiKey })).status).toBe(200)
    const audit = await stack.control.database.prisma.auditLog.findFirst({ where: { targetId: created.body.id, action: 'app.update' } })
    expect(audit).toMatchObject({ actor: expect.stringMatching(/^partner:/), targetType: 'app', details: { ipRestriction: { allow: ['198.51.100.10', '198.51.100.11', '127.0.0.1'] } } })

    // another partner's app is not this partner's to restrict
    const stranger = new PortalClient(stack.controlUrl)
    expect((await stranger.signup(`Stranger ${suffix}`, `stranger-${suffix}@example.com`)).status).toBe(201)
    expect((await stranger.call('PATCH', `/partner/v1/apps/${created.body.id as string}`, { ipRestriction: { deny: ['0.0.0.0/0'] } })).status).toBe(404)
  })
})

describe('IP restriction behind a trusted proxy', () => {
  let stack: TestStack
  let upstream: TestUpstream & { sockets: WebSocketServer }
  let api: Api

  beforeAll(async () => {
    stack = await startStack({ database: 'postgresql', redis: false, config: { trustedProxies: ['127.0.0.1'] } })
    upstream = await startEchoUpstream()
    api = await provisionApi(stack, upstream)
    await patch(stack, `/admin/v1/apis/${api.apiId}`, { ipRestriction: { allow: ['203.0.113.0/24'], deny: ['203.0.113.66'] } })
    await waitForPropagation(stack)
  })

  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
  })

  it('decides by the address X-Forwarded-For names: an allowed one passes, a denied one is refused', async () => {
    const url = `${stack.gatewayUrls[0]}${api.prefix}/orders`
    expect((await call(url, { 'x-api-key': api.apiKey, 'x-forwarded-for': '203.0.113.7' })).status).toBe(200)
    expect(await call(url, { 'x-api-key': api.apiKey, 'x-forwarded-for': '203.0.113.66' })).toEqual(ipNotAllowed('203.0.113.66', /^Calls from 203\.0\.113\.66 are not allowed/))
    // read from the right: what the client wrote before its own address proves nothing
    expect((await call(url, { 'x-api-key': api.apiKey, 'x-forwarded-for': '203.0.113.66, 203.0.113.7' })).status).toBe(200)
    expect((await call(url, { 'x-api-key': api.apiKey, 'x-forwarded-for': '203.0.113.7, 203.0.113.66' })).body.error.code).toBe('IP_NOT_ALLOWED')
    // the proxy itself, calling without naming a client, is not on the list
    expect(await call(url, { 'x-api-key': api.apiKey })).toEqual(ipNotAllowed('127.0.0.1', /^Calls from 127\.0\.0\.1 are not allowed/))
  })

  it('decides a WebSocket upgrade the same way', async () => {
    const url = `${stack.gatewayUrls[0].replace('http', 'ws')}${api.prefix}/stream`
    expect(await upgrade(url, { 'x-api-key': api.apiKey, 'x-forwarded-for': '203.0.113.7' })).toEqual({ status: 101, body: 'ping' })
    expect(await upgrade(url, { 'x-api-key': api.apiKey, 'x-forwarded-for': '203.0.113.66' })).toEqual(ipNotAllowed('203.0.113.66', /^Calls from 203\.0\.113\.66 are not allowed/))
  })

  it('judges an open WebSocket by the address X-Forwarded-For named at its upgrade: only the one the list comes to deny closes', async () => {
    const own = await provisionApi(stack, upstream)
    await patch(stack, `/admin/v1/apis/${own.apiId}`, { ipRestriction: { allow: ['203.0.113.0/24'] } })
    await waitForPropagation(stack)
    const url = `${stack.gatewayUrls[0].replace('http', 'ws')}${own.prefix}/stream`
    const denied = await open(url, { 'x-api-key': own.apiKey, 'x-forwarded-for': '203.0.113.7' })
    const kept = await open(url, { 'x-api-key': own.apiKey, 'x-forwarded-for': '203.0.113.8' })
    await expectClosedBy([denied], async () => { await patch(stack, `/admin/v1/apis/${own.apiId}`, { ipRestriction: { allow: ['203.0.113.0/24'], deny: ['203.0.113.7'] } }) }, 'client address not allowed by the API')
    await echoes(kept, 'still admitted')
    kept.close()
    await closed(kept)
  })
})
