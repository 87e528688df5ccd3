// `partner-gateway start`: the gateway and the control server, in this process or, with
// GATEWAY_WORKERS, in a primary and its gateway workers (which run this command too).
import cluster from 'node:cluster'
import { startPrimary } from '../cluster.js'
import type { Config } from '../config/schema.js'
import { createProcessLogs } from '../observability/logger.js'
import { startProduct } from '../server.js'
import { printDemo } from './demo-output.js'

export async function start (config: Config): Promise<void> {
  if (config.workers > 0 && cluster.isPrimary) {
    const { logger } = createProcessLogs({ level: config.logLevel })
    const primary = await startPrimary(config, logger)
    console.log(`partner-gateway started: ${config.workers} gateway workers on port ${config.gatewayPort}${config.gatewayTlsPort !== undefined ? ` and TLS port ${config.gatewayTlsPort}` : ''}${primary.product?.controlUrl !== undefined ? `, control API on port ${config.controlPort}` : ''}`)
    stopOnSignals(primary.close, primary.hangup)
    return
  }
  const product = await startProduct(config)
  const gatewayUrl = product.gatewayUrl
  console.log(`partner-gateway started (${product.database.kind === 'pglite' ? `embedded database in ${config.dataDir}` : 'PostgreSQL'}, ${config.redisUrl !== undefined ? 'Redis counters' : 'in-memory counters'})`)
  if (gatewayUrl !== undefined) console.log(`  gateway:      ${gatewayUrl}  (metrics at /metrics)${config.gatewayHttpRedirect ? ', redirects to HTTPS' : ''}`)
  if (product.gatewayTlsUrl !== undefined) console.log(`  gateway TLS:  ${product.gatewayTlsUrl}  (HTTP/2 and HTTP/1.1; SIGHUP reloads the certificates)`)
  if (product.controlUrl !== undefined) {
    console.log(`  control API:  ${product.controlUrl}/admin/v1  (docs at /docs)`)
    console.log(`  console:      ${product.controlUrl}/console  (create an operator with \`partner-gateway operator create --email you@example.com\`)`)
    if (config.adminToken === undefined) console.log('  no GATEWAY_ADMIN_TOKEN set: create an operator token with `partner-gateway admin-token create --name me`')
  }
  if (product.database.kind === 'pglite') {
    console.log(`  this process owns ${config.dataDir} (pid ${process.pid}): CLI commands on it (admin-token, keys, seed, migrate, backup) run through it`)
  }
  if (product.demo !== undefined && gatewayUrl !== undefined) printDemo(product.demo, gatewayUrl)
  stopOnSignals(product.close, () => {
    product.reopenLogs()
    void product.reloadCertificates()
  })
}

/** `onHangup` on SIGHUP: log rotation and certificate renewal tools send it. */
function stopOnSignals (close: () => Promise<void>, onHangup: () => void): void {
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    console.log(`${signal}: shutting down (draining requests, flushing usage)`)
    close().then(() => process.exit(0), error => { console.error(error); process.exit(1) })
  }
  process.on('SIGINT', () => { stop('SIGINT') })
  process.on('SIGTERM', () => { stop('SIGTERM') })
  process.on('SIGHUP', () => { onHangup() })
}
