// The rate-limit unit: the grant's plan (rate, burst, daily and monthly quota) decides; an
// allowed call is counted in the app's usage, a refused one as rejected.
import type { CompiledGrant } from '../../snapshot/compile.js'
import type { PolicyContext, PolicyUnit } from '../chain.js'
import type { ChainServices } from '../definition.js'
import { applyRequestLimits } from './rate-limit.js'

export function rateLimitUnit (services: ChainServices): PolicyUnit {
  const { limits, usage } = services
  return {
    name: 'rate-limit',
    access (context: PolicyContext) {
      const grant = context.grant as CompiledGrant
      context.limitingPlan = grant.plan.name
      const pending = applyRequestLimits(context, limits.requestLimiter, usage, context.appId as string, context.api.id, grant)
      if (pending === undefined) {
        context.limitsAllowed()
        return
      }
      return pending.then(() => { context.limitsAllowed() })
    }
  }
}
