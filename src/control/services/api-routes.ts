// Route definitions of APIs: normalised prefixes, and no two APIs claiming the same
// (host, prefix, method) — the gateway's longest-prefix match would otherwise pick one silently.
import { ConflictError, ValidationError } from '../../domain/errors.js'
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

export function normaliseRoutePrefix (path: string): string {
  if (!path.startsWith('/')) throw new ValidationError(`Route path "${path}" must start with /`)
  const segments = path.split('/').slice(1)
  if (segments.some(segment => segment === '.' || segment === '..')) throw new ValidationError(`Route path "${path}" must not contain . or .. segments`)
  if (/\/\/|[?#\s%\\]/.test(path)) throw new ValidationError(`Route path "${path}" must not contain //, ?, #, %, \\ or spaces`)
  const trimmed = path.replace(/\/+$/, '')
  return trimmed === '' ? '/' : trimmed
}

export function normaliseRoutes (routes: RouteInput[]): NormalisedRoute[] {
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

/** Throws CONFLICT when a route overlaps another API's route or another route of the same list. */
export async function assertNoRouteClash (tx: Transaction, routes: NormalisedRoute[], apiId?: string): Promise<void> {
  for (let index = 0; index < routes.length; index++) {
    for (let other = index + 1; other < routes.length; other++) {
      if (overlaps(routes[index], routes[other])) throw new ConflictError(`Two routes claim ${routes[index].path} for the same methods`)
    }
  }
  const existing = await tx.route.findMany({
    where: { path: { in: routes.map(route => route.path) }, ...(apiId !== undefined ? { apiId: { not: apiId } } : {}) },
    include: { api: { select: { name: true } } }
  })
  for (const route of routes) {
    const clash = existing.find(candidate => overlaps(route, candidate))
    if (clash !== undefined) throw new ConflictError(`The route ${route.path} is already served by the API ${clash.api.name}`)
  }
}
