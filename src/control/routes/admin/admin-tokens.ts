// /admin/v1/admin-tokens — operator tokens with scopes "admin" (everything) or "read" (GET only).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { NotFoundError } from '../../../domain/errors.js'
import { PageQuery, pageArguments, pageOf, toPage } from '../../pagination.js'
import { ERROR_RESPONSES, IdParams, Name, NullableTimestamp, Timestamp } from '../../schemas/common.js'
import { createAdminToken } from '../../services/admin-tokens.js'

const Scopes = Type.Array(Type.Union([Type.Literal('admin'), Type.Literal('read')]), { minItems: 1, maxItems: 2, uniqueItems: true })
const AdminToken = Type.Object({ id: Type.String({ format: 'uuid' }), name: Type.String(), scopes: Type.Array(Type.String()), createdAt: Timestamp, revokedAt: NullableTimestamp })

export const adminTokenRoutes: FastifyPluginAsyncTypebox = async fastify => {
  const tags = ['admin-tokens']

  fastify.post('/admin-tokens', {
    schema: { tags, summary: 'Create an operator token (shown in this response only)', body: Type.Object({ name: Name, scopes: Scopes }, { additionalProperties: false }), response: { 201: Type.Object({ id: Type.String(), name: Type.String(), scopes: Type.Array(Type.String()), token: Type.String(), createdAt: Timestamp }), ...ERROR_RESPONSES } }
  }, async (request, reply) => {
    return await reply.code(201).send(await createAdminToken(fastify.configWriter, request.operator.name, request.body.name, request.body.scopes) as never)
  })

  fastify.get('/admin-tokens', { schema: { tags, summary: 'List operator tokens (never the tokens themselves)', querystring: PageQuery, response: { 200: pageOf(AdminToken), ...ERROR_RESPONSES } } }, async request => {
    const rows = await fastify.prisma.adminToken.findMany({ ...pageArguments(request.query), select: { id: true, name: true, scopes: true, createdAt: true, revokedAt: true } })
    return toPage(rows, request.query.limit, row => row as never)
  })

  fastify.delete('/admin-tokens/:id', { schema: { tags, summary: 'Revoke an operator token', params: IdParams, response: { 204: Type.Null(), ...ERROR_RESPONSES } } }, async (request, reply) => {
    await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      const token = await tx.adminToken.findUnique({ where: { id: request.params.id } })
      if (token === null) throw new NotFoundError(`Operator token ${request.params.id} does not exist`)
      await tx.adminToken.update({ where: { id: token.id }, data: { revokedAt: token.revokedAt ?? new Date() } })
      audit({ action: 'admin-token.revoke', targetType: 'admin-token', targetId: token.id, details: { name: token.name } })
    })
    return await reply.code(204).send(null)
  })
}
