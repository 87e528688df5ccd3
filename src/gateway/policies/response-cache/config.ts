// An API's response-cache configuration: the routes it caches, by their path prefix and host
// as the API's `routes` list them. Not by route id: an API update recreates its routes with
// new ids, while their path and host stay what operators name them by (and what the route
// clash check keeps unique). An entry that names no route of the API caches nothing.
import { Type, type Static } from 'typebox'
import type { FreshnessSettings } from './cache-policy.js'

const TtlSeconds = (description: string) => Type.Integer({ minimum: 1, maximum: 31_536_000, description })

const CachedRoute = Type.Object({
  path: Type.String({ minLength: 1, maxLength: 500, pattern: '^/', description: "a route of the API, by its path prefix as in the API's routes" }),
  host: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.-]+$' }), Type.Null()], { description: "the route's host, for a route that has one" })),
  ttlSeconds: Type.Optional(TtlSeconds("this route's ttlSeconds")),
  public: Type.Optional(Type.Boolean({ description: "this route's public" }))
}, { additionalProperties: false })

export const ResponseCacheConfig = Type.Object({
  routes: Type.Array(CachedRoute, { minItems: 1, maxItems: 100, description: 'the routes whose GET (and HEAD) answers are cached' }),
  ttlSeconds: Type.Optional(TtlSeconds('how long an answer stays fresh when the upstream sets no Cache-Control s-maxage/max-age or Expires; default 60')),
  maxBodyBytes: Type.Optional(Type.Integer({ minimum: 1, maximum: 16_777_216, description: 'larger answers are passed on, not stored; default 1048576' })),
  public: Type.Optional(Type.Boolean({ description: 'the answers are the same for every app: one entry serves every app with a grant (default false: each app its own entries)' }))
}, { additionalProperties: false })
export type ResponseCacheConfig = Static<typeof ResponseCacheConfig>

const DEFAULT_TTL_SECONDS = 60
const DEFAULT_MAX_BODY_BYTES = 1_048_576

/** What the schema cannot say: a route listed twice (with settings that could disagree). */
export function responseCacheConfigProblem (config: ResponseCacheConfig): string | undefined {
  const seen = new Set<string>()
  for (const route of normaliseResponseCacheConfig(config).routes) {
    const name = routeName(route.host, route.path)
    if (seen.has(name)) return `responseCache.routes lists ${name} twice`
    seen.add(name)
  }
  return undefined
}

/** Paths and hosts as routes are stored: no trailing slash, lowercase host, no empty host. */
export function normaliseResponseCacheConfig (config: ResponseCacheConfig): ResponseCacheConfig {
  return {
    ...config,
    routes: config.routes.map(({ host, ...route }) => ({
      ...route,
      path: route.path.length > 1 && route.path.endsWith('/') ? route.path.slice(0, -1) : route.path,
      ...(host === undefined || host === null ? {} : { host: host.toLowerCase() })
    }))
  }
}

/** How one cached route caches. */
export interface CachedRouteSettings {
  /** the route's host and prefix, part of every key */
  name: string
  freshness: FreshnessSettings
  maxBodyBytes: number
  public: boolean
}

/** The name a route goes by in the configuration and the cache keys: its host and prefix. */
export function routeName (host: string | null | undefined, path: string): string {
  return `${host ?? ''}${path}`
}

/** The settings of each route the configuration lists, by routeName, with the API-wide settings as defaults. */
export function cachedRouteSettings (config: ResponseCacheConfig, maxTtlSeconds: number): Map<string, CachedRouteSettings> {
  const settings = new Map<string, CachedRouteSettings>()
  for (const route of normaliseResponseCacheConfig(config).routes) {
    const name = routeName(route.host, route.path)
    settings.set(name, {
      name,
      freshness: { defaultTtlSeconds: route.ttlSeconds ?? config.ttlSeconds ?? DEFAULT_TTL_SECONDS, maxTtlSeconds },
      maxBodyBytes: config.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      public: route.public ?? config.public ?? false
    })
  }
  return settings
}
