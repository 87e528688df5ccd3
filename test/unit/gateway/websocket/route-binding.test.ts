import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { SecretBox } from '../../../../src/domain/crypto.js'
import { compileSnapshot, type GatewaySnapshot } from '../../../../src/gateway/snapshot/compile.js'
import { routeChange, routeWebSocket, routingFingerprint, type RouteBinding } from '../../../../src/gateway/websocket/route-binding.js'
import type { ConfigSnapshotData, SnapshotRoute } from '../../../../src/store/config-snapshot.js'

const secretBox = new SecretBox(randomBytes(32))

function route (path: string, extra: Partial<SnapshotRoute> = {}): SnapshotRoute {
  return { id: `route-${path}`, apiId: 'chat', methods: ['GET'], host: null, path, stripPrefix: true, websocket: true, ...extra }
}

const BASE: ConfigSnapshotData = {
  version: '1',
  loadedAt: 0,
  upstreams: [
    { id: 'chat-servers', name: 'chat-servers', targets: [{ url: 'http://10.0.0.1:9000', weight: 1 }, { url: 'http://10.0.0.2:9000/base', weight: 1 }], loadBalancing: 'round-robin', healthCheck: null, connectTimeoutMs: 1000, responseTimeoutMs: 1000 },
    { id: 'other-servers', name: 'other-servers', targets: [{ url: 'http://10.0.0.1:9000', weight: 1 }], loadBalancing: 'round-robin', healthCheck: null, connectTimeoutMs: 1000, responseTimeoutMs: 1000 }
  ],
  apis: [
    { id: 'chat', name: 'chat', upstreamId: 'chat-servers', auth: ['apikey'] },
    { id: 'other', name: 'other', upstreamId: 'other-servers', auth: ['apikey'] }
  ],
  routes: [route('/chat')],
  plans: [],
  apps: [],
  credentials: [],
  grants: [],
  signingKeys: []
}

function snapshot (change: (data: ConfigSnapshotData) => Partial<ConfigSnapshotData> = () => ({})): GatewaySnapshot {
  return compileSnapshot({ ...BASE, ...change(BASE) }, secretBox)
}

function bindingAt (path: string, targetUrl = 'http://10.0.0.2:9000/base'): RouteBinding {
  const routing = routeWebSocket(snapshot(), undefined, path)
  if (!routing.ok) throw new Error(`no WebSocket route for ${path}`)
  return { host: undefined, path, apiId: routing.api.id, upstreamPath: routing.match.upstreamPath, upstreamId: routing.upstream.id, targetUrl }
}

describe('routeWebSocket', () => {
  it('routes an upgrade to the API, its upstream and the path sent upstream', () => {
    const routing = routeWebSocket(snapshot(), 'any.example.com', '/chat/rooms/7')
    expect(routing).toMatchObject({ ok: true, api: { id: 'chat' }, upstream: { id: 'chat-servers' }, match: { upstreamPath: '/rooms/7' } })
  })

  it('says why an upgrade has nowhere to go', () => {
    expect(routeWebSocket(snapshot(), undefined, '/elsewhere')).toEqual({ ok: false, reason: 'route_gone' })
    expect(routeWebSocket(snapshot(() => ({ routes: [route('/chat', { methods: ['POST'] })] })), undefined, '/chat')).toEqual({ ok: false, reason: 'route_gone' })
    expect(routeWebSocket(snapshot(() => ({ routes: [route('/chat', { websocket: false })] })), undefined, '/chat')).toEqual({ ok: false, reason: 'websocket_disabled' })
    expect(routeWebSocket(snapshot(data => ({ upstreams: data.upstreams.slice(1) })), undefined, '/chat')).toEqual({ ok: false, reason: 'upstream_gone' })
  })
})

describe('routeChange', () => {
  const binding = bindingAt('/chat/rooms/7')

  it('keeps a connection whose upgrade would still be routed the same way', () => {
    expect(routeChange(snapshot(), binding)).toBeUndefined()
    // recreated with a new id, another route added, the other target removed
    expect(routeChange(snapshot(data => ({
      routes: [route('/chat', { id: 'recreated' }), route('/news', { apiId: 'other' })],
      upstreams: [{ ...data.upstreams[0], targets: [data.upstreams[0].targets[1]] }, data.upstreams[1]]
    })), binding)).toBeUndefined()
  })

  it('reports a route removed or moved to another path', () => {
    expect(routeChange(snapshot(() => ({ routes: [] })), binding)).toBe('route_gone')
    expect(routeChange(snapshot(() => ({ routes: [route('/chat-v2')] })), binding)).toBe('route_gone')
  })

  it('reports a route that stopped accepting WebSockets', () => {
    expect(routeChange(snapshot(() => ({ routes: [route('/chat', { websocket: false })] })), binding)).toBe('websocket_disabled')
  })

  it('reports a path that a longer prefix of another API now takes', () => {
    expect(routeChange(snapshot(() => ({ routes: [route('/chat'), route('/chat/rooms', { apiId: 'other' })] })), binding)).toBe('api_changed')
  })

  it('reports a route that would now send another path upstream', () => {
    expect(routeChange(snapshot(() => ({ routes: [route('/chat', { stripPrefix: false })] })), binding)).toBe('route_rewritten')
  })

  it('reports an API moved to another upstream, even one listing the same target', () => {
    expect(routeChange(snapshot(data => ({ apis: [{ ...data.apis[0], upstreamId: 'other-servers' }, data.apis[1]] })), bindingAt('/chat/rooms/7', 'http://10.0.0.1:9000'))).toBe('upstream_changed')
  })

  it('reports the connection\'s target removed from the upstream', () => {
    expect(routeChange(snapshot(data => ({ upstreams: [{ ...data.upstreams[0], targets: [data.upstreams[0].targets[0]] }, data.upstreams[1]] })), binding)).toBe('target_removed')
  })

  it('matches the host as a new upgrade would', () => {
    const onHost = snapshot(() => ({ routes: [route('/chat', { host: 'chat.example.com' })] }))
    expect(routeChange(onHost, { ...binding, host: 'chat.example.com' })).toBeUndefined()
    expect(routeChange(onHost, { ...binding, host: 'other.example.com' })).toBe('route_gone')
  })
})

describe('routingFingerprint', () => {
  it('ignores changes routing does not read: grants, apps, plans, route ids and listing order', () => {
    const base = routingFingerprint(snapshot())
    expect(routingFingerprint(snapshot(() => ({ version: '2', grants: [{ id: 'g', appId: 'a', apiId: 'chat', planId: 'p' }] })))).toBe(base)
    expect(routingFingerprint(snapshot(() => ({ routes: [route('/chat', { id: 'recreated' })] })))).toBe(base)
    expect(routingFingerprint(snapshot(data => ({ apis: [...data.apis].reverse(), upstreams: [...data.upstreams].reverse() })))).toBe(base)
  })

  it('changes with every input routeChange reads', () => {
    const base = routingFingerprint(snapshot())
    const changes: Array<(data: ConfigSnapshotData) => Partial<ConfigSnapshotData>> = [
      () => ({ routes: [route('/chat', { websocket: false })] }),
      () => ({ routes: [route('/chat', { stripPrefix: false })] }),
      () => ({ routes: [route('/chat', { host: 'chat.example.com' })] }),
      () => ({ routes: [route('/chat', { methods: ['POST'] })] }),
      () => ({ routes: [route('/chat', { apiId: 'other' })] }),
      () => ({ routes: [route('/chat2')] }),
      data => ({ apis: [{ ...data.apis[0], upstreamId: 'other-servers' }, data.apis[1]] }),
      data => ({ upstreams: [{ ...data.upstreams[0], targets: [data.upstreams[0].targets[0]] }, data.upstreams[1]] })
    ]
    for (const change of changes) expect(routingFingerprint(snapshot(change))).not.toBe(base)
  })
})
