// Redis connections: a single node from REDIS_URL, or a Redis Cluster when REDIS_URL lists
// several nodes (redis://host1:6379,host2:6379). Every key we write carries a {hash tag}
// where one script touches several keys, so both forms behave the same.
//
// Request-path connections never queue: every command has a deadline (`commandTimeout`) and
// fails at once while the connection is down (no offline queue), so a dead or unreachable
// Redis costs a request at most that deadline; RedisAvailability decides what happens next.
import { Cluster, Redis, type RedisOptions } from 'ioredis'

export type RedisConnection = Redis | Cluster

export interface RedisConnectionOptions {
  lazyConnect?: boolean
  /** deadline of every command, ms; undefined = none (subscribers, tools) */
  commandTimeoutMs?: number
}

export function createRedis (redisUrl: string, options: RedisConnectionOptions = {}): RedisConnection {
  const url = new URL(redisUrl.split(',')[0])
  const extraNodes = redisUrl.split(',').slice(1)
  const bounded = options.commandTimeoutMs !== undefined
  const common: RedisOptions = {
    maxRetriesPerRequest: bounded ? 0 : 2,
    enableOfflineQueue: !bounded,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: 2_000,
    // reconnect soon after a failure, then every second at most
    retryStrategy: attempt => Math.min(50 * attempt, 1_000),
    enableAutoPipelining: true,
    lazyConnect: options.lazyConnect ?? false
  }
  if (extraNodes.length === 0) return new Redis(redisUrl, common)
  const nodes = [url, ...extraNodes.map(node => new URL(node.includes('://') ? node : `${url.protocol}//${node}`))]
    .map(node => ({ host: node.hostname, port: Number(node.port || 6379) }))
  return new Cluster(nodes, {
    redisOptions: { ...common, password: url.password === '' ? undefined : decodeURIComponent(url.password), username: url.username === '' ? undefined : decodeURIComponent(url.username), tls: url.protocol === 'rediss:' ? {} : undefined },
    enableOfflineQueue: !bounded,
    clusterRetryStrategy: attempt => Math.min(100 * attempt, 1_000),
    enableAutoPipelining: true,
    lazyConnect: options.lazyConnect ?? false
  })
}

/** A connection for pub/sub: it may wait for Redis (it is never on a request's path). */
export function duplicateForSubscriptions (redis: RedisConnection): RedisConnection {
  const subscriber = redis instanceof Cluster
    ? redis.duplicate(undefined, { enableOfflineQueue: true, redisOptions: { ...redis.options.redisOptions, commandTimeout: undefined, enableOfflineQueue: true, maxRetriesPerRequest: null } })
    : redis.duplicate({ commandTimeout: undefined, enableOfflineQueue: true, maxRetriesPerRequest: null })
  // reconnects are reported by RedisAvailability on the main connection; an unhandled 'error' would print raw stacks
  subscriber.on('error', () => {})
  return subscriber
}
