// The upstream-concurrency unit (HTTP): a slot among the upstream's requests in flight, taken
// before the rate limit and quota count the call, so that a refused call costs the app
// nothing, and given back when the request ends, however it ends.
import { TooManyConcurrentRequestsError, UpstreamBusyError } from '../../../domain/errors.js'
import type { UpstreamPool } from '../../proxy/upstream-pool.js'
import type { PolicyContext, PolicyUnit } from '../chain.js'
import type { ChainServices } from '../definition.js'

export function upstreamConcurrencyUnit (services: ChainServices): PolicyUnit {
  return {
    name: 'upstream-concurrency',
    // a WebSocket holds no request slot: its plan caps its connections instead
    transports: ['http'],
    access (context: PolicyContext) {
      // the handler found the pool before the chain ran: the API routes to one
      const { concurrency } = services.pools.get(context.api.upstreamId) as UpstreamPool
      const appId = context.appId as string
      const admission = concurrency.tryAcquire(appId)
      if (admission === 'app-over-share') throw new TooManyConcurrentRequestsError(String(concurrency.maxPerApp), context.api.name)
      if (admission === 'upstream-full') throw new UpstreamBusyError(context.api.name, String(concurrency.maxInFlight))
      context.onEnd(() => { concurrency.release(appId) })
    }
  }
}
