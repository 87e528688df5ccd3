// Rate limits and quotas in this process's memory: used when REDIS_URL is unset (one node).
import { dayWindow, gcra, gcraParameters, monthWindow } from './limit-math.js'
import { buildDecision, type LimitDecision, type LimitPlan, type RequestLimiter } from './request-limiter.js'

interface Expiring { value: number, expiresAtMs: number }

const SWEEP_INTERVAL_MS = 60_000

export class MemoryRequestLimiter implements RequestLimiter {
  readonly #arrivals = new Map<string, Expiring>()
  readonly #quotas = new Map<string, Expiring>()
  readonly #sweeper: NodeJS.Timeout

  constructor () {
    this.#sweeper = setInterval(() => { this.#sweep(Date.now()) }, SWEEP_INTERVAL_MS)
    this.#sweeper.unref()
  }

  consume (subject: string, plan: LimitPlan, nowMs = Date.now()): LimitDecision {
    const day = dayWindow(nowMs)
    const month = monthWindow(nowMs)
    const dayKey = `${subject}|${day.id}`
    const monthKey = `${subject}|${month.id}`
    let rate
    let reason: LimitDecision['reason']
    if (plan.ratePerSecond !== null) {
      const parameters = gcraParameters(plan.ratePerSecond, plan.burst ?? plan.ratePerSecond)
      rate = gcra(this.#live(this.#arrivals, subject, nowMs), nowMs, parameters)
      if (!rate.allowed) reason = 'rate'
    }
    let dayUsed = this.#live(this.#quotas, dayKey, nowMs) ?? 0
    let monthUsed = this.#live(this.#quotas, monthKey, nowMs) ?? 0
    if (reason === undefined && plan.quotaPerDay !== null && dayUsed >= plan.quotaPerDay) reason = 'quota-day'
    if (reason === undefined && plan.quotaPerMonth !== null && monthUsed >= plan.quotaPerMonth) reason = 'quota-month'
    if (reason === undefined) {
      if (rate !== undefined) this.#arrivals.set(subject, { value: rate.newArrivalMs, expiresAtMs: rate.newArrivalMs })
      if (plan.quotaPerDay !== null) this.#quotas.set(dayKey, { value: ++dayUsed, expiresAtMs: day.resetAtMs })
      if (plan.quotaPerMonth !== null) this.#quotas.set(monthKey, { value: ++monthUsed, expiresAtMs: month.resetAtMs })
    }
    return buildDecision(plan, nowMs, rate, reason, dayUsed, monthUsed)
  }

  async seedQuota (subject: string, dayUsed: number, monthUsed: number, nowMs = Date.now()): Promise<void> {
    const day = dayWindow(nowMs)
    const month = monthWindow(nowMs)
    const seed = (key: string, used: number, expiresAtMs: number): void => {
      if ((this.#live(this.#quotas, key, nowMs) ?? 0) < used) this.#quotas.set(key, { value: used, expiresAtMs })
    }
    seed(`${subject}|${day.id}`, dayUsed, day.resetAtMs)
    seed(`${subject}|${month.id}`, monthUsed, month.resetAtMs)
  }

  async close (): Promise<void> {
    clearInterval(this.#sweeper)
  }

  #live (map: Map<string, Expiring>, key: string, nowMs: number): number | undefined {
    const entry = map.get(key)
    if (entry === undefined || entry.expiresAtMs <= nowMs) return undefined
    return entry.value
  }

  #sweep (nowMs: number): void {
    for (const map of [this.#arrivals, this.#quotas]) {
      for (const [key, entry] of map) if (entry.expiresAtMs <= nowMs) map.delete(key)
    }
  }
}
