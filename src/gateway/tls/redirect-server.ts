// The plain gateway port when every client must use TLS: each request, WebSocket upgrades
// included, gets 308 Permanent Redirect to the same host and path on the TLS port (308 keeps
// the method and body, unlike 301). The gateway's own /healthz, /readyz and /metrics stay
// served here: load balancers and Prometheus probe them over plain HTTP.
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { errorBody } from '../../domain/error-handler.js'
import { BadRequestError } from '../../domain/errors.js'
import { REQUEST_ID_HEADER, requestIdFrom } from '../../domain/request-id.js'
import { isReservedPath } from '../../domain/reserved-paths.js'
import { answerClientError, httpServerOptions } from '../client-connection.js'

const HTTPS_PORT = 443
/** a DNS name or IPv4 address, or a bracketed IPv6 address, then an optional port */
const HOST_HEADER = /^(?<hostname>[a-z0-9](?:[a-z0-9-]{0,62})(?:\.[a-z0-9-]{1,63})*\.?|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i

/** `https://host[:port]/path?query` for a request's Host header and target; undefined for a Host that is no host name. */
export function httpsLocation (host: string | undefined, url: string, tlsPort: number): string | undefined {
  const hostname = host === undefined ? undefined : HOST_HEADER.exec(host)?.groups?.hostname
  if (hostname === undefined) return undefined
  return `https://${hostname}${tlsPort === HTTPS_PORT ? '' : `:${tlsPort}`}${url.startsWith('/') ? url : '/'}`
}

function isGatewayPath (url: string): boolean {
  const queryStart = url.indexOf('?')
  return isReservedPath(queryStart === -1 ? url : url.slice(0, queryStart))
}

export interface RedirectServerOptions {
  headersTimeoutSeconds: number
  keepAliveTimeoutMs: number
  /** the TLS port's, read per request (it may listen on an ephemeral port) */
  tlsPort: () => number
  /** the gateway's request handler, for its own endpoints */
  gateway: (request: IncomingMessage, response: ServerResponse) => void
}

interface Answer { status: number, headers: Record<string, string>, body: string }

/** 308 to the TLS port, or 400 when the Host header names no host to redirect to. */
function redirectAnswer (request: IncomingMessage, tlsPort: number): Answer {
  const requestId = requestIdFrom(request.headers[REQUEST_ID_HEADER])
  const location = httpsLocation(request.headers.host, request.url ?? '/', tlsPort)
  if (location !== undefined) return { status: 308, headers: { location, 'content-length': '0', [REQUEST_ID_HEADER]: requestId }, body: '' }
  const error = new BadRequestError('The Host header does not name a host to redirect to')
  const body = JSON.stringify(errorBody(error.code, error.message, requestId))
  return { status: 400, headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), [REQUEST_ID_HEADER]: requestId }, body }
}

export function createRedirectServer (options: RedirectServerOptions): Server {
  const server = createServer(httpServerOptions(options.headersTimeoutSeconds), (request, response) => {
    if (isGatewayPath(request.url ?? '/')) {
      options.gateway(request, response)
      return
    }
    const { status, headers, body } = redirectAnswer(request, options.tlsPort())
    // the body is not read: rather than receive it for nothing, the connection ends with the answer
    const contentLength = request.headers['content-length']
    if (request.headers['transfer-encoding'] !== undefined || (contentLength !== undefined && contentLength !== '0')) headers.connection = 'close'
    response.writeHead(status, headers)
    response.end(body)
  })
  server.keepAliveTimeout = options.keepAliveTimeoutMs
  server.on('clientError', answerClientError)
  server.on('upgrade', (request: IncomingMessage, socket: Duplex) => {
    const { status, headers, body } = redirectAnswer(request, options.tlsPort())
    const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`, 'connection: close']
    for (const name in headers) lines.push(`${name}: ${headers[name]}`)
    socket.on('error', () => { socket.destroy() })
    socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`)
  })
  return server
}
