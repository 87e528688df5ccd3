// /admin/v1/partners — the companies that own apps.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import { NotFoundError } from '../../../domain/errors.js'
import { PageQuery, pageArguments, pageOf, toPage } from '../../pagination.js'
import { ERROR_RESPONSES, IdParams, Name, Timestamp } from '../../schemas/common.js'

const PartnerStatus = Type.Union([Type.Literal('active'), Type.Literal('pending'), Type.Literal('suspended')])

export const Partner = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  status: PartnerStatus,
  createdAt: Timestamp,
  updatedAt: Timestamp
}, { $id: 'Partner' })

const CreatePartner = Type.Object({
  name: Name,
  email: Type.Optional(Type.String({ format: 'email', maxLength: 320 })),
  status: Type.Optional(PartnerStatus)
}, { additionalProperties: false })

const UpdatePartner = Type.Object({
  name: Type.Optional(Name),
  email: Type.Optional(Type.Union([Type.String({ format: 'email', maxLength: 320 }), Type.Null()])),
  status: Type.Optional(PartnerStatus)
}, { additionalProperties: false, minProperties: 1 })

type PartnerRow = Static<typeof Partner>

const PartnerQuery = Type.Object({
  ...PageQuery.properties,
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'part of the name or email, any case' })),
  status: Type.Optional(PartnerStatus)
})

export const partnerRoutes: FastifyPluginAsyncTypebox = async fastify => {
  const tags = ['partners']

  fastify.post('/partners', { schema: { tags, summary: 'Create a partner', body: CreatePartner, response: { 201: Partner, ...ERROR_RESPONSES } } }, async (request, reply) => {
    const partner = await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      const created = await tx.partner.create({ data: request.body })
      audit({ action: 'partner.create', targetType: 'partner', targetId: created.id, details: { name: created.name } })
      return created
    })
    return await reply.code(201).send(partner as unknown as PartnerRow)
  })

  fastify.get('/partners', { schema: { tags, summary: 'List partners, optionally searched by name or email and filtered by status (status=pending: the sign-ups waiting for approval)', querystring: PartnerQuery, response: { 200: pageOf(Partner), ...ERROR_RESPONSES } } }, async request => {
    const { q, status } = request.query
    const page = pageArguments(request.query)
    const rows = await fastify.prisma.partner.findMany({
      ...page,
      where: {
        ...page.where,
        ...(status !== undefined ? { status } : {}),
        ...(q !== undefined ? { OR: [{ name: { contains: q, mode: 'insensitive' as const } }, { email: { contains: q, mode: 'insensitive' as const } }] } : {})
      }
    })
    return toPage(rows, request.query.limit, row => row as unknown as PartnerRow)
  })

  fastify.get('/partners/:id', { schema: { tags, summary: 'Get a partner', params: IdParams, response: { 200: Partner, ...ERROR_RESPONSES } } }, async request => {
    const partner = await fastify.prisma.partner.findUnique({ where: { id: request.params.id } })
    if (partner === null) throw new NotFoundError(`Partner ${request.params.id} does not exist`)
    return partner as unknown as PartnerRow
  })

  fastify.patch('/partners/:id', { schema: { tags, summary: 'Update a partner', params: IdParams, body: UpdatePartner, response: { 200: Partner, ...ERROR_RESPONSES } } }, async request => {
    const partner = await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      const existing = await tx.partner.findUnique({ where: { id: request.params.id } })
      if (existing === null) throw new NotFoundError(`Partner ${request.params.id} does not exist`)
      const updated = await tx.partner.update({ where: { id: existing.id }, data: request.body })
      audit({ action: 'partner.update', targetType: 'partner', targetId: updated.id, details: request.body })
      return updated
    })
    return partner as unknown as PartnerRow
  })

  fastify.delete('/partners/:id', { schema: { tags, summary: 'Delete a partner with its apps, credentials and grants', params: IdParams, response: { 204: Type.Null(), ...ERROR_RESPONSES } } }, async (request, reply) => {
    await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      const existing = await tx.partner.findUnique({ where: { id: request.params.id } })
      if (existing === null) throw new NotFoundError(`Partner ${request.params.id} does not exist`)
      await tx.partner.delete({ where: { id: existing.id } })
      audit({ action: 'partner.delete', targetType: 'partner', targetId: existing.id, details: { name: existing.name } })
    })
    return await reply.code(204).send(null)
  })
}
