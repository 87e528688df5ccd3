// Checks a WebSocket opening handshake (RFC 6455 §4.2.1) before any policy or upstream
// work: `ws` checks the same things inside handleUpgrade(), but by then the gateway has
// connected to the upstream and taken a connection slot, and ws refuses with a plain-text
// answer and never calls back — so the upstream connection and the slot would leak. A
// malformed upgrade is refused here first, with the JSON error. Node emits 'upgrade' only
// when Connection carries the upgrade token, so that part needs no check.
import type { IncomingHttpHeaders } from 'node:http'
import { BadWebSocketHandshakeError, MethodNotAllowedError } from '../../domain/errors.js'
import type { SetResponseHeader } from '../policies/authentication/authenticate.js'

// 16 random bytes in base64, as §4.1 requires of the client
const KEY = /^[+/0-9A-Za-z]{22}==$/
// RFC 9110 token characters, which subprotocol names are made of
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// the versions `ws` speaks: 13 is RFC 6455, 8 the last draft some old clients still send
const SUPPORTED_VERSIONS = ['13', '8']

/** Sec-WebSocket-Protocol as a list of names; undefined when the header is malformed. */
function parseSubprotocols (header: string | undefined): string[] | undefined {
  if (header === undefined) return []
  const names = header.split(',').map(name => name.trim())
  if (names.some(name => !TOKEN.test(name)) || new Set(names).size !== names.length) return undefined
  return names
}

/** Returns the subprotocols the client offers, in its order; throws the error to answer with. */
export function checkHandshake (method: string | undefined, headers: IncomingHttpHeaders, setHeader: SetResponseHeader): string[] {
  // other Upgrade tokens, such as h2c, are not ours to answer
  if (headers.upgrade?.trim().toLowerCase() !== 'websocket') throw new BadWebSocketHandshakeError('The Upgrade header must be websocket')
  if (method !== 'GET') {
    setHeader('Allow', 'GET')
    throw new MethodNotAllowedError('A WebSocket upgrade must be a GET request')
  }
  const key = headers['sec-websocket-key']
  if (key === undefined || !KEY.test(key)) throw new BadWebSocketHandshakeError('Missing or invalid Sec-WebSocket-Key header')
  const version = headers['sec-websocket-version']
  if (version === undefined || !SUPPORTED_VERSIONS.includes(version)) {
    // §4.4: name the versions the server understands
    setHeader('Sec-WebSocket-Version', SUPPORTED_VERSIONS.join(', '))
    throw new BadWebSocketHandshakeError('Missing or unsupported Sec-WebSocket-Version header')
  }
  const protocols = parseSubprotocols(headers['sec-websocket-protocol'])
  if (protocols === undefined) throw new BadWebSocketHandshakeError('Invalid Sec-WebSocket-Protocol header')
  return protocols
}
