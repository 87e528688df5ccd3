// Target selection over an upstream's targets (pure). Smooth weighted round-robin is
// nginx's algorithm: every pick adds each target's weight to its running score, takes the
// highest and subtracts the total, which spreads picks evenly (a,a,b,a,a,b… not a,a,a,a,b,b).
// Least-connections picks the fewest in-flight requests per unit of weight.

export interface BalancedTarget {
  weight: number
  activeRequests: number
}

export type LoadBalancing = 'round-robin' | 'least-connections'

export class Balancer {
  readonly #policy: LoadBalancing
  #scores: number[] = []
  #cursor = 0

  constructor (policy: LoadBalancing) {
    this.#policy = policy
  }

  /** Index of the chosen target among those `isAvailable` accepts, or -1. */
  pick (targets: readonly BalancedTarget[], isAvailable: (index: number) => boolean): number {
    if (this.#scores.length !== targets.length) this.#scores = targets.map(() => 0)
    return this.#policy === 'least-connections' ? this.#leastConnections(targets, isAvailable) : this.#roundRobin(targets, isAvailable)
  }

  #roundRobin (targets: readonly BalancedTarget[], isAvailable: (index: number) => boolean): number {
    let best = -1
    let total = 0
    for (let index = 0; index < targets.length; index++) {
      if (!isAvailable(index)) continue
      this.#scores[index] += targets[index].weight
      total += targets[index].weight
      if (best === -1 || this.#scores[index] > this.#scores[best]) best = index
    }
    if (best !== -1) this.#scores[best] -= total
    return best
  }

  #leastConnections (targets: readonly BalancedTarget[], isAvailable: (index: number) => boolean): number {
    let best = -1
    let bestLoad = Infinity
    // start after the last pick so equal loads rotate instead of piling on the first target
    for (let step = 1; step <= targets.length; step++) {
      const index = (this.#cursor + step) % targets.length
      if (!isAvailable(index)) continue
      const load = targets[index].activeRequests / targets[index].weight
      if (load < bestLoad) {
        best = index
        bestLoad = load
      }
    }
    if (best !== -1) this.#cursor = best
    return best
  }
}
