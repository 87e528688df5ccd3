// /partner/v1 sign-up, log-in, log-out and the current user.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { ConflictError, InvalidLoginError, LoginThrottledError, UnauthorizedError } from '../../../domain/errors.js'
import { Name } from '../../schemas/common.js'
import { LoginThrottle } from '../../services/login-throttle.js'
import { burnPasswordCheck, hashPassword, verifyPassword } from '../../services/passwords.js'
import { gatewayUrlFor } from '../../services/gateway-url.js'
import { readSettings } from '../../services/settings.js'
import { Email, Me, PARTNER_ERRORS, PARTNER_ROUTE, Password } from './schemas.js'

export const accountRoutes: FastifyPluginAsyncTypebox<{ throttle?: LoginThrottle }> = async (fastify, options) => {
  const throttle = options.throttle ?? new LoginThrottle()

  async function me (request: FastifyRequest) {
    const session = request.partnerSession
    if (session === null) throw new UnauthorizedError('Log in first')
    return {
      user: { id: session.userId, email: session.email },
      partner: { id: session.partnerId, name: session.partnerName, status: session.partnerStatus as 'active' },
      csrfToken: session.csrfToken,
      expiresAt: session.expiresAt.toISOString(),
      gatewayUrl: await gatewayUrlFor(fastify.prisma, fastify.appConfig.gatewayPort, request)
    }
  }

  fastify.post('/signup', {
    config: { publicRoute: true },
    schema: {
      ...PARTNER_ROUTE,
      summary: 'Sign up a partner company and its first user; logs in',
      body: Type.Object({ companyName: Name, email: Email, password: Password }, { additionalProperties: false }),
      response: { 201: Me, ...PARTNER_ERRORS }
    }
  }, async (request, reply) => {
    const email = request.body.email.trim().toLowerCase()
    const passwordHash = await hashPassword(request.body.password)
    const settings = await readSettings(fastify.prisma)
    const status = fastify.appConfig.requirePartnerApproval || settings.requirePartnerApproval ? 'pending' : 'active'
    const user = await fastify.configWriter.write(`partner:${email}`, async ({ tx, audit }) => {
      const taken = await tx.partnerUser.findUnique({ where: { email } }) ?? await tx.partner.findUnique({ where: { name: request.body.companyName } })
      if (taken !== null) throw new ConflictError('An account with this email or company name already exists')
      const partner = await tx.partner.create({ data: { name: request.body.companyName, email, status } })
      const created = await tx.partnerUser.create({ data: { partnerId: partner.id, email, passwordHash, lastLoginAt: new Date() } })
      audit({ action: 'partner.signup', targetType: 'partner', targetId: partner.id, details: { name: partner.name, email, status } })
      return { ...created, partner }
    })
    const session = await fastify.partnerSessions.create(request, reply, user.id)
    request.partnerSession = {
      tokenHash: '', ...session, userId: user.id, email, partnerId: user.partnerId, partnerName: user.partner.name, partnerStatus: user.partner.status
    }
    return await reply.code(201).send(await me(request))
  })

  fastify.post('/login', {
    config: { publicRoute: true },
    schema: {
      ...PARTNER_ROUTE,
      summary: 'Log in; sets the session cookie. Failed attempts are throttled per email and per IP.',
      body: Type.Object({ email: Type.String({ minLength: 1, maxLength: 320 }), password: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
      response: { 200: Me, ...PARTNER_ERRORS }
    }
  }, async (request, reply) => {
    const email = request.body.email.trim().toLowerCase()
    const wait = throttle.retryAfterSeconds(email, request.ip)
    if (wait > 0) {
      void reply.header('retry-after', String(wait))
      throw new LoginThrottledError(wait)
    }
    const user = await fastify.prisma.partnerUser.findUnique({ where: { email }, include: { partner: true } })
    const valid = user !== null ? await verifyPassword(request.body.password, user.passwordHash) : (await burnPasswordCheck(request.body.password), false)
    if (user === null || !valid) {
      throttle.recordFailure(email, request.ip)
      throw new InvalidLoginError()
    }
    throttle.recordSuccess(email)
    await fastify.prisma.partnerUser.update({ where: { id: user.id }, data: { lastLoginAt: new Date() } })
    const session = await fastify.partnerSessions.create(request, reply, user.id)
    request.partnerSession = {
      tokenHash: '', ...session, userId: user.id, email, partnerId: user.partnerId, partnerName: user.partner.name, partnerStatus: user.partner.status
    }
    return await me(request)
  })

  fastify.post('/logout', {
    schema: { ...PARTNER_ROUTE, summary: 'Log out: ends the session', response: { 204: Type.Null(), ...PARTNER_ERRORS } }
  }, async (request, reply) => {
    await fastify.partnerSessions.destroy(request, reply)
    return await reply.code(204).send(null)
  })

  fastify.get('/me', {
    schema: { ...PARTNER_ROUTE, summary: 'The logged-in user, their partner and the CSRF token', response: { 200: Me, ...PARTNER_ERRORS } }
  }, async request => await me(request))
}
