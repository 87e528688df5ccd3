// One WebSocket upgrade through the gateway: the policy units' context, as for an HTTP
// request, and what the access log and the metrics report of it. The units' response headers
// go on the refusal (the handshake's 101 carries none of them).
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { Outcome, RouteMetrics } from '../../observability/gateway-metrics.js'
import type { TrustedProxies } from '../client-address.js'
import type { PolicyContext } from '../policies/chain.js'
import { PolicyContextState } from '../policies/context-state.js'
import type { RouteMatch } from '../routing/route-table.js'
import type { CompiledApi, GatewaySnapshot } from '../snapshot/compile.js'

const NO_BODY = Buffer.alloc(0)

export class WebSocketUpgrade extends PolicyContextState implements PolicyContext {
  readonly request: IncomingMessage
  readonly requestId: string
  readonly startedAt = performance.now()
  /** read at the start: a socket that was answered and closed no longer knows its peer */
  readonly peer: string | undefined
  readonly #trustedProxies: TrustedProxies
  /** what a refusal counts as; 'proxied' once the upgrade succeeded */
  outcome: Outcome = 'rejected'
  metrics: RouteMetrics | undefined = undefined
  upstreamTarget: string | undefined = undefined
  /** the units' headers, sent with a refusal */
  readonly responseHeaders: Record<string, string> = {}

  // the policy context, set when the upgrade is routed
  url: string
  headers: IncomingHttpHeaders

  constructor (request: IncomingMessage, requestId: string, trustedProxies: TrustedProxies) {
    super()
    this.request = request
    this.requestId = requestId
    this.peer = request.socket.remoteAddress
    this.#trustedProxies = trustedProxies
    this.url = request.url ?? '/'
    this.headers = request.headers
  }

  get transport (): 'websocket' {
    return 'websocket'
  }

  get method (): string {
    return 'GET'
  }

  get answered (): boolean {
    return false
  }

  get rawUrl (): string {
    return this.request.url ?? '/'
  }

  get rawHeaders (): readonly string[] {
    return this.request.rawHeaders
  }

  /** `url` and `headers`: what authentication reads (a URL signed in its query becomes the request it signed). */
  routed (snapshot: GatewaySnapshot, api: CompiledApi, match: RouteMatch, path: string, metrics: RouteMetrics, signed: { url: string, headers: IncomingHttpHeaders }): void {
    this.route(snapshot, api, match, path, metrics)
    this.url = signed.url
    this.headers = signed.headers
  }

  clientAddress (): string {
    return this.#trustedProxies.clientAddress(this.peer, this.request.headers['x-forwarded-for'])
  }

  setResponseHeader (name: string, value: string): void {
    this.responseHeaders[name] = value
  }

  setResponseHeaders (headers: Readonly<Record<string, string>>): void {
    Object.assign(this.responseHeaders, headers)
  }

  async readBody (): Promise<Buffer> {
    return NO_BODY
  }

  /** An upgrade has no body: once it succeeds, the WebSocket's own message limit applies. */
  limitBody (): void {}

  answer (): void {
    throw new Error('a WebSocket upgrade is answered by its upstream, never by a policy')
  }
}
