// /admin/v1/audit and /admin/v1/config/version: who changed what, and the version gateways follow.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { InvalidCursorError } from '../../../domain/errors.js'
import { ERROR_RESPONSES, Timestamp } from '../../schemas/common.js'

const AuditEntry = Type.Object({
  id: Type.String(),
  actor: Type.String(),
  action: Type.String(),
  targetType: Type.String(),
  targetId: Type.Union([Type.String(), Type.Null()]),
  details: Type.Unknown(),
  createdAt: Timestamp
})

const AuditQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  cursor: Type.Optional(Type.String({ maxLength: 40 })),
  action: Type.Optional(Type.String({ maxLength: 100 })),
  actor: Type.Optional(Type.String({ maxLength: 320, description: 'exact actor: an operator email, a token name, cli' })),
  targetType: Type.Optional(Type.String({ maxLength: 100 })),
  targetId: Type.Optional(Type.String({ maxLength: 100 })),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'entries at or after this time' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'entries before this time' }))
})

export const auditRoutes: FastifyPluginAsyncTypebox = async fastify => {
  fastify.get('/audit', {
    schema: { tags: ['audit'], summary: 'The audit log, newest first', querystring: AuditQuery, response: { 200: Type.Object({ items: Type.Array(AuditEntry), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...ERROR_RESPONSES } }
  }, async request => {
    const { limit, cursor, action, actor, targetType, targetId, from, to } = request.query
    if (cursor !== undefined && !/^\d{1,19}$/.test(cursor)) throw new InvalidCursorError()
    const rows = await fastify.prisma.auditLog.findMany({
      where: {
        ...(cursor !== undefined ? { id: { lt: BigInt(cursor) } } : {}),
        ...(action !== undefined ? { action } : {}),
        ...(actor !== undefined ? { actor } : {}),
        ...(targetType !== undefined ? { targetType } : {}),
        ...(targetId !== undefined ? { targetId } : {}),
        ...(from !== undefined || to !== undefined ? { createdAt: { ...(from !== undefined ? { gte: new Date(from) } : {}), ...(to !== undefined ? { lt: new Date(to) } : {}) } } : {})
      },
      orderBy: { id: 'desc' },
      take: limit + 1
    })
    const page = rows.slice(0, limit)
    return {
      items: page.map(row => ({ ...row, id: row.id.toString(), details: row.details ?? null })) as never,
      nextCursor: rows.length > limit ? page[page.length - 1].id.toString() : null
    }
  })

  fastify.get('/config/version', {
    schema: { tags: ['config'], summary: 'The configuration version; bumped by every write', response: { 200: Type.Object({ version: Type.String({ description: 'a decimal integer that only grows' }) }), ...ERROR_RESPONSES } }
  }, async () => ({ version: (await fastify.configWriter.currentVersion()).toString() }))
}
