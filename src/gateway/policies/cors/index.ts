// The CORS unit (HTTP; browsers do not send preflights for WebSockets): answers preflights
// itself, before any credential is asked for, and marks every actual response, refusals
// included; the upstream's own CORS headers give way to the gateway's.
import type { IncomingHttpHeaders } from 'node:http'
import { CorsOriginNotAllowedError } from '../../../domain/errors.js'
import type { ApiPolicyDefinition } from '../definition.js'
import { actualResponseHeaders, compileCorsPolicy, CorsConfig, corsConfigProblem, normaliseCorsConfig, preflightHeaders, preflightMethod, upstreamHeaderUnderCors, variesByOrigin } from './cors.js'

export const corsPolicy: ApiPolicyDefinition<CorsConfig> = {
  name: 'cors',
  schema: CorsConfig,
  description: 'browser access (CORS) the gateway answers for the API; null or absent = none',
  phase: 'before-authentication',
  problem: corsConfigProblem,
  normalise: normaliseCorsConfig,
  compile (config, _api, snapshot) {
    if (config === undefined) return undefined
    const policy = compileCorsPolicy(config, snapshot.routing.portalOrigin ?? null)
    const gatewayVary = variesByOrigin(policy) ? 'Origin' : undefined
    return {
      name: 'cors',
      transports: ['http'],
      answersPreflight: true,
      access (context) {
        if (preflightMethod(context.method, context.headers) !== undefined) {
          const origin = context.headers.origin as string
          const headers = preflightHeaders(policy, origin, context.headers['access-control-request-headers'])
          if (headers === undefined) throw new CorsOriginNotAllowedError(origin, context.api.name)
          context.answer(204, headers, undefined, 'preflight')
          return
        }
        const headers = actualResponseHeaders(policy, context.headers.origin)
        if (headers !== undefined) context.setResponseHeaders(headers)
      },
      upstreamResponse (_context, _statusCode, headers: IncomingHttpHeaders) {
        for (const name in headers) {
          const value = headers[name]
          if (value === undefined) continue
          const sent = upstreamHeaderUnderCors(name, value, gatewayVary)
          if (sent === undefined) delete headers[name]
          else headers[name] = sent
        }
      }
    }
  }
}
