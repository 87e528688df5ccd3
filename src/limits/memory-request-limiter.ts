// Rate limits and quotas in this process's memory: used when REDIS_URL is unset (one node).
// Each subject has one record that holds its rate and both quota counters, so a decision is
// one map lookup by the subject itself, with no key built and nothing allocated but the
// decision (this runs for every request of an embedded gateway).
import { dayWindow, gcra, gcraParameters, monthWindow, type CalendarWindow, type GcraParameters } from './limit-math.js'
import { buildDecision, type LimitDecision, type LimitPlan, type RequestLimiter } from './request-limiter.js'

interface WindowCount {
  /** the calendar window (limit-math.ts ids: 2026-11-25, 2026-11) */
  id: string
  used: number
}

interface SubjectCounters {
  /** GCRA's theoretical arrival time of the next request; at or before now: the bucket is full */
  arrivalMs: number
  day: WindowCount
  month: WindowCount
  /** the counts of the windows the clock left, until the next sweep (in case it steps back over midnight) */
  otherWindows?: Map<string, number>
}

const SWEEP_INTERVAL_MS = 60_000

export class MemoryRequestLimiter implements RequestLimiter {
  readonly #subjects = new Map<string, SubjectCounters>()
  // the rate parameters of the last plans seen: a plan is the same object for all its requests
  readonly #parameters = new WeakMap<LimitPlan, GcraParameters>()
  readonly #sweeper: NodeJS.Timeout

  constructor () {
    this.#sweeper = setInterval(() => { this.#sweep(Date.now()) }, SWEEP_INTERVAL_MS)
    this.#sweeper.unref()
  }

  consume (subject: string, plan: LimitPlan, nowMs = Date.now()): LimitDecision {
    const counters = this.#counters(subject, nowMs)
    let rate
    let reason: LimitDecision['reason']
    if (plan.ratePerSecond !== null) {
      rate = gcra(counters.arrivalMs, nowMs, this.#rateParameters(plan, plan.ratePerSecond))
      if (!rate.allowed) reason = 'rate'
    }
    const { day, month } = counters
    if (reason === undefined && plan.quotaPerDay !== null && day.used >= plan.quotaPerDay) reason = 'quota-day'
    if (reason === undefined && plan.quotaPerMonth !== null && month.used >= plan.quotaPerMonth) reason = 'quota-month'
    if (reason === undefined) {
      if (rate !== undefined) counters.arrivalMs = rate.newArrivalMs
      if (plan.quotaPerDay !== null) day.used++
      if (plan.quotaPerMonth !== null) month.used++
    }
    return buildDecision(plan, nowMs, rate, reason, day.used, month.used)
  }

  async seedQuota (subject: string, dayUsed: number, monthUsed: number, nowMs = Date.now()): Promise<void> {
    const counters = this.#counters(subject, nowMs)
    counters.day.used = Math.max(counters.day.used, dayUsed)
    counters.month.used = Math.max(counters.month.used, monthUsed)
  }

  async close (): Promise<void> {
    clearInterval(this.#sweeper)
  }

  /** The subject's record, its quota counts those of the windows `nowMs` is in. */
  #counters (subject: string, nowMs: number): SubjectCounters {
    const day = dayWindow(nowMs)
    const month = monthWindow(nowMs)
    let counters = this.#subjects.get(subject)
    if (counters === undefined) {
      counters = { arrivalMs: 0, day: { id: day.id, used: 0 }, month: { id: month.id, used: 0 } }
      this.#subjects.set(subject, counters)
      return counters
    }
    if (counters.day.id !== day.id) counters.day = switchWindow(counters, counters.day, day)
    if (counters.month.id !== month.id) counters.month = switchWindow(counters, counters.month, month)
    return counters
  }

  #rateParameters (plan: LimitPlan, ratePerSecond: number): GcraParameters {
    let parameters = this.#parameters.get(plan)
    if (parameters === undefined) {
      parameters = gcraParameters(ratePerSecond, plan.burst ?? ratePerSecond)
      this.#parameters.set(plan, parameters)
    }
    return parameters
  }

  /** Forgets subjects with a full bucket and nothing counted in the current windows, and the counts of past windows. */
  #sweep (nowMs: number): void {
    const day = dayWindow(nowMs).id
    const month = monthWindow(nowMs).id
    for (const [subject, counters] of this.#subjects) {
      counters.otherWindows = undefined
      const counting = (counters.day.id === day && counters.day.used > 0) || (counters.month.id === month && counters.month.used > 0)
      if (counters.arrivalMs <= nowMs && !counting) this.#subjects.delete(subject)
    }
  }
}

/** The count of `window`, the one the clock is in now; the count of the window it left is kept aside. */
function switchWindow (counters: SubjectCounters, left: WindowCount, window: CalendarWindow): WindowCount {
  const others = counters.otherWindows ?? (counters.otherWindows = new Map())
  others.set(left.id, left.used)
  return { id: window.id, used: others.get(window.id) ?? 0 }
}
