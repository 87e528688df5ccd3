// Where lost Redis quota counters start again: the calls the database has for the app × API
// today and this month, plus those this node counted and has not flushed yet.
import type { QuotaSeedSource } from '../../limits/redis-request-limiter.js'
import type { PrismaClient } from '../../store/db.js'
import type { UsageRecorder } from './usage-recorder.js'

export function quotaSeedSource (prisma: PrismaClient, usage: UsageRecorder): QuotaSeedSource {
  return async (subject, nowMs) => {
    const [appId, apiId] = subject.split(':')
    const now = new Date(nowMs)
    const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())
    const rows = await prisma.usageDaily.findMany({
      where: { appId, apiId, day: { gte: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)) } },
      select: { day: true, calls: true }
    })
    const pending = usage.pendingCalls(appId, apiId, nowMs)
    let dayUsed = pending.day
    let monthUsed = pending.month
    for (const row of rows) {
      monthUsed += Number(row.calls)
      if (row.day.getTime() === today) dayUsed += Number(row.calls)
    }
    return { dayUsed, monthUsed }
  }
}
