// The proxied requests the gateway is still handling. Fastify runs its onClose hooks once the
// last connection has closed, not once the last request has ended: a request whose client left
// while it waited (for its rate limit, say) still runs after that, and what it uses next, the
// upstream pools, must not be closed under it.
export class RequestsInProgress {
  #count = 0
  #waiting: Array<() => void> = []

  start (): void {
    this.#count++
  }

  end (): void {
    if (--this.#count > 0 || this.#waiting.length === 0) return
    for (const resolve of this.#waiting.splice(0)) resolve()
  }

  /** Resolves once no request is in progress. */
  async ended (): Promise<void> {
    if (this.#count === 0) return
    await new Promise<void>(resolve => { this.#waiting.push(resolve) })
  }
}
