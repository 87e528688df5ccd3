// The connection a request arrived on, for what only the connection knows: the bytes it
// carried and whether it is encrypted. Under HTTP/2 `request.socket` is a proxy that forwards
// to the stream, not the connection, once the stream has closed (when the access log reads
// it), so each session's TLS socket is remembered as the session starts.
import type { IncomingMessage } from 'node:http'
import type { Http2SecureServer, Http2ServerRequest, Http2Session } from 'node:http2'
import type { Socket } from 'node:net'

const sessionSockets = new WeakMap<Http2Session, Socket>()

export function rememberSessionSockets (server: Http2SecureServer): void {
  let starting: Http2Session | undefined
  // Node's HTTP/2 'secureConnection' listener, registered before this one, emits 'session'
  // synchronously: the next 'secureConnection' listener call is that session's socket
  server.on('session', session => { starting = session })
  server.on('secureConnection', socket => {
    if (starting !== undefined) sessionSockets.set(starting, socket)
    starting = undefined
  })
}

/** The request's connection: its socket over HTTP/1.x, its session's TLS socket over HTTP/2. */
export function clientSocket (request: IncomingMessage | Http2ServerRequest): Socket {
  if (request.httpVersionMajor !== 2) return request.socket as Socket
  const session = (request as Http2ServerRequest).stream.session
  return (session === undefined ? undefined : sessionSockets.get(session)) ?? request.socket as Socket
}
