// Operator authentication for /admin/v1, either
// - `Authorization: Bearer <token>`: the bootstrap GATEWAY_ADMIN_TOKEN or an operator token
//   stored as a SHA-256 hash (scripts), or
// - the console's session cookie (operator-session.ts): role admin acts with scope "admin",
//   role viewer with scope "read"; state-changing requests must echo the session's CSRF token.
// Scope "admin" may do everything, scope "read" only GET. A partner's portal session is a
// different cookie and is never looked at here.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { constantTimeEqual, sha256Hex } from '../../domain/crypto.js'
import { CsrfFailedError, ForbiddenError, UnauthorizedError, UnsupportedMediaTypeError } from '../../domain/errors.js'
import type { Operator } from '../decorators.js'
import { scopesOfRole } from '../services/operators.js'
import { CSRF_HEADER } from './partner-session.js'

export const OPERATOR_SCOPES = ['admin', 'read'] as const

const BOOTSTRAP_OPERATOR: Operator = { id: 'bootstrap', name: 'bootstrap', scopes: ['admin'] }
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

declare module 'fastify' {
  interface FastifyContextConfig {
    /** any signed-in operator may call it, whatever the role: it acts on the caller's own session */
    operatorSelfService?: boolean
  }
}

function bearerToken (request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header === undefined) return undefined
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  return match?.[1]
}

async function tokenOperator (fastify: FastifyInstance, token: string): Promise<Operator | undefined> {
  const bootstrapToken = fastify.appConfig.adminToken
  if (bootstrapToken !== undefined && constantTimeEqual(token, bootstrapToken)) return BOOTSTRAP_OPERATOR
  // looked up by hash: equal hashes come from equal tokens, and the lookup leaks no timing about the token
  const stored = await fastify.prisma.adminToken.findUnique({ where: { tokenHash: sha256Hex(token) } })
  if (stored !== null && stored.revokedAt === null) return { id: stored.id, name: stored.name, scopes: stored.scopes }
  return undefined
}

/** The session's operator; state-changing requests must carry its CSRF token and JSON only. */
function sessionOperator (request: FastifyRequest): Operator | undefined {
  const session = request.operatorSession
  if (session === null) return undefined
  if (!SAFE_METHODS.has(request.method)) {
    // a cross-site HTML form cannot send application/json without a CORS preflight
    const contentType = request.headers['content-type']
    if (contentType !== undefined && !/^application\/json\s*(;|$)/i.test(contentType)) throw new UnsupportedMediaTypeError(contentType)
    const sent = request.headers[CSRF_HEADER]
    if (typeof sent !== 'string' || !constantTimeEqual(sent, session.csrfToken)) throw new CsrfFailedError()
  }
  // the audit log names the person: their email is their login name
  return { id: session.operatorId, name: session.email, scopes: scopesOfRole(session.role) }
}

async function operatorAuth (fastify: FastifyInstance): Promise<void> {
  fastify.decorateRequest('operator', null as unknown as Operator)

  fastify.addHook('onRequest', async request => {
    const config = request.routeOptions.config
    const token = bearerToken(request)
    let operator: Operator | undefined
    if (token !== undefined) {
      operator = await tokenOperator(fastify, token)
      if (operator === undefined) throw new UnauthorizedError('The operator token is not valid')
    } else {
      operator = sessionOperator(request)
      // signing in needs no session: it creates one
      if (operator === undefined && config?.publicRoute === true) return
      if (operator === undefined) throw new UnauthorizedError('Sign in to the console, or send Authorization: Bearer <operator token>')
    }
    const readOnly = request.method === 'GET' || request.method === 'HEAD'
    if (!operator.scopes.includes('admin') && !(readOnly && operator.scopes.includes('read')) && config?.operatorSelfService !== true) {
      throw new ForbiddenError(token === undefined ? 'A viewer may only read; ask an admin to make this change' : 'The operator token lacks the scope for this request')
    }
    request.operator = operator
  })
}

export default fp(operatorAuth, { name: 'operator-auth', fastify: '5.x', dependencies: ['operator-session'] })
