// Where lost Redis quota counters start again: the calls the database has for the app × API
// today and this month, plus those this node counted and has not flushed yet.
import type { QuotaSeedSource } from '../../limits/redis-request-limiter.js'
import type { PrismaClient } from '../../store/db.js'
import { readQuotaUsage, type UsageRecorder } from './usage-recorder.js'

export function quotaSeedSource (prisma: PrismaClient, usage: UsageRecorder): QuotaSeedSource {
  return async (subject, nowMs) => {
    const [appId, apiId] = subject.split(':')
    const [stored] = await readQuotaUsage(prisma, nowMs, { appId, apiId })
    const pending = usage.pendingCalls(appId, apiId, nowMs)
    return { dayUsed: (stored?.day ?? 0) + pending.day, monthUsed: (stored?.month ?? 0) + pending.month }
  }
}
