// The operator API, one file per resource.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { accessRequestRoutes } from './access-requests.js'
import { apiImportRoutes } from './api-import.js'
import { appRoutes } from './apps.js'
import { auditRoutes } from './audit.js'
import { partnerRoutes } from './partners.js'
import { settingRoutes } from './settings.js'

export const adminRoutes: FastifyPluginAsyncTypebox = async fastify => {
  await fastify.register(partnerRoutes)
  await fastify.register(appRoutes)
  await fastify.register(auditRoutes)
  await fastify.register(apiImportRoutes)
  await fastify.register(accessRequestRoutes)
  await fastify.register(settingRoutes)
}
