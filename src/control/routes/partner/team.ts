// /partner/v1/team — the partner's portal users and pending invitations. Every member sees
// the team; only admins invite, change roles and remove, and the last admin stays.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { NotFoundError, UnauthorizedError } from '../../../domain/errors.js'
import { requirePartnerAdmin } from '../../plugins/partner-session.js'
import { IdParams, NullableTimestamp, Timestamp } from '../../schemas/common.js'
import { assertAnotherAdmin, invite, memberView, readTeam } from '../../services/team.js'
import { Email, PARTNER_ERRORS, PARTNER_ROUTE, PartnerRole } from './schemas.js'

export const Member = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  role: PartnerRole,
  emailVerified: Type.Boolean(),
  createdAt: Timestamp,
  lastLoginAt: NullableTimestamp
})

export const Invitation = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  role: PartnerRole,
  createdAt: Timestamp,
  expiresAt: Timestamp,
  expired: Type.Boolean()
})

export const Team = Type.Object({ members: Type.Array(Member), invitations: Type.Array(Invitation) })

export const SentInvitation = Type.Object({
  ...Invitation.properties,
  delivery: Type.Union([Type.Literal('sent'), Type.Literal('logged'), Type.Literal('failed')], { description: 'sent by SMTP; logged (no SMTP configured: the link is in the server log); failed (see the server log, invite again to resend)' })
})

export const InviteBody = Type.Object({ email: Email, role: PartnerRole }, { additionalProperties: false })

export const teamRoutes: FastifyPluginAsyncTypebox = async fastify => {
  fastify.get('/team', {
    schema: { ...PARTNER_ROUTE, summary: "The partner's members and pending invitations", response: { 200: Team, ...PARTNER_ERRORS } }
  }, async request => {
    const session = request.partnerSession
    if (session === null) throw new UnauthorizedError('Log in first')
    return await readTeam(fastify.prisma, session.partnerId) as never
  })

  fastify.post('/team/invitations', {
    schema: { ...PARTNER_ROUTE, summary: 'Invite someone by email (admins only); inviting a pending email again sends a new link', body: InviteBody, response: { 201: SentInvitation, ...PARTNER_ERRORS } }
  }, async (request, reply) => {
    const session = requirePartnerAdmin(request)
    const sent = await invite(fastify, `partner:${session.userId}`, { partnerId: session.partnerId, email: request.body.email, role: request.body.role })
    return await reply.code(201).send(sent as never)
  })

  fastify.delete('/team/invitations/:id', {
    schema: { ...PARTNER_ROUTE, summary: 'Withdraw an invitation (admins only): its link stops working', params: IdParams, response: { 204: Type.Null(), ...PARTNER_ERRORS } }
  }, async (request, reply) => {
    const session = requirePartnerAdmin(request)
    await fastify.configWriter.write(`partner:${session.userId}`, async ({ tx, audit }) => {
      const invitation = await tx.partnerInvitation.findFirst({ where: { id: request.params.id, partnerId: session.partnerId } })
      if (invitation === null) throw new NotFoundError(`Invitation ${request.params.id} does not exist`)
      await tx.partnerInvitation.delete({ where: { id: invitation.id } })
      audit({ action: 'partner-user.invitation-withdraw', targetType: 'partner', targetId: session.partnerId, details: { email: invitation.email } })
    })
    return await reply.code(204).send(null)
  })

  fastify.patch('/team/members/:id', {
    schema: { ...PARTNER_ROUTE, summary: "Change a member's role (admins only; the last admin stays an admin)", params: IdParams, body: Type.Object({ role: PartnerRole }, { additionalProperties: false }), response: { 200: Member, ...PARTNER_ERRORS } }
  }, async request => {
    const session = requirePartnerAdmin(request)
    const member = await fastify.configWriter.write(`partner:${session.userId}`, async ({ tx, audit }) => {
      const existing = await tx.partnerUser.findFirst({ where: { id: request.params.id, partnerId: session.partnerId } })
      if (existing === null) throw new NotFoundError(`Member ${request.params.id} does not exist`)
      if (existing.role === 'admin' && request.body.role !== 'admin') await assertAnotherAdmin(tx, session.partnerId, existing.id)
      const updated = await tx.partnerUser.update({ where: { id: existing.id }, data: { role: request.body.role } })
      audit({ action: 'partner-user.role', targetType: 'partner-user', targetId: existing.id, details: { email: existing.email, from: existing.role, to: updated.role } })
      return updated
    })
    return memberView(member) as never
  })

  fastify.delete('/team/members/:id', {
    schema: { ...PARTNER_ROUTE, summary: 'Remove a member and end their sessions (admins only; the last admin stays)', params: IdParams, response: { 204: Type.Null(), ...PARTNER_ERRORS } }
  }, async (request, reply) => {
    const session = requirePartnerAdmin(request)
    await fastify.configWriter.write(`partner:${session.userId}`, async ({ tx, audit }) => {
      const existing = await tx.partnerUser.findFirst({ where: { id: request.params.id, partnerId: session.partnerId } })
      if (existing === null) throw new NotFoundError(`Member ${request.params.id} does not exist`)
      if (existing.role === 'admin') await assertAnotherAdmin(tx, session.partnerId, existing.id)
      // sessions and one-time links go with the user (ON DELETE CASCADE)
      await tx.partnerUser.delete({ where: { id: existing.id } })
      audit({ action: 'partner-user.remove', targetType: 'partner-user', targetId: existing.id, details: { email: existing.email, role: existing.role } })
    })
    return await reply.code(204).send(null)
  })
}
