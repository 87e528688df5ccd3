// /partner/v1/invitations — opening and accepting an invitation link. Accepting creates the
// portal user (the mail reached them: their email counts as verified) and logs them in.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ConflictError } from '../../../domain/errors.js'
import { Name } from '../../schemas/common.js'
import { findInvitation, redeemInvitation } from '../../services/one-time-links.js'
import { hashPassword } from '../../services/passwords.js'
import { LinkToken, Me, PARTNER_ERRORS, PARTNER_ROUTE, Password, PartnerRole } from './schemas.js'
import { describeSession, logIn } from './session-view.js'

export const invitationRoutes: FastifyPluginAsyncTypebox = async fastify => {
  fastify.post('/invitations/lookup', {
    config: { publicRoute: true },
    schema: {
      ...PARTNER_ROUTE,
      summary: "What an invitation link is for: the partner, the email and the role (the token goes in the body, out of access logs)",
      body: Type.Object({ token: LinkToken }, { additionalProperties: false }),
      response: { 200: Type.Object({ email: Type.String(), role: PartnerRole, partnerName: Type.String(), expiresAt: Type.String({ format: 'date-time' }) }), ...PARTNER_ERRORS }
    }
  }, async request => {
    const invitation = await findInvitation(fastify.prisma, request.body.token)
    return { email: invitation.email, role: invitation.role as 'admin', partnerName: invitation.partner.name, expiresAt: invitation.expiresAt.toISOString() }
  })

  fastify.post('/invitations/accept', {
    config: { publicRoute: true },
    schema: {
      ...PARTNER_ROUTE,
      summary: 'Accept an invitation with a name and a password; logs in',
      body: Type.Object({ token: LinkToken, name: Name, password: Password }, { additionalProperties: false }),
      response: { 201: Me, ...PARTNER_ERRORS }
    }
  }, async (request, reply) => {
    const passwordHash = await hashPassword(request.body.password)
    const user = await fastify.configWriter.write('partner:invitation', async ({ tx, audit }) => {
      const invitation = await redeemInvitation(tx, request.body.token)
      if (await tx.partnerUser.findUnique({ where: { email: invitation.email } }) !== null) throw new ConflictError(`${invitation.email} has a portal account already: log in with it`)
      const now = new Date()
      const created = await tx.partnerUser.create({
        data: { partnerId: invitation.partnerId, email: invitation.email, name: request.body.name.trim(), role: invitation.role, passwordHash, emailVerifiedAt: now, lastLoginAt: now },
        include: { partner: true }
      })
      audit({ action: 'partner-user.join', targetType: 'partner-user', targetId: created.id, details: { partnerId: invitation.partnerId, email: invitation.email, role: invitation.role, invitedBy: invitation.invitedBy } })
      return created
    })
    await logIn(fastify, request, reply, user)
    return await reply.code(201).send(await describeSession(fastify, request))
  })
}
