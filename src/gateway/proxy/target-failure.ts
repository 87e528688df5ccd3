// What counts against a target's passive health (pure). Only failures of the target itself:
// it refused or dropped the connection, its TLS failed (a certificate the gateway does not
// trust, a handshake it refused), or it answered 502/503/504 (the status a target gives
// when it is overloaded or its own backend is gone). A response timeout is not one: a
// single slow endpoint would otherwise eject a target that serves everything else well.
import { tlsFailureOf } from './tls-failure.js'

/** Errors where the target could not be reached or cut the connection. */
const TARGET_FAILURES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT'])

/** Errors after which the request surely never reached the application: safe to replay elsewhere. */
const RETRYABLE = new Set([...TARGET_FAILURES, 'UND_ERR_CLOSED'])

function codeOf (error: unknown): string | undefined {
  return (error as { code?: string } | null)?.code
}

export function isTargetFailure (error: unknown): boolean {
  const code = codeOf(error)
  return code !== undefined && (TARGET_FAILURES.has(code) || tlsFailureOf(error) !== undefined)
}

/**
 * UND_ERR_CLOSED: the target's pool closed under the request because a configuration change
 * removed it. A TLS failure ends the connection before the upstream's application reads anything.
 */
export function isRetryableFailure (error: unknown): boolean {
  const code = codeOf(error)
  return code !== undefined && (RETRYABLE.has(code) || tlsFailureOf(error) !== undefined)
}

export function isTargetFailureStatus (statusCode: number): boolean {
  return statusCode === 502 || statusCode === 503 || statusCode === 504
}
