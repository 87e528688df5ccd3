// TLS to an upstream's https:// targets, the same for its HTTP pools (undici), its health
// probes (the same pools) and its WebSocket connections (ws): the operator's CA bundle in
// place of Node's own CAs, the gateway's client certificate, the SNI name, and the explicit
// opt-out of verification.
import { createHash } from 'node:crypto'
import type { Socket } from 'node:net'
import { createSecureContext, type ConnectionOptions } from 'node:tls'
import { buildConnector } from 'undici'
import type { SecretBox } from '../../domain/crypto.js'
import type { SnapshotUpstreamTls } from '../../store/config-snapshot.js'

export interface UpstreamTls {
  /** PEM; undefined: Node's own CAs */
  ca: string | undefined
  /** the client certificate and its opened key, or neither */
  cert: string | undefined
  key: string | undefined
  /** SNI name and the name the certificate must carry; undefined: the target's host */
  servername: string | undefined
  rejectUnauthorized: boolean
  /** the client key is sealed with another master key: connections go without the client certificate */
  clientKeyUnreadable: boolean
  /** differs whenever any setting does, so that a change rebuilds the targets' pools */
  fingerprint: string
}

/** Opens the sealed client key: once per snapshot compile, never per connection. */
export function compileUpstreamTls (tls: SnapshotUpstreamTls, secretBox: SecretBox): UpstreamTls {
  let key: string | undefined
  let clientKeyUnreadable = false
  if (tls.clientKeyCiphertext !== null) {
    try {
      key = secretBox.decrypt(tls.clientKeyCiphertext)
    } catch {
      clientKeyUnreadable = true
    }
  }
  const withClient = key !== undefined && tls.clientCertificate !== null
  return {
    ca: tls.caBundle ?? undefined,
    cert: withClient ? tls.clientCertificate ?? undefined : undefined,
    key: withClient ? key : undefined,
    servername: tls.servername ?? undefined,
    rejectUnauthorized: !tls.insecureSkipVerify,
    clientKeyUnreadable,
    fingerprint: createHash('sha256').update(JSON.stringify(tls)).digest('base64url')
  }
}

/**
 * What tls.connect gets for each connection to a target, the same for undici and ws. One
 * secure context per setting: tls.connect would otherwise build one from the PEM text for
 * every connection, milliseconds of CPU for a large CA bundle. Throws on PEM OpenSSL refuses.
 */
export function tlsConnectionOptions (tls: UpstreamTls): ConnectionOptions {
  const options: ConnectionOptions = { secureContext: createSecureContext({ ca: tls.ca, cert: tls.cert, key: tls.key }), rejectUnauthorized: tls.rejectUnauthorized }
  if (tls.servername !== undefined) options.servername = tls.servername
  return options
}

/**
 * undici reports a TLS alert that comes after the handshake as a bare "other side closed":
 * in TLS 1.3 an upstream refuses the client certificate (or its absence) only then. Ending
 * the socket with the alert itself gives the request the real reason.
 */
function endWithTlsAlert (this: Socket, error: NodeJS.ErrnoException): void {
  if (error.code?.startsWith('ERR_SSL_') === true && !this.destroyed) this.destroy(error)
}

/** The connector of an https target's pool; `connection` from tlsConnectionOptions, undefined for Node's defaults. */
export function httpsConnector (connectTimeoutMs: number, connection: ConnectionOptions | undefined): buildConnector.connector {
  const connect = buildConnector({ timeout: connectTimeoutMs, ...connection })
  const servername = connection?.servername
  return (options, callback) => {
    // undici names the server after the request's Host header; an operator's servername wins over it
    connect(servername === undefined ? options : { ...options, servername }, (...result) => {
      result[1]?.prependListener('error', endWithTlsAlert)
      callback(...result)
    })
  }
}
