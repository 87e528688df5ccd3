// WebSocket pass-through. The upgrade is checked against RFC 6455 first, then runs the same
// policy chain as HTTP — route, auth (headers, or a signed query string for browsers),
// permission, rate limit and quota — plus the per-app connection cap, all before the
// handshake completes; a refusal is a real HTTP response with the JSON error. Then frames
// are piped both ways with idle timeout, keep-alive pings, a message size cap, and
// revocations, route changes and policy units that no longer admit them closing live connections.
import { randomUUID } from 'node:crypto'
import { STATUS_CODES, type IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyBaseLogger, FastifyError } from 'fastify'
import { WebSocket, WebSocketServer, type RawData } from 'ws'
import type { Config } from '../../config/schema.js'
import { toErrorResponse } from '../../domain/error-handler.js'
import { BadPathError, RouteNotFoundError, ServiceUnavailableError, TooManyConnectionsError, UpstreamTimeoutError, UpstreamUnavailableError } from '../../domain/errors.js'
import { REQUEST_ID_HEADER, requestIdFrom } from '../../domain/request-id.js'
import type { LimitBackends } from '../../limits/index.js'
import type { AccessLogWriter } from '../../observability/access-log-writer.js'
import type { CounterChild, GatewayMetrics } from '../../observability/gateway-metrics.js'
import type { SnapshotApp } from '../../store/config-snapshot.js'
import type { TrustedProxies } from '../client-address.js'
import type { PolicyChains } from '../policies/build-chain.js'
import { openConnectionRefusal, runPolicies } from '../policies/chain.js'
import { upstreamTlsError } from '../proxy/tls-failure.js'
import type { UpstreamPool, UpstreamPools, UpstreamTarget } from '../proxy/upstream-pool.js'
import { normalizePath } from '../routing/normalize-path.js'
import { grantKey, type CompiledGrant, type GatewaySnapshot } from '../snapshot/compile.js'
import type { SnapshotManager } from '../snapshot/snapshot-manager.js'
import { checkHandshake } from './handshake.js'
import { WebSocketUpgrade } from './websocket-upgrade.js'
import { fromQuerySignature } from './query-signature.js'
import { bindingKey, ROUTE_CHANGE_REASONS, routeChange, routeWebSocket, routingFingerprint, type RouteBinding } from './route-binding.js'

export interface WebSocketProxyOptions {
  config: Config
  snapshots: SnapshotManager
  limits: LimitBackends
  pools: UpstreamPools
  metrics: GatewayMetrics
  log: FastifyBaseLogger
  /** each API's policy units, shared with HTTP */
  chains: PolicyChains
  /** writes the upgrade's access-log line; none when undefined */
  writeAccessLine?: AccessLogWriter
  trustedProxies: TrustedProxies
}

interface MessageSeries { messages: CounterChild, bytes: CounterChild }

interface Tunnel {
  id: string
  apiId: string
  apiName: string
  appId: string
  credentialKey: string
  /** the key of the app's grant for the API */
  grantKey: string
  /** as the upgrade computed it: the policy units judge the open connection by it */
  clientAddress: string
  /**
   * the records the policy units last judged the connection by: the API's (the compiled APIs
   * are replaced together), the app's and the grant's. A change that replaces none of them
   * cannot change their answer.
   */
  judgedApis: GatewaySnapshot['apis']
  judgedApp: SnapshotApp
  judgedGrant: CompiledGrant
  binding: RouteBinding
  client: WebSocket
  upstream: WebSocket
  /** bound once per connection, not per message */
  series: { in: MessageSeries, out: MessageSeries }
  openedAt: number
  lastActivity: number
  clientAlive: boolean
  closed: boolean
}

const HOP_BY_HOP = new Set(['connection', 'upgrade', 'keep-alive', 'host', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-accept', 'sec-websocket-protocol', 'proxy-authorization', 'te', 'transfer-encoding'])
const UNSENDABLE_CLOSE_CODES = new Set([1004, 1005, 1006, 1015])
const HEARTBEAT_MS = 10_000
const ACCESS_REVOKED = 'access revoked'

/** Open connections that share one route binding, so that one routing answer serves them all. */
interface BindingGroup {
  binding: RouteBinding
  tunnels: Set<Tunnel>
}

function sendableCloseCode (code: number): number | undefined {
  return code >= 1000 && code < 5000 && !UNSENDABLE_CLOSE_CODES.has(code) ? code : undefined
}

function closeSide (socket: WebSocket, code: number | undefined, reason: Buffer | string): void {
  if (socket.readyState === WebSocket.CLOSING || socket.readyState === WebSocket.CLOSED) return
  if (socket.readyState === WebSocket.CONNECTING) {
    socket.terminate()
    return
  }
  // close reasons are limited to 123 bytes by the protocol
  socket.close(code, Buffer.isBuffer(reason) ? reason.subarray(0, 123) : Buffer.from(reason).subarray(0, 123))
}

/** Answers a refused upgrade with a proper HTTP response instead of a dropped socket; returns the status and error code. */
function refuse (socket: Duplex, error: Error, requestId: string, headers: Record<string, string> = {}): { statusCode: number, code: string } {
  const { statusCode, body } = toErrorResponse(error as FastifyError, requestId)
  const payload = JSON.stringify(body)
  const lines = [`HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? ''}`, 'Content-Type: application/json; charset=utf-8', `Content-Length: ${Buffer.byteLength(payload)}`, 'Connection: close', `X-Request-Id: ${requestId}`]
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
  if (socket.writable) socket.end(`${lines.join('\r\n')}\r\n\r\n${payload}`)
  else socket.destroy()
  return { statusCode, code: body.error.code }
}

export class WebSocketProxy {
  readonly #options: WebSocketProxyOptions
  readonly #server: WebSocketServer
  readonly #tunnels = new Map<string, Tunnel>()
  readonly #groups = new Map<string, BindingGroup>()
  #routingFingerprint: string
  readonly #timers: NodeJS.Timeout[] = []
  #pending = 0
  #closing = false

  constructor (options: WebSocketProxyOptions) {
    this.#options = options
    this.#server = new WebSocketServer({ noServer: true, maxPayload: options.config.webSocketMaxMessageBytes, perMessageDeflate: false, handleProtocols: (_protocols, request) => (request as IncomingMessage & { upstreamProtocol?: string }).upstreamProtocol ?? false })
    const sweepMs = Math.max(100, Math.min(1000, options.config.webSocketIdleTimeoutSeconds * 250))
    this.#timers.push(setInterval(() => { this.#closeIdle() }, sweepMs))
    this.#timers.push(setInterval(() => { this.#ping() }, options.config.webSocketPingIntervalSeconds * 1000))
    this.#timers.push(setInterval(() => { void options.limits.connectionCounter.heartbeat().catch(() => {}) }, HEARTBEAT_MS))
    for (const timer of this.#timers) timer.unref()
    this.#routingFingerprint = routingFingerprint(options.snapshots.current)
    options.snapshots.on('update', this.#onSnapshot)
  }

  get openConnections (): number {
    return this.#tunnels.size
  }

  handleUpgrade (request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => { socket.destroy() })
    const upgrade = new WebSocketUpgrade(request, requestIdFrom(request.headers[REQUEST_ID_HEADER]), this.#options.trustedProxies)
    this.#upgrade(request, socket, head, upgrade).then(() => {
      upgrade.outcome = 'proxied'
      this.#answered(request, upgrade, 101, undefined)
    }, error => {
      upgrade.end()
      const { statusCode, code } = refuse(socket, error as Error, upgrade.requestId, upgrade.responseHeaders)
      const apiMetrics = upgrade.metrics?.api ?? this.#options.metrics.forRoute('').api
      if (statusCode < 500) apiMetrics.countRejection(code)
      if (upgrade.limitingPlan !== undefined) apiMetrics.countLimitDecision(upgrade.limitingPlan, code)
      this.#answered(request, upgrade, statusCode, code)
    })
  }

  /** Counts the upgrade's answer and writes its access-log line. */
  #answered (request: IncomingMessage, upgrade: WebSocketUpgrade, status: number, errorCode: string | undefined): void {
    const { metrics, writeAccessLine } = this.#options
    const routeMetrics = upgrade.metrics ?? metrics.forRoute('')
    routeMetrics.countRequest(metrics.apps.label(upgrade.appId), 'GET', status, upgrade.outcome)
    const rawUrl = request.url ?? '/'
    writeAccessLine?.({
      reqId: upgrade.requestId,
      clientIp: upgrade.clientAddress(),
      method: request.method,
      path: rawUrl.split('?')[0],
      route: upgrade.routeLabel,
      api: upgrade.apiName,
      app: upgrade.appId,
      partner: upgrade.app?.partnerId,
      status,
      errorCode,
      websocket: true,
      durationMs: Math.round((performance.now() - upgrade.startedAt) * 100) / 100,
      upstreamTarget: upgrade.upstreamTarget,
      userAgent: request.headers['user-agent']
    })
  }

  /** Closes every connection with 1001 and waits (briefly) for the closing handshakes. */
  async close (): Promise<void> {
    this.#closing = true
    for (const timer of this.#timers) clearInterval(timer)
    this.#options.snapshots.off('update', this.#onSnapshot)
    const closed = [...this.#tunnels.values()].map(async tunnel => {
      await new Promise<void>(resolve => {
        tunnel.client.once('close', () => { resolve() })
        closeSide(tunnel.client, 1001, 'server shutting down')
        closeSide(tunnel.upstream, 1001, 'server shutting down')
        setTimeout(() => { tunnel.client.terminate(); resolve() }, 2000).unref()
      })
    })
    await Promise.all(closed)
    this.#server.close()
  }

  async #upgrade (request: IncomingMessage, socket: Duplex, head: Buffer, upgrade: WebSocketUpgrade): Promise<void> {
    const { config, snapshots, limits, pools, log } = this.#options
    const protocols = checkHandshake(request.method, request.headers, (name, value) => { upgrade.setResponseHeader(name, value) })
    if (this.#closing) throw new ServiceUnavailableError('The gateway is shutting down')
    const snapshot = snapshots.current
    const rawUrl = request.url ?? '/'
    const viaQuery = fromQuerySignature(rawUrl, request.headers)
    const url = viaQuery?.url ?? rawUrl
    const queryStart = url.indexOf('?')
    const path = normalizePath(queryStart === -1 ? url : url.slice(0, queryStart))
    if (path === undefined) {
      upgrade.outcome = 'bad_request'
      throw new BadPathError()
    }
    const host = request.headers.host?.replace(/:\d+$/, '')
    const routing = routeWebSocket(snapshot, host, path)
    const pool = routing.ok ? pools.get(routing.api.upstreamId) : undefined
    if (!routing.ok || pool === undefined) {
      upgrade.outcome = 'not_found'
      throw new RouteNotFoundError('GET', path)
    }
    const { match, api } = routing
    upgrade.routed(snapshot, api, match, path, this.#options.metrics.forRoute(api.name, match.route), viaQuery ?? { url, headers: request.headers })
    if (this.#tunnels.size + this.#pending >= config.maxWebSocketConnections) throw new TooManyConnectionsError('The gateway has reached its WebSocket connection limit; retry later')
    await runPolicies(this.#options.chains(api, snapshot).websocket, upgrade)
    const app = upgrade.app as SnapshotApp
    const grant = upgrade.grant as CompiledGrant
    const id = randomUUID()
    const subject = grantKey(app.id, api.id)
    const limit = grant.plan.maxConnections
    if (limit !== null && !await limits.connectionCounter.acquire(subject, id, limit)) {
      throw new TooManyConnectionsError(`The app already has ${limit} open connection(s) to this API`)
    }
    this.#pending++
    const release = (): void => {
      if (limit !== null) void limits.connectionCounter.release(subject, id).catch(() => {})
      upgrade.end()
    }
    let upstream: WebSocket
    let target: UpstreamTarget
    try {
      ({ upstream, target } = await this.#connectUpstream(request, upgrade, pool, match.upstreamPath + (queryStart === -1 ? '' : url.slice(queryStart)), protocols, upgrade.credentialHeaders, { [REQUEST_ID_HEADER]: upgrade.requestId, 'x-partner-id': app.partnerId, 'x-app-id': app.id }))
    } catch (error) {
      if (limit !== null) await limits.connectionCounter.release(subject, id).catch(() => {})
      upgrade.outcome = 'upstream_error'
      throw error
    } finally {
      this.#pending--
    }
    // ws drops a client that left meanwhile without calling back: the upstream and the slot would leak
    if (!socket.readable || !socket.writable) {
      upstream.on('error', () => {})
      closeSide(upstream, 1001, 'client left')
      release()
      socket.destroy()
      return
    }
    ;(request as IncomingMessage & { upstreamProtocol?: string }).upstreamProtocol = upstream.protocol === '' ? undefined : upstream.protocol
    const binding: RouteBinding = { host, path, apiId: api.id, upstreamPath: match.upstreamPath, upstreamId: api.upstreamId, targetUrl: target.url }
    this.#server.handleUpgrade(request, socket, head, client => {
      const { webSocketMessages, webSocketBytes } = this.#options.metrics
      const series = {
        in: { messages: webSocketMessages.labels({ api: api.name, direction: 'in' }), bytes: webSocketBytes.labels({ api: api.name, direction: 'in' }) },
        out: { messages: webSocketMessages.labels({ api: api.name, direction: 'out' }), bytes: webSocketBytes.labels({ api: api.name, direction: 'out' }) }
      }
      const tunnel: Tunnel = {
        id,
        apiId: api.id,
        apiName: api.name,
        appId: app.id,
        credentialKey: upgrade.credentialKey as string,
        grantKey: subject,
        clientAddress: upgrade.clientAddress(),
        judgedApis: snapshot.apis,
        judgedApp: app,
        judgedGrant: grant,
        binding,
        client,
        upstream,
        series,
        openedAt: Date.now(),
        lastActivity: Date.now(),
        clientAlive: true,
        closed: false
      }
      this.#tunnels.set(id, tunnel)
      this.#join(tunnel)
      this.#options.metrics.webSocketConnections.inc({ api: api.name })
      this.#pipe(tunnel, release)
      log.debug({ connection: id, api: api.name, app: app.id }, 'websocket opened')
      // the configuration may have changed while the upstream connected: check against the current one
      const current = snapshots.current
      if (current !== snapshot) this.#recheck(tunnel, current)
    })
  }

  async #connectUpstream (request: IncomingMessage, upgrade: WebSocketUpgrade, pool: UpstreamPool, path: string, protocols: string[], credentialHeaders: readonly string[], setHeaders: Record<string, string>): Promise<{ upstream: WebSocket, target: UpstreamTarget }> {
    const target = pool.pick()
    if (target === undefined) throw new ServiceUnavailableError('No healthy upstream target')
    upgrade.upstreamTarget = target.url
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(request.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name) || credentialHeaders.includes(name)) continue
      headers[name] = Array.isArray(value) ? value.join(', ') : value
    }
    const forwardedFor = request.headers['x-forwarded-for']
    headers['x-forwarded-for'] = forwardedFor !== undefined ? `${String(forwardedFor)}, ${request.socket.remoteAddress ?? ''}` : request.socket.remoteAddress ?? ''
    headers['x-forwarded-proto'] = (request.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http'
    headers['x-forwarded-host'] = request.headers.host ?? ''
    Object.assign(headers, setHeaders)
    const url = `${target.origin.replace(/^http/, 'ws')}${target.basePath}${path}`
    const upstream = new WebSocket(url, protocols, { ...pool.webSocketTls, headers, maxPayload: this.#options.config.webSocketMaxMessageBytes, handshakeTimeout: pool.definition.connectTimeoutMs, perMessageDeflate: false })
    return await new Promise((resolve, reject) => {
      const failed = (error: Error): void => {
        upstream.removeAllListeners()
        upstream.on('error', () => {})
        upstream.terminate()
        if (/timed out/i.test(error.message)) reject(new UpstreamTimeoutError())
        else {
          target.health.recordFailure(Date.now())
          reject(upstreamTlsError(error, target.url) ?? new UpstreamUnavailableError())
        }
      }
      upstream.once('open', () => {
        upstream.removeListener('error', failed)
        target.health.recordSuccess()
        resolve({ upstream, target })
      })
      upstream.once('error', failed)
      upstream.once('unexpected-response', (_request, response) => {
        response.resume()
        failed(new Error(`upstream answered ${String(response.statusCode)} to the upgrade`))
      })
    })
  }

  #pipe (tunnel: Tunnel, released: () => void): void {
    const { client, upstream } = tunnel
    const { metrics, log } = this.#options
    const forward = (to: WebSocket, direction: 'in' | 'out') => (data: RawData, isBinary: boolean) => {
      tunnel.lastActivity = Date.now()
      const size = Array.isArray(data) ? data.reduce((sum, part) => sum + part.length, 0) : (data as Buffer | ArrayBuffer).byteLength
      const series = tunnel.series[direction]
      series.messages.inc()
      series.bytes.inc(size)
      if (to.readyState === WebSocket.OPEN) to.send(data, { binary: isBinary })
    }
    client.on('message', forward(upstream, 'in'))
    upstream.on('message', forward(client, 'out'))
    client.on('pong', () => { tunnel.clientAlive = true })
    client.on('ping', data => { tunnel.lastActivity = Date.now(); if (upstream.readyState === WebSocket.OPEN) upstream.ping(data) })
    upstream.on('ping', data => { tunnel.lastActivity = Date.now(); if (client.readyState === WebSocket.OPEN) client.ping(data) })
    let closeCode: number | undefined
    const finish = (side: 'client' | 'upstream', code: number, reason: Buffer): void => {
      if (!tunnel.closed) {
        tunnel.closed = true
        closeCode = code
        closeSide(side === 'client' ? upstream : client, sendableCloseCode(code), reason)
        this.#tunnels.delete(tunnel.id)
        this.#leave(tunnel)
        metrics.webSocketConnections.dec({ api: tunnel.apiName })
        released()
        log.info({ connection: tunnel.id, api: tunnel.apiName, app: tunnel.appId, closedBy: side, closeCode, durationMs: Date.now() - tunnel.openedAt }, 'websocket closed')
      }
    }
    client.on('close', (code, reason) => { finish('client', code, reason) })
    upstream.on('close', (code, reason) => { finish('upstream', code, reason) })
    client.on('error', () => { closeSide(client, 1011, 'error') })
    upstream.on('error', () => { closeSide(upstream, 1011, 'error') })
  }

  #closeIdle (): void {
    const limit = Date.now() - this.#options.config.webSocketIdleTimeoutSeconds * 1000
    for (const tunnel of this.#tunnels.values()) {
      if (tunnel.lastActivity < limit) {
        closeSide(tunnel.client, 1001, 'idle timeout')
        closeSide(tunnel.upstream, 1001, 'idle timeout')
      }
    }
  }

  #ping (): void {
    for (const tunnel of this.#tunnels.values()) {
      // no pong since the last ping: the peer is gone without a close frame
      if (!tunnel.clientAlive) {
        tunnel.client.terminate()
        continue
      }
      tunnel.clientAlive = false
      if (tunnel.client.readyState === WebSocket.OPEN) tunnel.client.ping()
    }
  }

  #join (tunnel: Tunnel): void {
    const key = bindingKey(tunnel.binding)
    const group = this.#groups.get(key)
    if (group === undefined) this.#groups.set(key, { binding: tunnel.binding, tunnels: new Set([tunnel]) })
    else group.tunnels.add(tunnel)
  }

  #leave (tunnel: Tunnel): void {
    const key = bindingKey(tunnel.binding)
    const group = this.#groups.get(key)
    group?.tunnels.delete(tunnel)
    if (group?.tunnels.size === 0) this.#groups.delete(key)
  }

  /** Closes the client side with 1008 (policy violation) and the reason, once per connection. */
  #closeForPolicy (tunnel: Tunnel, label: string, reason: string): void {
    if (tunnel.client.readyState !== WebSocket.OPEN) return
    this.#options.metrics.webSocketPolicyCloses.inc({ api: tunnel.apiName, reason: label })
    closeSide(tunnel.client, 1008, reason)
    closeSide(tunnel.upstream, 1001, reason)
  }

  /**
   * Closes a connection the snapshot no longer admits: its access revoked, or a unit of its
   * API's current chain refusing it. Returns whether it closed it.
   */
  #judge (tunnel: Tunnel, snapshot: GatewaySnapshot, now: number): boolean {
    const credential = snapshot.credentialsByKey.get(tunnel.credentialKey)
    const app = snapshot.apps.get(tunnel.appId)
    const grant = snapshot.grants.get(tunnel.grantKey)
    if (credential === undefined || (credential.expiresAt !== null && credential.expiresAt <= now) || app === undefined || app.status !== 'active' || grant === undefined) {
      this.#closeForPolicy(tunnel, 'access_revoked', ACCESS_REVOKED)
      return true
    }
    // the usual change (another app's grant or credential) costs the connection nothing more
    if (snapshot.apis === tunnel.judgedApis && app === tunnel.judgedApp && grant === tunnel.judgedGrant) return false
    tunnel.judgedApis = snapshot.apis
    tunnel.judgedApp = app
    tunnel.judgedGrant = grant
    const api = snapshot.apis.get(tunnel.apiId)
    // a removed API took its routes along: the routing check closes the connection
    if (api === undefined) return false
    const checks = this.#options.chains(api, snapshot).openConnectionChecks
    if (checks.length === 0) return false
    const refusal = openConnectionRefusal(checks, { clientAddress: tunnel.clientAddress, snapshot, api, app, grant })
    if (refusal === undefined) return false
    this.#closeForPolicy(tunnel, refusal.label, refusal.reason)
    return true
  }

  #recheck (tunnel: Tunnel, snapshot: GatewaySnapshot): void {
    if (this.#judge(tunnel, snapshot, Date.now())) return
    const change = routeChange(snapshot, tunnel.binding)
    if (change !== undefined) this.#closeForPolicy(tunnel, change, ROUTE_CHANGE_REASONS[change])
  }

  readonly #onSnapshot = (snapshot: GatewaySnapshot): void => {
    const now = Date.now()
    for (const tunnel of this.#tunnels.values()) this.#judge(tunnel, snapshot, now)
    const fingerprint = routingFingerprint(snapshot)
    if (fingerprint === this.#routingFingerprint) return
    this.#routingFingerprint = fingerprint
    for (const group of this.#groups.values()) {
      const change = routeChange(snapshot, group.binding)
      if (change === undefined) continue
      for (const tunnel of [...group.tunnels]) this.#closeForPolicy(tunnel, change, ROUTE_CHANGE_REASONS[change])
    }
  }
}
