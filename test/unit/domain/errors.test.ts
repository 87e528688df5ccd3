// The error catalogue is part of the public API: every code is stable, unique and maps to
// the status the documentation promises.
import { describe, expect, it } from 'vitest'
import * as errors from '../../../src/domain/errors.js'
import { toErrorResponse } from '../../../src/domain/error-handler.js'

const EXPECTED: Record<string, [string, number]> = {
  RouteNotFoundError: ['ROUTE_NOT_FOUND', 404],
  BadWebSocketHandshakeError: ['BAD_WEBSOCKET_HANDSHAKE', 400],
  MethodNotAllowedError: ['METHOD_NOT_ALLOWED', 405],
  CorsOriginNotAllowedError: ['CORS_ORIGIN_NOT_ALLOWED', 403],
  IpNotAllowedError: ['IP_NOT_ALLOWED', 403],
  RequestTimeoutError: ['REQUEST_TIMEOUT', 408],
  ExpectationFailedError: ['EXPECTATION_FAILED', 417],
  HeadersTooLargeError: ['HEADERS_TOO_LARGE', 431],
  UriTooLongError: ['URI_TOO_LONG', 414],
  PayloadTooLargeError: ['PAYLOAD_TOO_LARGE', 413],
  UnsupportedMediaTypeError: ['UNSUPPORTED_MEDIA_TYPE', 415],
  MissingCredentialsError: ['MISSING_CREDENTIALS', 401],
  UnknownKeyError: ['UNKNOWN_KEY', 401],
  BadSignatureError: ['BAD_SIGNATURE', 401],
  ExpiredTimestampError: ['EXPIRED_TIMESTAMP', 401],
  ReplayedNonceError: ['REPLAYED_NONCE', 401],
  InvalidTokenError: ['INVALID_TOKEN', 401],
  ExpiredTokenError: ['EXPIRED_TOKEN', 401],
  AppSuspendedError: ['APP_SUSPENDED', 403],
  NotGrantedError: ['NOT_GRANTED', 403],
  RateLimitedError: ['RATE_LIMITED', 429],
  QuotaExceededError: ['QUOTA_EXCEEDED', 429],
  TooManyConnectionsError: ['TOO_MANY_CONNECTIONS', 429],
  TooManyConcurrentRequestsError: ['TOO_MANY_CONCURRENT_REQUESTS', 429],
  TooManyConnectionsFromClientError: ['TOO_MANY_CONNECTIONS_FROM_CLIENT', 429],
  TooManyFailedAuthenticationsError: ['TOO_MANY_FAILED_AUTHENTICATIONS', 429],
  UpstreamUnavailableError: ['UPSTREAM_UNAVAILABLE', 502],
  ClientClosedRequestError: ['CLIENT_CLOSED_REQUEST', 499],
  UpstreamTimeoutError: ['UPSTREAM_TIMEOUT', 504],
  UpstreamCertificateUntrustedError: ['UPSTREAM_CERTIFICATE_UNTRUSTED', 502],
  UpstreamTlsHandshakeError: ['UPSTREAM_TLS_HANDSHAKE_FAILED', 502],
  DependencyUnavailableError: ['DEPENDENCY_UNAVAILABLE', 503],
  MetricsIncompleteError: ['METRICS_INCOMPLETE', 503],
  DatabaseUnavailableError: ['DATABASE_UNAVAILABLE', 503],
  UpstreamBusyError: ['UPSTREAM_BUSY', 503],
  DataDirInUseError: ['DATA_DIR_IN_USE', 409],
  DataDirNotEmptyError: ['DATA_DIR_NOT_EMPTY', 409],
  OwnerUnreachableError: ['OWNER_UNREACHABLE', 503],
  OwnerCommandFailedError: ['OWNER_COMMAND_FAILED', 502],
  ReservedPathError: ['RESERVED_PATH', 409],
  RoutePrefixRequiredError: ['ROUTE_PREFIX_REQUIRED', 400],
  PartnerAdminRequiredError: ['PARTNER_ADMIN_REQUIRED', 403],
  LastPartnerAdminError: ['LAST_PARTNER_ADMIN', 409],
  InvalidLinkError: ['INVALID_LINK', 400]
}

type ErrorConstructor = new (...args: string[]) => Error & { code: string, statusCode: number }
const catalogue = Object.entries(errors) as Array<[string, ErrorConstructor]>

describe('error catalogue', () => {
  it('gives every error a unique SCREAMING_SNAKE code and an HTTP error status', () => {
    const codes = catalogue.map(([, ErrorClass]) => new ErrorClass('a', 'b').code)
    expect(new Set(codes).size).toBe(codes.length)
    for (const [name, ErrorClass] of catalogue) {
      const error = new ErrorClass('a', 'b')
      expect(error.code, name).toMatch(/^[A-Z][A-Z0-9_]+$/)
      expect(error.statusCode, name).toBeGreaterThanOrEqual(400)
      expect(error.statusCode, name).toBeLessThan(600)
    }
  })

  it.each(Object.entries(EXPECTED).map(([name, [code, status]]) => [name, code, status] as const))('%s is %s with status %i', (name, code, status) => {
    const ErrorClass = (errors as unknown as Record<string, ErrorConstructor>)[name]
    const { statusCode, body } = toErrorResponse(new ErrorClass('x', 'y') as never)
    expect({ statusCode, code: body.error.code }).toEqual({ statusCode: status, code })
  })

  it('hides the message of unexpected server errors', () => {
    expect(toErrorResponse(new Error('database password is hunter2') as never)).toEqual({ statusCode: 500, body: { error: { code: 'INTERNAL_ERROR', message: 'Internal server error' } } })
  })
})
