// Which apps get a metric label of their own. Every labelled app multiplies the series of
// gateway_requests_total, so only the `limit` busiest apps are named; the rest count as
// "other". Busiest is a decaying count: each rerank halves every app's count, so an app that
// stopped calling leaves the top within a few reranks and its series are removed.

export const OTHER_APPS = 'other'
/** The label of requests no app was identified for (refused before or during authentication). */
export const NO_APP = ''

export type AppLabelSetting = { kind: 'off' } | { kind: 'top', limit: number }

/** Parses METRICS_APP_LABEL: `off` or `top:<N>` (1–1000). */
export function parseAppLabelSetting (value: string): AppLabelSetting {
  if (value === 'off') return { kind: 'off' }
  const match = /^top:(\d{1,4})$/.exec(value)
  const limit = match === null ? NaN : Number(match[1])
  if (!(limit >= 1 && limit <= 1000)) throw new Error(`metricsAppLabel must be "off" or "top:<N>" with N from 1 to 1000, not "${value}"`)
  return { kind: 'top', limit }
}

export class AppLabeller {
  readonly #limit: number
  readonly #counts = new Map<string, number>()
  readonly #top = new Set<string>()

  constructor (setting: AppLabelSetting) {
    this.#limit = setting.kind === 'off' ? 0 : setting.limit
  }

  /** The label of a request by `appId`; counts the request towards the ranking. */
  label (appId: string | undefined): string {
    if (appId === undefined) return NO_APP
    if (this.#limit === 0) return OTHER_APPS
    this.#counts.set(appId, (this.#counts.get(appId) ?? 0) + 1)
    if (this.#top.has(appId)) return appId
    // until the first rerank fills it, the top takes apps in the order they call
    if (this.#top.size < this.#limit) {
      this.#top.add(appId)
      return appId
    }
    return OTHER_APPS
  }

  /** Recomputes the top from the decayed counts; returns the apps that left it (their series go). */
  rerank (): string[] {
    if (this.#limit === 0) return []
    for (const [appId, count] of this.#counts) {
      if (count < 1) this.#counts.delete(appId)
      else this.#counts.set(appId, count / 2)
    }
    const ranked = [...this.#counts].sort((a, b) => b[1] - a[1]).slice(0, this.#limit).map(([appId]) => appId)
    const next = new Set(ranked)
    const left = [...this.#top].filter(appId => !next.has(appId))
    this.#top.clear()
    for (const appId of ranked) this.#top.add(appId)
    return left
  }
}
