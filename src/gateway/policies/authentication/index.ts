// The authentication unit: the request's credential must be one the API accepts, and valid.
import type { PolicyContext, PolicyUnit } from '../chain.js'
import type { ChainServices } from '../definition.js'
import { authenticate, type AuthenticateOptions } from './authenticate.js'

export function authenticationUnit (services: ChainServices): PolicyUnit {
  const options: AuthenticateOptions = {
    nonceStore: services.limits.nonceStore,
    timestampWindowMs: services.config.timestampWindowSeconds * 1000,
    tokenIssuer: services.tokenIssuer
  }
  return {
    name: 'authentication',
    async access (context: PolicyContext) {
      const authenticated = await authenticate(context, context.snapshot, context.api.authModes, context.api.name, options)
      context.appId = authenticated.appId
      context.credentialKey = authenticated.credentialKey
      context.credentialHeaders = authenticated.credentialHeaders
    }
  }
}
