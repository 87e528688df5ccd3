// What every policy context learns as the units run, whatever the transport: the route and
// API, the app and grant, and what the units hold until the request ends. HttpExchange and
// WebSocketUpgrade extend it with how they read the request and answer it.
import type { RouteMetrics } from '../../observability/gateway-metrics.js'
import type { SnapshotApp } from '../../store/config-snapshot.js'
import type { RouteMatch } from '../routing/route-table.js'
import type { CompiledApi, CompiledGrant, GatewaySnapshot } from '../snapshot/compile.js'

const NO_HEADERS: readonly string[] = []

export abstract class PolicyContextState {
  /** the bound series of the API and route; until routed, those of no route (or none) */
  abstract metrics: RouteMetrics | undefined
  /** the route and API as the metrics, the log and the trace name them; undefined until routed */
  routeLabel: string | undefined = undefined
  apiName: string | undefined = undefined
  path = ''
  snapshot!: GatewaySnapshot
  api!: CompiledApi
  match!: RouteMatch
  appId: string | undefined = undefined
  credentialKey: string | undefined = undefined
  credentialHeaders: readonly string[] = NO_HEADERS
  app: SnapshotApp | undefined = undefined
  grant: CompiledGrant | undefined = undefined
  limitingPlan: string | undefined = undefined
  #releases: Array<() => void> | undefined = undefined

  protected route (snapshot: GatewaySnapshot, api: CompiledApi, match: RouteMatch, path: string, metrics: RouteMetrics): void {
    this.snapshot = snapshot
    this.api = api
    this.match = match
    this.path = path
    this.metrics = metrics
    this.apiName = api.name
    this.routeLabel = metrics.route
  }

  limitsAllowed (): void {
    if (this.limitingPlan !== undefined) this.metrics?.api.countLimitDecision(this.limitingPlan, 'allowed')
    this.limitingPlan = undefined
  }

  onEnd (release: () => void): void {
    (this.#releases ??= []).push(release)
  }

  /** Gives back what the units held; called once, when the request ended however it ended. */
  end (): void {
    const releases = this.#releases
    if (releases === undefined) return
    this.#releases = undefined
    for (const release of releases) release()
  }
}
