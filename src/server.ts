// The process: opens the database (applying migrations), resolves the master key, connects
// Redis when configured, and starts the control server and/or the gateway as configured.
// Everything started here is stopped in reverse order by close(), flushing usage counters.
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import pino, { type Logger } from 'pino'
import type { Config } from './config/schema.js'
import { buildControlServer } from './control/app.js'
import { demoUpstreamRoutes, seedDemo, type DemoCredentials } from './control/demo.js'
import { SecretBox } from './domain/crypto.js'
import { buildGatewayServer } from './gateway/app.js'
import { SnapshotManager } from './gateway/snapshot/snapshot-manager.js'
import { readQuotaUsage, UsageRecorder } from './gateway/usage/usage-recorder.js'
import { createLimitBackends } from './limits/index.js'
import { GatewayMetrics } from './observability/gateway-metrics.js'
import { MemoryChangeBus, RedisChangeBus, type ChangeBus } from './store/change-bus.js'
import { ConfigWriter } from './store/config-writer.js'
import { openDatabase, type Database } from './store/db.js'
import { resolveMasterKey } from './store/master-key.js'
import { createRedis, type RedisConnection } from './store/redis.js'

export interface RunningProduct {
  config: Config
  database: Database
  control?: FastifyInstance
  gateway?: Awaited<ReturnType<typeof buildGatewayServer>>
  controlUrl?: string
  gatewayUrl?: string
  demo?: DemoCredentials
  close: () => Promise<void>
}

function listeningUrl (fastify: FastifyInstance): string {
  const address = fastify.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return `http://127.0.0.1:${port}`
}

export async function startProduct (config: Config, options: { logger?: Logger } = {}): Promise<RunningProduct> {
  const logger = options.logger ?? pino({ level: config.logLevel })
  const closers: Array<() => Promise<void>> = []
  const close = async (): Promise<void> => {
    for (const closer of closers.reverse()) {
      try {
        await closer()
      } catch (error) {
        logger.error({ err: error }, 'error during shutdown')
      }
    }
    closers.length = 0
  }
  try {
    const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
    closers.push(async () => { await database.close() })
    try {
      const applied = await database.migrate()
      if (applied.length > 0) logger.info({ migrations: applied }, 'applied database migrations')
    } catch (error) {
      // a gateway-only node can still serve from its cached snapshot; anything else needs the database
      if (config.roles.includes('control') || config.databaseUrl === undefined) throw error
      logger.error({ err: error }, 'database unreachable at start; the gateway serves from its cached snapshot until it is back')
    }
    const masterKey = resolveMasterKey(config)
    if (masterKey.source === 'generated') logger.warn({ file: path.join(config.dataDir, 'master.key') }, 'generated a new master key for the embedded database; back it up')
    const secretBox = new SecretBox(masterKey.key)

    let redis: RedisConnection | undefined
    if (config.redisUrl !== undefined) {
      const connection = createRedis(config.redisUrl)
      redis = connection
      closers.push(async () => { connection.disconnect() })
    }
    const bus: ChangeBus = redis !== undefined ? new RedisChangeBus(redis, config.redisKeyPrefix) : new MemoryChangeBus()
    closers.push(async () => { await bus.close() })
    const product: RunningProduct = { config, database, close }

    if (config.roles.includes('control')) {
      const configWriter = new ConfigWriter(database.prisma, bus)
      const control = await buildControlServer({ config, prisma: database.prisma, configWriter, secretBox, logger: logger.child({ server: 'control' }) })
      await control.register(demoUpstreamRoutes)
      await control.listen({ port: config.controlPort, host: config.host })
      closers.push(async () => { await control.close() })
      product.control = control
      product.controlUrl = listeningUrl(control)
      if (config.seedDemo && config.databaseUrl === undefined) {
        const address = control.server.address()
        product.demo = await seedDemo(database.prisma, configWriter, secretBox, { controlPort: typeof address === 'object' && address !== null ? address.port : config.controlPort, dataDir: config.dataDir })
      }
    }

    if (config.roles.includes('gateway')) {
      const gatewayLog = logger.child({ server: 'gateway' })
      const limits = createLimitBackends({ redis, keyPrefix: config.redisKeyPrefix })
      closers.push(async () => { await limits.close() })
      // before the quotas are read: a killed predecessor's journaled usage counts against them
      const usage = await UsageRecorder.open({ prisma: database.prisma, log: gatewayLog, dataDir: config.dataDir, flushMs: config.usageFlushMs, journalMs: config.usageJournalMs })
      closers.push(async () => { await usage.close() })
      const snapshots = new SnapshotManager({
        prisma: database.prisma, bus, secretBox, pollMs: config.snapshotPollMs, cacheFile: path.join(config.dataDir, 'snapshot-cache.json'), log: gatewayLog
      })
      await snapshots.start()
      closers.push(async () => { await snapshots.stop() })
      if (redis === undefined) {
        try {
          for (const usage of await readQuotaUsage(database.prisma)) {
            await limits.requestLimiter.seedQuota(`${usage.appId}:${usage.apiId}`, usage.day, usage.month)
          }
        } catch (error) {
          gatewayLog.error({ err: error }, 'could not read persisted usage; quotas count from zero in this process')
        }
      }
      const metrics = new GatewayMetrics({ defaultMetrics: true })
      const connection = redis
      const redisHealthy = connection === undefined ? undefined : async () => await connection.ping().then(() => true, () => false)
      const gateway = await buildGatewayServer({ config, snapshots, limits, usage, metrics, redisHealthy, logger: gatewayLog })
      await gateway.listen({ port: config.gatewayPort, host: config.host })
      // closing the gateway first drains in-flight requests before usage is flushed
      closers.push(async () => { await gateway.close() })
      product.gateway = gateway
      product.gatewayUrl = listeningUrl(gateway)
    }
    return product
  } catch (error) {
    await close()
    throw error
  }
}
