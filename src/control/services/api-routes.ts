// Route definitions of APIs: normalised prefixes, and no two APIs claiming the same
// (host, prefix, method) — the gateway's longest-prefix match would otherwise pick one silently.
import { ConflictError, ReservedPathError, ValidationError } from '../../domain/errors.js'
import { RESERVED_GATEWAY_PATHS, isReservedPath } from '../../domain/reserved-paths.js'
import type { Transaction } from '../../store/config-writer.js'

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

export interface RouteInput {
  methods?: string[]
  host?: string | null
  path: string
  stripPrefix?: boolean
  websocket?: boolean
}

export interface NormalisedRoute {
  methods: string[]
  host: string | null
  path: string
  stripPrefix: boolean
  websocket: boolean
}

// The characters a path segment may hold raw (RFC 3986 pchar without escapes): the gateway
// matches on canonical request paths, where anything else is percent-encoded or refused,
// so a prefix holding it could never match.
const SEGMENT_CHARACTERS = /^[A-Za-z0-9._~!$&'()*+,;=:@-]*$/

export function normaliseRoutePrefix (path: string): string {
  if (!path.startsWith('/')) throw new ValidationError(`Route path "${path}" must start with /`)
  if (path.includes('//')) throw new ValidationError(`Route path "${path}" must not contain //`)
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path
  const segments = trimmed === '/' ? [] : trimmed.split('/').slice(1)
  if (segments.some(segment => segment === '.' || segment === '..')) throw new ValidationError(`Route path "${path}" must not contain . or .. segments`)
  if (!segments.every(segment => SEGMENT_CHARACTERS.test(segment))) {
    throw new ValidationError(`Route path "${path}" may only hold letters, digits and -._~!$&'()*+,;=:@ between slashes (no spaces, %, ?, #, \\ or non-ASCII)`)
  }
  if (isReservedPath(trimmed)) throw new ReservedPathError(`The gateway answers ${trimmed} itself (${RESERVED_GATEWAY_PATHS.join(', ')} are reserved): choose another route path`)
  return trimmed
}

export function normaliseRoutes (routes: RouteInput[]): NormalisedRoute[] {
  for (const route of routes) {
    // the WebSocket handshake is a GET: a websocket route that excludes GET could never open
    if (route.websocket === true && route.methods !== undefined && route.methods.length > 0 && !route.methods.some(method => method.toUpperCase() === 'GET')) {
      throw new ValidationError(`The WebSocket route ${route.path} must allow GET (the handshake method), or leave methods empty`)
    }
  }
  return routes.map(route => ({
    methods: [...new Set((route.methods ?? []).map(method => method.toUpperCase()))].sort(),
    host: route.host === undefined || route.host === null || route.host === '' ? null : route.host.toLowerCase(),
    path: normaliseRoutePrefix(route.path),
    stripPrefix: route.stripPrefix ?? false,
    websocket: route.websocket ?? false
  }))
}

function overlaps (first: { methods: string[], host: string | null, path: string }, second: { methods: string[], host: string | null, path: string }): boolean {
  if (first.path !== second.path || first.host !== second.host) return false
  if (first.methods.length === 0 || second.methods.length === 0) return true
  return first.methods.some(method => second.methods.includes(method))
}

// Key of the transaction-scoped advisory lock that serialises route changes: without it two
// concurrent writes could each pass the check below and then both commit the same route.
const ROUTE_LOCK_KEY = 0x70677772 // "pgwr"

/**
 * Throws CONFLICT when a route overlaps another API's route or another route of the same list.
 * Takes the route lock first, held until the transaction ends, so call it inside the write.
 */
export async function assertNoRouteClash (tx: Transaction, routes: NormalisedRoute[], apiId?: string): Promise<void> {
  for (let index = 0; index < routes.length; index++) {
    for (let other = index + 1; other < routes.length; other++) {
      if (overlaps(routes[index], routes[other])) throw new ConflictError(`Two routes claim ${routes[index].path} for the same methods`)
    }
  }
  await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${ROUTE_LOCK_KEY})`)
  const existing = await tx.route.findMany({
    where: { path: { in: routes.map(route => route.path) }, ...(apiId !== undefined ? { apiId: { not: apiId } } : {}) },
    include: { api: { select: { name: true } } }
  })
  for (const route of routes) {
    const clash = existing.find(candidate => overlaps(route, candidate))
    if (clash !== undefined) throw new ConflictError(`The route ${route.path} is already served by the API ${clash.api.name}`)
  }
}
