// The one catalogue of errors the product returns. Every error is created once here with
// a stable code and HTTP status; the JSON body {"error":{"code","message"}} is written by
// the shared error handler (src/domain/error-handler.ts). Codes are part of the public API.
import createError from '@fastify/error'

// Generic request errors (control API and gateway)
export const ValidationError = createError('VALIDATION_FAILED', '%s', 400)
export const MalformedJsonError = createError('MALFORMED_JSON', 'The request body is not valid JSON', 400)
export const UnsupportedMediaTypeError = createError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported Content-Type: %s', 415)
export const PayloadTooLargeError = createError('PAYLOAD_TOO_LARGE', 'The request body is larger than %s bytes', 413)
export const NotFoundError = createError('NOT_FOUND', '%s', 404)
export const ConflictError = createError('CONFLICT', '%s', 409)
export const InvalidCursorError = createError('INVALID_CURSOR', 'The pagination cursor is not valid', 400)
export const BadRequestError = createError('BAD_REQUEST', '%s', 400)
export const InternalError = createError('INTERNAL_ERROR', 'Internal server error', 500)

// Embedded database: one process owns DATA_DIR (src/store/data-dir-lock.ts)
export const DataDirInUseError = createError('DATA_DIR_IN_USE', '%s', 409)
export const DataDirNotEmptyError = createError('DATA_DIR_NOT_EMPTY', '%s', 409)
export const OwnerUnreachableError = createError('OWNER_UNREACHABLE', '%s', 503)
export const OwnerCommandFailedError = createError('OWNER_COMMAND_FAILED', 'The process that owns DATA_DIR (pid %s) answered %s', 502)

// Operator API authentication
export const UnauthorizedError = createError('UNAUTHORIZED', '%s', 401)
export const ForbiddenError = createError('FORBIDDEN', '%s', 403)

// Gateway: routing
export const RouteNotFoundError = createError('ROUTE_NOT_FOUND', 'No route matches %s %s', 404)
export const BadPathError = createError('BAD_PATH', 'The request path is not valid', 400)
export const BadWebSocketHandshakeError = createError('BAD_WEBSOCKET_HANDSHAKE', '%s', 400)
export const MethodNotAllowedError = createError('METHOD_NOT_ALLOWED', '%s', 405)
export const CorsOriginNotAllowedError = createError('CORS_ORIGIN_NOT_ALLOWED', 'Pages from %s may not call %s: the origin is not among those its CORS settings allow', 403)
export const IpNotAllowedError = createError('IP_NOT_ALLOWED', 'Calls from %s are not allowed by the IP restriction of %s', 403)

// Gateway: the HTTP exchange with the client
export const RequestTimeoutError = createError('REQUEST_TIMEOUT', '%s', 408)
export const ExpectationFailedError = createError('EXPECTATION_FAILED', 'The only expectation supported is Expect: 100-continue', 417)
export const HeadersTooLargeError = createError('HEADERS_TOO_LARGE', 'The request headers are larger than the gateway accepts', 431)
export const UriTooLongError = createError('URI_TOO_LONG', 'The request target is longer than %s bytes', 414)

// Gateway: authentication
export const MissingCredentialsError = createError('MISSING_CREDENTIALS', '%s', 401)
export const UnknownKeyError = createError('UNKNOWN_KEY', 'The app key or API key is not known or no longer valid', 401)
export const BadSignatureError = createError('BAD_SIGNATURE', '%s', 401)
export const ExpiredTimestampError = createError('EXPIRED_TIMESTAMP', '%s', 401)
export const ReplayedNonceError = createError('REPLAYED_NONCE', 'The nonce %s was already used', 401)
export const InvalidTokenError = createError('INVALID_TOKEN', '%s', 401)
export const ExpiredTokenError = createError('EXPIRED_TOKEN', 'The access token has expired', 401)

// Gateway: permission and limits
export const AppSuspendedError = createError('APP_SUSPENDED', 'The app is suspended', 403)
export const NotGrantedError = createError('NOT_GRANTED', 'The app has no approved grant for the API %s', 403)
export const RateLimitedError = createError('RATE_LIMITED', 'Rate limit exceeded, retry in %s s', 429)
export const QuotaExceededError = createError('QUOTA_EXCEEDED', 'The %s quota is used up until %s', 429)
export const TooManyConnectionsError = createError('TOO_MANY_CONNECTIONS', '%s', 429)
export const TooManyConnectionsFromClientError = createError('TOO_MANY_CONNECTIONS_FROM_CLIENT', 'Your address already has %s connections open to the gateway; reuse them (keep-alive) or close one', 429)
export const TooManyFailedAuthenticationsError = createError('TOO_MANY_FAILED_AUTHENTICATIONS', 'Too many requests from your address failed authentication; retry in %s s', 429)
export const TooManyConcurrentRequestsError = createError('TOO_MANY_CONCURRENT_REQUESTS', 'This app already has %s requests in flight to the service behind %s, its share of that service; retry when some of them have finished', 429)

// Gateway: upstream
export const UpstreamUnavailableError = createError('UPSTREAM_UNAVAILABLE', 'The upstream service is unavailable', 502)
// nginx's 499: nobody reads it, but the access log and the metrics say what ended the request
export const ClientClosedRequestError = createError('CLIENT_CLOSED_REQUEST', 'The client closed the connection before the answer came', 499)
export const UpstreamTimeoutError = createError('UPSTREAM_TIMEOUT', 'The upstream service did not answer in time', 504)
// what went wrong stays in the gateway's log (the error's cause): partners learn only which side to ask
export const UpstreamCertificateUntrustedError = createError('UPSTREAM_CERTIFICATE_UNTRUSTED', 'The upstream service\'s TLS certificate is not trusted by the gateway', 502)
export const UpstreamTlsHandshakeError = createError('UPSTREAM_TLS_HANDSHAKE_FAILED', 'The upstream service refused the gateway\'s TLS connection', 502)
export const ServiceUnavailableError = createError('SERVICE_UNAVAILABLE', '%s', 503)
export const UpstreamBusyError = createError('UPSTREAM_BUSY', 'The service behind %s has %s requests in flight, as many as it takes; retry shortly', 503)
export const DependencyUnavailableError = createError('DEPENDENCY_UNAVAILABLE', '%s', 503)

// Gateway: its own endpoints
export const MetricsIncompleteError = createError('METRICS_INCOMPLETE', '%s', 503)

// Control API: storage
export const DatabaseUnavailableError = createError('DATABASE_UNAVAILABLE', 'The database is unavailable; retry later', 503)

// Partner API (portal sessions)
export const CsrfFailedError = createError('CSRF_FAILED', 'The request lacks a valid X-CSRF-Token header for this session', 403)
export const InvalidLoginError = createError('INVALID_LOGIN', 'The email or password is not correct', 401)
export const LoginThrottledError = createError('TOO_MANY_LOGIN_ATTEMPTS', 'Too many failed logins, retry in %s s', 429)
export const PartnerPendingError = createError('PARTNER_PENDING', 'Your partner account is waiting for approval by an operator', 403)
export const PartnerSuspendedError = createError('PARTNER_SUSPENDED', 'Your partner account is suspended; contact the operator', 403)
export const PartnerAdminRequiredError = createError('PARTNER_ADMIN_REQUIRED', 'Only admins of your partner account can manage its team', 403)
export const LastPartnerAdminError = createError('LAST_PARTNER_ADMIN', 'A partner account keeps at least one admin: make another member an admin first', 409)
// one message for used, expired, replaced and made-up links: none of them tells an attacker more
export const InvalidLinkError = createError('INVALID_LINK', 'This link is not valid: it was used already, has expired or was replaced by a newer one', 400)

// Routes and OpenAPI import
export const ReservedPathError = createError('RESERVED_PATH', '%s', 409)
export const RoutePrefixRequiredError = createError('ROUTE_PREFIX_REQUIRED', '%s', 400)
export const InvalidOpenApiError = createError('INVALID_OPENAPI', '%s', 400)
