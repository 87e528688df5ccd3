// /partner/v1 password reset and email verification by one-time links. Asking for a reset
// answers the same whether the email has an account or not, and does its work after the
// answer, so neither the body nor the response time tells who has an account.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ConflictError, UnauthorizedError } from '../../../domain/errors.js'
import { EMAIL_VERIFICATION_TTL_MS, emailVerificationMail, PASSWORD_RESET_TTL_MS, passwordResetMail } from '../../services/mail-templates.js'
import type { LoginThrottle } from '../../services/login-throttle.js'
import { issueUserToken, lastUserTokenAt, redeemUserToken } from '../../services/one-time-links.js'
import { hashPassword } from '../../services/passwords.js'
import { LinkToken, PARTNER_ERRORS, PARTNER_ROUTE, Password } from './schemas.js'

// a reset mail is sent at most this often per account, however often it is asked for
const RESET_MAIL_SPACING_MS = 60_000
const RESET_REQUESTED = 'If an account exists for this email, a link to reset its password is on its way. It works once, for 30 minutes.'

const Delivery = Type.Object({ delivery: Type.Union([Type.Literal('sent'), Type.Literal('logged'), Type.Literal('failed')], { description: 'sent by SMTP; logged (no SMTP configured); failed (see the server log, try again)' }) })

export const accountLinkRoutes: FastifyPluginAsyncTypebox<{ throttle: LoginThrottle }> = async (fastify, options) => {
  fastify.post('/password-reset/request', {
    config: { publicRoute: true },
    schema: {
      ...PARTNER_ROUTE,
      summary: 'Mail a one-time password reset link; answers the same whether or not the email has an account',
      body: Type.Object({ email: Type.String({ minLength: 1, maxLength: 320 }) }, { additionalProperties: false }),
      response: { 202: Type.Object({ message: Type.String() }), ...PARTNER_ERRORS }
    }
  }, async (request, reply) => {
    const email = request.body.email.trim().toLowerCase()
    fastify.backgroundTasks.run('password reset mail', async () => {
      const user = await fastify.prisma.partnerUser.findUnique({ where: { email } })
      if (user === null) return
      const token = await fastify.configWriter.write(`partner:${user.id}`, async ({ tx, audit }) => {
        // requests racing each other take turns on the user's row, so the spacing holds for them too
        await tx.$queryRaw`SELECT 1 FROM "PartnerUser" WHERE "id" = ${user.id}::uuid FOR UPDATE`
        const last = await lastUserTokenAt(tx, user.id, 'password-reset')
        if (last !== undefined && Date.now() - last.getTime() < RESET_MAIL_SPACING_MS) return undefined
        audit({ action: 'partner-user.password-reset-request', targetType: 'partner-user', targetId: user.id, details: { email } })
        return await issueUserToken(tx, user.id, 'password-reset', PASSWORD_RESET_TTL_MS)
      })
      if (token !== undefined) await fastify.mailer.send(passwordResetMail({ to: email, link: fastify.portalLink('reset-password', token) }))
    })
    return await reply.code(202).send({ message: RESET_REQUESTED })
  })

  fastify.post('/password-reset', {
    config: { publicRoute: true },
    schema: {
      ...PARTNER_ROUTE,
      summary: "Set a new password with a reset link's token; ends every session of the account",
      body: Type.Object({ token: LinkToken, password: Password }, { additionalProperties: false }),
      response: { 204: Type.Null(), ...PARTNER_ERRORS }
    }
  }, async (request, reply) => {
    // hashed before the transaction: scrypt takes a while and must not hold a connection
    const passwordHash = await hashPassword(request.body.password)
    const user = await fastify.configWriter.write('partner:password-reset', async ({ tx, audit }) => {
      const userId = await redeemUserToken(tx, request.body.token, 'password-reset')
      const existing = await tx.partnerUser.findUniqueOrThrow({ where: { id: userId } })
      // the mail reached its owner: that verifies the address as well
      const updated = await tx.partnerUser.update({ where: { id: userId }, data: { passwordHash, emailVerifiedAt: existing.emailVerifiedAt ?? new Date() } })
      await tx.portalSession.deleteMany({ where: { userId } })
      audit({ action: 'partner-user.password-reset', targetType: 'partner-user', targetId: userId, details: { email: updated.email } })
      return updated
    })
    options.throttle.recordSuccess(user.email)
    return await reply.code(204).send(null)
  })

  fastify.post('/email-verification', {
    config: { publicRoute: true },
    schema: {
      ...PARTNER_ROUTE,
      summary: "Verify the account's email with the token of the link mailed to it",
      body: Type.Object({ token: LinkToken }, { additionalProperties: false }),
      response: { 200: Type.Object({ email: Type.String(), emailVerified: Type.Literal(true) }), ...PARTNER_ERRORS }
    }
  }, async request => {
    const user = await fastify.configWriter.write('partner:email-verification', async ({ tx, audit }) => {
      const userId = await redeemUserToken(tx, request.body.token, 'email-verification')
      const updated = await tx.partnerUser.update({ where: { id: userId }, data: { emailVerifiedAt: new Date() } })
      audit({ action: 'partner-user.email-verify', targetType: 'partner-user', targetId: userId, details: { email: updated.email } })
      return updated
    })
    return { email: user.email, emailVerified: true as const }
  })

  fastify.post('/email-verification/resend', {
    schema: { ...PARTNER_ROUTE, summary: 'Mail a new verification link to the logged-in user (the previous one stops working)', response: { 202: Delivery, ...PARTNER_ERRORS } }
  }, async (request, reply) => {
    const session = request.partnerSession
    if (session === null) throw new UnauthorizedError('Log in first')
    if (session.emailVerified) throw new ConflictError('Your email is verified already')
    const token = await fastify.configWriter.write(`partner:${session.userId}`, async ({ tx, audit }) => {
      audit({ action: 'partner-user.email-verification-resend', targetType: 'partner-user', targetId: session.userId, details: { email: session.email } })
      return await issueUserToken(tx, session.userId, 'email-verification', EMAIL_VERIFICATION_TTL_MS)
    })
    const delivery = await fastify.deliverMail(emailVerificationMail({ to: session.email, link: fastify.portalLink('verify-email', token) }))
    return await reply.code(202).send({ delivery })
  })
}
