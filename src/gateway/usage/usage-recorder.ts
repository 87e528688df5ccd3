// Counts calls per app × API × UTC day in memory and adds them to UsageDaily in batches,
// at least every flush interval and on shutdown. Each gateway adds only its own deltas,
// so any number of nodes sum up correctly; a failed flush keeps its deltas for the next one.
import type { FastifyBaseLogger } from 'fastify'
import { dayWindow } from '../../limits/limit-math.js'
import type { PrismaClient } from '../../store/db.js'

interface UsageDelta { appId: string, apiId: string, day: string, calls: number, rejected: number }

export class UsageRecorder {
  readonly #prisma: PrismaClient
  readonly #log: FastifyBaseLogger
  #pending = new Map<string, UsageDelta>()
  #timer: NodeJS.Timeout | undefined
  #flushing: Promise<void> | undefined

  constructor (prisma: PrismaClient, log: FastifyBaseLogger, flushMs: number) {
    this.#prisma = prisma
    this.#log = log
    this.#timer = setInterval(() => { void this.flush() }, flushMs)
    this.#timer.unref()
  }

  record (appId: string, apiId: string, outcome: 'call' | 'rejected', nowMs = Date.now()): void {
    const day = dayWindow(nowMs).id
    this.#add({ appId, apiId, day, calls: outcome === 'call' ? 1 : 0, rejected: outcome === 'rejected' ? 1 : 0 })
  }

  #add (addition: UsageDelta): void {
    const key = `${addition.appId}|${addition.apiId}|${addition.day}`
    const delta = this.#pending.get(key)
    if (delta === undefined) {
      this.#pending.set(key, { ...addition })
      return
    }
    delta.calls += addition.calls
    delta.rejected += addition.rejected
  }

  /** Calls counted here and not yet flushed, for an app × API today and this month. */
  pendingCalls (appId: string, apiId: string, nowMs = Date.now()): { day: number, month: number } {
    const day = dayWindow(nowMs).id
    const month = day.slice(0, 7)
    const pending = { day: 0, month: 0 }
    for (const delta of this.#pending.values()) {
      if (delta.appId !== appId || delta.apiId !== apiId || !delta.day.startsWith(month)) continue
      pending.month += delta.calls
      if (delta.day === day) pending.day += delta.calls
    }
    return pending
  }

  async flush (): Promise<void> {
    if (this.#flushing !== undefined) await this.#flushing
    if (this.#pending.size === 0) return
    const batch = [...this.#pending.values()]
    this.#pending = new Map()
    this.#flushing = this.#write(batch).catch(error => {
      this.#log.error({ err: error }, 'usage flush failed; keeping the counts for the next flush')
      for (const delta of batch) this.#add(delta)
    }).finally(() => { this.#flushing = undefined })
    await this.#flushing
  }

  async close (): Promise<void> {
    clearInterval(this.#timer)
    await this.flush()
  }

  async #write (batch: UsageDelta[]): Promise<void> {
    // one statement per batch; an app or API deleted meanwhile is skipped rather than failing the batch
    const values = batch.map((_, index) => `($${index * 5 + 1}::uuid, $${index * 5 + 2}::uuid, $${index * 5 + 3}::date, $${index * 5 + 4}::bigint, $${index * 5 + 5}::bigint)`).join(', ')
    const parameters = batch.flatMap(delta => [delta.appId, delta.apiId, delta.day, delta.calls, delta.rejected])
    await this.#prisma.$executeRawUnsafe(
      `INSERT INTO "UsageDaily" ("appId", "apiId", "day", "calls", "rejected") VALUES ${values}
       ON CONFLICT ("appId", "apiId", "day") DO UPDATE SET "calls" = "UsageDaily"."calls" + EXCLUDED."calls", "rejected" = "UsageDaily"."rejected" + EXCLUDED."rejected"`,
      ...parameters
    )
  }
}

/** Today's and this month's persisted calls per app × API, to start in-memory quota counters after a restart. */
export async function readQuotaUsage (prisma: PrismaClient, nowMs = Date.now()): Promise<Array<{ appId: string, apiId: string, day: number, month: number }>> {
  const now = new Date(nowMs)
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1))
  const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()))
  const rows = await prisma.usageDaily.findMany({ where: { day: { gte: monthStart } } })
  const totals = new Map<string, { appId: string, apiId: string, day: number, month: number }>()
  for (const row of rows) {
    const key = `${row.appId}:${row.apiId}`
    const total = totals.get(key) ?? { appId: row.appId, apiId: row.apiId, day: 0, month: 0 }
    total.month += Number(row.calls)
    if (row.day.getTime() === today.getTime()) total.day += Number(row.calls)
    totals.set(key, total)
  }
  return [...totals.values()]
}
