// Composition of the gateway (data plane): one catch-all route running the policy chain
// route → authenticate → permission → rate limit + quota → proxy, reading only the
// in-memory snapshot. Request bodies are never parsed; they stream to the upstream unless
// a signature covers them (form parameters, Content-MD5), then they are read once, bounded.
// Either way the body is asked for only after every policy passed (Expect: 100-continue).
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyBaseLogger } from 'fastify'
import type { Config } from '../config/schema.js'
import { errorBody, errorHandler } from '../domain/error-handler.js'
import { tokenIssuer } from '../domain/oauth.js'
import { isReservedPath } from '../domain/reserved-paths.js'
import { BadPathError, CorsOriginNotAllowedError, ExpectationFailedError, MethodNotAllowedError, RouteNotFoundError, TooManyConcurrentRequestsError, UpstreamBusyError } from '../domain/errors.js'
import type { LimitBackends } from '../limits/index.js'
import { GatewayMetrics, type ApiMetrics, type Outcome } from '../observability/gateway-metrics.js'
import { readinessStatusCode, type DependencyState, type Lifecycle, type ReadinessReport } from '../observability/readiness.js'
import { answerClientError, httpServerOptions } from './client-connection.js'
import { authenticate, type AuthRequest } from './policies/authenticate.js'
import { actualResponseHeaders, preflightHeaders, preflightMethod } from './policies/cors.js'
import { checkPermission } from './policies/permission.js'
import { applyRequestLimits } from './policies/request-limits.js'
import { proxyHttpRequest } from './proxy/proxy-request.js'
import { UpstreamPools } from './proxy/upstream-pool.js'
import { isInternalAddress } from './internal-address.js'
import { deferContinue, readBoundedBody } from './request-body.js'
import { normalizePath } from './routing/normalize-path.js'
import { PROXIED_METHODS } from './routing/route-table.js'
import type { GatewaySnapshot } from './snapshot/compile.js'
import type { SnapshotManager } from './snapshot/snapshot-manager.js'
import type { UsageRecorder } from './usage/usage-recorder.js'
import { WebSocketProxy } from './websocket/websocket-proxy.js'

export interface GatewayServerOptions {
  config: Config
  snapshots: SnapshotManager
  limits: LimitBackends
  usage: UsageRecorder
  metrics?: GatewayMetrics
  /** draining turns readiness off */
  lifecycle?: Lifecycle
  /** reachability of the dependencies, each probed with a deadline; undefined = not used */
  probes?: { database: () => Promise<'up' | 'down'>, redis?: () => Promise<'up' | 'down'> }
  /** Redis's state as the limit backends see it, without a round trip (metrics) */
  redisUp?: () => boolean
  logger?: FastifyBaseLogger
}

export interface GatewayServerExtras {
  pools: UpstreamPools
  webSockets: WebSocketProxy
  metrics: GatewayMetrics
  snapshotVersion: () => bigint
  snapshot: () => GatewaySnapshot
}

export type GatewayServer = FastifyInstance & GatewayServerExtras

/** Bodies read for signature checks are bounded; streamed bodies are not read at all. */
const SIGNED_BODY_LIMIT_BYTES = 10 * 1024 * 1024
const REQUEST_ID = /^[\w.:-]{1,128}$/

interface Trace {
  api: string
  /** the API's bound series, once the route is known */
  metrics?: ApiMetrics
  appId?: string
  outcome: Outcome
  upstreamMs?: number
}

declare module 'fastify' {
  interface FastifyRequest {
    trace: Trace
  }
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
    return503OnClosing: true,
    http: httpServerOptions(config.headersTimeoutSeconds),
    clientErrorHandler: answerClientError,
    trustProxy: false,
    genReqId: request => {
      const incoming = request.headers['x-request-id']
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID()
    }
  })
  const pools = new UpstreamPools({
    concurrency: { maxInFlight: config.upstreamMaxConcurrentRequests, appSharePercent: config.upstreamAppSharePercent },
    passiveHealth: { failuresToEject: 3, baseEjectionMs: config.upstreamEjectionMs, maxEjectionMs: Math.max(config.upstreamEjectionMs, config.upstreamMaxEjectionMs) },
    log: fastify.log,
    onEjection: (upstream, cause) => { metrics.upstreamEjections.inc({ upstream, cause }) }
  })
  // building an access-log line costs more than a request's policies: skip it when it would be dropped
  const logAccess = (options.logger as { isLevelEnabled?: (level: string) => boolean } | undefined)?.isLevelEnabled?.('info') ?? false
  const issuer = tokenIssuer(config)
  const bodyIdleTimeoutMs = config.requestBodyIdleTimeoutSeconds * 1000
  const syncPools = (): void => { pools.sync(snapshots.current.upstreams) }
  syncPools()
  snapshots.on('update', syncPools)

  metrics.setSources({
    snapshotVersion: () => Number(snapshots.current.version),
    snapshotSyncedAt: () => snapshots.syncedAt,
    databaseHealthy: () => snapshots.databaseHealthy,
    redisUp: options.redisUp,
    upstreamTargets: function * () {
      for (const pool of pools.pools) for (const { target, healthy } of pool.targetHealth()) yield { upstream: pool.definition.name, target, healthy }
    },
    upstreamsInFlight: function * () {
      for (const pool of pools.pools) yield { upstream: pool.definition.name, inFlight: pool.concurrency.inFlight }
    }
  })

  fastify.decorateRequest('trace', null as unknown as Trace)
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', (_request, payload, done) => { done(null, payload) })

  fastify.setErrorHandler((error: FastifyError, request, reply) => {
    if (request.trace !== null && request.trace.outcome === 'proxied') request.trace.outcome = 'rejected'
    if (error.code !== undefined && (error.statusCode ?? 500) < 500) metrics.rejections.inc({ reason: error.code })
    // the rest of an unread body is not worth reading (a trickle could hold the connection): close instead
    if (!request.raw.complete) void reply.header('connection', 'close')
    errorHandler(error, request, reply)
  })

  // /metrics, /healthz and /readyz are never routed to an API (src/domain/reserved-paths.ts)
  fastify.get('/metrics', async (request, reply) => {
    // partners on the public side must not read the metrics: only loopback and private addresses get them
    if (!isInternalAddress(request.socket.remoteAddress)) throw new RouteNotFoundError(request.method, '/metrics')
    void reply.header('content-type', metrics.registry.contentType)
    return await metrics.registry.metrics()
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

  deferContinue(fastify.server, (_request, response) => {
    const error = new ExpectationFailedError()
    metrics.rejections.inc({ reason: error.code })
    const body = JSON.stringify(errorBody(error.code, error.message))
    response.writeHead(error.statusCode as number, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' })
    response.end(body)
  })

  /** 405 with Allow when routes cover the path for other methods (RFC 9110 §15.5.6), else 404. */
  function noRouteError (reply: FastifyReply, method: string, host: string, path: string): Error {
    const allowed = snapshots.current.routes.allowedMethods(host, path)
    if (allowed.length === 0) return new RouteNotFoundError(method, path)
    void reply.header('allow', allowed.join(', '))
    return new MethodNotAllowedError(`${method} is not allowed on ${path}`)
  }

  /**
   * A preflight for a route of an API with CORS is the gateway's to answer, before any
   * credential or limit: true when it did. Other OPTIONS requests are routed as usual.
   */
  function answerPreflight (request: FastifyRequest, reply: FastifyReply, snapshot: GatewaySnapshot, path: string): boolean {
    const method = preflightMethod(request.method, request.headers)
    const match = method === undefined ? undefined : snapshot.routes.match(method, request.hostname, path)
    const api = match === undefined ? undefined : snapshot.apis.get(match.route.apiId)
    if (api?.corsPolicy === undefined) return false
    request.trace.api = api.name
    request.trace.metrics = metrics.forApi(api.name)
    const origin = request.headers.origin as string
    const headers = preflightHeaders(api.corsPolicy, origin, request.headers['access-control-request-headers'])
    if (headers === undefined) {
      request.trace.outcome = 'rejected'
      throw new CorsOriginNotAllowedError(origin, api.name)
    }
    request.trace.outcome = 'preflight'
    void reply.code(204).headers(headers).send()
    return true
  }

  async function handle (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    request.trace = { api: '', outcome: 'proxied' }
    const snapshot = snapshots.current
    const rawUrl = request.raw.url ?? '/'
    const queryStart = rawUrl.indexOf('?')
    const path = normalizePath(queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart))
    if (path === undefined) {
      request.trace.outcome = 'bad_request'
      throw new BadPathError()
    }
    // another method, or another spelling of a reserved path (`/healthz/.`): still never an API's
    if (isReservedPath(path)) {
      request.trace.outcome = 'not_found'
      if (request.method === 'GET' || request.method === 'HEAD') throw new RouteNotFoundError(request.method, path)
      void reply.header('allow', 'GET, HEAD')
      throw new MethodNotAllowedError(`${request.method} is not allowed on ${path}`)
    }
    if (request.method === 'OPTIONS' && answerPreflight(request, reply, snapshot, path)) return
    const match = snapshot.routes.match(request.method, request.hostname, path)
    if (match === undefined) {
      request.trace.outcome = 'not_found'
      throw noRouteError(reply, request.method, request.hostname, path)
    }
    const api = snapshot.apis.get(match.route.apiId)
    const upstream = api !== undefined ? pools.get(api.upstreamId) : undefined
    if (api === undefined || upstream === undefined) {
      request.trace.outcome = 'not_found'
      throw new RouteNotFoundError(request.method, path)
    }
    const apiMetrics = metrics.forApi(api.name)
    request.trace.api = api.name
    request.trace.metrics = apiMetrics
    if (api.corsPolicy !== undefined) {
      const headers = actualResponseHeaders(api.corsPolicy, request.headers.origin)
      if (headers !== undefined) void reply.headers(headers)
    }
    let body: Buffer | undefined
    const { appId, credentialHeaders } = await authenticate(request.raw as AuthRequest, (name, value) => { void reply.header(name, value) }, snapshot, api.authModes, api.name, {
      nonceStore: limits.nonceStore,
      timestampWindowMs: config.timestampWindowSeconds * 1000,
      tokenIssuer: issuer,
      readBody: async () => (body ??= await readBoundedBody(request.raw, reply.raw, SIGNED_BODY_LIMIT_BYTES, bodyIdleTimeoutMs))
    })
    const { app, grant } = checkPermission(snapshot, appId, api)
    request.trace.appId = app.id
    // the slot is taken before the rate limit and quota count the request: a refused call costs the app nothing
    const admission = upstream.concurrency.tryAcquire(app.id)
    if (admission === 'app-over-share') throw new TooManyConcurrentRequestsError(String(upstream.concurrency.maxPerApp), api.name)
    if (admission === 'upstream-full') throw new UpstreamBusyError(api.name, String(upstream.concurrency.maxInFlight))
    try {
      await applyRequestLimits(headers => { void reply.headers(headers) }, limits.requestLimiter, usage, app.id, api.id, grant.plan)
      await proxyHttpRequest(request, reply, {
        pool: upstream,
        path: match.upstreamPath + (queryStart === -1 ? '' : rawUrl.slice(queryStart)),
        body: body ?? (request.body as IncomingMessage | undefined),
        bodyIdleTimeoutMs,
        setHeaders: { 'x-request-id': String(request.id), 'x-partner-id': app.partnerId, 'x-app-id': app.id },
        removeHeaders: credentialHeaders,
        corsByGateway: api.corsPolicy !== undefined,
        onUpstreamResponse: upstreamMs => {
          request.trace.upstreamMs = upstreamMs
          apiMetrics.upstreamDuration.observe(upstreamMs / 1000)
        }
      }).catch((error: FastifyError) => {
        // a stalled request body is the client's doing, not the upstream's
        request.trace.outcome = (error.statusCode ?? 500) < 500 ? 'rejected' : 'upstream_error'
        throw error
      })
    } finally {
      // proxyHttpRequest settles only when the response has ended, however it ended (sent, failed, client gone)
      upstream.concurrency.release(app.id)
    }
  }

  fastify.addHook('onResponse', async (request, reply) => {
    const trace = request.trace
    if (trace === null) return
    const seconds = reply.elapsedTime / 1000
    const apiMetrics = trace.metrics ?? metrics.forApi('')
    apiMetrics.countRequest(reply.statusCode, trace.outcome)
    if (trace.metrics !== undefined) apiMetrics.requestDuration.observe(seconds)
    if (logAccess) request.log.info({
      reqId: request.id,
      method: request.method, url: request.raw.url, status: reply.statusCode, api: trace.api || undefined,
      app: trace.appId, outcome: trace.outcome, durationMs: Math.round(reply.elapsedTime * 100) / 100, upstreamMs: trace.upstreamMs
    }, 'request')
  })

  const webSockets = new WebSocketProxy({ config, snapshots, limits, usage, pools, metrics, log: fastify.log, tokenIssuer: issuer })
  fastify.server.on('upgrade', (request, socket, head) => { webSockets.handleUpgrade(request, socket, head) })
  // upgraded sockets are not the HTTP server's any more: close them before it waits for its own
  fastify.addHook('preClose', async () => { await webSockets.close() })

  fastify.addHook('onClose', async () => {
    snapshots.off('update', syncPools)
    await pools.close()
  })

  // methods the catch-all route does not take (TRACE, PROPFIND…) end here
  fastify.setNotFoundHandler((request, reply) => {
    const rawPath = request.url.split('?')[0]
    const path = normalizePath(rawPath)
    void reply.send(path === undefined ? new RouteNotFoundError(request.method, rawPath) : noRouteError(reply, request.method, request.hostname, path))
  })

  const extras: GatewayServerExtras = { pools, metrics, webSockets, snapshotVersion: () => snapshots.current.version, snapshot: () => snapshots.current }
  return Object.assign(fastify, extras) as GatewayServer
}
