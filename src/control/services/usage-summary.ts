// A partner app's usage per API from the counts the gateways flush to UsageDaily: calls and
// rejections per UTC day for a window of days, and today's and this month's totals against
// the quotas of the plan the app holds for that API.
import type { PrismaClient } from '../../store/db.js'

const DAY_MS = 86_400_000

export interface UsagePoint { day: string, calls: number, rejected: number }

export interface ApiUsage {
  apiId: string
  apiName: string
  grantStatus: string | null
  plan: { id: string, name: string, quotaPerDay: number | null, quotaPerMonth: number | null, rateLimitPerSecond: number | null } | null
  today: { calls: number, rejected: number }
  month: { calls: number, rejected: number }
  total: { calls: number, rejected: number }
  series: UsagePoint[]
}

export interface UsageSummary { appId: string, from: string, to: string, days: string[], apis: ApiUsage[] }

function utcDay (time: number): Date {
  const date = new Date(time)
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()))
}

export async function summarizeUsage (prisma: PrismaClient, appId: string, days = 30, now = Date.now()): Promise<UsageSummary> {
  const today = utcDay(now)
  const from = new Date(today.getTime() - (days - 1) * DAY_MS)
  const monthStart = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1))
  const since = monthStart < from ? monthStart : from
  const [rows, grants] = await Promise.all([
    prisma.usageDaily.findMany({ where: { appId, day: { gte: since, lte: today } } }),
    prisma.grant.findMany({ where: { appId }, include: { plan: true, api: { select: { name: true } } } })
  ])
  const dayList = Array.from({ length: days }, (_, index) => new Date(from.getTime() + index * DAY_MS).toISOString().slice(0, 10))
  const byApi = new Map<string, ApiUsage>()
  const entry = (apiId: string): ApiUsage => {
    let usage = byApi.get(apiId)
    if (usage === undefined) {
      usage = { apiId, apiName: '', grantStatus: null, plan: null, today: { calls: 0, rejected: 0 }, month: { calls: 0, rejected: 0 }, total: { calls: 0, rejected: 0 }, series: dayList.map(day => ({ day, calls: 0, rejected: 0 })) }
      byApi.set(apiId, usage)
    }
    return usage
  }
  for (const grant of grants) {
    const usage = entry(grant.apiId)
    usage.apiName = grant.api.name
    usage.grantStatus = grant.status
    usage.plan = { id: grant.plan.id, name: grant.plan.name, quotaPerDay: grant.plan.quotaPerDay, quotaPerMonth: grant.plan.quotaPerMonth, rateLimitPerSecond: grant.plan.rateLimitPerSecond }
  }
  for (const row of rows) {
    const usage = entry(row.apiId)
    const calls = Number(row.calls)
    const rejected = Number(row.rejected)
    const time = row.day.getTime()
    if (time >= monthStart.getTime()) { usage.month.calls += calls; usage.month.rejected += rejected }
    if (time === today.getTime()) { usage.today.calls += calls; usage.today.rejected += rejected }
    if (time >= from.getTime()) {
      const point = usage.series[Math.round((time - from.getTime()) / DAY_MS)]
      point.calls += calls
      point.rejected += rejected
      usage.total.calls += calls
      usage.total.rejected += rejected
    }
  }
  const unnamed = [...byApi.values()].filter(usage => usage.apiName === '')
  if (unnamed.length > 0) {
    const apis = await prisma.api.findMany({ where: { id: { in: unnamed.map(usage => usage.apiId) } }, select: { id: true, name: true } })
    for (const usage of unnamed) usage.apiName = apis.find(api => api.id === usage.apiId)?.name ?? '(deleted API)'
  }
  return { appId, from: dayList[0], to: dayList[dayList.length - 1], days: dayList, apis: [...byApi.values()].sort((a, b) => a.apiName.localeCompare(b.apiName)) }
}
