// /admin/v1/partners/{id}/members and /invitations — the portal users of a partner. An
// operator invites a partner's first user (or any other); the invitee sets name and password.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { NotFoundError } from '../../../domain/errors.js'
import { ERROR_RESPONSES, IdParams } from '../../schemas/common.js'
import { invite, readTeam } from '../../services/team.js'
import { Email, PartnerRole } from '../partner/schemas.js'
import { SentInvitation, Team } from '../partner/team.js'

export const partnerMemberRoutes: FastifyPluginAsyncTypebox = async fastify => {
  const tags = ['partners']

  fastify.post('/partners/:id/invitations', {
    schema: {
      tags,
      summary: "Invite a user to the partner's portal account by email (role admin unless given); inviting a pending email again sends a new link",
      params: IdParams,
      body: Type.Object({ email: Email, role: Type.Optional(PartnerRole) }, { additionalProperties: false }),
      response: { 201: SentInvitation, ...ERROR_RESPONSES }
    }
  }, async (request, reply) => {
    const sent = await invite(fastify, `operator:${request.operator.name}`, { partnerId: request.params.id, email: request.body.email, role: request.body.role ?? 'admin' })
    return await reply.code(201).send(sent as never)
  })

  fastify.get('/partners/:id/members', {
    schema: { tags, summary: "The partner's portal users and pending invitations", params: IdParams, response: { 200: Team, ...ERROR_RESPONSES } }
  }, async request => {
    if (await fastify.prisma.partner.findUnique({ where: { id: request.params.id }, select: { id: true } }) === null) throw new NotFoundError(`Partner ${request.params.id} does not exist`)
    return await readTeam(fastify.prisma, request.params.id) as never
  })
}
