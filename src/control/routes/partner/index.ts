// The partner API (/partner/v1), used by the portal: accounts, apps and credentials, the
// API catalog, access requests and usage — all behind the portal session.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import partnerSession from '../../plugins/partner-session.js'
import type { LoginThrottle } from '../../services/login-throttle.js'
import { accessRequestRoutes } from './access-requests.js'
import { accountRoutes } from './account.js'
import { appRoutes } from './apps.js'
import { catalogRoutes } from './catalog.js'
import { usageRoutes } from './usage.js'

export const partnerApiRoutes: FastifyPluginAsyncTypebox<{ throttle?: LoginThrottle }> = async (fastify, options) => {
  await fastify.register(partnerSession)
  await fastify.register(accountRoutes, { throttle: options.throttle })
  await fastify.register(appRoutes)
  await fastify.register(catalogRoutes)
  await fastify.register(accessRequestRoutes)
  await fastify.register(usageRoutes)
}
