// The authentication unit: the request's credential must be one the API accepts, and valid.
// A client whose authentications keep failing is refused before any credential is checked,
// and each failure is charged to its address (src/gateway/client-caps/).
import type { PolicyContext, PolicyUnit } from '../chain.js'
import type { ChainServices } from '../definition.js'
import { authenticate, type AuthenticateOptions } from './authenticate.js'

export function authenticationUnit (services: ChainServices): PolicyUnit {
  const options: AuthenticateOptions = {
    nonceStore: services.limits.nonceStore,
    timestampWindowMs: services.config.timestampWindowSeconds * 1000,
    tokenIssuer: services.tokenIssuer
  }
  const failures = services.failedAuthentications
  return {
    name: 'authentication',
    async access (context: PolicyContext) {
      const refusal = failures.refusesBeforeAuth(context)
      if (refusal !== undefined) {
        context.setResponseHeaders(refusal.responseHeaders)
        throw refusal
      }
      let authenticated
      try {
        authenticated = await authenticate(context, context.snapshot, context.api.authModes, context.api.name, options)
      } catch (error) {
        failures.chargeIfAuthenticationFailed(error as Error, context)
        throw error
      }
      context.appId = authenticated.appId
      context.credentialKey = authenticated.credentialKey
      context.credentialHeaders = authenticated.credentialHeaders
    }
  }
}
