// /partner/v1 sign-up, log-in, log-out and the current user.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ConflictError, InvalidLoginError, LoginThrottledError } from '../../../domain/errors.js'
import { Name } from '../../schemas/common.js'
import { EMAIL_VERIFICATION_TTL_MS, emailVerificationMail } from '../../services/mail-templates.js'
import { LoginThrottle } from '../../services/login-throttle.js'
import { issueUserToken } from '../../services/one-time-links.js'
import { burnPasswordCheck, hashPassword, verifyPassword } from '../../services/passwords.js'
import { readSettings } from '../../services/settings.js'
import { Email, Me, PARTNER_ERRORS, PARTNER_ROUTE, Password } from './schemas.js'
import { describeSession, logIn } from './session-view.js'

export const accountRoutes: FastifyPluginAsyncTypebox<{ throttle?: LoginThrottle }> = async (fastify, options) => {
  const throttle = options.throttle ?? new LoginThrottle()

  fastify.post('/signup', {
    config: { publicRoute: true },
    schema: {
      ...PARTNER_ROUTE,
      summary: 'Sign up a partner company and its first user (an admin); logs in and mails a link to verify the email',
      body: Type.Object({ companyName: Name, email: Email, password: Password }, { additionalProperties: false }),
      response: { 201: Me, ...PARTNER_ERRORS }
    }
  }, async (request, reply) => {
    const email = request.body.email.trim().toLowerCase()
    const passwordHash = await hashPassword(request.body.password)
    const settings = await readSettings(fastify.prisma)
    const status = fastify.appConfig.requirePartnerApproval || settings.requirePartnerApproval ? 'pending' : 'active'
    const { user, verificationToken } = await fastify.configWriter.write(`partner:${email}`, async ({ tx, audit }) => {
      const taken = await tx.partnerUser.findUnique({ where: { email } }) ?? await tx.partner.findUnique({ where: { name: request.body.companyName } })
      if (taken !== null) throw new ConflictError('An account with this email or company name already exists. If your company has one, ask its admin (or the operator) to invite you.')
      const partner = await tx.partner.create({ data: { name: request.body.companyName, email, status } })
      const created = await tx.partnerUser.create({ data: { partnerId: partner.id, email, passwordHash, role: 'admin', lastLoginAt: new Date() } })
      audit({ action: 'partner.signup', targetType: 'partner', targetId: partner.id, details: { name: partner.name, email, status } })
      return { user: { ...created, partner }, verificationToken: await issueUserToken(tx, created.id, 'email-verification', EMAIL_VERIFICATION_TTL_MS) }
    })
    const link = fastify.portalLink('verify-email', verificationToken)
    fastify.backgroundTasks.run('email verification mail', async () => await fastify.mailer.send(emailVerificationMail({ to: email, link })))
    fastify.operatorNotifier.notify({ type: 'partner.signup', data: { partnerId: user.partnerId, partnerName: user.partner.name, email, status } })
    await logIn(fastify, request, reply, user)
    return await reply.code(201).send(await describeSession(fastify, request))
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
    await logIn(fastify, request, reply, user)
    return await describeSession(fastify, request)
  })

  fastify.post('/logout', {
    schema: { ...PARTNER_ROUTE, summary: 'Log out: ends the session', response: { 204: Type.Null(), ...PARTNER_ERRORS } }
  }, async (request, reply) => {
    await fastify.partnerSessions.destroy(request, reply)
    return await reply.code(204).send(null)
  })

  fastify.get('/me', {
    schema: { ...PARTNER_ROUTE, summary: 'The logged-in user, their partner and the CSRF token', response: { 200: Me, ...PARTNER_ERRORS } }
  }, async request => await describeSession(fastify, request))
}
