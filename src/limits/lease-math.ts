// How many requests a node reserves from the cluster-wide counters at once (pure). A busy
// app's requests are then decided in the node's memory, without a Redis round trip each,
// while Redis still accounts for every one of them before it is spent, so the nodes together
// never exceed the plan's sustained rate or quota. A batch is capped to a small share of the
// plan's burst and quotas (held requests are what a node could spend on top of a refilled
// bucket), and plans too small for a useful batch are decided exactly, one call per request.

export interface LeaseSettings {
  /** how long reserved requests may be held before the unspent ones are given back */
  leaseMs: number
  /** largest batch as a share of the burst */
  maxShareOfBurst: number
  /** largest batch as a share of a daily or monthly quota */
  maxShareOfQuota: number
  /** below this batch size the plan is decided exactly, one Redis call per request */
  minBatch: number
}

export const DEFAULT_LEASE_SETTINGS: LeaseSettings = { leaseMs: 200, maxShareOfBurst: 0.1, maxShareOfQuota: 0.01, minBatch: 4 }

export interface LeasedPlan {
  ratePerSecond: number | null
  burst: number | null
  quotaPerDay: number | null
  quotaPerMonth: number | null
}

/** The largest batch a node may hold for this plan; 0 when the plan is decided exactly. */
export function maxBatch (plan: LeasedPlan, settings: LeaseSettings): number {
  if (settings.leaseMs <= 0) return 0
  let cap = Infinity
  if (plan.ratePerSecond !== null) cap = Math.min(cap, Math.floor((plan.burst ?? plan.ratePerSecond) * settings.maxShareOfBurst))
  for (const quota of [plan.quotaPerDay, plan.quotaPerMonth]) {
    if (quota !== null) cap = Math.min(cap, Math.floor(quota * settings.maxShareOfQuota))
  }
  return cap === Infinity || cap < settings.minBatch ? 0 : cap
}

/**
 * The next batch: what the node spent per second during its last lease, over one lease
 * duration; a subject seen for the first time starts with a single request.
 */
export function nextBatchSize (cap: number, spentLastLease: number, lastLeaseMs: number, settings: LeaseSettings): number {
  if (spentLastLease <= 0) return 1
  const perSecond = spentLastLease * 1000 / Math.max(1, lastLeaseMs)
  return Math.max(1, Math.min(cap, Math.ceil(perSecond * settings.leaseMs / 1000)))
}
