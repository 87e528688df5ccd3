// The process: opens the database (applying migrations), resolves the master key, connects
// Redis when configured, and starts the control server and/or the gateway as configured.
// close() is the graceful shutdown: readiness off at once, listeners closed, in-flight requests
// given `shutdownTimeoutSeconds` before their connections are cut, then everything else is
// stopped in reverse order, flushing usage counters.
import cluster from 'node:cluster'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Config } from './config/schema.js'
import { buildControlServer } from './control/app.js'
import { buildLocalCommandServer, closeCommandSocket, COMMAND_SOCKET_NAME, listenOnCommandSocket } from './control/local-commands.js'
import { demoUpstreamRoutes, seedDemo, type DemoCredentials } from './control/demo.js'
import { SecretBox } from './domain/crypto.js'
import { buildGatewayServer } from './gateway/app.js'
import { NodeReporter } from './gateway/node-report.js'
import { attachGatewayTls } from './gateway/tls/gateway-tls.js'
import { createResponseCacheStore } from './gateway/policies/response-cache/stores.js'
import { SnapshotManager } from './gateway/snapshot/snapshot-manager.js'
import { quotaSeedSource } from './gateway/usage/quota-seed.js'
import { readQuotaUsage, UsageRecorder } from './gateway/usage/usage-recorder.js'
import { createLimitBackends } from './limits/index.js'
import { ClusterMetricsWorker, METRICS_COLLECT_DEADLINE_MS } from './observability/cluster-metrics.js'
import { GatewayMetrics } from './observability/gateway-metrics.js'
import { parseAppLabelSetting } from './observability/app-label.js'
import { createProcessLogs, type ProcessLogs } from './observability/logger.js'
import { probeWithDeadline, type Lifecycle } from './observability/readiness.js'
import { MemoryChangeBus, RedisChangeBus, type ChangeBus } from './store/change-bus.js'
import { ConfigWriter } from './store/config-writer.js'
import { openDatabase, type Database } from './store/db.js'
import { DatabaseNodeRegistry, RedisNodeRegistry } from './store/node-registry.js'
import { resolveMasterKey } from './store/master-key.js'
import { RedisAvailability } from './store/redis-availability.js'
import { createRedis, type RedisConnection } from './store/redis.js'

/** How long a readiness probe waits for a dependency. */
const PROBE_DEADLINE_MS = 1_000
/** How long start-up waits for Redis before starting in the fallback. */
const REDIS_START_WAIT_MS = 2_000

export interface RunningProduct {
  config: Config
  database: Database
  control?: FastifyInstance
  gateway?: Awaited<ReturnType<typeof buildGatewayServer>>
  controlUrl?: string
  gatewayUrl?: string
  /** the gateway's TLS port, when configured */
  gatewayTlsUrl?: string
  demo?: DemoCredentials
  close: () => Promise<void>
  /** reopens the access-log file (SIGHUP, after a rotation) */
  reopenLogs: () => void
  /** reads the gateway's TLS certificates again (SIGHUP, after a renewal); resolves when they are in use */
  reloadCertificates: () => Promise<void>
}

/** Closes a server: no new connections, in-flight requests get until the deadline, then their connections are cut. */
async function closeWithDeadline (fastify: FastifyInstance, deadlineMs: number, logger: Logger): Promise<void> {
  const timer = setTimeout(() => {
    logger.warn({ deadlineMs }, 'shutdown deadline reached; closing the connections still open')
    fastify.server.closeAllConnections()
  }, deadlineMs)
  try {
    await fastify.close()
  } finally {
    clearTimeout(timer)
  }
}

// sun_path holds 108 bytes on Linux and 104 on macOS, including the terminating NUL
const MAX_SOCKET_PATH_BYTES = 103

/** Where the owner of an embedded DATA_DIR takes CLI commands; undefined if the path is too long for a socket. */
function commandSocketPath (config: Config): string | undefined {
  const socketPath = path.resolve(config.dataDir, COMMAND_SOCKET_NAME)
  return Buffer.byteLength(socketPath) <= MAX_SOCKET_PATH_BYTES ? socketPath : undefined
}

function listeningUrl (fastify: FastifyInstance): string {
  const address = fastify.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return `http://127.0.0.1:${port}`
}

export interface ProductLoggers {
  /** the process logger; default: JSON lines to stdout (and ACCESS_LOG_FILE), see logger.ts */
  logger?: Logger
  /** where the gateway's access-log lines go; default `logger` */
  accessLog?: Logger
}

export async function startProduct (config: Config, options: ProductLoggers = {}): Promise<RunningProduct> {
  const logs: ProcessLogs | undefined = options.logger === undefined ? createProcessLogs({ level: config.logLevel, accessLogFile: config.accessLogFile }) : undefined
  const logger = options.logger ?? (logs as ProcessLogs).logger
  const accessLog = options.accessLog ?? logs?.accessLog ?? logger
  const closers: Array<() => Promise<void>> = []
  const lifecycle: Lifecycle = { draining: false }
  const servers: FastifyInstance[] = []
  const close = async (): Promise<void> => {
    lifecycle.draining = true
    await Promise.all(servers.splice(0).map(async server => {
      await closeWithDeadline(server, config.shutdownTimeoutSeconds * 1000, logger).catch(error => { logger.error({ err: error }, 'error while closing a server') })
    }))
    for (const closer of closers.reverse()) {
      try {
        await closer()
      } catch (error) {
        logger.error({ err: error }, 'error during shutdown')
      }
    }
    closers.length = 0
    // the last access-log lines are written before the process exits, not just buffered
    await logs?.flush()
  }
  try {
    const commandSocket = config.databaseUrl === undefined ? commandSocketPath(config) : undefined
    const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, connectTimeoutMs: config.databaseConnectTimeoutMs, statementTimeoutMs: config.databaseStatementTimeoutMs, ownership: { command: 'start', commandSocket } })
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
    let redisAvailability: RedisAvailability | undefined
    if (config.redisUrl !== undefined) {
      const connection = createRedis(config.redisUrl, { commandTimeoutMs: config.redisCommandTimeoutMs })
      const availability = new RedisAvailability(connection, { log: logger.child({ component: 'redis' }) })
      redis = connection
      redisAvailability = availability
      closers.push(async () => {
        availability.close()
        connection.disconnect()
      })
      await availability.waitForConnection(REDIS_START_WAIT_MS)
    }
    const bus: ChangeBus = redis !== undefined ? new RedisChangeBus(redis, config.redisKeyPrefix) : new MemoryChangeBus()
    closers.push(async () => { await bus.close() })
    const product: RunningProduct = { config, database, close, reopenLogs: () => { logs?.reopen() }, reloadCertificates: async () => {} }
    const nodeRegistry = redis !== undefined ? new RedisNodeRegistry(redis, config.redisKeyPrefix) : new DatabaseNodeRegistry(database.prisma)

    if (config.roles.includes('control')) {
      const configWriter = new ConfigWriter(database.prisma, bus)
      const control = await buildControlServer({ config, prisma: database.prisma, configWriter, secretBox, nodeRegistry, lifecycle, logger: logger.child({ server: 'control' }) })
      await control.register(demoUpstreamRoutes)
      await control.listen({ port: config.controlPort, host: config.host })
      servers.push(control)
      product.control = control
      product.controlUrl = listeningUrl(control)
      if (config.seedDemo && config.databaseUrl === undefined) {
        const address = control.server.address()
        product.demo = await seedDemo(database.prisma, configWriter, secretBox, { controlPort: typeof address === 'object' && address !== null ? address.port : config.controlPort, dataDir: config.dataDir })
      }
    }

    if (config.roles.includes('gateway')) {
      const gatewayLog = logger.child({ server: 'gateway' })
      // before the quotas are read: a killed predecessor's journaled usage counts against them
      const usage = await UsageRecorder.open({ prisma: database.prisma, log: gatewayLog, dataDir: config.dataDir, flushMs: config.usageFlushMs, journalMs: config.usageJournalMs })
      const limits = await createLimitBackends({
        keyPrefix: config.redisKeyPrefix,
        redis: redis === undefined || redisAvailability === undefined
          ? undefined
          : { connection: redis, availability: redisAvailability, faultPolicy: config.redisFaultPolicy, leaseMs: config.limitLeaseMs, seedSource: quotaSeedSource(database.prisma, usage) }
      })
      closers.push(async () => { await limits.close() })
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
      const metrics = new GatewayMetrics({ defaultMetrics: true, appLabel: parseAppLabelSetting(config.metricsAppLabel) })
      const clusterMetrics = cluster.isWorker ? new ClusterMetricsWorker({ registry: metrics.registry, channel: process, deadlineMs: METRICS_COLLECT_DEADLINE_MS, log: gatewayLog }) : undefined
      if (clusterMetrics !== undefined) closers.push(async () => { clusterMetrics.close() })
      const connection = redis
      const availability = redisAvailability
      const gateway = await buildGatewayServer({
        config,
        snapshots,
        limits,
        usage,
        responseCache: createResponseCacheStore(config, connection === undefined || availability === undefined ? undefined : { connection, availability }),
        metrics,
        clusterMetrics,
        lifecycle,
        probes: {
          database: async () => await probeWithDeadline(async () => await database.prisma.$queryRawUnsafe('SELECT 1'), PROBE_DEADLINE_MS),
          redis: connection === undefined ? undefined : async () => await probeWithDeadline(async () => await connection.ping(), PROBE_DEADLINE_MS)
        },
        redisUp: availability === undefined ? undefined : () => availability.isUp,
        logger: gatewayLog,
        accessLog: accessLog === logger ? gatewayLog : accessLog
      })
      const reporter = new NodeReporter({
        registry: nodeRegistry,
        metrics,
        snapshot: () => snapshots.current,
        databaseUp: () => snapshots.databaseHealthy,
        redisUp: availability === undefined ? undefined : () => availability.isUp,
        intervalMs: config.nodeReportIntervalMs,
        log: gatewayLog
      })
      closers.push(async () => { await reporter.stop() })
      const tls = config.gatewayTlsPort === undefined ? undefined : await attachGatewayTls(gateway, config, gatewayLog)
      // with the redirect, the plain port is the redirecting server's and the gateway only serves the TLS port
      if (config.gatewayHttpRedirect) await gateway.ready()
      else await gateway.listen({ port: config.gatewayPort, host: config.host })
      // servers are drained before the closers run, so usage is flushed after the last request
      servers.push(gateway)
      await tls?.listen()
      reporter.start()
      product.gateway = gateway
      product.gatewayUrl = tls?.redirectUrl() ?? listeningUrl(gateway)
      product.gatewayTlsUrl = tls?.url()
      if (tls !== undefined) product.reloadCertificates = tls.reloadCertificates
    }

    if (database.kind === 'pglite') {
      if (commandSocket === undefined) {
        logger.warn({ dataDir: config.dataDir }, 'DATA_DIR\'s path is too long for a Unix socket: CLI commands cannot reach this process and must wait until it stops')
      } else {
        const controlAddress = product.control?.server.address()
        const commands = await buildLocalCommandServer({
          database,
          configWriter: new ConfigWriter(database.prisma, bus),
          secretBox,
          dataDir: config.dataDir,
          controlPort: typeof controlAddress === 'object' && controlAddress !== null ? controlAddress.port : config.controlPort,
          logger: logger.child({ server: 'local-commands' })
        })
        await listenOnCommandSocket(commands, commandSocket)
        closers.push(async () => { await closeCommandSocket(commands, commandSocket) })
      }
    }
    return product
  } catch (error) {
    await close()
    throw error
  }
}
