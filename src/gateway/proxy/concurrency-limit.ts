// Requests in flight to one upstream (pure accounting). The upstream as a whole takes at
// most `maxInFlight`, one app at most `maxPerApp` of them, so neither a flood of slow calls
// from one app nor the other apps' traffic can hold every connection to the targets: the
// excess is refused at once instead of queueing behind them until it times out.

export type Admission = 'admitted' | 'upstream-full' | 'app-over-share'

export interface ConcurrencyLimits {
  maxInFlight: number
  /** percentage of maxInFlight one app may hold */
  appSharePercent: number
}

export class ConcurrencyLimit {
  readonly maxInFlight: number
  readonly maxPerApp: number
  #inFlight = 0
  readonly #perApp = new Map<string, number>()

  constructor (limits: ConcurrencyLimits) {
    this.maxInFlight = limits.maxInFlight
    this.maxPerApp = Math.max(1, Math.floor(limits.maxInFlight * limits.appSharePercent / 100))
  }

  get inFlight (): number {
    return this.#inFlight
  }

  inFlightOf (appId: string): number {
    return this.#perApp.get(appId) ?? 0
  }

  /** Takes a slot for the app, or says why not; every admitted request must call release once. */
  tryAcquire (appId: string): Admission {
    // the app's own excess is its problem (429) even when the upstream is full as well
    const held = this.#perApp.get(appId) ?? 0
    if (held >= this.maxPerApp) return 'app-over-share'
    if (this.#inFlight >= this.maxInFlight) return 'upstream-full'
    this.#perApp.set(appId, held + 1)
    this.#inFlight++
    return 'admitted'
  }

  release (appId: string): void {
    const held = this.#perApp.get(appId)
    if (held === undefined) throw new Error(`release without a slot held by app ${appId}`)
    // apps without requests in flight leave the map, so it stays as small as the current traffic
    if (held === 1) this.#perApp.delete(appId)
    else this.#perApp.set(appId, held - 1)
    this.#inFlight--
  }
}
