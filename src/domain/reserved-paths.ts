// Paths every gateway answers itself, whatever the routes say: load balancers and Prometheus
// depend on them, so an API route may never claim one (a catch-all `/` route is matched
// only after them).
export const RESERVED_GATEWAY_PATHS: readonly string[] = ['/healthz', '/readyz', '/metrics']

/** True for a normalised route prefix that names a reserved path itself. */
export function isReservedPath (prefix: string): boolean {
  return RESERVED_GATEWAY_PATHS.includes(prefix)
}
