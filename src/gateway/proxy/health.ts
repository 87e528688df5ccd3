// Target health. Passive: consecutive connection failures eject a target for a cool-down
// that doubles with each ejection (up to a ceiling) and resets after a success. Active:
// when configured, a periodic GET probe marks a target down after `unhealthyThreshold`
// failures and up again after `healthyThreshold` successes.

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

export class TargetHealth {
  readonly #options: PassiveHealthOptions
  #consecutiveFailures = 0
  #ejections = 0
  #ejectedUntil = 0
  #activeDown = false
  #probeSuccesses = 0
  #probeFailures = 0

  constructor (options: PassiveHealthOptions = DEFAULT_PASSIVE_HEALTH) {
    this.#options = options
  }

  isAvailable (nowMs: number): boolean {
    return !this.#activeDown && nowMs >= this.#ejectedUntil
  }

  recordSuccess (): void {
    this.#consecutiveFailures = 0
    this.#ejections = 0
  }

  recordFailure (nowMs: number): void {
    this.#consecutiveFailures++
    if (this.#consecutiveFailures < this.#options.failuresToEject) return
    const ejectionMs = Math.min(this.#options.maxEjectionMs, this.#options.baseEjectionMs * 2 ** this.#ejections)
    this.#ejections++
    this.#ejectedUntil = nowMs + ejectionMs
    // after the cool-down one failure is enough to eject it again
    this.#consecutiveFailures = this.#options.failuresToEject - 1
  }

  recordProbe (healthy: boolean, check: ActiveHealthCheck): void {
    if (healthy) {
      this.#probeFailures = 0
      this.#probeSuccesses++
      if (this.#activeDown && this.#probeSuccesses >= (check.healthyThreshold ?? 2)) {
        this.#activeDown = false
        this.#ejectedUntil = 0
        this.recordSuccess()
      }
    } else {
      this.#probeSuccesses = 0
      this.#probeFailures++
      if (this.#probeFailures >= (check.unhealthyThreshold ?? 3)) this.#activeDown = true
    }
  }
}
