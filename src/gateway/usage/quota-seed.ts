// Where lost Redis quota counters start again: the calls the database has for the app × API
// today and this month, plus those this node counted and has not flushed yet.
import type { QuotaSeedSource } from '../../limits/redis-request-limiter.js'
import type { PrismaClient } from '../../store/db.js'
import { readQuotaUsage, type UsageRecorder } from './usage-recorder.js'

export function quotaSeedSource (prisma: PrismaClient, usage: UsageRecorder): QuotaSeedSource {
  return async (subject, nowMs) => {
    const [appId, apiId] = subject.split(':')
    const used = await usage.withPendingCalls(appId, apiId, nowMs, async () => {
      const [stored] = await readQuotaUsage(prisma, nowMs, { appId, apiId })
      return { day: stored?.day ?? 0, month: stored?.month ?? 0 }
    })
    return { dayUsed: used.day, monthUsed: used.month }
  }
}
