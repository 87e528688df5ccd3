// Portal sessions for /partner/v1: a random token in an HttpOnly, SameSite=Lax cookie (Secure
// over TLS), of which only the SHA-256 is stored; 12 h sliding expiry within 7 days at most.
// Every state-changing request must echo the session's CSRF token in X-CSRF-Token: a page on
// another site can make the browser send the cookie, but cannot read the token.
import { randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { constantTimeEqual, sha256Hex } from '../../domain/crypto.js'
import { CsrfFailedError, PartnerAdminRequiredError, PartnerPendingError, PartnerSuspendedError, UnauthorizedError, UnsupportedMediaTypeError } from '../../domain/errors.js'

export const SESSION_COOKIE = 'pgw_session'
export const CSRF_HEADER = 'x-csrf-token'
const IDLE_MS = 12 * 3600_000
const ABSOLUTE_MS = 7 * 86400_000
// a session's expiry is pushed forward at most this often, not on every request
const SLIDE_AFTER_MS = 5 * 60_000

export interface PartnerSession {
  tokenHash: string
  csrfToken: string
  expiresAt: Date
  userId: string
  email: string
  userName: string | null
  /** admin | developer */
  role: string
  emailVerified: boolean
  partnerId: string
  partnerName: string
  partnerStatus: string
}

/** The session fields that come from the user's row and its partner's. */
export function sessionUser (user: { id: string, email: string, name: string | null, role: string, emailVerifiedAt: Date | null, partnerId: string, partner: { name: string, status: string } }): Omit<PartnerSession, 'tokenHash' | 'csrfToken' | 'expiresAt'> {
  return {
    userId: user.id,
    email: user.email,
    userName: user.name,
    role: user.role,
    emailVerified: user.emailVerifiedAt !== null,
    partnerId: user.partnerId,
    partnerName: user.partner.name,
    partnerStatus: user.partner.status
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** the logged-in portal user; null on public routes without a session */
    partnerSession: PartnerSession | null
  }
  interface FastifyInstance {
    partnerSessions: {
      create: (request: FastifyRequest, reply: FastifyReply, userId: string) => Promise<{ csrfToken: string, expiresAt: Date }>
      destroy: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
    }
  }
  interface FastifyContextConfig {
    /** the route works without a session (sign-up, log-in) */
    publicRoute?: boolean
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export function readCookie (header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim())
  }
  return undefined
}

function isTls (request: FastifyRequest): boolean {
  return request.protocol === 'https'
}

function sessionCookie (request: FastifyRequest, value: string, maxAgeSeconds: number): string {
  return [`${SESSION_COOKIE}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${maxAgeSeconds}`, ...(isTls(request) ? ['Secure'] : [])].join('; ')
}

/** The session's user, or a clear 403 when the partner may not operate apps yet. */
export function requireActivePartner (request: FastifyRequest): PartnerSession {
  const session = request.partnerSession
  if (session === null) throw new UnauthorizedError('Log in first')
  if (session.partnerStatus === 'pending') throw new PartnerPendingError()
  if (session.partnerStatus !== 'active') throw new PartnerSuspendedError()
  return session
}

/** The session's user when they are an admin of a partner that is not suspended. */
export function requirePartnerAdmin (request: FastifyRequest): PartnerSession {
  const session = request.partnerSession
  if (session === null) throw new UnauthorizedError('Log in first')
  if (session.partnerStatus === 'suspended') throw new PartnerSuspendedError()
  if (session.role !== 'admin') throw new PartnerAdminRequiredError()
  return session
}

async function partnerSession (fastify: FastifyInstance): Promise<void> {
  const prisma = fastify.prisma
  fastify.decorateRequest('partnerSession', null)

  fastify.decorate('partnerSessions', {
    async create (request, reply, userId) {
      const token = randomBytes(32).toString('base64url')
      const csrfToken = randomBytes(24).toString('base64url')
      const expiresAt = new Date(Date.now() + IDLE_MS)
      await prisma.portalSession.create({ data: { tokenHash: sha256Hex(token), userId, csrfToken, expiresAt } })
      // expired sessions of the same user are cleaned up as new ones are made
      await prisma.portalSession.deleteMany({ where: { userId, expiresAt: { lt: new Date() } } })
      void reply.header('set-cookie', sessionCookie(request, token, IDLE_MS / 1000))
      return { csrfToken, expiresAt }
    },
    async destroy (request, reply) {
      if (request.partnerSession !== null) await prisma.portalSession.deleteMany({ where: { tokenHash: request.partnerSession.tokenHash } })
      void reply.header('set-cookie', sessionCookie(request, '', 0))
    }
  })

  fastify.addHook('onRequest', async (request, reply) => {
    const token = readCookie(request.headers.cookie, SESSION_COOKIE)
    if (token !== undefined && token !== '') {
      const tokenHash = sha256Hex(token)
      const row = await prisma.portalSession.findUnique({ where: { tokenHash }, include: { user: { include: { partner: true } } } })
      const now = Date.now()
      if (row !== null && row.expiresAt.getTime() > now && row.createdAt.getTime() + ABSOLUTE_MS > now) {
        let expiresAt = row.expiresAt
        if (row.expiresAt.getTime() - now < IDLE_MS - SLIDE_AFTER_MS) {
          expiresAt = new Date(Math.min(now + IDLE_MS, row.createdAt.getTime() + ABSOLUTE_MS))
          await prisma.portalSession.update({ where: { tokenHash }, data: { expiresAt } })
          void reply.header('set-cookie', sessionCookie(request, token, Math.floor((expiresAt.getTime() - now) / 1000)))
        }
        request.partnerSession = { tokenHash, csrfToken: row.csrfToken, expiresAt, ...sessionUser(row.user) }
      }
    }
    const publicRoute = request.routeOptions.config?.publicRoute === true
    if (request.partnerSession === null && !publicRoute) throw new UnauthorizedError('Log in first: no valid portal session')
    if (SAFE_METHODS.has(request.method)) return
    // JSON only: a cross-site HTML form cannot send application/json without a CORS preflight
    const contentType = request.headers['content-type']
    if (contentType !== undefined && !/^application\/json\s*(;|$)/i.test(contentType)) throw new UnsupportedMediaTypeError(contentType)
    // sign-up and log-in need no token: they create the session the token belongs to
    if (request.partnerSession !== null && !publicRoute) {
      const sent = request.headers[CSRF_HEADER]
      if (typeof sent !== 'string' || !constantTimeEqual(sent, request.partnerSession.csrfToken)) throw new CsrfFailedError()
    }
  })

  fastify.addHook('onSend', async (_request, reply) => {
    // responses carrying secrets or personal data must not be cached anywhere
    void reply.header('cache-control', 'no-store')
  })
}

export default fp(partnerSession, { name: 'partner-session', fastify: '5.x' })
