// A cap on the TCP connections one client holds on a gateway process — HTTP keep-alive
// connections and WebSockets alike, an upgraded WebSocket being the same connection — so that
// one machine cannot take every socket the process can have. The connection over the cap is
// answered 429 and closed before Node's HTTP parser sees it (no request is parsed or handled);
// the connections already open are untouched. The client is the TCP peer, not X-Forwarded-For:
// a proxy's connections are its own, and trusted proxies, which carry everyone's, are exempt.
import { STATUS_CODES, type Server } from 'node:http'
import type { Socket } from 'node:net'
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
  /** 0 = no cap */
  maxPerClient: number
  trustedProxies: TrustedProxies
  /** called with the error code of every refused connection (metrics) */
  onRefused: (code: string) => void
}

/** Puts the cap in front of the HTTP server's handling of new connections; call it before `listen` and before anything else listens for connections. */
export function capConnectionsPerClient (server: Server, options: ConnectionCapOptions): void {
  if (options.maxPerClient === 0) return
  const counts = new ConnectionsPerClient(options.maxPerClient)
  const refusal = new TooManyConnectionsFromClientError(String(options.maxPerClient))
  const body = JSON.stringify(errorBody(refusal.code, refusal.message))
  const answer = Buffer.from(`HTTP/1.1 429 ${STATUS_CODES[429] as string}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  // Node's HTTP server takes a connection in its own 'connection' listener (emitting 'connection'
  // is the documented way to hand it one): those listeners move behind the cap
  const admit = server.listeners('connection') as Array<(socket: Socket) => void>
  server.removeAllListeners('connection')
  server.on('connection', (socket: Socket) => {
    // undefined: the peer is gone already, and the HTTP server will find out
    const address = socket.remoteAddress
    const plain = address === undefined ? undefined : plainAddress(address)
    if (plain !== undefined && !options.trustedProxies.trusts(plain)) {
      const client = clientKey(plain)
      if (!counts.tryOpen(client)) {
        refuse(socket, answer)
        options.onRefused(refusal.code)
        return
      }
      socket.once('close', () => { counts.close(client) })
    }
    for (const listener of admit) listener.call(server, socket)
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
