// WebSockets follow their route. A connection remembers what its upgrade was routed by; on
// every configuration change it is routed again exactly as a new upgrade to the same host
// and path would be, and closed when that upgrade would now go elsewhere or nowhere.
import type { SnapshotUpstream } from '../../store/config-snapshot.js'
import type { RouteMatch } from '../routing/route-table.js'
import type { CompiledApi, GatewaySnapshot } from '../snapshot/compile.js'

export type WebSocketRouting =
  | { ok: true, match: RouteMatch, api: CompiledApi, upstream: SnapshotUpstream }
  | { ok: false, reason: 'route_gone' | 'websocket_disabled' | 'upstream_gone' }

/** Where a WebSocket upgrade to host + path goes; `normalizedPath` must come from normalizePath(). */
export function routeWebSocket (snapshot: GatewaySnapshot, host: string | undefined, normalizedPath: string): WebSocketRouting {
  const match = snapshot.routes.match('GET', host, normalizedPath)
  if (match === undefined) return { ok: false, reason: 'route_gone' }
  if (!match.route.websocket) return { ok: false, reason: 'websocket_disabled' }
  const api = snapshot.apis.get(match.route.apiId)
  const upstream = api !== undefined ? snapshot.upstreams.get(api.upstreamId) : undefined
  if (api === undefined || upstream === undefined) return { ok: false, reason: 'upstream_gone' }
  return { ok: true, match, api, upstream }
}

/** What an open connection was routed by. */
export interface RouteBinding {
  host: string | undefined
  path: string
  apiId: string
  /** the path sent upstream, without the query */
  upstreamPath: string
  upstreamId: string
  /** the target's URL as the upstream lists it */
  targetUrl: string
}

export type RouteChange = Extract<WebSocketRouting, { ok: false }>['reason'] | 'api_changed' | 'route_rewritten' | 'upstream_changed' | 'target_removed'

/** The close reason a client reads for each change (at most 123 bytes, the protocol's limit). */
export const ROUTE_CHANGE_REASONS: Readonly<Record<RouteChange, string>> = {
  route_gone: 'no route for this path any more',
  websocket_disabled: 'route no longer accepts websockets',
  upstream_gone: 'upstream removed',
  api_changed: 'path now routed to another API',
  route_rewritten: 'route now forwards to another upstream path',
  upstream_changed: 'API now uses another upstream',
  target_removed: 'upstream target removed'
}

/** Why a new upgrade would not reach the same API, upstream path and target any more; undefined when it would. */
export function routeChange (snapshot: GatewaySnapshot, binding: RouteBinding): RouteChange | undefined {
  const routing = routeWebSocket(snapshot, binding.host, binding.path)
  if (!routing.ok) return routing.reason
  if (routing.api.id !== binding.apiId) return 'api_changed'
  if (routing.match.upstreamPath !== binding.upstreamPath) return 'route_rewritten'
  if (routing.upstream.id !== binding.upstreamId) return 'upstream_changed'
  if (!routing.upstream.targets.some(target => target.url === binding.targetUrl)) return 'target_removed'
  return undefined
}

/** Connections sharing this key share every answer routeChange() can give. */
export function bindingKey (binding: RouteBinding): string {
  return [binding.host ?? '', binding.path, binding.apiId, binding.upstreamPath, binding.upstreamId, binding.targetUrl].join('\n')
}

/** Fingerprints by routing part: a delta that leaves the routing alone keeps that object. */
const fingerprints = new WeakMap<GatewaySnapshot['routing'], string>()

/**
 * Everything routeChange() reads from a snapshot, as one string: when it is the same in two
 * snapshots, no binding's answer can differ, and the (usual) change of a grant, app or
 * credential costs no routing at all — not even this string, which at 10,000 routes takes
 * milliseconds to write.
 */
export function routingFingerprint (snapshot: GatewaySnapshot): string {
  let fingerprint = fingerprints.get(snapshot.routing)
  if (fingerprint === undefined) {
    fingerprint = writeRoutingFingerprint(snapshot.routing)
    fingerprints.set(snapshot.routing, fingerprint)
  }
  return fingerprint
}

function writeRoutingFingerprint ({ routes, apis, upstreams }: GatewaySnapshot['routing']): string {
  const byId = (left: { id: string }, right: { id: string }): number => left.id < right.id ? -1 : left.id > right.id ? 1 : 0
  // route ids are left out (an API update recreates its routes), their order is not: it
  // breaks ties between equal prefixes
  return JSON.stringify([
    routes.map(route => [route.apiId, route.methods, route.host, route.path, route.stripPrefix, route.websocket]),
    [...apis].sort(byId).map(api => [api.id, api.upstreamId]),
    [...upstreams].sort(byId).map(upstream => [upstream.id, upstream.targets.map(target => target.url)])
  ])
}
