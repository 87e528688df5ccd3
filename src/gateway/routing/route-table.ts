// Route matching on every request, over a table compiled once per configuration
// snapshot: one table per host (holding the host-less routes too), each a map from exact
// prefix to its routes in priority order. Longest prefix wins, on segment boundaries.
import { normalizePath } from './normalize-path.js'

/** The methods the gateway proxies; a route with no methods listed allows all of them. */
export const PROXIED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

export interface RouteDefinition {
  id: string
  apiId: string
  /** Upper-case methods; empty means any method. */
  methods: string[]
  host?: string | null
  /** A path prefix such as /v1/orders, matched on segment boundaries. */
  path: string
  stripPrefix: boolean
  websocket: boolean
}

export interface RouteMatch {
  route: RouteDefinition
  upstreamPath: string
}

export interface RouteTable {
  /** normalizedPath must come from normalizePath(). */
  match: (method: string, host: string | undefined, normalizedPath: string) => RouteMatch | undefined
  /**
   * The methods some route accepts for this path, in PROXIED_METHODS order: what a 405
   * lists in Allow when `match` found nothing for the request's method; empty when no
   * route covers the path at all (a 404).
   */
  allowedMethods: (host: string | undefined, normalizedPath: string) => string[]
}

interface CompiledRoute {
  route: RouteDefinition
  /** Canonical prefix without a trailing slash; '' for the root prefix. */
  prefix: string
  methods: ReadonlySet<string> | undefined
  hostSpecific: boolean
  order: number
}

interface HostTable {
  /** Routes by their exact prefix, host-specific ones first. */
  byPrefix: Map<string, CompiledRoute[]>
  /** Routes whose prefix is `/`, tried after every longer prefix. */
  root: CompiledRoute[]
  /** Segments in the longest prefix: deeper parts of a path need no look-up. */
  maxDepth: number
}

/** Lower case, without the port; undefined for a missing or empty host. */
function hostKey (host: string | null | undefined): string | undefined {
  if (host === null || host === undefined || host === '') return undefined
  const lower = host.toLowerCase()
  if (lower.startsWith('[')) {
    const end = lower.indexOf(']')
    return end === -1 ? lower : lower.slice(0, end + 1)
  }
  const colon = lower.indexOf(':')
  return colon === -1 ? lower : lower.slice(0, colon)
}

// Same prefix: a host-specific route beats a host-less one, then the order of
// definition decides, so that the outcome is stable.
function byPriority (left: CompiledRoute, right: CompiledRoute): number {
  return Number(right.hostSpecific) - Number(left.hostSpecific) || left.order - right.order
}

// RFC 9110 §9.3.2: HEAD is GET without the body, so a route that allows GET allows HEAD too.
function compileMethods (methods: readonly string[]): ReadonlySet<string> | undefined {
  if (methods.length === 0) return undefined
  const compiled = new Set(methods.map(method => method.toUpperCase()))
  if (compiled.has('GET')) compiled.add('HEAD')
  return compiled
}

function compileRoute (route: RouteDefinition, order: number): CompiledRoute {
  const canonical = normalizePath(route.path)
  if (canonical === undefined) throw new Error(`Route ${route.id} has an invalid path prefix: ${route.path}`)
  return {
    route,
    prefix: canonical.endsWith('/') ? canonical.slice(0, -1) : canonical,
    methods: compileMethods(route.methods),
    hostSpecific: hostKey(route.host) !== undefined,
    order
  }
}

function buildHostTable (routes: CompiledRoute[]): HostTable {
  const table: HostTable = { byPrefix: new Map(), root: [], maxDepth: 0 }
  for (const compiled of routes) {
    if (compiled.prefix === '') {
      table.root.push(compiled)
      continue
    }
    const group = table.byPrefix.get(compiled.prefix)
    if (group === undefined) table.byPrefix.set(compiled.prefix, [compiled])
    else group.push(compiled)
    table.maxDepth = Math.max(table.maxDepth, compiled.prefix.split('/').length - 1)
  }
  for (const group of table.byPrefix.values()) group.sort(byPriority)
  table.root.sort(byPriority)
  return table
}

function firstAllowed (candidates: CompiledRoute[] | undefined, method: string): CompiledRoute | undefined {
  return candidates?.find(candidate => candidate.methods === undefined || candidate.methods.has(method))
}

/** End of the path's longest prefix that any route could have: deeper segments need no look-up. */
function deepestPrefixEnd (table: HostTable, path: string): number {
  let end = 0
  for (let depth = 0; depth < table.maxDepth; depth++) {
    const next = path.indexOf('/', end + 1)
    if (next === -1) return path.length
    end = next
  }
  return end
}

// Tries the path's own prefixes from the longest that any route could have down to the
// root: one map look-up per segment, however many routes there are.
function findRoute (table: HostTable, method: string, path: string): CompiledRoute | undefined {
  let end = deepestPrefixEnd(table, path)
  while (end > 0) {
    const found = firstAllowed(table.byPrefix.get(path.slice(0, end)), method)
    if (found !== undefined) return found
    end = path.lastIndexOf('/', end - 1)
  }
  return firstAllowed(table.root, method)
}

// A method is allowed when findRoute would find a route for it: some route on the path's
// prefixes lists it, whichever prefix that is.
function allowedMethods (table: HostTable, path: string): string[] {
  const allowed = new Set<string>()
  const collect = (candidates: CompiledRoute[] | undefined): void => {
    for (const candidate of candidates ?? []) {
      for (const method of candidate.methods ?? PROXIED_METHODS) allowed.add(method)
    }
  }
  let end = deepestPrefixEnd(table, path)
  while (end > 0) {
    collect(table.byPrefix.get(path.slice(0, end)))
    end = path.lastIndexOf('/', end - 1)
  }
  collect(table.root)
  return PROXIED_METHODS.filter(method => allowed.has(method))
}

export function compileRouteTable (routes: readonly RouteDefinition[]): RouteTable {
  const compiled = routes.map(compileRoute)
  const hostless = compiled.filter(route => !route.hostSpecific)
  const hosts = new Set(routes.map(route => hostKey(route.host)).filter(host => host !== undefined))
  // each host's table also holds the host-less routes, so one table answers a request
  const byHost = new Map<string, HostTable>()
  for (const host of hosts) {
    byHost.set(host, buildHostTable([...compiled.filter(route => hostKey(route.route.host) === host), ...hostless]))
  }
  const hostlessTable = buildHostTable(hostless)
  const tableFor = (host: string | undefined): HostTable => {
    const key = hostKey(host)
    return (key === undefined ? undefined : byHost.get(key)) ?? hostlessTable
  }

  return {
    match (method, host, normalizedPath) {
      const found = findRoute(tableFor(host), method.toUpperCase(), normalizedPath)
      if (found === undefined) return undefined
      if (!found.route.stripPrefix) return { route: found.route, upstreamPath: normalizedPath }
      const rest = normalizedPath.slice(found.prefix.length)
      return { route: found.route, upstreamPath: rest === '' ? '/' : rest }
    },
    allowedMethods (host, normalizedPath) {
      return allowedMethods(tableFor(host), normalizedPath)
    }
  }
}
