// OAuth2 client credentials (RFC 6749 §4.4): POST /oauth/token exchanges an app's key and
// secret for a short-lived JWT that gateways verify locally; the signing keys are published
// at /.well-known/jwks.json and the server metadata (RFC 8414) at
// /.well-known/oauth-authorization-server. This endpoint answers in OAuth's own error
// shape {"error","error_description"} (RFC 6749 §5.2), not the product's {"error":{…}}.
import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { SignJWT } from 'jose'
import { constantTimeEqual } from '../../../domain/crypto.js'
import { TOKEN_ALGORITHM, TOKEN_AUDIENCE, tokenIssuer } from '../../../domain/oauth.js'
import { LoginThrottle } from '../../services/login-throttle.js'
import type { SigningKeys } from '../../services/signing-keys.js'

type OAuthError = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope'

class OAuthFailure extends Error {
  constructor (readonly error: OAuthError, readonly description: string, readonly statusCode = error === 'invalid_client' ? 401 : 400, readonly retryAfterSeconds?: number) {
    super(description)
  }
}

const FORM_BODY_LIMIT = 8192

function parseForm (body: string): Record<string, string> {
  const form: Record<string, string> = {}
  for (const [name, value] of new URLSearchParams(body)) {
    // RFC 6749 §3.2: request parameters must not be included more than once
    if (Object.hasOwn(form, name)) throw new OAuthFailure('invalid_request', `The parameter ${name} is repeated`)
    form[name] = value
  }
  return form
}

/** client_id and client_secret from HTTP Basic (form-urlencoded per RFC 6749 §2.3.1) or from the body, never both. */
function clientCredentials (authorization: string | undefined, form: Record<string, string>): { clientId: string, clientSecret: string, viaBasic: boolean } {
  const basic = authorization !== undefined && /^Basic\s+/i.test(authorization) ? authorization.replace(/^Basic\s+/i, '') : undefined
  if (basic !== undefined) {
    if (form.client_id !== undefined && form.client_secret !== undefined) throw new OAuthFailure('invalid_request', 'Use one client authentication method, not HTTP Basic and form fields together')
    const decoded = Buffer.from(basic, 'base64').toString('utf8')
    const separator = decoded.indexOf(':')
    if (separator === -1) throw new OAuthFailure('invalid_client', 'Malformed HTTP Basic credentials')
    try {
      return { clientId: decodeURIComponent(decoded.slice(0, separator).replace(/\+/g, ' ')), clientSecret: decodeURIComponent(decoded.slice(separator + 1).replace(/\+/g, ' ')), viaBasic: true }
    } catch {
      throw new OAuthFailure('invalid_client', 'Malformed HTTP Basic credentials')
    }
  }
  if (form.client_id === undefined || form.client_secret === undefined) throw new OAuthFailure('invalid_client', 'Client authentication is required (HTTP Basic, or client_id and client_secret)')
  return { clientId: form.client_id, clientSecret: form.client_secret, viaBasic: false }
}

function sendFailure (reply: FastifyReply, failure: OAuthFailure, viaBasic: boolean): FastifyReply {
  void reply.code(failure.statusCode).header('cache-control', 'no-store').header('pragma', 'no-cache')
  if (failure.statusCode === 401 && viaBasic) void reply.header('www-authenticate', 'Basic realm="partner-gateway", charset="UTF-8"')
  if (failure.retryAfterSeconds !== undefined) void reply.header('retry-after', String(failure.retryAfterSeconds))
  return reply.send({ error: failure.error, error_description: failure.description })
}

export function oauthRoutes (signingKeys: SigningKeys) {
  return async function routes (fastify: FastifyInstance): Promise<void> {
    const throttle = new LoginThrottle({ windowMs: 5 * 60_000, maxPerEmail: 10, maxPerIp: 100 })

    fastify.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_request, body, done) => {
      try {
        done(null, parseForm(body as string))
      } catch (error) {
        done(error as Error, undefined)
      }
    })
    fastify.setErrorHandler((error, _request, reply) => {
      const failure = error instanceof OAuthFailure ? error : new OAuthFailure('invalid_request', (error as Error).message)
      return sendFailure(reply, failure, false)
    })

    fastify.post('/oauth/token', {
      schema: {
        tags: ['oauth'],
        summary: 'OAuth2 client credentials token endpoint (RFC 6749 §4.4); errors use the OAuth shape {error, error_description}',
        consumes: ['application/x-www-form-urlencoded'],
        security: [],
        response: { 200: { type: 'object', properties: { access_token: { type: 'string' }, token_type: { type: 'string' }, expires_in: { type: 'integer' }, scope: { type: 'string' } } } }
      }
    }, async (request, reply) => {
      if (!/^application\/x-www-form-urlencoded\b/i.test(request.headers['content-type'] ?? '')) {
        return sendFailure(reply, new OAuthFailure('invalid_request', 'The body must be application/x-www-form-urlencoded'), false)
      }
      const form = (request.body ?? {}) as Record<string, string>
      let viaBasic = false
      try {
        const client = clientCredentials(request.headers.authorization, form)
        viaBasic = client.viaBasic
        const wait = throttle.retryAfterSeconds(client.clientId, request.ip)
        if (wait > 0) throw new OAuthFailure('invalid_client', 'Too many failed client authentications; retry later', 429, wait)
        if (form.grant_type === undefined) throw new OAuthFailure('invalid_request', 'grant_type is required')
        if (form.grant_type !== 'client_credentials') throw new OAuthFailure('unsupported_grant_type', 'Only grant_type=client_credentials is supported')
        const now = new Date()
        const credential = await fastify.prisma.credential.findUnique({ where: { key: client.clientId }, include: { app: { include: { partner: true } } } })
        const valid = credential !== null && credential.revokedAt === null && (credential.expiresAt === null || credential.expiresAt > now) &&
          constantTimeEqual(fastify.secretBox.decrypt(credential.secretCiphertext), client.clientSecret)
        if (!valid || credential === null) {
          throttle.recordFailure(client.clientId, request.ip)
          throw new OAuthFailure('invalid_client', 'Unknown client or wrong secret')
        }
        if (credential.app.status !== 'active' || credential.app.partner.status !== 'active') throw new OAuthFailure('unauthorized_client', 'The app is suspended')
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
        const token = await new SignJWT({ scope, client_id: client.clientId })
          .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: key.kid, typ: 'at+jwt' })
          .setIssuer(tokenIssuer(fastify.appConfig))
          .setSubject(credential.appId)
          .setAudience(TOKEN_AUDIENCE)
          .setIssuedAt(issuedAt)
          .setNotBefore(issuedAt)
          .setExpirationTime(issuedAt + ttl)
          .setJti(randomUUID())
          .sign(key.privateKey)
        return await reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send({ access_token: token, token_type: 'Bearer', expires_in: ttl, scope })
      } catch (error) {
        if (error instanceof OAuthFailure) return sendFailure(reply, error, viaBasic)
        throw error
      }
    })

    fastify.get('/.well-known/jwks.json', { schema: { tags: ['oauth'], summary: 'Public keys that verify access tokens', security: [] } }, async (_request, reply) => {
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
        response_types_supported: ['token'],
        scopes_supported: apis.map(api => api.name),
        token_endpoint_auth_signing_alg_values_supported: [TOKEN_ALGORITHM]
      }
    })
  }
}
