// The partner API (/partner/v1), used by the portal: accounts and teams, apps and credentials, the
// API catalog, access requests and usage — all behind the portal session.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import partnerSession from '../../plugins/partner-session.js'
import { LoginThrottle } from '../../services/login-throttle.js'
import { accessRequestRoutes } from './access-requests.js'
import { accountLinkRoutes } from './account-links.js'
import { accountRoutes } from './account.js'
import { appRoutes } from './apps.js'
import { catalogRoutes } from './catalog.js'
import { invitationRoutes } from './invitations.js'
import { teamRoutes } from './team.js'
import { usageRoutes } from './usage.js'

export const partnerApiRoutes: FastifyPluginAsyncTypebox<{ throttle?: LoginThrottle }> = async (fastify, options) => {
  await fastify.register(partnerSession)
  // one throttle: a password reset lifts the lock-out of the account's failed logins
  const throttle = options.throttle ?? new LoginThrottle()
  await fastify.register(accountRoutes, { throttle })
  await fastify.register(accountLinkRoutes, { throttle })
  await fastify.register(invitationRoutes)
  await fastify.register(teamRoutes)
  await fastify.register(appRoutes)
  await fastify.register(catalogRoutes)
  await fastify.register(accessRequestRoutes)
  await fastify.register(usageRoutes)
}
