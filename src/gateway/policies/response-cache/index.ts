// The response-cache unit (HTTP): on the routes an API opts in, a fresh stored answer to a
// GET or HEAD is served in the upstream's place, and a storable answer to a GET is kept as it
// streams to the client. It runs last, after authentication, permission, rate limit and
// quota: an answer from the cache reaches only an app with a grant, and counts as a call.
import type { IncomingHttpHeaders } from 'node:http'
import type { ResponseBodyTap } from '../../proxy/body-tap.js'
import type { RouteDefinition } from '../../routing/route-table.js'
import type { PolicyContext } from '../chain.js'
import type { ApiPolicyDefinition } from '../definition.js'
import { acceptableAge, ageHeader, cacheKey, currentAgeMs, normaliseQuery, requestCacheDirectives, storedHeaders, storeDecision, variantKey, type RequestCacheDirectives } from './cache-policy.js'
import { cachedRouteSettings, normaliseResponseCacheConfig, ResponseCacheConfig, responseCacheConfigProblem, routeName, type CachedRouteSettings } from './config.js'
import type { CachedAnswer, ResponseCacheStore } from './stores.js'

/** A request the cache could not answer: where its answer goes, if it may be stored. */
interface Miss {
  key: string
  route: CachedRouteSettings
  request: RequestCacheDirectives
  /** when the gateway asked (RFC 9111's request_time) */
  requestedAt: number
}

async function findAnswer (store: ResponseCacheStore, key: string, headers: IncomingHttpHeaders): Promise<CachedAnswer | undefined> {
  let record = await store.get(key)
  if (record?.kind === 'vary') record = await store.get(variantKey(key, record.vary, headers))
  return record?.kind === 'answer' ? record : undefined
}

/** Collects the body, up to the route's limit, and stores the answer once it has ended. */
function storingTap (maxBodyBytes: number, keep: (body: Buffer) => void): ResponseBodyTap {
  const chunks: Buffer[] = []
  let bytes = 0
  return {
    write (chunk) {
      if (bytes > maxBodyBytes) return
      bytes += chunk.length
      if (bytes > maxBodyBytes) chunks.length = 0
      else chunks.push(chunk)
    },
    end () {
      if (bytes <= maxBodyBytes) keep(Buffer.concat(chunks, bytes))
    }
  }
}

export const responseCachePolicy: ApiPolicyDefinition<ResponseCacheConfig> = {
  name: 'responseCache',
  schema: ResponseCacheConfig,
  description: 'caching of GET answers on the routes listed (RFC 9111 shared cache); null or absent = none',
  phase: 'before-proxy',
  problem: responseCacheConfigProblem,
  normalise: normaliseResponseCacheConfig,
  compile (config, api, _snapshot, services) {
    if (config === undefined) return undefined
    const listed = cachedRouteSettings(config, services.config.responseCacheMaxTtlSeconds)
    // a route is looked up by name the first time this chain sees it, then by its object (null: not cached)
    const settingsByRoute = new WeakMap<RouteDefinition, CachedRouteSettings | null>()
    function settingsOf (route: RouteDefinition): CachedRouteSettings | undefined {
      let settings = settingsByRoute.get(route)
      if (settings === undefined) {
        settings = listed.get(routeName(route.host, route.path)) ?? null
        settingsByRoute.set(route, settings)
      }
      return settings ?? undefined
    }
    const store = services.responseCache
    const generation = api.cacheGeneration ?? 0
    const maxTtlMs = services.config.responseCacheMaxTtlSeconds * 1000
    const misses = new WeakMap<PolicyContext, Miss>()

    async function lookUp (context: PolicyContext, route: CachedRouteSettings): Promise<void> {
      const url = context.url
      const queryStart = url.indexOf('?')
      const request = requestCacheDirectives(context.headers)
      const key = cacheKey({
        generation,
        apiId: api.id,
        upstreamId: api.upstreamId,
        host: context.headers.host?.toLowerCase() ?? '',
        route: route.name,
        upstreamPath: context.match.upstreamPath,
        query: queryStart === -1 ? '' : normaliseQuery(url.slice(queryStart + 1)),
        appId: route.public ? undefined : context.appId
      })
      misses.set(context, { key, route, request, requestedAt: Date.now() })
      if (request.noStore || request.noCache) return
      const answer = await findAnswer(store, key, context.headers)
      if (answer === undefined) return
      const now = Date.now()
      const ageMs = currentAgeMs(answer.initialAgeMs, answer.receivedAt, now)
      if (now >= answer.expiresAt || !acceptableAge(request, ageMs)) return
      misses.delete(context)
      context.setResponseHeader('age', ageHeader(ageMs))
      context.setResponseHeader('x-cache', 'HIT')
      // a HEAD gets the GET's headers, its Content-Length included, and no body
      context.answer(200, answer.headers, answer.body, 'cached')
    }

    /** The tap that stores the answer to a GET, or undefined when it may not be stored. */
    function storeAnswer (context: PolicyContext, miss: Miss, statusCode: number, headers: IncomingHttpHeaders): ResponseBodyTap | undefined {
      if (context.method !== 'GET' || miss.request.noStore) return undefined
      const receivedAt = Date.now()
      const decision = storeDecision({
        statusCode,
        headers,
        receivedAt,
        responseDelayMs: receivedAt - miss.requestedAt,
        forwardedAuthorization: context.headers.authorization !== undefined && !context.credentialHeaders.includes('authorization')
      }, miss.route.freshness)
      if (!decision.store) return undefined
      const length = headers['content-length']
      if (length !== undefined && Number(length) > miss.route.maxBodyBytes) return undefined
      const answerHeaders = storedHeaders(headers)
      const vary = decision.vary
      const key = vary.length === 0 ? miss.key : variantKey(miss.key, vary, context.headers)
      return storingTap(miss.route.maxBodyBytes, body => {
        // the index lives as long as any variant may: each variant expires by itself
        if (vary.length > 0) store.set(miss.key, { kind: 'vary', vary, expiresAt: receivedAt + maxTtlMs })
        store.set(key, { kind: 'answer', headers: answerHeaders, body, receivedAt, initialAgeMs: decision.initialAgeMs, expiresAt: receivedAt + decision.ttlMs })
      })
    }

    return {
      name: 'response-cache',
      transports: ['http'],
      access (context) {
        if (context.method !== 'GET' && context.method !== 'HEAD') return
        const route = settingsOf(context.match.route)
        if (route === undefined) return
        return lookUp(context, route)
      },
      upstreamResponse (context, statusCode, headers) {
        const miss = misses.get(context)
        if (miss === undefined) return undefined
        misses.delete(context)
        const tap = storeAnswer(context, miss, statusCode, headers)
        headers['x-cache'] = 'MISS'
        return tap
      }
    }
  }
}
