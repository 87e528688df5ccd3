// Forwards one request to a target of the upstream and streams the answer back: bodies
// are never buffered in either direction. Real target failures (target-failure.ts) mark
// the target's passive health, and an idempotent request whose body can be replayed gets
// one retry on another target after a connection-level failure.
import { EventEmitter } from 'node:events'
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Dispatcher } from 'undici'
import { PayloadTooLargeError, RequestTimeoutError, ServiceUnavailableError, UpstreamTimeoutError, UpstreamUnavailableError } from '../../domain/errors.js'
import { REQUEST_ID_HEADER } from '../../domain/request-id.js'
import { limitBodyIdle, limitBodySize, releaseBody } from '../request-body.js'
import { TappedResponse, type ResponseBodyTap } from './body-tap.js'
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
}

// `expect` is not hop-by-hop, but the gateway answers it itself (RFC 9110 §10.1.1) and undici refuses it
export const HOP_BY_HOP: ReadonlySet<string> = new Set(['expect', 'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'])
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

/** The catalogue error for a failed exchange with a target; the failure is its cause, for the log line. */
function toGatewayError (error: unknown, target: UpstreamTarget): Error {
  const code = (error as { code?: string }).code
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return new UpstreamTimeoutError({ cause: error })
  return upstreamTlsError(error, target.url) ?? new UpstreamUnavailableError({ cause: error })
}

export async function proxyHttpRequest (request: FastifyRequest, reply: FastifyReply, options: ProxyOptions): Promise<ProxyOutcome> {
  const method = request.method
  const replayable = options.body === undefined || Buffer.isBuffer(options.body)
  // undici also takes an EventEmitter as the abort signal: far cheaper than an AbortController per request
  const abort = new EventEmitter()
  let clientGone = false
  const onClientGone = (): void => {
    if (reply.raw.writableFinished) return
    clientGone = true
    abort.emit('abort')
  }
  reply.raw.once('close', onClientGone)
  const started = performance.now()
  const first = options.pool.pick()
  if (first === undefined) throw new ServiceUnavailableError('No healthy upstream target')
  let target: UpstreamTarget = first
  let outcome: ProxyOutcome | undefined
  let bodyStalled = false
  let bodyTooLarge = false
  let body: Readable | Buffer | undefined = options.body
  if (options.body !== undefined && !Buffer.isBuffer(options.body)) {
    limitBodyIdle(options.body, reply.raw, options.bodyIdleTimeoutMs, () => {
      // with the answer started, a cut connection is the only signal left; its 'close' aborts the upstream
      if (outcome !== undefined) {
        reply.raw.destroy()
        return
      }
      bodyStalled = true
      abort.emit('abort')
    })
    if (options.bodyLimitBytes !== undefined) {
      body = limitBodySize(options.body, options.bodyLimitBytes, () => {
        if (outcome !== undefined) {
          reply.raw.destroy()
          return
        }
        bodyTooLarge = true
        abort.emit('abort')
      })
    }
    // only now, with every policy passed and a target to take it, is the body asked for
    releaseBody(options.body, reply.raw)
  }
  for (let attempt = 1; ; attempt++) {
    const attempted = target
    attempted.activeRequests++
    options.onAttempt?.(attempted)
    try {
      // undici writes the upstream body straight into the client response: no intermediate stream per request
      await attempted.pool.stream({
        method: method as Dispatcher.HttpMethod,
        path: attempted.basePath + options.path,
        headers: upstreamRequestHeaders(request, attempted, options),
        body,
        signal: abort
      }, ({ statusCode, headers }) => {
        if (isTargetFailureStatus(statusCode)) attempted.health.recordFailure(Date.now())
        else attempted.health.recordSuccess()
        outcome = { statusCode, upstreamMs: performance.now() - started, target: attempted.url }
        const tap = options.onUpstreamResponse?.(outcome.upstreamMs, statusCode, headers as IncomingHttpHeaders)
        const response = startResponse(reply, statusCode, headers as IncomingHttpHeaders)
        return tap === undefined ? response : new TappedResponse(response, tap)
      })
      attempted.activeRequests--
      break
    } catch (error) {
      attempted.activeRequests--
      // once the status line is out, the only honest signal left is a cut connection
      if (outcome !== undefined) {
        reply.raw.destroy()
        return outcome
      }
      if (bodyStalled) throw new RequestTimeoutError(`The request body sent nothing for ${options.bodyIdleTimeoutMs / 1000} s`)
      if (bodyTooLarge) throw new PayloadTooLargeError(String(options.bodyLimitBytes))
      if (clientGone) throw new UpstreamUnavailableError()
      if (isTargetFailure(error)) attempted.health.recordFailure(Date.now())
      const next: UpstreamTarget | undefined = attempt === 1 && isRetryableFailure(error) && replayable && IDEMPOTENT.has(method) ? options.pool.pick(attempted) : undefined
      if (next === undefined) throw toGatewayError(error, attempted)
      target = next
    }
  }
  return outcome as ProxyOutcome
}

/** Takes the response over from Fastify and writes the status and headers: the gateway's own, then the upstream's. */
function startResponse (reply: FastifyReply, statusCode: number, upstreamHeaders: IncomingHttpHeaders): ServerResponse {
  const own = reply.getHeaders()
  reply.hijack()
  const raw = reply.raw
  raw.statusCode = statusCode
  for (const name in own) {
    const value = own[name]
    if (value !== undefined) raw.setHeader(name, value as string | string[])
  }
  const listed = connectionListed(upstreamHeaders)
  for (const name in upstreamHeaders) {
    // the client sees the id the gateway logged, even if the upstream answers with another
    if (HOP_BY_HOP.has(name) || listed?.has(name) === true || name === REQUEST_ID_HEADER) continue
    const value = upstreamHeaders[name]
    if (value === undefined) continue
    raw.setHeader(name, value)
  }
  return raw
}
