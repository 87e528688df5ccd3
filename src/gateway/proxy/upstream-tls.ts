// TLS to an upstream's https:// targets, the same for its HTTP pools (undici), its health
// probes (the same pools) and its WebSocket connections (ws): the operator's CA bundle in
// place of Node's own CAs, the gateway's client certificate, the SNI name, and the explicit
// opt-out of verification.
import { createHash } from 'node:crypto'
import type { Socket } from 'node:net'
import type { ConnectionOptions } from 'node:tls'
import { buildConnector } from 'undici'
import type { SecretBox } from '../../domain/crypto.js'
import type { SnapshotUpstreamTls } from '../../store/config-snapshot.js'

export interface UpstreamTls {
  /** ca, cert, key and rejectUnauthorized: what every connection to a target passes to tls.connect */
  connection: ConnectionOptions
  /** SNI name and the name the certificate must carry; undefined: the target's host */
  servername: string | undefined
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
  const connection: ConnectionOptions = { rejectUnauthorized: !tls.insecureSkipVerify }
  if (tls.caBundle !== null) connection.ca = tls.caBundle
  if (key !== undefined && tls.clientCertificate !== null) {
    connection.cert = tls.clientCertificate
    connection.key = key
  }
  return {
    connection,
    servername: tls.servername ?? undefined,
    clientKeyUnreadable,
    fingerprint: createHash('sha256').update(JSON.stringify(tls)).digest('base64url')
  }
}

/**
 * undici reports a TLS alert that comes after the handshake as a bare "other side closed":
 * in TLS 1.3 an upstream refuses the client certificate (or its absence) only then. Ending
 * the socket with the alert itself gives the request the real reason.
 */
function endWithTlsAlert (this: Socket, error: NodeJS.ErrnoException): void {
  if (error.code?.startsWith('ERR_SSL_') === true && !this.destroyed) this.destroy(error)
}

/** The connector of an https target's pool. */
export function httpsConnector (connectTimeoutMs: number, tls: UpstreamTls | undefined): buildConnector.connector {
  const connect = buildConnector({ timeout: connectTimeoutMs, ...tls?.connection })
  const servername = tls?.servername
  return (options, callback) => {
    // undici names the server after the request's Host header; an operator's servername wins over it
    connect(servername === undefined ? options : { ...options, servername }, (...result) => {
      result[1]?.prependListener('error', endWithTlsAlert)
      callback(...result)
    })
  }
}

/** Options of a WebSocket to a target (ws passes them to tls.connect for wss:// URLs). */
export function webSocketTlsOptions (tls: UpstreamTls | undefined): ConnectionOptions {
  if (tls === undefined) return {}
  return tls.servername === undefined ? tls.connection : { ...tls.connection, servername: tls.servername }
}
