// Rate limit and quota, per app × API from the grant's plan, in one round trip to the
// counter backend. Every response carries the rate-limit headers.
import { DependencyUnavailableError, QuotaExceededError, RateLimitedError } from '../../../domain/errors.js'
import type { LimitDecision, LimitPlan, RequestLimiter } from '../../../limits/request-limiter.js'
import type { SnapshotPlan } from '../../../store/config-snapshot.js'
import type { CompiledGrant } from '../../snapshot/compile.js'
import type { UsageRecorder } from '../../usage/usage-recorder.js'
import { rateLimitHeaders } from './rate-limit-headers.js'

const planCache = new WeakMap<SnapshotPlan, LimitPlan>()

function limitPlan (plan: SnapshotPlan): LimitPlan {
  let limit = planCache.get(plan)
  if (limit === undefined) {
    limit = { ratePerSecond: plan.rateLimitPerSecond, burst: plan.rateLimitBurst ?? plan.rateLimitPerSecond, quotaPerDay: plan.quotaPerDay, quotaPerMonth: plan.quotaPerMonth }
    planCache.set(plan, limit)
  }
  return limit
}

/** Where the rate-limit headers go: the response, or the refused WebSocket handshake. */
export interface RateLimitedExchange {
  setResponseHeaders: (headers: Readonly<Record<string, string>>) => void
}

/**
 * Counts the call against the plan and sets the limit headers; throws the refusal. Returns a
 * promise only when the limiter has to ask its store: a decision this process holds costs none.
 */
export function applyRequestLimits (exchange: RateLimitedExchange, limiter: RequestLimiter, usage: UsageRecorder, appId: string, apiId: string, grant: CompiledGrant): void | Promise<void> {
  const limit = limitPlan(grant.plan)
  if (limit.ratePerSecond === null && limit.quotaPerDay === null && limit.quotaPerMonth === null) {
    usage.record(appId, apiId, 'call')
    return
  }
  let decision
  try {
    decision = limiter.consume(grant.subject, limit)
  } catch {
    throw storeUnavailable()
  }
  if (decision instanceof Promise) {
    return decision.then(
      settled => { applyDecision(exchange, usage, appId, apiId, settled) },
      () => { throw storeUnavailable() }
    )
  }
  applyDecision(exchange, usage, appId, apiId, decision)
}

function storeUnavailable (): Error {
  return new DependencyUnavailableError('The rate limit store is unavailable')
}

function applyDecision (exchange: RateLimitedExchange, usage: UsageRecorder, appId: string, apiId: string, decision: LimitDecision): void {
  exchange.setResponseHeaders(rateLimitHeaders(decision))
  if (decision.allowed) {
    usage.record(appId, apiId, 'call')
    return
  }
  usage.record(appId, apiId, 'rejected')
  if (decision.reason === 'rate') throw new RateLimitedError(String(decision.rate?.retryAfterSeconds ?? 1))
  const window = decision.reason === 'quota-day' ? decision.quota?.day : decision.quota?.month
  throw new QuotaExceededError(decision.reason === 'quota-day' ? 'daily' : 'monthly', window?.resetAt.toISOString() ?? 'the next window')
}
