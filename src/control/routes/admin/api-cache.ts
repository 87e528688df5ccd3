// /admin/v1/apis/{id}/cache/purge — drops every answer the gateways cached for an API. The
// API's cache generation goes up; it is part of every cache key, so once a gateway has the
// new configuration (within about a second, like any change) no older entry is served again,
// in memory or in Redis, and the old entries age out on their own.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { NotFoundError } from '../../../domain/errors.js'
import { ERROR_RESPONSES, IdParams } from '../../schemas/common.js'

export const apiCacheRoutes: FastifyPluginAsyncTypebox = async fastify => {
  fastify.post('/apis/:id/cache/purge', {
    schema: { tags: ['apis'], summary: "Purge the API's cached responses on every gateway", params: IdParams, response: { 204: Type.Null(), ...ERROR_RESPONSES } }
  }, async (request, reply) => {
    await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      const api = await tx.api.findUnique({ where: { id: request.params.id }, select: { id: true, name: true } })
      if (api === null) throw new NotFoundError(`API ${request.params.id} does not exist`)
      const { cacheGeneration } = await tx.api.update({ where: { id: api.id }, data: { cacheGeneration: { increment: 1 } }, select: { cacheGeneration: true } })
      audit({ action: 'api.cache.purge', targetType: 'api', targetId: api.id, details: { name: api.name, cacheGeneration } })
    })
    return await reply.code(204).send(null)
  })
}
