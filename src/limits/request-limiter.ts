// The rate-limit and quota counter interface, and the decision both backends return.
import { dayWindow, gcraParameters, monthWindow, type GcraResult, type LimitPlan } from './limit-math.js'

export type { LimitPlan }

export interface QuotaState { limit: number, used: number, resetAt: Date }

export interface LimitDecision {
  allowed: boolean
  reason?: 'rate' | 'quota-day' | 'quota-month'
  rate?: { limit: number, remaining: number, resetSeconds: number, retryAfterSeconds: number, windowSeconds: number }
  quota?: { day?: QuotaState, month?: QuotaState }
}

export interface RequestLimiter {
  /**
   * Checks the rate limit, then the quotas, and counts the request against both only if
   * it is allowed: a request rejected by either consumes neither. A decision made from what
   * this process holds comes back at once, not as a promise: most requests pay none.
   */
  consume: (subject: string, plan: LimitPlan, nowMs?: number) => LimitDecision | Promise<LimitDecision>
  /** Starts quota counters from persisted usage, so counts survive a restart; never lowers a counter. */
  seedQuota: (subject: string, dayUsed: number, monthUsed: number, nowMs?: number) => Promise<void>
  close: () => Promise<void>
}

/** Assembles a decision from the raw results both backends compute. */
export function buildDecision (plan: LimitPlan, nowMs: number, rate: GcraResult | undefined, reason: LimitDecision['reason'], dayUsed: number, monthUsed: number): LimitDecision {
  const decision: LimitDecision = { allowed: reason === undefined }
  if (reason !== undefined) decision.reason = reason
  if (rate !== undefined && plan.ratePerSecond !== null) {
    const burst = plan.burst ?? plan.ratePerSecond
    const { toleranceMs } = gcraParameters(plan.ratePerSecond, burst)
    decision.rate = {
      limit: burst,
      remaining: reason === undefined ? rate.remaining : reason === 'rate' ? 0 : rate.remaining,
      resetSeconds: rate.resetSeconds,
      retryAfterSeconds: rate.retryAfterSeconds,
      windowSeconds: Math.max(1, Math.round(toleranceMs / 1000))
    }
  }
  if (plan.quotaPerDay !== null || plan.quotaPerMonth !== null) {
    decision.quota = {}
    if (plan.quotaPerDay !== null) decision.quota.day = { limit: plan.quotaPerDay, used: dayUsed, resetAt: dayWindow(nowMs).resetAt }
    if (plan.quotaPerMonth !== null) decision.quota.month = { limit: plan.quotaPerMonth, used: monthUsed, resetAt: monthWindow(nowMs).resetAt }
  }
  return decision
}
