// Which targets the balancer may choose from (pure). Envoy's healthy-panic threshold: when
// fewer than this share of an upstream's targets are available, ejection would pile all
// traffic on the few left (or refuse it all with none left), so the pool balances over every
// target instead — a wrong ejection then costs some failed requests, never the whole upstream.

export const PANIC_THRESHOLD_PERCENT = 50

/**
 * Turns `selectable` (on entry: which targets are available) into the targets to balance
 * over, in place. A retry skips `excluded` (the target that just failed, -1 for none) unless
 * it is the only choice left. Returns whether the upstream is in panic.
 */
export function selectTargets (selectable: boolean[], excluded: number, thresholdPercent = PANIC_THRESHOLD_PERCENT): boolean {
  let available = 0
  for (let index = 0; index < selectable.length; index++) if (selectable[index]) available++
  const panic = available * 100 < selectable.length * thresholdPercent
  if (panic) {
    selectable.fill(true)
    available = selectable.length
  }
  if (excluded !== -1 && selectable[excluded] && available > 1) selectable[excluded] = false
  return panic
}
