// The operator API, one file per resource.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { adminTokenRoutes } from './admin-tokens.js'
import { apiCacheRoutes } from './api-cache.js'
import { apiRoutes } from './apis.js'
import { apiImportRoutes } from './api-import.js'
import { appRoutes } from './apps.js'
import { auditRoutes } from './audit.js'
import { grantRoutes } from './grants.js'
import { nodeRoutes } from './nodes.js'
import { operatorRoutes } from './operators.js'
import { partnerMemberRoutes } from './partner-members.js'
import { partnerRoutes } from './partners.js'
import { partnerUserRoutes } from './partner-users.js'
import { planRoutes } from './plans.js'
import { settingRoutes } from './settings.js'
import { upstreamRoutes } from './upstreams.js'

export const adminRoutes: FastifyPluginAsyncTypebox = async fastify => {
  await fastify.register(partnerRoutes)
  await fastify.register(partnerMemberRoutes)
  await fastify.register(appRoutes)
  await fastify.register(auditRoutes)
  await fastify.register(upstreamRoutes)
  await fastify.register(planRoutes)
  await fastify.register(apiRoutes)
  await fastify.register(grantRoutes)
  await fastify.register(adminTokenRoutes)
  await fastify.register(apiImportRoutes)
  await fastify.register(apiCacheRoutes)
  await fastify.register(settingRoutes)
  await fastify.register(operatorRoutes)
  await fastify.register(partnerUserRoutes)
  await fastify.register(nodeRoutes)
}
