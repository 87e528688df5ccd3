// Operator authentication for /admin/v1: `Authorization: Bearer <token>`, either the
// bootstrap GATEWAY_ADMIN_TOKEN or an operator token stored as a SHA-256 hash.
// Scope "admin" may do everything, scope "read" only GET.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { constantTimeEqual, sha256Hex } from '../../domain/crypto.js'
import { ForbiddenError, UnauthorizedError } from '../../domain/errors.js'
import type { Operator } from '../decorators.js'

export const OPERATOR_SCOPES = ['admin', 'read'] as const

const BOOTSTRAP_OPERATOR: Operator = { id: 'bootstrap', name: 'bootstrap', scopes: ['admin'] }

function bearerToken (request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header === undefined) return undefined
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  return match?.[1]
}

async function operatorAuth (fastify: FastifyInstance): Promise<void> {
  fastify.decorateRequest('operator', null as unknown as Operator)

  fastify.addHook('onRequest', async request => {
    const token = bearerToken(request)
    if (token === undefined) throw new UnauthorizedError('Missing operator token: send Authorization: Bearer <token>')
    let operator: Operator | undefined
    const bootstrapToken = fastify.appConfig.adminToken
    if (bootstrapToken !== undefined && constantTimeEqual(token, bootstrapToken)) {
      operator = BOOTSTRAP_OPERATOR
    } else {
      // looked up by hash: equal hashes come from equal tokens, and the lookup leaks no timing about the token
      const stored = await fastify.prisma.adminToken.findUnique({ where: { tokenHash: sha256Hex(token) } })
      if (stored !== null && stored.revokedAt === null) operator = { id: stored.id, name: stored.name, scopes: stored.scopes }
    }
    if (operator === undefined) throw new UnauthorizedError('The operator token is not valid')
    const readOnly = request.method === 'GET' || request.method === 'HEAD'
    if (!operator.scopes.includes('admin') && !(readOnly && operator.scopes.includes('read'))) {
      throw new ForbiddenError('The operator token lacks the scope for this request')
    }
    request.operator = operator
  })
}

export default fp(operatorAuth, { name: 'operator-auth', fastify: '5.x' })
