// What makes an HTTP/2 request look to the gateway like the HTTP/1.1 one it stands for.
// - Its connection: `request.socket` is a proxy that forwards to the stream, not the
//   connection, once the stream has closed (when the access log reads the bytes carried), so
//   each session's TLS socket is remembered as the session starts.
// - Its body: Fastify reads a body only when Content-Type, Content-Length or Transfer-Encoding
//   announce one, and HTTP/2 streams a body of unknown length (DATA frames) with none of them.
import type { IncomingMessage } from 'node:http'
import type { Http2SecureServer, Http2ServerRequest, Http2Session } from 'node:http2'
import type { Socket } from 'node:net'

const sessionSockets = new WeakMap<Http2Session, Socket>()

/** Marks a body that nothing announces (the marker is hop-by-hop: it never reaches the upstream). */
function announceBody (request: IncomingMessage | Http2ServerRequest): void {
  if (request.httpVersionMajor !== 2) return
  const headers = request.headers
  if (headers['content-type'] === undefined && headers['content-length'] === undefined && !(request as Http2ServerRequest).stream.endAfterHeaders) {
    headers['transfer-encoding'] = 'chunked'
  }
}

/** Registers before the server's other listeners: call it before the gateway serves `server`. */
export function adaptHttp2Requests (server: Http2SecureServer): void {
  let starting: Http2Session | undefined
  // Node's HTTP/2 'secureConnection' listener, registered when the server was made, emits
  // 'session' synchronously: the next 'secureConnection' listener call is that session's socket
  server.on('session', session => { starting = session })
  server.on('secureConnection', socket => {
    if (starting !== undefined) sessionSockets.set(starting, socket)
    starting = undefined
  })
  server.on('request', announceBody)
}

/** The request's connection: its socket over HTTP/1.x, its session's TLS socket over HTTP/2. */
export function clientSocket (request: IncomingMessage | Http2ServerRequest): Socket {
  if (request.httpVersionMajor !== 2) return request.socket as Socket
  const session = (request as Http2ServerRequest).stream.session
  return (session === undefined ? undefined : sessionSockets.get(session)) ?? request.socket as Socket
}
