// Console sessions for /admin/v1, the operators' sibling of partner-session.ts: a random token
// in an HttpOnly cookie of its own (never the portal's), sent only to /admin/v1, of which only
// the SHA-256 is stored; sliding expiry with an absolute limit. operator-auth.ts turns a valid
// session into an operator and checks its CSRF token on state-changing requests.
import { randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { sha256Hex } from '../../domain/crypto.js'
import type { OperatorRole } from '../services/operators.js'
import { readCookie } from './partner-session.js'

export const OPERATOR_SESSION_COOKIE = 'pgw_operator_session'
const COOKIE_PATH = '/admin/v1'
// operators hold the keys to every partner: shorter than the portal's 12 h / 7 days
const IDLE_MS = 2 * 3600_000
const ABSOLUTE_MS = 12 * 3600_000
// a session's expiry is pushed forward at most this often, not on every request
const SLIDE_AFTER_MS = 5 * 60_000

export interface OperatorSession {
  tokenHash: string
  csrfToken: string
  expiresAt: Date
  operatorId: string
  email: string
  role: OperatorRole
}

declare module 'fastify' {
  interface FastifyRequest {
    /** the console operator signed in with the session cookie; null without one */
    operatorSession: OperatorSession | null
  }
  interface FastifyInstance {
    operatorSessions: {
      create: (request: FastifyRequest, reply: FastifyReply, operator: { id: string, email: string, role: OperatorRole }) => Promise<OperatorSession>
      destroy: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
    }
  }
}

function sessionCookie (request: FastifyRequest, value: string, maxAgeSeconds: number): string {
  // Strict: the console calls /admin/v1 from its own pages only, never from a link on another site
  return [`${OPERATOR_SESSION_COOKIE}=${value}`, `Path=${COOKIE_PATH}`, 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAgeSeconds}`, ...(request.protocol === 'https' ? ['Secure'] : [])].join('; ')
}

async function operatorSession (fastify: FastifyInstance): Promise<void> {
  const prisma = fastify.prisma
  fastify.decorateRequest('operatorSession', null)

  fastify.decorate('operatorSessions', {
    async create (request, reply, operator) {
      const token = randomBytes(32).toString('base64url')
      const tokenHash = sha256Hex(token)
      const csrfToken = randomBytes(24).toString('base64url')
      const expiresAt = new Date(Date.now() + IDLE_MS)
      await prisma.operatorSession.create({ data: { tokenHash, operatorId: operator.id, csrfToken, expiresAt } })
      // expired sessions of the same operator are cleaned up as new ones are made
      await prisma.operatorSession.deleteMany({ where: { operatorId: operator.id, expiresAt: { lt: new Date() } } })
      void reply.header('set-cookie', sessionCookie(request, token, IDLE_MS / 1000))
      const session = { tokenHash, csrfToken, expiresAt, operatorId: operator.id, email: operator.email, role: operator.role }
      request.operatorSession = session
      return session
    },
    async destroy (request, reply) {
      if (request.operatorSession !== null) await prisma.operatorSession.deleteMany({ where: { tokenHash: request.operatorSession.tokenHash } })
      request.operatorSession = null
      void reply.header('set-cookie', sessionCookie(request, '', 0))
    }
  })

  fastify.addHook('onRequest', async (request, reply) => {
    const token = readCookie(request.headers.cookie, OPERATOR_SESSION_COOKIE)
    if (token === undefined || token === '') return
    const tokenHash = sha256Hex(token)
    const row = await prisma.operatorSession.findUnique({ where: { tokenHash }, include: { operator: true } })
    const now = Date.now()
    if (row === null || row.expiresAt.getTime() <= now || row.createdAt.getTime() + ABSOLUTE_MS <= now) return
    let expiresAt = row.expiresAt
    if (row.expiresAt.getTime() - now < IDLE_MS - SLIDE_AFTER_MS) {
      expiresAt = new Date(Math.min(now + IDLE_MS, row.createdAt.getTime() + ABSOLUTE_MS))
      await prisma.operatorSession.update({ where: { tokenHash }, data: { expiresAt } })
      void reply.header('set-cookie', sessionCookie(request, token, Math.floor((expiresAt.getTime() - now) / 1000)))
    }
    // the role is read on every request: a demoted or deleted operator loses its rights at once
    request.operatorSession = { tokenHash, csrfToken: row.csrfToken, expiresAt, operatorId: row.operatorId, email: row.operator.email, role: row.operator.role as OperatorRole }
  })

  fastify.addHook('onSend', async (request, reply) => {
    // answers to a browser session carry personal data and, once, secrets: never cached
    if (request.operatorSession !== null) void reply.header('cache-control', 'no-store')
  })
}

export default fp(operatorSession, { name: 'operator-session', fastify: '5.x' })
