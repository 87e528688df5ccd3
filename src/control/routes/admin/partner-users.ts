// /admin/v1/partners/:id/users — the people who log in to the portal for a partner
// (never their password hashes or sessions).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { NotFoundError } from '../../../domain/errors.js'
import { ERROR_RESPONSES, IdParams, NullableTimestamp, Timestamp } from '../../schemas/common.js'

const PartnerUser = Type.Object({ id: Type.String({ format: 'uuid' }), email: Type.String(), createdAt: Timestamp, lastLoginAt: NullableTimestamp })

export const partnerUserRoutes: FastifyPluginAsyncTypebox = async fastify => {
  fastify.get('/partners/:id/users', {
    schema: { tags: ['partners'], summary: "A partner's portal users", params: IdParams, response: { 200: Type.Object({ items: Type.Array(PartnerUser) }), ...ERROR_RESPONSES } }
  }, async request => {
    const partner = await fastify.prisma.partner.findUnique({ where: { id: request.params.id }, include: { users: { orderBy: { createdAt: 'asc' }, select: { id: true, email: true, createdAt: true, lastLoginAt: true } } } })
    if (partner === null) throw new NotFoundError(`Partner ${request.params.id} does not exist`)
    return { items: partner.users as never }
  })
}
