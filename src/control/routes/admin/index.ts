// The operator API, one file per resource.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { appRoutes } from './apps.js'
import { auditRoutes } from './audit.js'
import { partnerRoutes } from './partners.js'

export const adminRoutes: FastifyPluginAsyncTypebox = async fastify => {
  await fastify.register(partnerRoutes)
  await fastify.register(appRoutes)
  await fastify.register(auditRoutes)
}
