// A cap on the TCP connections one client holds on a gateway process — HTTP keep-alive
// connections and WebSockets alike, an upgraded WebSocket being the same connection, on the
// plain port and the TLS port together — so that one machine cannot take every socket the
// process can have. On the plain port the connection over the cap is answered 429 and closed
// before Node's HTTP parser sees it (no request is parsed or handled); on the TLS port it is
// refused the same way right after its handshake, in the protocol it negotiated. The
// connections already open are untouched. The client is the TCP peer, not X-Forwarded-For:
// a proxy's connections are its own, and trusted proxies, which carry everyone's, are exempt.
import { STATUS_CODES, type Server } from 'node:http'
import type { Http2SecureServer, ServerHttp2Session, ServerHttp2Stream } from 'node:http2'
import type { Server as NetServer, Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { errorBody } from '../../domain/error-handler.js'
import { TooManyConnectionsFromClientError } from '../../domain/errors.js'
import { plainAddress, type TrustedProxies } from '../client-address.js'
import { clientKey } from './client-key.js'

/**
 * How long a refused connection is kept to read and drop what the client sent: closing with
 * its request unread would answer it with a reset, which can discard the 429 before it is read.
 */
const LINGER_MS = 1000

/** Open connections per client. */
export class ConnectionsPerClient {
  readonly #open = new Map<string, number>()
  readonly max: number

  constructor (max: number) {
    this.max = max
  }

  /** Counts a new connection of `client`; false, and not counted, when it already has `max`. */
  tryOpen (client: string): boolean {
    const open = this.#open.get(client) ?? 0
    if (open >= this.max) return false
    this.#open.set(client, open + 1)
    return true
  }

  close (client: string): void {
    const open = this.#open.get(client) ?? 0
    if (open <= 1) this.#open.delete(client)
    else this.#open.set(client, open - 1)
  }

  openFor (client: string): number {
    return this.#open.get(client) ?? 0
  }
}

export interface ConnectionCapOptions {
  /** the process's counts, shared by all its listeners: a client's connections count across ports */
  counts: ConnectionsPerClient
  trustedProxies: TrustedProxies
  /** called with the error code of every refused connection (metrics) */
  onRefused: (code: string) => void
}

/** The refusal's JSON body, and the same as a whole HTTP/1.1 response that closes the connection. */
function refusalOf (max: number): { code: string, body: string, http1Answer: Buffer } {
  const refusal = new TooManyConnectionsFromClientError(String(max))
  const body = JSON.stringify(errorBody(refusal.code, refusal.message))
  const http1Answer = Buffer.from(`HTTP/1.1 429 ${STATUS_CODES[429] as string}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  return { code: refusal.code, body, http1Answer }
}

/**
 * Counts the server's new TCP connections before the server takes them. A connection over the
 * cap is not counted and goes to `overCap`, which says whether the server still takes it.
 */
function gateConnections (server: NetServer, options: ConnectionCapOptions, code: string, overCap: (socket: Socket) => boolean): void {
  const { counts, trustedProxies, onRefused } = options
  // Node's servers take a connection in their own 'connection' listener (emitting 'connection'
  // is the documented way to hand them one): those listeners move behind the cap
  const admit = server.listeners('connection') as Array<(socket: Socket) => void>
  server.removeAllListeners('connection')
  server.on('connection', (socket: Socket) => {
    // undefined: the peer is gone already, and the server will find out
    const address = socket.remoteAddress
    const plain = address === undefined ? undefined : plainAddress(address)
    if (plain !== undefined && !trustedProxies.trusts(plain)) {
      const client = clientKey(plain)
      if (!counts.tryOpen(client)) {
        onRefused(code)
        if (!overCap(socket)) return
      } else {
        socket.once('close', () => { counts.close(client) })
      }
    }
    for (const listener of admit) listener.call(server, socket)
  })
}

/** Puts the cap in front of the HTTP server's handling of new connections; call it before `listen` and before anything else listens for connections. */
export function capConnectionsPerClient (server: Server, options: ConnectionCapOptions): void {
  const { code, http1Answer } = refusalOf(options.counts.max)
  gateConnections(server, options, code, socket => {
    refuse(socket, http1Answer)
    return false
  })
}

/**
 * Puts the cap in front of the TLS server (HTTP/2 with HTTP/1.1 fallback). A connection over the
 * cap cannot be answered before its handshake (a plaintext 429 is no TLS): it shakes hands,
 * uncounted, then HTTP/1.1 (WebSocket upgrades included) gets the plain port's 429 before its
 * request is parsed, and HTTP/2 gets 429 on its streams and GOAWAY after the first. Call it
 * before `listen`, after the server's other 'secureConnection' listeners.
 */
export function capTlsConnectionsPerClient (server: Http2SecureServer, options: ConnectionCapOptions): void {
  const { code, body, http1Answer } = refusalOf(options.counts.max)
  const overCap = new WeakSet<Socket>()
  gateConnections(server, options, code, socket => {
    overCap.add(socket)
    return true
  })
  // the session's own listener would hand its streams to the gateway's routes
  const refuseStreams = (session: ServerHttp2Session): void => {
    session.removeAllListeners('stream')
    session.on('stream', (stream: ServerHttp2Stream) => {
      stream.on('error', () => { stream.destroy() })
      // GOAWAY once the answer is out: the streams the client sent along with this one are answered too
      stream.once('close', () => { session.close() })
      stream.respond({ ':status': 429, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) })
      stream.end(body)
    })
  }
  // Node's HTTP/2 listener (HTTP/1.1 parser or HTTP/2 session) and the TLS port's own move behind the cap
  const admit = server.listeners('secureConnection') as Array<(socket: TLSSocket) => void>
  server.removeAllListeners('secureConnection')
  server.on('secureConnection', (socket: TLSSocket) => {
    // Node's TLS server wraps the TCP socket it accepted; `_parent` (not in Node's types) is that socket
    if (!overCap.has((socket as TLSSocket & { _parent: Socket })._parent)) {
      for (const listener of admit) listener.call(server, socket)
    } else if (socket.alpnProtocol !== 'h2') {
      refuse(socket, http1Answer)
    } else {
      // Node's HTTP/2 listener emits the connection's 'session' synchronously
      server.once('session', refuseStreams)
      for (const listener of admit) listener.call(server, socket)
      server.off('session', refuseStreams)
    }
  })
}

function refuse (socket: Socket, answer: Buffer): void {
  socket.on('error', () => { socket.destroy() })
  const linger = setTimeout(() => { socket.destroy() }, LINGER_MS)
  socket.once('close', () => { clearTimeout(linger) })
  // the HTTP server is half-open: the client's end of the stream does not close the socket by itself
  socket.once('end', () => { socket.destroy() })
  socket.resume()
  socket.end(answer)
}
