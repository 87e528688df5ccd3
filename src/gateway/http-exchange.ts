// One HTTP request through the gateway: the policy units' context (what they read of the
// request and learn of it) and what the access log, the metrics and the trace report,
// filled in as it goes. One object per request, its methods on the prototype: no closure
// is made per request for the units to call back.
import type { IncomingHttpHeaders } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { REQUEST_ID_HEADER } from '../domain/request-id.js'
import type { Outcome, RouteMetrics } from '../observability/gateway-metrics.js'
import type { RequestSpans } from '../observability/tracing.js'
import type { TrustedProxies } from './client-address.js'
import type { AnsweredOutcome, PolicyContext } from './policies/chain.js'
import { PolicyContextState } from './policies/context-state.js'
import { readBoundedBody } from './request-body.js'
import { clientSocket } from './tls/http2-requests.js'
import type { RouteMatch } from './routing/route-table.js'
import type { CompiledApi, GatewaySnapshot } from './snapshot/compile.js'

/** What every exchange of one gateway server shares. */
export interface HttpExchangeSettings {
  trustedProxies: TrustedProxies
  /** bodies read for signature checks are bounded; streamed bodies are not read at all */
  signedBodyLimitBytes: number
  bodyIdleTimeoutMs: number
}

export class HttpExchange extends PolicyContextState implements PolicyContext {
  readonly request: FastifyRequest
  readonly reply: FastifyReply
  readonly #settings: HttpExchangeSettings
  /** kept from the start: a request whose body was read has no socket any more when it ends */
  readonly socket: Socket
  /** the peer's address, read at the start (a closed socket has none) when a log line or trace needs it */
  readonly peer: string | undefined
  /** the bound series of the API and route ('' ones until the route is known) */
  metrics: RouteMetrics
  outcome: Outcome = 'proxied'
  errorCode: string | undefined = undefined
  upstreamMs: number | undefined = undefined
  upstreamTarget: string | undefined = undefined
  /** only when tracing is on */
  readonly spans: RequestSpans | undefined

  /**
   * The gateway's own response headers (the request id, what the units set), kept here rather
   * than on Fastify's reply: the proxy writes them with the upstream's in one go, and only an
   * answer the gateway sends itself (an error, a preflight, a cached response) hands them to Fastify.
   */
  readonly responseHeaders: Record<string, string>
  answered = false
  /** the cap the units set on the body (limitBody); undefined = none but the signed-body limit when it is read */
  bodyLimitBytes: number | undefined = undefined
  #body: Promise<Buffer> | undefined = undefined
  #clientAddress: string | undefined = undefined

  constructor (request: FastifyRequest, reply: FastifyReply, settings: HttpExchangeSettings, metrics: RouteMetrics, spans: RequestSpans | undefined, keepPeer: boolean) {
    super()
    this.request = request
    this.reply = reply
    this.#settings = settings
    this.socket = clientSocket(request.raw)
    this.peer = keepPeer ? this.socket.remoteAddress : undefined
    this.metrics = metrics
    this.spans = spans
    this.responseHeaders = { [REQUEST_ID_HEADER]: String(request.id) }
  }

  get transport (): 'http' {
    return 'http'
  }

  get method (): string {
    return this.request.method
  }

  get url (): string {
    return this.request.raw.url ?? '/'
  }

  get headers (): IncomingHttpHeaders {
    return this.request.headers
  }

  get rawUrl (): string {
    return this.request.raw.url ?? '/'
  }

  get rawHeaders (): readonly string[] {
    return this.request.raw.rawHeaders
  }

  routed (snapshot: GatewaySnapshot, api: CompiledApi, match: RouteMatch, path: string, metrics: RouteMetrics): void {
    this.route(snapshot, api, match, path, metrics)
  }

  clientAddress (): string {
    this.#clientAddress ??= this.#settings.trustedProxies.clientAddress(this.peer ?? this.socket.remoteAddress, this.request.headers['x-forwarded-for'])
    return this.#clientAddress
  }

  setResponseHeader (name: string, value: string): void {
    this.responseHeaders[name] = value
  }

  setResponseHeaders (headers: Readonly<Record<string, string>>): void {
    for (const name in headers) this.responseHeaders[name] = headers[name]
  }

  readBody (): Promise<Buffer> {
    const limitBytes = this.bodyLimitBytes === undefined ? this.#settings.signedBodyLimitBytes : Math.min(this.bodyLimitBytes, this.#settings.signedBodyLimitBytes)
    this.#body ??= readBoundedBody(this.request.raw, this.reply.raw, limitBytes, this.#settings.bodyIdleTimeoutMs)
    return this.#body
  }

  limitBody (maxBytes: number): void {
    if (this.bodyLimitBytes === undefined || maxBytes < this.bodyLimitBytes) this.bodyLimitBytes = maxBytes
  }

  /** The body a unit read (a signature covered it), or undefined: then it streams to the upstream. */
  get bodyRead (): Promise<Buffer> | undefined {
    return this.#body
  }

  answer (statusCode: number, headers: Readonly<Record<string, string>>, body: string | Buffer | undefined, outcome: AnsweredOutcome): void {
    this.answered = true
    this.outcome = outcome
    void this.reply.code(statusCode).headers(this.responseHeaders).headers(headers).send(body)
  }
}
