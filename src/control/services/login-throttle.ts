// Failed portal logins, counted per email and per client IP in a sliding window. When a
// key has too many recent failures, logins for it wait until the oldest failure ages out.
// Per control process: enough against online guessing; a shared store is not needed for it.

export interface LoginThrottleOptions {
  windowMs?: number
  maxPerEmail?: number
  maxPerIp?: number
  /** bound on tracked keys, so a flood of random emails cannot grow memory without limit */
  maxKeys?: number
}

export class LoginThrottle {
  readonly #windowMs: number
  readonly #maxPerEmail: number
  readonly #maxPerIp: number
  readonly #maxKeys: number
  readonly #failures = new Map<string, number[]>()

  constructor (options: LoginThrottleOptions = {}) {
    this.#windowMs = options.windowMs ?? 15 * 60_000
    this.#maxPerEmail = options.maxPerEmail ?? 5
    this.#maxPerIp = options.maxPerIp ?? 30
    this.#maxKeys = options.maxKeys ?? 100_000
  }

  /** Seconds to wait before trying again, or 0 when a login may be attempted now. */
  retryAfterSeconds (email: string, ip: string, now = Date.now()): number {
    const wait = Math.max(this.#wait(`e:${email}`, this.#maxPerEmail, now), this.#wait(`i:${ip}`, this.#maxPerIp, now))
    return wait === 0 ? 0 : Math.max(1, Math.ceil(wait / 1000))
  }

  recordFailure (email: string, ip: string, now = Date.now()): void {
    for (const key of [`e:${email}`, `i:${ip}`]) {
      const times = this.#recent(key, now)
      times.push(now)
      this.#failures.delete(key)
      this.#failures.set(key, times)
    }
    // the Map keeps insertion order: drop the least recently failed keys first
    while (this.#failures.size > this.#maxKeys) this.#failures.delete(this.#failures.keys().next().value as string)
  }

  recordSuccess (email: string): void {
    this.#failures.delete(`e:${email}`)
  }

  #recent (key: string, now: number): number[] {
    return (this.#failures.get(key) ?? []).filter(time => time > now - this.#windowMs)
  }

  #wait (key: string, max: number, now: number): number {
    const times = this.#recent(key, now)
    if (times.length < max) return 0
    return times[times.length - max] + this.#windowMs - now
  }
}
