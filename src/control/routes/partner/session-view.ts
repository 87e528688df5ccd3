// Starting a portal session for a user and describing it (GET /me, and the answer of every
// route that logs a user in: sign-up, log-in, accepting an invitation).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { UnauthorizedError } from '../../../domain/errors.js'
import { sessionUser } from '../../plugins/partner-session.js'
import { publicGatewayUrl } from '../../services/gateway-url.js'

type SessionUserRow = Parameters<typeof sessionUser>[0]

export async function logIn (fastify: FastifyInstance, request: FastifyRequest, reply: FastifyReply, user: SessionUserRow): Promise<void> {
  const session = await fastify.partnerSessions.create(request, reply, user.id)
  request.partnerSession = { tokenHash: '', ...session, ...sessionUser(user) }
}

export async function describeSession (fastify: FastifyInstance, request: FastifyRequest) {
  const session = request.partnerSession
  if (session === null) throw new UnauthorizedError('Log in first')
  return {
    user: { id: session.userId, email: session.email, name: session.userName, role: session.role as 'admin', emailVerified: session.emailVerified },
    partner: { id: session.partnerId, name: session.partnerName, status: session.partnerStatus as 'active' },
    csrfToken: session.csrfToken,
    expiresAt: session.expiresAt.toISOString(),
    gatewayUrl: await publicGatewayUrl(fastify.prisma, fastify.appConfig.gatewayPort, request)
  }
}
