// Response headers describing the limits: the IETF draft (draft-ietf-httpapi-ratelimit-headers,
// structured fields `RateLimit-Policy` and `RateLimit`), the widespread `X-RateLimit-*`
// trio, `Retry-After` on rejections, and the daily/monthly quota.
import type { LimitDecision } from '../../../limits/request-limiter.js'

export function rateLimitHeaders (decision: LimitDecision): Record<string, string> {
  const headers: Record<string, string> = {}
  const rate = decision.rate
  if (rate !== undefined) {
    headers['ratelimit-policy'] = `"burst";q=${rate.limit};w=${rate.windowSeconds}`
    headers.ratelimit = `"burst";r=${rate.remaining};t=${rate.resetSeconds}`
    headers['x-ratelimit-limit'] = String(rate.limit)
    headers['x-ratelimit-remaining'] = String(rate.remaining)
    headers['x-ratelimit-reset'] = String(rate.resetSeconds)
  }
  const day = decision.quota?.day
  if (day !== undefined) {
    headers['x-quota-limit-day'] = String(day.limit)
    headers['x-quota-remaining-day'] = String(Math.max(0, day.limit - day.used))
  }
  const month = decision.quota?.month
  if (month !== undefined) {
    headers['x-quota-limit-month'] = String(month.limit)
    headers['x-quota-remaining-month'] = String(Math.max(0, month.limit - month.used))
  }
  if (!decision.allowed) {
    const resetAt = decision.reason === 'quota-day' ? day?.resetAt : decision.reason === 'quota-month' ? month?.resetAt : undefined
    const seconds = resetAt !== undefined ? Math.ceil((resetAt.getTime() - Date.now()) / 1000) : rate?.retryAfterSeconds ?? 1
    headers['retry-after'] = String(Math.max(1, seconds))
  }
  return headers
}
