// What a failed TLS connection to an upstream means (pure): its certificate was not
// trusted, or the handshake failed (the upstream refused the gateway's client certificate,
// or speaks no TLS there). Partners get the catalogue error; the reason goes to the log as
// its cause.
import { UpstreamCertificateUntrustedError, UpstreamTlsHandshakeError } from '../../domain/errors.js'

/** OpenSSL's certificate verification errors as Node names them, and Node's own name check. */
const CERTIFICATE_ERRORS = new Set([
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_CRL', 'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'CERT_SIGNATURE_FAILURE', 'CRL_SIGNATURE_FAILURE', 'CERT_NOT_YET_VALID', 'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID', 'CRL_HAS_EXPIRED', 'ERROR_IN_CERT_NOT_BEFORE_FIELD', 'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD', 'ERROR_IN_CRL_NEXT_UPDATE_FIELD', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_CHAIN_TOO_LONG', 'CERT_REVOKED', 'INVALID_CA',
  'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'HOSTNAME_MISMATCH', 'ERR_TLS_CERT_ALTNAME_INVALID'
])

export type TlsFailure = 'untrusted' | 'handshake'

export function tlsFailureOf (error: unknown): TlsFailure | undefined {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code !== 'string') return undefined
  if (CERTIFICATE_ERRORS.has(code)) return 'untrusted'
  // ERR_SSL_*: OpenSSL errors and alerts from the peer (certificate required or refused, no TLS at all)
  if (code.startsWith('ERR_SSL_')) return 'handshake'
  return undefined
}

/** The catalogue error for a TLS failure, with the failure as its cause and the target named; undefined for any other error. */
export function upstreamTlsError (error: unknown, target: string): Error | undefined {
  const failure = tlsFailureOf(error)
  if (failure === undefined) return undefined
  const GatewayError = failure === 'untrusted' ? UpstreamCertificateUntrustedError : UpstreamTlsHandshakeError
  return Object.assign(new GatewayError({ cause: error }), { upstreamTarget: target })
}
