// Pure limit arithmetic shared by the memory and Redis backends (the Lua script mirrors
// it): GCRA for rates — a token bucket expressed as one "theoretical arrival time", so a
// limiter needs a single number per subject — and UTC calendar windows for quotas.

export interface GcraParameters {
  /** ms between two requests at the sustained rate */
  emissionIntervalMs: number
  /** how far ahead of now the arrival time may run: burst × interval */
  toleranceMs: number
}

export function gcraParameters (ratePerSecond: number, burst: number): GcraParameters {
  const emissionIntervalMs = 1000 / ratePerSecond
  return { emissionIntervalMs, toleranceMs: emissionIntervalMs * Math.max(1, burst) }
}

export interface GcraResult {
  allowed: boolean
  /** the arrival time to store when allowed */
  newArrivalMs: number
  remaining: number
  /** seconds until the bucket is full again */
  resetSeconds: number
  retryAfterSeconds: number
}

export function gcra (storedArrivalMs: number | undefined, nowMs: number, parameters: GcraParameters): GcraResult {
  const { emissionIntervalMs, toleranceMs } = parameters
  const arrival = Math.max(storedArrivalMs ?? nowMs, nowMs)
  const newArrivalMs = arrival + emissionIntervalMs
  const allowed = newArrivalMs - nowMs <= toleranceMs + 1e-6
  const basis = allowed ? newArrivalMs : arrival
  const remaining = Math.max(0, Math.floor((toleranceMs - (basis - nowMs)) / emissionIntervalMs + 1e-9))
  return {
    allowed,
    newArrivalMs,
    remaining,
    resetSeconds: Math.max(0, Math.ceil((basis - nowMs) / 1000)),
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((newArrivalMs - toleranceMs - nowMs) / 1000))
  }
}

export interface CalendarWindow {
  /** e.g. 2026-11-25 or 2026-11 */
  id: string
  resetAtMs: number
  /** the same instant as a Date, made once per window (decisions carry it); never mutated */
  resetAt: Date
}

interface CachedWindows { fromMs: number, day: CalendarWindow, month: CalendarWindow }

// every request asks for the current windows; they change once a day
let cached: CachedWindows | undefined

function windowsAt (nowMs: number): CachedWindows {
  if (cached !== undefined && nowMs >= cached.fromMs && nowMs < cached.day.resetAtMs) return cached
  const now = new Date(nowMs)
  const dayResetAtMs = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)
  const monthResetAtMs = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)
  const windows = {
    fromMs: Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()),
    day: { id: now.toISOString().slice(0, 10), resetAtMs: dayResetAtMs, resetAt: new Date(dayResetAtMs) },
    month: { id: now.toISOString().slice(0, 7), resetAtMs: monthResetAtMs, resetAt: new Date(monthResetAtMs) }
  }
  // tests move time backwards and forwards; cache only the present
  if (Math.abs(nowMs - Date.now()) < 86_400_000) cached = windows
  return windows
}

export function dayWindow (nowMs: number): CalendarWindow {
  return windowsAt(nowMs).day
}

export function monthWindow (nowMs: number): CalendarWindow {
  return windowsAt(nowMs).month
}

/**
 * This node's part of a plan while the nodes cannot share counters (Redis away): a 1/nodes
 * share of the rate and burst, and of the quota still left when sharing stopped, rounded down
 * so that the nodes together never exceed the plan (a rate keeps a burst of at least one).
 */
export function localShareOfPlan (plan: LimitPlan, nodes: number, dayUsed: number, monthUsed: number): LimitPlan {
  const share = Math.max(1, nodes)
  const quotaShare = (limit: number | null, used: number): number | null => limit === null ? null : used + Math.floor(Math.max(0, limit - used) / share)
  return {
    ratePerSecond: plan.ratePerSecond === null ? null : plan.ratePerSecond / share,
    burst: plan.ratePerSecond === null ? null : Math.max(1, Math.floor((plan.burst ?? plan.ratePerSecond) / share)),
    quotaPerDay: quotaShare(plan.quotaPerDay, dayUsed),
    quotaPerMonth: quotaShare(plan.quotaPerMonth, monthUsed)
  }
}

/** What limits read of a plan: null means no such limit. */
export interface LimitPlan {
  ratePerSecond: number | null
  burst: number | null
  quotaPerDay: number | null
  quotaPerMonth: number | null
}
