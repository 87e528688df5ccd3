// Redis connections: a single node from REDIS_URL, or a Redis Cluster when REDIS_URL lists
// several nodes (redis://host1:6379,host2:6379). Every key we write carries a {hash tag}
// where one script touches several keys, so both forms behave the same.
import { Cluster, Redis } from 'ioredis'

export type RedisConnection = Redis | Cluster

export function createRedis (redisUrl: string, options: { lazyConnect?: boolean } = {}): RedisConnection {
  const url = new URL(redisUrl.split(',')[0])
  const extraNodes = redisUrl.split(',').slice(1)
  const common = { maxRetriesPerRequest: 2, enableAutoPipelining: true, lazyConnect: options.lazyConnect ?? false }
  if (extraNodes.length === 0) return new Redis(redisUrl, common)
  const nodes = [url, ...extraNodes.map(node => new URL(node.includes('://') ? node : `${url.protocol}//${node}`))]
    .map(node => ({ host: node.hostname, port: Number(node.port || 6379) }))
  return new Cluster(nodes, {
    redisOptions: { ...common, password: url.password === '' ? undefined : decodeURIComponent(url.password), username: url.username === '' ? undefined : decodeURIComponent(url.username), tls: url.protocol === 'rediss:' ? {} : undefined },
    enableAutoPipelining: true,
    lazyConnect: options.lazyConnect ?? false
  })
}
