// `GATEWAY_WORKERS=N`: the primary process runs the control server and forks N gateway
// workers that share the gateway port through node:cluster, to use every core. Workers
// share nothing in memory, so counters, nonces and change events must live in Redis and
// configuration in PostgreSQL.
import cluster from 'node:cluster'
import type { Logger } from 'pino'
import { ConfigError } from './config/load.js'
import type { Config } from './config/schema.js'
import { ClusterMetricsPrimary, METRICS_COLLECT_DEADLINE_MS } from './observability/cluster-metrics.js'
import { startProduct, type RunningProduct } from './server.js'

const RESTART_DELAY_MS = 1000

export function assertClusterable (config: Config): void {
  if (config.databaseUrl === undefined || config.redisUrl === undefined) {
    throw new ConfigError('GATEWAY_WORKERS needs DATABASE_URL and REDIS_URL: workers share configuration, counters and nonces through them')
  }
  if (!config.roles.includes('gateway')) throw new ConfigError('GATEWAY_WORKERS needs the gateway role')
}

/** In the primary: starts the control role (if configured) and keeps `workers` gateway workers running. */
export async function startPrimary (config: Config, logger: Logger): Promise<{ product?: RunningProduct, close: () => Promise<void>, hangup: () => void }> {
  assertClusterable(config)
  let stopping = false
  const product = config.roles.includes('control') ? await startProduct({ ...config, roles: ['control'] }, { logger }) : undefined
  const fork = (): void => { cluster.fork({ GATEWAY_ROLES: 'gateway', GATEWAY_WORKERS: '0', SEED_DEMO: 'false' }) }
  // a scrape on any worker is answered with every worker's metrics (observability/cluster-metrics.ts)
  const metrics = new ClusterMetricsPrimary({ deadlineMs: METRICS_COLLECT_DEADLINE_MS })
  cluster.on('listening', worker => { metrics.add(worker) })
  cluster.on('message', (worker, message) => { metrics.receive(worker, message) })
  cluster.on('disconnect', worker => { metrics.remove(worker) })
  cluster.on('exit', (worker, code, signal) => {
    metrics.remove(worker)
    if (stopping) return
    logger.error({ worker: worker.process.pid, code, signal }, 'gateway worker died; starting a new one')
    setTimeout(fork, RESTART_DELAY_MS).unref()
  })
  for (let index = 0; index < config.workers; index++) fork()
  // each worker listens on the gateway port and, with TLS, on the TLS port too
  const listenersPerWorker = config.gatewayTlsPort === undefined ? 1 : 2
  await new Promise<void>(resolve => {
    let listening = 0
    cluster.on('listening', () => { if (++listening === config.workers * listenersPerWorker) resolve() })
  })
  return {
    product,
    // every worker has its own access-log file descriptor and TLS certificates
    hangup () {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGHUP')
    },
    async close () {
      stopping = true
      // workers drain their requests and flush usage on SIGTERM, like a single process
      const exited = Object.values(cluster.workers ?? {}).map(async worker => {
        if (worker === undefined) return
        await new Promise<void>(resolve => {
          worker.once('exit', () => { resolve() })
          worker.process.kill('SIGTERM')
        })
      })
      await Promise.all(exited)
      await product?.close()
    }
  }
}
