// Target health (pure: the caller passes the clock). Passive: consecutive real target
// failures (see target-failure.ts) eject a target for a cool-down that doubles with each
// ejection up to a ceiling; the doubling starts over once a target has stayed in for a
// whole ceiling. Active: when configured, a periodic probe marks a target down after
// `unhealthyThreshold` failures and up after `healthyThreshold` successes, and a single
// passing probe ends a passive ejection at once. Ejecting never removes the last target
// from service: the pool balances over every target when too few are available (panic).

export interface PassiveHealthOptions {
  failuresToEject: number
  baseEjectionMs: number
  maxEjectionMs: number
}

export const DEFAULT_PASSIVE_HEALTH: PassiveHealthOptions = { failuresToEject: 3, baseEjectionMs: 10_000, maxEjectionMs: 120_000 }

export interface ActiveHealthCheck {
  path: string
  intervalMs?: number
  timeoutMs?: number
  healthyThreshold?: number
  unhealthyThreshold?: number
}

export type HealthChange =
  | { kind: 'ejected', cause: 'failures', ejectionMs: number }
  | { kind: 'ejected', cause: 'health-check' }
  | { kind: 'returned', cause: 'ejection-over' | 'request-succeeded' | 'health-check' }

export type HealthListener = (change: HealthChange) => void

export class TargetHealth {
  readonly #options: PassiveHealthOptions
  readonly #onChange: HealthListener | undefined
  #consecutiveFailures = 0
  /** ejections in a row, the exponent of the next cool-down */
  #backoffLevel = 0
  #ejected = false
  #ejectedUntil = 0
  #returnedAt = -Infinity
  #activeDown = false
  #probeSuccesses = 0
  #probeFailures = 0

  constructor (options: PassiveHealthOptions = DEFAULT_PASSIVE_HEALTH, onChange?: HealthListener) {
    this.#options = options
    this.#onChange = onChange
  }

  /** Called for every pick: an ejection whose time is over ends here. */
  isAvailable (nowMs: number): boolean {
    if (this.#ejected && nowMs >= this.#ejectedUntil) this.#endEjection(nowMs, 'ejection-over')
    return !this.#ejected && !this.#activeDown
  }

  /** A real answer from the target (also while ejected, when panic routing sends traffic to it). */
  recordSuccess (nowMs?: number): void {
    this.#consecutiveFailures = 0
    // the clock is read only on this rare path, keeping it off every successful request
    if (this.#ejected) this.#endEjection(nowMs ?? Date.now(), 'request-succeeded')
  }

  recordFailure (nowMs: number): void {
    // failures of panic traffic to an ejected target neither extend nor repeat its ejection
    if (this.#ejected) return
    this.#consecutiveFailures++
    if (this.#consecutiveFailures < this.#options.failuresToEject) return
    if (nowMs - this.#returnedAt >= this.#options.maxEjectionMs) this.#backoffLevel = 0
    const ejectionMs = Math.min(this.#options.maxEjectionMs, this.#options.baseEjectionMs * 2 ** this.#backoffLevel)
    this.#backoffLevel++
    this.#ejectedUntil = nowMs + ejectionMs
    // after the cool-down one failure is enough to eject it again
    this.#consecutiveFailures = this.#options.failuresToEject - 1
    const wasAvailable = !this.#activeDown
    this.#ejected = true
    if (wasAvailable) this.#onChange?.({ kind: 'ejected', cause: 'failures', ejectionMs })
  }

  recordProbe (healthy: boolean, check: ActiveHealthCheck, nowMs: number): void {
    if (healthy) {
      this.#probeFailures = 0
      this.#probeSuccesses++
      if (this.#activeDown && this.#probeSuccesses >= (check.healthyThreshold ?? 2)) {
        this.#activeDown = false
        this.#consecutiveFailures = 0
        this.#ejected = false
        this.#returned(nowMs, 'health-check')
      } else if (this.#ejected) {
        this.#consecutiveFailures = 0
        this.#endEjection(nowMs, 'health-check')
      }
      return
    }
    this.#probeSuccesses = 0
    this.#probeFailures++
    if (this.#activeDown || this.#probeFailures < (check.unhealthyThreshold ?? 3)) return
    this.#activeDown = true
    if (!this.#ejected) this.#onChange?.({ kind: 'ejected', cause: 'health-check' })
  }

  #endEjection (nowMs: number, cause: 'ejection-over' | 'request-succeeded' | 'health-check'): void {
    this.#ejected = false
    if (!this.#activeDown) this.#returned(nowMs, cause)
  }

  #returned (nowMs: number, cause: 'ejection-over' | 'request-succeeded' | 'health-check'): void {
    this.#returnedAt = nowMs
    this.#onChange?.({ kind: 'returned', cause })
  }
}
