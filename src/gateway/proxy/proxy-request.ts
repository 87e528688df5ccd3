// Forwards one request to a target of the upstream and streams the answer back: bodies
// are never buffered in either direction. Real target failures (target-failure.ts) mark
// the target's passive health, and an idempotent request whose body can be replayed gets
// one retry on another target after a connection-level failure.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerResponse } from 'node:http2'
import type { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { errors, type Dispatcher } from 'undici'
import { ClientClosedRequestError, PayloadTooLargeError, RequestTimeoutError, ServiceUnavailableError, UpstreamTimeoutError, UpstreamUnavailableError } from '../../domain/errors.js'
import { REQUEST_ID_HEADER } from '../../domain/request-id.js'
import { limitBodyIdle, limitBodySize, releaseBody } from '../request-body.js'
import type { ResponseBodyTap } from './body-tap.js'
import { isRetryableFailure, isTargetFailure, isTargetFailureStatus } from './target-failure.js'
import { upstreamTlsError } from './tls-failure.js'
import type { UpstreamPool, UpstreamTarget } from './upstream-pool.js'

export interface ProxyOptions {
  pool: UpstreamPool
  /** upstream path with the query string */
  path: string
  /** the client's request stream, streamed through; or the body already read */
  body: IncomingMessage | Buffer | undefined
  /** a streamed body that sends nothing for this long ends the exchange: 408, or a cut connection */
  bodyIdleTimeoutMs: number
  /** a streamed body that grows past this many bytes ends the exchange: 413, or a cut connection; undefined = no cap */
  bodyLimitBytes: number | undefined
  /** set on the upstream request, replacing anything the client sent under these names */
  setHeaders: Record<string, string>
  /** the gateway's own response headers; the upstream's win a name both set */
  responseHeaders: Readonly<Record<string, string>>
  /** request headers never forwarded, e.g. the credentials */
  removeHeaders: readonly string[]
  /** called with each target tried, before the request is sent to it */
  onAttempt?: (target: UpstreamTarget) => void
  /**
   * called with the time to the upstream's response headers, its status and headers, before
   * they are sent: the policies may rewrite the headers, and return a tap to see the body
   */
  onUpstreamResponse?: (upstreamMs: number, statusCode: number, headers: IncomingHttpHeaders) => ResponseBodyTap | undefined
}

export interface ProxyOutcome {
  statusCode: number
  upstreamMs: number
  target: string
  /** the answer started but did not end: the client left, broke a body limit, or the upstream broke off */
  cutShort?: 'client_closed' | 'rejected' | 'upstream_error'
}

// `expect` is not hop-by-hop, but the gateway answers it itself (RFC 9110 §10.1.1) and undici refuses it
export const HOP_BY_HOP: ReadonlySet<string> = new Set(['expect', 'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'])
const { RequestAbortedError } = errors
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'])
const COLON = 0x3a

/** Header names the Connection header lists are hop-by-hop too (RFC 9110 §7.6.1). */
export function connectionListed (headers: IncomingHttpHeaders): Set<string> | undefined {
  const connection = headers.connection
  if (connection === undefined) return undefined
  const listed = String(connection).toLowerCase()
  // the usual values: nothing the hop-by-hop set does not drop already, and no Set per request
  if (listed === 'keep-alive' || listed === 'close') return undefined
  return new Set(listed.split(',').map(name => name.trim()).filter(name => name !== ''))
}

function upstreamRequestHeaders (request: FastifyRequest, target: UpstreamTarget, options: ProxyOptions): Record<string, string | string[]> {
  const incoming = request.headers
  const listed = connectionListed(incoming)
  const headers: Record<string, string | string[]> = {}
  for (const name in incoming) {
    const value = incoming[name]
    // HTTP/2 pseudo-headers (:method, :path, :scheme, :authority) are the request line, not headers
    if (value === undefined || name.charCodeAt(0) === COLON || HOP_BY_HOP.has(name) || name === 'host' || listed?.has(name) === true || options.removeHeaders.includes(name)) continue
    headers[name] = value
  }
  const remoteAddress = request.raw.socket.remoteAddress ?? ''
  const forwardedFor = incoming['x-forwarded-for']
  // the gateway is the edge: it trusts no X-Forwarded-* from clients except to append to the chain
  headers['x-forwarded-for'] = forwardedFor !== undefined ? `${String(forwardedFor)}, ${remoteAddress}` : remoteAddress
  headers['x-forwarded-proto'] = (request.raw.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http'
  headers['x-forwarded-host'] = incoming.host ?? (incoming[':authority'] as string | undefined) ?? ''
  headers.host = target.host
  for (const name in options.setHeaders) headers[name] = options.setHeaders[name]
  return headers
}

/**
 * Whether the client is gone: its HTTP/1.1 response or its HTTP/2 stream has closed. An
 * exchange with the upstream started now would wait for a 'close' event already past.
 */
function responseGone (response: ServerResponse | Http2ServerResponse): boolean {
  return 'stream' in response ? response.stream.destroyed : response.destroyed
}

/** The catalogue error for a failed exchange with a target; the failure is its cause, for the log line. */
function toGatewayError (error: unknown, target: UpstreamTarget): Error {
  const code = (error as { code?: string }).code
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return new UpstreamTimeoutError({ cause: error })
  return upstreamTlsError(error, target.url) ?? new UpstreamUnavailableError({ cause: error })
}

export async function proxyHttpRequest (request: FastifyRequest, reply: FastifyReply, options: ProxyOptions): Promise<ProxyOutcome> {
  const method = request.method
  const replayable = options.body === undefined || Buffer.isBuffer(options.body)
  const response = reply.raw
  // a client that left while its request waited (for its rate limit, say) is not sent upstream
  if (responseGone(response)) throw new ClientClosedRequestError()
  const started = performance.now()
  const first = options.pool.pick()
  if (first === undefined) throw new ServiceUnavailableError('No healthy upstream target')
  let attempt = new UpstreamAttempt(reply, first, started, options)
  // the response's end, or the client leaving, settles whichever attempt runs
  response.once('close', () => { attempt.responseClosed(response.writableFinished) })
  let body: Readable | Buffer | undefined = options.body
  if (options.body !== undefined && !Buffer.isBuffer(options.body)) {
    limitBodyIdle(options.body, response, options.bodyIdleTimeoutMs, () => { attempt.end('body_stalled') })
    if (options.bodyLimitBytes !== undefined) body = limitBodySize(options.body, options.bodyLimitBytes, () => { attempt.end('body_too_large') })
    // only now, with every policy passed and a target to take it, is the body asked for
    releaseBody(options.body, response)
  }
  for (let attempts = 1; ; attempts++) {
    const target = attempt.target
    target.activeRequests++
    options.onAttempt?.(target)
    try {
      target.pool.dispatch({
        method: method as Dispatcher.HttpMethod,
        path: target.basePath + options.path,
        headers: upstreamRequestHeaders(request, target, options),
        body
      }, attempt)
      await attempt.settled
      target.activeRequests--
      return attempt.outcome as ProxyOutcome
    } catch (error) {
      target.activeRequests--
      // once the status line is out, the only honest signal left is a cut connection
      if (attempt.outcome !== undefined) {
        response.destroy()
        attempt.outcome.cutShort ??= 'upstream_error'
        return attempt.outcome
      }
      const ended = attempt.endedBecause
      if (ended === 'body_stalled') throw new RequestTimeoutError(`The request body sent nothing for ${options.bodyIdleTimeoutMs / 1000} s`)
      if (ended === 'body_too_large') throw new PayloadTooLargeError(String(options.bodyLimitBytes))
      if (ended === 'client_gone') throw new ClientClosedRequestError()
      if (isTargetFailure(error)) target.health.recordFailure(Date.now())
      const next: UpstreamTarget | undefined = attempts === 1 && isRetryableFailure(error) && replayable && IDEMPOTENT.has(method) ? options.pool.pick(target) : undefined
      if (next === undefined) throw toGatewayError(error, target)
      attempt = new UpstreamAttempt(reply, next, started, options)
    }
  }
}

/** Why the gateway itself ended an exchange with the upstream. */
type EndReason = 'client_gone' | 'body_stalled' | 'body_too_large'

/**
 * undici's handler for one request to one target: writes the upstream's status, headers and
 * body into the client's response as they come, with the response's backpressure. `settled`
 * resolves once the client's response has closed after finishing, and rejects when the
 * exchange failed: the target could not be reached, it broke off, or the gateway ended it
 * (`endedBecause`).
 */
class UpstreamAttempt implements Dispatcher.DispatchHandler {
  readonly target: UpstreamTarget
  readonly settled: Promise<void>
  /** set once the upstream's status and headers have arrived */
  outcome: ProxyOutcome | undefined = undefined
  endedBecause: EndReason | undefined = undefined
  readonly #reply: FastifyReply
  readonly #started: number
  readonly #options: ProxyOptions
  #controller: Dispatcher.DispatchController | undefined = undefined
  #tap: ResponseBodyTap | undefined = undefined
  #complete = false
  #resolve: () => void = noop
  #reject: (error: Error) => void = noop

  constructor (reply: FastifyReply, target: UpstreamTarget, started: number, options: ProxyOptions) {
    this.target = target
    this.#reply = reply
    this.#started = started
    this.#options = options
    this.settled = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
  }

  /**
   * Ends the exchange for the gateway's reason. Before the answer started, `settled` rejects
   * with it; after, the client's connection is cut (the only honest signal left) and the
   * upstream's request aborted.
   */
  end (reason: EndReason): void {
    if (this.outcome === undefined) {
      this.endedBecause ??= reason
    } else {
      this.outcome.cutShort ??= reason === 'client_gone' ? 'client_closed' : 'rejected'
      this.#reply.raw.destroy()
    }
    // the upstream's answer is all in: there is nothing left to abort
    if (this.#complete) this.#reject(new RequestAbortedError())
    // not dispatched to a connection yet: aborted the moment it is (onRequestStart)
    else this.#controller?.abort(new RequestAbortedError())
  }

  /** The client's response closed: after finishing, the exchange is done; before, the client left. */
  responseClosed (finished: boolean): void {
    if (finished) this.#resolve()
    else this.end('client_gone')
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.endedBecause !== undefined) controller.abort(new RequestAbortedError())
  }

  onResponseStart (controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // 1xx (Early Hints, a stray 100 Continue) are not the answer
    if (statusCode < 200) return
    const target = this.target
    if (isTargetFailureStatus(statusCode)) target.health.recordFailure(Date.now())
    else target.health.recordSuccess()
    const outcome = { statusCode, upstreamMs: performance.now() - this.#started, target: target.url }
    this.outcome = outcome
    this.#tap = this.#options.onUpstreamResponse?.(outcome.upstreamMs, statusCode, headers)
    const response = writeResponseHead(this.#reply, statusCode, this.#options.responseHeaders, headers)
    response.on('drain', () => { controller.resume() })
    if (response.writableNeedDrain) controller.pause()
  }

  onResponseData (controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#tap?.write(chunk)
    if (!this.#reply.raw.write(chunk)) controller.pause()
  }

  onResponseEnd (): void {
    this.#complete = true
    this.#tap?.end()
    this.#reply.raw.end()
  }

  onResponseError (_controller: Dispatcher.DispatchController, error: Error): void {
    this.#reject(error)
  }
}

function noop (): void {}

/**
 * Takes the response over from Fastify and writes the status line and headers in one go: the
 * gateway's own, then the upstream's (a flat list: Node stores none of them on the response).
 */
function writeResponseHead (reply: FastifyReply, statusCode: number, own: Readonly<Record<string, string>>, upstreamHeaders: IncomingHttpHeaders): ServerResponse {
  reply.hijack()
  const listed = connectionListed(upstreamHeaders)
  const head: Array<string | string[]> = []
  for (const name in own) {
    // a header the upstream sends too is the upstream's (the policies rewrote it as they saw fit)
    if (upstreamHeaders[name] !== undefined && forwardedFromUpstream(name, listed)) continue
    head.push(name, own[name])
  }
  for (const name in upstreamHeaders) {
    const value = upstreamHeaders[name]
    if (value !== undefined && forwardedFromUpstream(name, listed)) head.push(name, value)
  }
  return reply.raw.writeHead(statusCode, head)
}

function forwardedFromUpstream (name: string, connectionListed: Set<string> | undefined): boolean {
  // the client sees the id the gateway logged, even if the upstream answers with another
  return !HOP_BY_HOP.has(name) && connectionListed?.has(name) !== true && name !== REQUEST_ID_HEADER
}
