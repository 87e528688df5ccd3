// OAuth2 client credentials (RFC 6749 §4.4): POST /oauth/token exchanges an app's key and
// secret for a short-lived JWT that gateways verify locally; the signing keys are published
// at /.well-known/jwks.json and the server metadata (RFC 8414) at
// /.well-known/oauth-authorization-server. This endpoint answers in OAuth's own error
// shape {"error","error_description"} (RFC 6749 §5.2), not the product's {"error":{…}}.
import { randomUUID } from 'node:crypto'
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify'
import { SignJWT } from 'jose'
import { constantTimeEqual } from '../../../domain/crypto.js'
import { TOKEN_AUDIENCE, tokenIssuer } from '../../../domain/oauth.js'
import { isDatabaseUnavailable } from '../../prisma-errors.js'
import { LoginThrottle } from '../../services/login-throttle.js'
import type { SigningKeys } from '../../services/signing-keys.js'

type OAuthError = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope' | 'server_error' | 'temporarily_unavailable'

class OAuthFailure extends Error {
  constructor (readonly error: OAuthError, readonly description: string, readonly statusCode = error === 'invalid_client' ? 401 : 400, readonly retryAfterSeconds?: number) {
    super(description)
  }
}

const FORM_BODY_LIMIT = 8192
const REALM = 'partner-gateway'
/**
 * Failed client authentications tolerated per client_id from one address, and per address across
 * client_ids, in the window. Not per client_id alone: app keys are public (they travel in clear
 * in X-Ca-Key), so that would let anyone lock an app out of its tokens.
 */
const THROTTLE = { windowMs: 5 * 60_000, maxPerClientAndIp: 10, maxPerIp: 100 }

const TOKEN_ENDPOINT_DESCRIPTION = `OAuth2 client credentials grant (RFC 6749 §4.4). Body \`application/x-www-form-urlencoded\` with \`grant_type=client_credentials\` and an optional \`scope\`: space-separated API names the app holds an approved grant for (default: all of them).

The client authenticates with its app key and secret, either with HTTP Basic (\`client_secret_basic\`, both parts form-urlencoded per RFC 6749 §2.3.1) or with \`client_id\` and \`client_secret\` form fields (\`client_secret_post\`) — not both.

Unlike the rest of this server, errors use the OAuth shape of RFC 6749 §5.2: \`{"error": "invalid_client", "error_description": "…"}\` — \`invalid_client\` (401, with \`WWW-Authenticate: Basic\`), \`invalid_request\`, \`unsupported_grant_type\`, \`invalid_scope\`, \`unauthorized_client\` (suspended app or partner), all 400.

After ${THROTTLE.maxPerClientAndIp} failed client authentications for one client_id from one IP address within ${THROTTLE.windowMs / 60_000} minutes (or ${THROTTLE.maxPerIp} from one IP address for any client_ids), further attempts for it from that address get 429 with \`Retry-After\` and error \`invalid_client\` until the oldest failure ages out — even with the right secret, so that the answer says nothing about guesses. Other addresses are not affected: knowing an app's key does not let anyone lock the app out. The counts are kept in each control process.`

function parseForm (body: string): Record<string, string> {
  const form: Record<string, string> = {}
  for (const [name, value] of new URLSearchParams(body)) {
    // RFC 6749 §3.2: request parameters must not be included more than once
    if (Object.hasOwn(form, name)) throw new OAuthFailure('invalid_request', `The parameter ${name} is repeated`)
    form[name] = value
  }
  return form
}

function formDecode (value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '))
}

/** client_id and client_secret from HTTP Basic (form-urlencoded per RFC 6749 §2.3.1) or from the body, never both. */
function clientCredentials (authorization: string | undefined, form: Record<string, string>): { clientId: string, clientSecret: string } {
  const basic = authorization !== undefined && /^Basic\s+/i.test(authorization) ? authorization.replace(/^Basic\s+/i, '').trim() : undefined
  if (basic !== undefined) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8')
    const separator = decoded.indexOf(':')
    if (separator === -1) throw new OAuthFailure('invalid_client', 'Malformed HTTP Basic credentials')
    let clientId: string
    let clientSecret: string
    try {
      clientId = formDecode(decoded.slice(0, separator))
      clientSecret = formDecode(decoded.slice(separator + 1))
    } catch {
      throw new OAuthFailure('invalid_client', 'Malformed HTTP Basic credentials')
    }
    // RFC 6749 §2.3: one authentication method per request; a matching client_id alone is harmless
    if (form.client_secret !== undefined || (form.client_id !== undefined && form.client_id !== clientId)) {
      throw new OAuthFailure('invalid_request', 'Use one client authentication method, not HTTP Basic and form fields together')
    }
    return { clientId, clientSecret }
  }
  if (form.client_id === undefined || form.client_secret === undefined) throw new OAuthFailure('invalid_client', 'Client authentication is required (HTTP Basic, or client_id and client_secret)')
  return { clientId: form.client_id, clientSecret: form.client_secret }
}

function sendFailure (reply: FastifyReply, failure: OAuthFailure): FastifyReply {
  void reply.code(failure.statusCode).header('cache-control', 'no-store').header('pragma', 'no-cache')
  // RFC 7235 §3.1: every 401 carries a challenge, whichever way the client authenticated
  if (failure.statusCode === 401) void reply.header('www-authenticate', `Basic realm="${REALM}", charset="UTF-8"`)
  if (failure.retryAfterSeconds !== undefined) void reply.header('retry-after', String(failure.retryAfterSeconds))
  return reply.send({ error: failure.error, error_description: failure.description })
}

export function oauthRoutes (signingKeys: SigningKeys) {
  return async function routes (fastify: FastifyInstance): Promise<void> {
    // the form parser and the OAuth error shape apply to the token endpoint only
    await fastify.register(async token => {
      // the throttle's account is the client_id as seen from one address (see THROTTLE)
      const throttle = new LoginThrottle({ windowMs: THROTTLE.windowMs, maxPerEmail: THROTTLE.maxPerClientAndIp, maxPerIp: THROTTLE.maxPerIp })
      const account = (clientId: string, ip: string): string => `${ip} ${clientId}`

      // a dozen lines rather than @fastify/formbody: it also refuses repeated parameters (RFC 6749 §3.2)
      token.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_request, body, done) => {
        try {
          done(null, parseForm(body as string))
        } catch (error) {
          done(error as Error, undefined)
        }
      })
      token.setErrorHandler((error: FastifyError, request, reply) => {
        if (error instanceof OAuthFailure) return sendFailure(reply, error)
        const status = error.statusCode ?? 500
        // body parsing and size errors are the client's; anything else is ours and stays in the log
        if (status >= 400 && status < 500) return sendFailure(reply, new OAuthFailure('invalid_request', error.message))
        // RFC 6749 §4.1.2.1's code for a passing overload or outage, so clients retry instead of giving up
        if (isDatabaseUnavailable(error)) return sendFailure(reply, new OAuthFailure('temporarily_unavailable', 'The token service is temporarily unavailable; retry later', 503, 1))
        request.log.error({ err: error }, 'token endpoint failed')
        return sendFailure(reply, new OAuthFailure('server_error', 'The token could not be issued; retry later', 500))
      })

      token.post('/oauth/token', {
        schema: {
          tags: ['oauth'],
          summary: 'OAuth2 client credentials token endpoint; errors use the OAuth shape {error, error_description}',
          description: TOKEN_ENDPOINT_DESCRIPTION,
          consumes: ['application/x-www-form-urlencoded'],
          security: [],
          response: { 200: { type: 'object', properties: { access_token: { type: 'string' }, token_type: { type: 'string' }, expires_in: { type: 'integer' }, scope: { type: 'string' } } } }
        }
      }, async (request, reply) => {
        if (!/^application\/x-www-form-urlencoded\b/i.test(request.headers['content-type'] ?? '')) {
          throw new OAuthFailure('invalid_request', 'The body must be application/x-www-form-urlencoded')
        }
        const form = (request.body ?? {}) as Record<string, string>
        const client = clientCredentials(request.headers.authorization, form)
        const wait = throttle.retryAfterSeconds(account(client.clientId, request.ip), request.ip)
        if (wait > 0) throw new OAuthFailure('invalid_client', 'Too many failed client authentications; retry later', 429, wait)
        if (form.grant_type === undefined) throw new OAuthFailure('invalid_request', 'grant_type is required')
        if (form.grant_type !== 'client_credentials') throw new OAuthFailure('unsupported_grant_type', 'Only grant_type=client_credentials is supported')

        const now = new Date()
        const credential = await fastify.prisma.credential.findUnique({ where: { key: client.clientId }, include: { app: { include: { partner: true } } } })
        const live = credential !== null && credential.revokedAt === null && (credential.expiresAt === null || credential.expiresAt > now)
        if (!live || !secretMatches(credential.secretCiphertext, client.clientSecret)) {
          throttle.recordFailure(account(client.clientId, request.ip), request.ip)
          throw new OAuthFailure('invalid_client', 'Unknown client or wrong secret')
        }
        throttle.recordSuccess(account(client.clientId, request.ip))
        if (credential.app.status !== 'active' || credential.app.partner.status !== 'active') throw new OAuthFailure('unauthorized_client', 'The app or its partner is suspended')

        const grants = await fastify.prisma.grant.findMany({ where: { appId: credential.appId, status: 'approved' }, include: { api: { select: { name: true } } } })
        const granted = grants.map(grant => grant.api.name).sort()
        const requested = form.scope !== undefined ? [...new Set(form.scope.split(' ').filter(scope => scope !== ''))] : granted
        const notGranted = requested.filter(scope => !granted.includes(scope))
        if (notGranted.length > 0) throw new OAuthFailure('invalid_scope', `The app has no approved grant for: ${notGranted.join(' ')}`)
        if (requested.length === 0) throw new OAuthFailure('invalid_scope', 'The app has no approved grant for any API')

        const scope = requested.join(' ')
        const key = await signingKeys.active()
        const ttl = fastify.appConfig.tokenTtlSeconds
        const issuedAt = Math.floor(now.getTime() / 1000)
        const accessToken = await new SignJWT({ scope, client_id: client.clientId })
          .setProtectedHeader({ alg: key.algorithm, kid: key.kid, typ: 'at+jwt' })
          .setIssuer(tokenIssuer(fastify.appConfig))
          .setSubject(credential.appId)
          .setAudience(TOKEN_AUDIENCE)
          .setIssuedAt(issuedAt)
          .setNotBefore(issuedAt)
          .setExpirationTime(issuedAt + ttl)
          .setJti(randomUUID())
          .sign(key.privateKey)
        return await reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send({ access_token: accessToken, token_type: 'Bearer', expires_in: ttl, scope })
      })

      function secretMatches (ciphertext: string, secret: string): boolean {
        try {
          return constantTimeEqual(token.secretBox.decrypt(ciphertext), secret)
        } catch {
          // sealed with another master key: it cannot be checked, so it does not authenticate
          return false
        }
      }
    })

    fastify.get('/.well-known/jwks.json', { schema: { tags: ['oauth'], summary: 'Public keys that verify access tokens: the active key and retired keys whose tokens may still be valid', security: [] } }, async (_request, reply) => {
      const keys = await signingKeys.published(fastify.appConfig.tokenTtlSeconds)
      return await reply.header('cache-control', 'public, max-age=60').send({ keys: keys.map(({ retiredAt: _retired, createdAt: _created, ...jwk }) => jwk) })
    })

    fastify.get('/.well-known/oauth-authorization-server', { schema: { tags: ['oauth'], summary: 'Authorization server metadata (RFC 8414)', security: [] } }, async () => {
      const issuer = tokenIssuer(fastify.appConfig)
      const apis = await fastify.prisma.api.findMany({ select: { name: true }, orderBy: { name: 'asc' } })
      return {
        issuer,
        token_endpoint: `${issuer}/oauth/token`,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
        grant_types_supported: ['client_credentials'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        // no authorization endpoint, so no response types (the member is required by RFC 8414)
        response_types_supported: [],
        scopes_supported: apis.map(api => api.name),
        service_documentation: `${issuer}/docs`
      }
    })
  }
}
