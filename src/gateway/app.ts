// Composition of the gateway (data plane): one catch-all route that routes the request, runs
// its API's policy chain (src/gateway/policies/: authentication, permission, limits and the
// configured policies around them) and proxies it, reading only the in-memory snapshot. Request bodies are never parsed; they stream to the upstream unless
// a signature covers them (form parameters, Content-MD5), then they are read once, bounded.
// Either way the body is asked for only after every policy passed (Expect: 100-continue).
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Http2SecureServer } from 'node:http2'
import type { Socket } from 'node:net'
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyBaseLogger } from 'fastify'
import type { Logger } from 'pino'
import type { Config } from '../config/schema.js'
import { errorBody, errorHandler } from '../domain/error-handler.js'
import { tokenIssuer } from '../domain/oauth.js'
import { isReservedPath } from '../domain/reserved-paths.js'
import { BadPathError, ClientClosedRequestError, ExpectationFailedError, MethodNotAllowedError, RouteNotFoundError } from '../domain/errors.js'
import { REQUEST_ID_HEADER, requestIdFrom } from '../domain/request-id.js'
import type { LimitBackends } from '../limits/index.js'
import { accessLogWriter } from '../observability/access-log-writer.js'
import type { ClusterMetricsWorker } from '../observability/cluster-metrics.js'
import { GatewayMetrics } from '../observability/gateway-metrics.js'
import { OtlpHttpExporter } from '../observability/otlp-exporter.js'
import { readinessStatusCode, type DependencyState, type Lifecycle, type ReadinessReport } from '../observability/readiness.js'
import { endSpan, SPAN_KIND, Tracer } from '../observability/tracing.js'
import { TrustedProxies } from './client-address.js'
import { capConnectionsPerClient, capTlsConnectionsPerClient, ConnectionsPerClient, type ConnectionCapOptions } from './client-caps/connection-cap.js'
import { FailedAuthentications } from './client-caps/failed-authentications.js'
import { answerClientError, httpServerOptions } from './client-connection.js'
import { HttpExchange, type HttpExchangeSettings } from './http-exchange.js'
import { policyChains } from './policies/build-chain.js'
import { runPolicies, upstreamResponded } from './policies/chain.js'
import { preflightMethod } from './policies/cors/cors.js'
import type { ResponseCacheStore } from './policies/response-cache/stores.js'
import { proxyHttpRequest } from './proxy/proxy-request.js'
import { UpstreamPools } from './proxy/upstream-pool.js'
import { isInternalAddress } from './internal-address.js'
import { deferContinue } from './request-body.js'
import { RequestsInProgress } from './requests-in-progress.js'
import { normalizePath } from './routing/normalize-path.js'
import { PROXIED_METHODS, type RouteMatch } from './routing/route-table.js'
import type { GatewaySnapshot } from './snapshot/compile.js'
import type { SnapshotApp } from '../store/config-snapshot.js'
import type { SnapshotManager } from './snapshot/snapshot-manager.js'
import type { UsageRecorder } from './usage/usage-recorder.js'
import { WebSocketProxy } from './websocket/websocket-proxy.js'

export interface GatewayServerOptions {
  config: Config
  snapshots: SnapshotManager
  limits: LimitBackends
  usage: UsageRecorder
  /** where the response cache keeps answers (src/gateway/policies/response-cache/stores.ts) */
  responseCache: ResponseCacheStore
  metrics?: GatewayMetrics
  /** in a GATEWAY_WORKERS worker: /metrics answers every worker's metrics combined, through the primary */
  clusterMetrics?: ClusterMetricsWorker
  /** draining turns readiness off */
  lifecycle?: Lifecycle
  /** reachability of the dependencies, each probed with a deadline; undefined = not used */
  probes?: { database: () => Promise<'up' | 'down'>, redis?: () => Promise<'up' | 'down'> }
  /** Redis's state as the limit backends see it, without a round trip (metrics) */
  redisUp?: () => boolean
  logger?: FastifyBaseLogger
  /** whose destination access-log lines go to, in its line format (access-log-writer.ts); none when undefined */
  accessLog?: Logger
}

export interface GatewayServerExtras {
  pools: UpstreamPools
  webSockets: WebSocketProxy
  metrics: GatewayMetrics
  snapshotVersion: () => bigint
  snapshot: () => GatewaySnapshot
  /** serves another listener (the TLS port) as the gateway's own: same routes, 100-continue, WebSocket upgrades, client errors, connection cap; call it before `listen` */
  serve: (server: Http2SecureServer) => void
  /** puts the gateway's connection cap (one count per client for all its ports) in front of another plain listener: the HTTPS redirect port; call it before `listen` */
  capConnections: (server: Server) => void
}

export type GatewayServer = FastifyInstance & GatewayServerExtras

/** Bodies read for signature checks are bounded; streamed bodies are not read at all. */
const SIGNED_BODY_LIMIT_BYTES = 10 * 1024 * 1024

declare module 'fastify' {
  interface FastifyRequest {
    exchange: HttpExchange | null
  }
}

const BYTES_COUNTED = Symbol('bytesCounted')
type CountedSocket = Socket & { [BYTES_COUNTED]?: { read: number, written: number } }

/**
 * Bytes the connection carried since the previous request on it ended: request line, headers
 * and body in, status line, headers and body out (like nginx's $request_length and $bytes_sent).
 */
function exchangedBytes (socket: CountedSocket): { bytesIn: number, bytesOut: number } {
  const read = socket.bytesRead
  const written = socket.bytesWritten
  const counted = socket[BYTES_COUNTED]
  if (counted === undefined) {
    socket[BYTES_COUNTED] = { read, written }
    return { bytesIn: read, bytesOut: written }
  }
  const bytes = { bytesIn: read - counted.read, bytesOut: written - counted.written }
  counted.read = read
  counted.written = written
  return bytes
}

export async function buildGatewayServer (options: GatewayServerOptions): Promise<GatewayServer> {
  const { config, snapshots, limits, usage } = options
  const metrics = options.metrics ?? new GatewayMetrics()
  const fastify = Fastify({
    ...(options.logger !== undefined ? { loggerInstance: options.logger } : { logger: false }),
    // the onResponse hook writes one access-log line per request instead of Fastify's two
    logController: new LogController({ disableRequestLogging: true }),
    // no child logger per request (it cost a bindings object and string each): the access-log
    // line and the error handler name the request id themselves
    childLoggerFactory: logger => logger,
    // a request read while the server drains (on a connection busy when SIGTERM came) is served
    // like any other, with Connection: close, instead of Fastify's 503 in its own error format
    return503OnClosing: false,
    http: httpServerOptions(config.headersTimeoutSeconds),
    clientErrorHandler: answerClientError,
    trustProxy: false,
    genReqId: request => requestIdFrom(request.headers[REQUEST_ID_HEADER])
  })
  const pools = new UpstreamPools({
    concurrency: { maxInFlight: config.upstreamMaxConcurrentRequests, appSharePercent: config.upstreamAppSharePercent },
    passiveHealth: { failuresToEject: 3, baseEjectionMs: config.upstreamEjectionMs, maxEjectionMs: Math.max(config.upstreamEjectionMs, config.upstreamMaxEjectionMs) },
    log: fastify.log,
    onEjection: (upstream, cause) => { metrics.upstreamEjections.inc({ upstream, cause }) }
  })
  // an access-log line is not even gathered when it would be dropped
  const writeAccessLine = options.accessLog?.isLevelEnabled('info') === true ? accessLogWriter(options.accessLog) : undefined
  const logAccess = writeAccessLine !== undefined
  const trustedProxies = new TrustedProxies(config.trustedProxies)
  const failedAuthentications = new FailedAuthentications({ maxPerClient: config.failedAuthenticationsPerClient, windowMs: config.failedAuthenticationWindowSeconds * 1000, counter: limits.failureCounter, trustedProxies, log: fastify.log })
  const exchangeSettings: HttpExchangeSettings = { trustedProxies, signedBodyLimitBytes: SIGNED_BODY_LIMIT_BYTES, bodyIdleTimeoutMs: config.requestBodyIdleTimeoutSeconds * 1000 }
  const exporter = config.otelExporterEndpoint === undefined
    ? undefined
    : new OtlpHttpExporter({
      endpoint: config.otelExporterEndpoint,
      serviceName: config.otelServiceName,
      onExported: spans => { metrics.traceSpansExported.inc(spans) },
      onDropped: (reason, spans) => { metrics.traceSpansDropped.inc({ reason }, spans) }
    })
  const tracer = exporter === undefined ? undefined : new Tracer(exporter)
  const issuer = tokenIssuer(config)
  const chains = policyChains({ config, limits, usage, pools, responseCache: options.responseCache, tokenIssuer: issuer, failedAuthentications })
  const proxying = new RequestsInProgress()
  const syncPools = (): void => { pools.sync(snapshots.current.upstreams) }
  syncPools()
  snapshots.on('update', syncPools)

  metrics.setSources({
    snapshotVersion: () => Number(snapshots.current.version),
    snapshotSyncedAt: () => snapshots.syncedAt,
    databaseHealthy: () => snapshots.databaseHealthy,
    redisUp: options.redisUp,
    upstreamTargets: function * () {
      for (const pool of pools.pools) for (const { target, healthy, connections } of pool.targetHealth()) yield { upstream: pool.definition.name, target, healthy, connections }
    },
    upstreamsInFlight: function * () {
      for (const pool of pools.pools) yield { upstream: pool.definition.name, inFlight: pool.concurrency.inFlight }
    }
  })

  fastify.decorateRequest('exchange', null)
  const noRouteMetrics = metrics.forRoute('')
  // one count per client for the plain port and the TLS port (serve) together
  const connectionCap: ConnectionCapOptions | undefined = config.maxConnectionsPerClient === 0
    ? undefined
    : { counts: new ConnectionsPerClient(config.maxConnectionsPerClient), trustedProxies, onRefused: code => { noRouteMetrics.api.countRejection(code) } }
  if (connectionCap !== undefined) capConnectionsPerClient(fastify.server, connectionCap)
  const keepPeer = logAccess || tracer !== undefined
  const startExchange = (request: FastifyRequest, reply: FastifyReply): HttpExchange => {
    const exchange = new HttpExchange(request, reply, exchangeSettings, noRouteMetrics, tracer?.startRequest(request.headers.traceparent), keepPeer)
    request.exchange = exchange
    return exchange
  }

  // every answer names its request id: refused, 404, even /metrics; a proxied one gets it from
  // its exchange's headers (the proxy writes the head itself, Fastify sends nothing)
  fastify.addHook('onSend', (request, reply, _payload, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id)
    done()
  })
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', (_request, payload, done) => { done(null, payload) })

  fastify.setErrorHandler((error: FastifyError, request, reply) => {
    const exchange = request.exchange
    // Fastify's onResponse runs only for a response that finished: one whose client left
    // (nginx's 499) is counted and logged here
    const clientLeft = reply.raw.destroyed
    if (exchange !== null && exchange.outcome === 'proxied') exchange.outcome = 'rejected'
    // a client that left was refused nothing
    if (error.code !== undefined && (error.statusCode ?? 500) < 500 && exchange?.outcome !== 'client_closed') (exchange?.metrics ?? noRouteMetrics).api.countRejection(error.code)
    if (exchange?.limitingPlan !== undefined && error.code !== undefined) exchange.metrics.api.countLimitDecision(exchange.limitingPlan, error.code)
    // the rest of an unread body is not worth reading (a trickle could hold the connection): close instead
    if (!request.raw.complete && request.raw.httpVersionMajor !== 2) void reply.header('connection', 'close')
    // what the units set (rate-limit headers on a 429, a challenge on a 401, CORS) goes with the error
    if (exchange !== null) void reply.headers(exchange.responseHeaders)
    const code = errorHandler(error, request, reply)
    if (exchange !== null) exchange.errorCode = code
    if (clientLeft) recordExchange(request, reply)
  })

  // /metrics, /healthz and /readyz are never routed to an API (src/domain/reserved-paths.ts)
  fastify.get('/metrics', async (request, reply) => {
    // partners on the public side must not read the metrics: only loopback and private addresses get them
    if (!isInternalAddress(request.socket.remoteAddress)) throw new RouteNotFoundError(request.method, '/metrics')
    const text = options.clusterMetrics === undefined ? await metrics.registry.metrics() : await options.clusterMetrics.scrape()
    void reply.header('content-type', metrics.registry.contentType)
    return text
  })

  fastify.get('/healthz', async () => {
    return { status: 'ok', pid: process.pid, snapshotVersion: snapshots.current.version.toString(), database: snapshots.databaseHealthy ? 'up' : 'down' }
  })

  // the gateway stays ready without its database (it serves from the snapshot) and without
  // Redis unless the fault policy refuses requests then; draining is never ready
  fastify.get('/readyz', async (_request, reply) => {
    const [database, redis] = await Promise.all([
      options.probes?.database() ?? 'absent' as DependencyState,
      options.probes?.redis?.() ?? 'absent' as DependencyState
    ])
    const snapshot = snapshots.current
    const refusesWithoutRedis = config.redisFaultPolicy === 'closed' && redis === 'down'
    const report: ReadinessReport = {
      status: options.lifecycle?.draining === true ? 'draining' : refusesWithoutRedis ? 'not_ready' : 'ready',
      snapshot: { version: snapshot.version.toString(), ageSeconds: Math.round((Date.now() - snapshots.syncedAt) / 100) / 10 },
      database,
      redis
    }
    return await reply.code(readinessStatusCode(report)).send(report)
  })

  fastify.route({ method: [...PROXIED_METHODS], url: '*', handler: handle })

  const refuseExpectation = (request: IncomingMessage, response: ServerResponse): void => {
    const error = new ExpectationFailedError()
    const requestId = requestIdFrom(request.headers[REQUEST_ID_HEADER])
    noRouteMetrics.api.countRejection(error.code)
    const body = JSON.stringify(errorBody(error.code, error.message, requestId))
    // HTTP/2 has no Connection header: the stream ends, the connection stays
    response.writeHead(error.statusCode as number, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...(request.httpVersionMajor === 2 ? {} : { connection: 'close' }), [REQUEST_ID_HEADER]: requestId })
    response.end(body)
  }
  deferContinue(fastify.server, refuseExpectation)

  /** 405 with Allow when routes cover the path for other methods (RFC 9110 §15.5.6), else 404. */
  function noRouteError (reply: FastifyReply, method: string, host: string, path: string): Error {
    const allowed = snapshots.current.routes.allowedMethods(host, path)
    if (allowed.length === 0) return new RouteNotFoundError(method, path)
    void reply.header('allow', allowed.join(', '))
    return new MethodNotAllowedError(`${method} is not allowed on ${path}`)
  }

  /**
   * The route of the request. A CORS preflight is routed by the method it asks for when that
   * route's API answers preflights; otherwise it is an OPTIONS request like any other.
   */
  function routeOf (request: FastifyRequest, snapshot: GatewaySnapshot, path: string): RouteMatch | undefined {
    if (request.method === 'OPTIONS') {
      const asked = preflightMethod(request.method, request.headers)
      const match = asked === undefined ? undefined : snapshot.routes.match(asked, request.hostname, path)
      const api = match === undefined ? undefined : snapshot.apis.get(match.route.apiId)
      if (match !== undefined && api !== undefined && chains(api, snapshot).answersPreflight) return match
    }
    return snapshot.routes.match(request.method, request.hostname, path)
  }

  async function handle (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const exchange = startExchange(request, reply)
    const spans = exchange.spans
    const snapshot = snapshots.current
    const rawUrl = request.raw.url ?? '/'
    const queryStart = rawUrl.indexOf('?')
    const path = normalizePath(queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart))
    if (path === undefined) {
      exchange.outcome = 'bad_request'
      throw new BadPathError()
    }
    // another method, or another spelling of a reserved path (`/healthz/.`): still never an API's
    if (isReservedPath(path)) {
      exchange.outcome = 'not_found'
      if (request.method === 'GET' || request.method === 'HEAD') throw new RouteNotFoundError(request.method, path)
      void reply.header('allow', 'GET, HEAD')
      throw new MethodNotAllowedError(`${request.method} is not allowed on ${path}`)
    }
    const match = routeOf(request, snapshot, path)
    if (match === undefined) {
      exchange.outcome = 'not_found'
      throw noRouteError(reply, request.method, request.hostname, path)
    }
    const api = snapshot.apis.get(match.route.apiId)
    const upstream = api !== undefined ? pools.get(api.upstreamId) : undefined
    if (api === undefined || upstream === undefined) {
      exchange.outcome = 'not_found'
      throw new RouteNotFoundError(request.method, path)
    }
    const routeMetrics = metrics.forRoute(api.name, match.route)
    exchange.routed(snapshot, api, match, path, routeMetrics)
    const chain = chains(api, snapshot)
    // everything above ran synchronously: a request is counted from its first wait on
    proxying.start()
    try {
      await runPolicies(chain.http, exchange, spans)
      if (exchange.answered) return
      const app = exchange.app as SnapshotApp
      const setHeaders: Record<string, string> = { [REQUEST_ID_HEADER]: String(request.id), 'x-partner-id': app.partnerId, 'x-app-id': app.id }
      const upstreamSpan = spans?.startPhase('upstream', SPAN_KIND.client)
      // the upstream continues the trace as a child of the gateway's call to it (tracestate passes as it came)
      if (spans !== undefined && upstreamSpan !== undefined) setHeaders.traceparent = spans.traceparentFor(upstreamSpan)
      const bodyRead = exchange.bodyRead
      const proxied = await proxyHttpRequest(request, reply, {
        pool: upstream,
        path: match.upstreamPath + (queryStart === -1 ? '' : rawUrl.slice(queryStart)),
        body: bodyRead !== undefined ? await bodyRead : request.body as IncomingMessage | undefined,
        bodyIdleTimeoutMs: exchangeSettings.bodyIdleTimeoutMs,
        bodyLimitBytes: exchange.bodyLimitBytes,
        setHeaders,
        responseHeaders: exchange.responseHeaders,
        removeHeaders: exchange.credentialHeaders,
        onAttempt: target => {
          exchange.upstreamTarget = target.url
          if (upstreamSpan !== undefined) Object.assign(upstreamSpan.attributes, { 'http.request.method': request.method, 'server.address': target.host, 'url.full': target.url })
        },
        onUpstreamResponse: (upstreamMs, statusCode, headers) => {
          exchange.upstreamMs = upstreamMs
          routeMetrics.upstreamDuration.observe(upstreamMs / 1000)
          if (upstreamSpan !== undefined) upstreamSpan.attributes['http.response.status_code'] = statusCode
          return upstreamResponded(chain.upstreamResponse, exchange, statusCode, headers)
        }
      }).catch((error: FastifyError) => {
        // a stalled request body is the client's doing, not the upstream's; so is leaving
        exchange.outcome = error instanceof ClientClosedRequestError ? 'client_closed' : (error.statusCode ?? 500) < 500 ? 'rejected' : 'upstream_error'
        throw error
      })
      endSpan(upstreamSpan)
      if (proxied.cutShort !== undefined) {
        // the response will never finish, so Fastify's onResponse never runs for it
        exchange.outcome = proxied.cutShort
        recordExchange(request, reply)
      }
    } finally {
      proxying.end()
      // proxyHttpRequest settles only when the response has ended, however it ended (sent, failed, client gone)
      exchange.end()
    }
  }

  fastify.addHook('onResponse', (request, reply, done) => {
    recordExchange(request, reply)
    done()
  })

  /**
   * Counts the request in the metrics, ends its trace and writes its access-log line; never
   * throws. With request logging disabled, Fastify reports nothing of an onResponse hook that
   * throws: a bug here would silently cost every line and count, so it is logged.
   */
  function recordExchange (request: FastifyRequest, reply: FastifyReply): void {
    try {
      countAndLog(request, reply)
    } catch (error) {
      fastify.log.error({ err: error, reqId: request.id }, 'could not count or log a request')
    }
  }

  function countAndLog (request: FastifyRequest, reply: FastifyReply): void {
    const exchange = request.exchange
    if (exchange === null) return
    const routeMetrics = exchange.metrics
    const status = reply.statusCode
    routeMetrics.countRequest(metrics.apps.label(exchange.appId), request.method, status, exchange.outcome)
    if (exchange.apiName !== undefined) routeMetrics.requestDuration.observe(reply.elapsedTime / 1000)
    const { bytesIn, bytesOut } = exchangedBytes(exchange.socket)
    routeMetrics.api.requestBytes.inc(bytesIn)
    routeMetrics.api.responseBytes.inc(bytesOut)
    const clientIp = logAccess || exchange.spans !== undefined ? exchange.clientAddress() : undefined
    const rawUrl = request.raw.url ?? '/'
    const queryStart = rawUrl.indexOf('?')
    const path = queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart)
    if (exchange.spans !== undefined) {
      tracer?.finish(exchange.spans, exchange.routeLabel === undefined ? request.method : `${request.method} ${exchange.routeLabel}`, {
        'http.request.method': request.method,
        'url.path': path,
        'url.scheme': (exchange.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http',
        'http.route': exchange.routeLabel,
        'http.response.status_code': status,
        'server.address': request.hostname,
        'client.address': clientIp,
        'user_agent.original': request.headers['user-agent'],
        'gateway.request_id': String(request.id),
        'gateway.api': exchange.apiName,
        'gateway.app': exchange.appId
      }, exchange.errorCode, status >= 500)
    }
    // the query string is left out: signed WebSocket URLs and some partners put secrets there
    writeAccessLine?.({
      reqId: request.id,
      clientIp,
      method: request.method,
      path,
      route: exchange.routeLabel,
      api: exchange.apiName,
      app: exchange.appId,
      partner: exchange.app?.partnerId,
      status,
      errorCode: exchange.errorCode,
      outcome: exchange.outcome,
      bytesIn,
      bytesOut,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
      upstreamMs: exchange.upstreamMs === undefined ? undefined : Math.round(exchange.upstreamMs * 100) / 100,
      upstreamTarget: exchange.upstreamTarget,
      userAgent: request.headers['user-agent'],
      traceId: exchange.spans?.traceId
    })
  }

  const webSockets = new WebSocketProxy({ config, snapshots, limits, pools, metrics, log: fastify.log, chains, writeAccessLine, trustedProxies })
  const upgrade = (request: IncomingMessage, socket: Socket, head: Buffer): void => { webSockets.handleUpgrade(request, socket, head) }
  fastify.server.on('upgrade', upgrade)
  // upgraded sockets are not the HTTP server's any more: close them before it waits for its own
  fastify.addHook('preClose', async () => { await webSockets.close() })

  fastify.addHook('onClose', async () => {
    snapshots.off('update', syncPools)
    // the connections are closed; requests whose clients left may still be on their way upstream
    await proxying.ended()
    await pools.close()
    // after the last request: its spans are in the queue
    await exporter?.close()
  })

  // methods the catch-all route does not take (TRACE, PROPFIND…) end here
  fastify.setNotFoundHandler((request, reply) => {
    startExchange(request, reply).outcome = 'not_found'
    const rawPath = request.url.split('?')[0]
    const path = normalizePath(rawPath)
    void reply.send(path === undefined ? new RouteNotFoundError(request.method, rawPath) : noRouteError(reply, request.method, request.hostname, path))
  })

  const serve = (server: Http2SecureServer): void => {
    if (connectionCap !== undefined) capTlsConnectionsPerClient(server, connectionCap)
    server.on('request', fastify.routing)
    deferContinue(server, refuseExpectation)
    server.on('upgrade', upgrade)
    server.on('clientError', answerClientError)
  }

  const capConnections = (server: Server): void => {
    if (connectionCap !== undefined) capConnectionsPerClient(server, connectionCap)
  }

  const extras: GatewayServerExtras = { pools, metrics, webSockets, snapshotVersion: () => snapshots.current.version, snapshot: () => snapshots.current, serve, capConnections }
  return Object.assign(fastify, extras) as GatewayServer
}
