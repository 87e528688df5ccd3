#!/usr/bin/env node
// partner-gateway <command>: start | migrate | seed | admin-token create | operator create | keys rotate |
// backup | restore | sign. On the embedded database, commands that need it run inside the
// `start` process that owns DATA_DIR when there is one (src/control/local-commands.ts).
import cluster from 'node:cluster'
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { createProcessLogs } from './observability/logger.js'
import { startPrimary } from './cluster.js'
import { ConfigError, loadConfig } from './config/load.js'
import type { Config } from './config/schema.js'
import { seedDemo, type DemoCredentials } from './control/demo.js'
import { callOwner } from './control/local-command-client.js'
import { createAdminToken, type OperatorScope } from './control/services/admin-tokens.js'
import { createOperator, generatePassword, type OperatorAccount, type OperatorRole } from './control/services/operators.js'
import { SigningKeys } from './control/services/signing-keys.js'
import { SecretBox } from './domain/crypto.js'
import { DataDirInUseError } from './domain/errors.js'
import { signRequest } from './domain/sign-request.js'
import { startProduct } from './server.js'
import { MemoryChangeBus } from './store/change-bus.js'
import { ConfigWriter } from './store/config-writer.js'
import { runningOwner, type DataDirOwner } from './store/data-dir-lock.js'
import { openDatabase, restoreDataDir, type Database } from './store/db.js'
import { resolveMasterKey } from './store/master-key.js'

const USAGE = `Usage: partner-gateway <command>

Commands:
  start                         run the gateway and the control server (GATEWAY_ROLES picks one)
  migrate                       apply pending database migrations and exit
  seed                          seed the demo partner, app and API into an empty database
  admin-token create --name N [--scope admin|read]
                                create an operator token (printed once)
  operator create --email E [--role admin|viewer] [--password-stdin]
                                create a console operator; the password is read from
                                stdin, or generated and printed once
  keys rotate                   sign new OAuth2 tokens with a new key
  backup --out FILE             write the embedded database to FILE (also while it runs)
  restore --from FILE [--force] replace the embedded database with a backup (server stopped)
  sign --key K --secret S [--method M] [--data BODY] [--content-type T] URL
                                print a curl command with an HMAC-signed request

On the embedded database (no DATABASE_URL), migrate, seed, admin-token, operator, keys and backup
run inside the \`start\` process that owns DATA_DIR when one is running.

Configuration: environment variables and config/gateway.json, see README.md.`

function shellQuote (text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`
}

export function signedCurl (options: { key: string, secret: string, method: string, url: string, body?: string, contentType?: string }): string {
  const url = new URL(options.url)
  const headers = signRequest({
    method: options.method,
    url: url.pathname + url.search,
    headers: options.contentType !== undefined ? { 'Content-Type': options.contentType } : {},
    body: options.body
  }, options.key, options.secret, { contentMd5: options.body !== undefined })
  const parts = ['curl', '-sS', '-X', options.method, shellQuote(options.url)]
  for (const [name, value] of Object.entries(headers)) parts.push('-H', shellQuote(`${name}: ${value}`))
  if (options.body !== undefined) parts.push('--data-binary', shellQuote(options.body))
  return parts.join(' ')
}

function printDemo (demo: DemoCredentials, gatewayUrl: string): void {
  const url = `${gatewayUrl}${demo.path}?greeting=hi`
  console.log(`
Demo app (partner "Demo Partner", API "demo", route /demo → the built-in echo upstream)
  key:     ${demo.key}
  secret:  ${demo.secret}
  apiKey:  ${demo.apiKey}

Call it with the API key:
  curl -sS -H 'X-Api-Key: ${demo.apiKey}' '${url}'

Call it with an HMAC signature (valid for 15 minutes; make a fresh one with \`partner-gateway sign\`):
  ${signedCurl({ key: demo.key, secret: demo.secret, method: 'GET', url })}
`)
}

async function start (config: Config): Promise<void> {
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

async function withDatabase<T> (config: Config, command: string, work: (database: Database) => Promise<T>): Promise<T> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, ownership: { command } })
  try {
    await database.migrate()
    return await work(database)
  } finally {
    await database.close()
  }
}

/** The `start` process that owns the embedded DATA_DIR and takes commands, if one is running. */
function commandTakingOwner (config: Config): (DataDirOwner & { commandSocket: string }) | undefined {
  if (config.databaseUrl !== undefined || !existsSync(config.dataDir)) return undefined
  const owner = runningOwner(config.dataDir)
  if (owner?.commandSocket === undefined) return undefined
  console.error(`partner-gateway: ${config.dataDir} is owned by partner-gateway ${owner.command} (pid ${owner.pid}); running the command there`)
  return { ...owner, commandSocket: owner.commandSocket }
}

function requireEmbedded (config: Config, command: string): void {
  if (config.databaseUrl !== undefined) throw new ConfigError(`${command} is for the embedded database; with DATABASE_URL use pg_dump and pg_restore`)
}

async function backup (config: Config, out: string): Promise<number> {
  requireEmbedded(config, 'backup')
  const owner = commandTakingOwner(config)
  let tarball: Buffer
  if (owner !== undefined) {
    tarball = (await callOwner(config.dataDir, owner, 'GET', '/backup')).body
  } else {
    if (!existsSync(path.join(config.dataDir, 'pglite', 'PG_VERSION'))) throw new ConfigError(`there is no embedded database in ${config.dataDir} to back up`)
    const database = await openDatabase({ dataDir: config.dataDir, ownership: { command: 'backup' } })
    try {
      tarball = await (database.dumpDataDir as () => Promise<Buffer>)()
    } finally {
      await database.close()
    }
  }
  // the database holds sealed secrets and token hashes: owner-only, and never a partial file
  const partial = `${out}.${process.pid}.partial`
  writeFileSync(partial, tarball, { mode: 0o600 })
  renameSync(partial, out)
  return tarball.length
}

async function restore (config: Config, from: string, force: boolean): Promise<void> {
  requireEmbedded(config, 'restore')
  const owner = runningOwner(config.dataDir)
  if (owner !== undefined) throw new DataDirInUseError(`DATA_DIR ${config.dataDir} is in use by partner-gateway ${owner.command} (pid ${owner.pid}); stop it before restoring`)
  await restoreDataDir(config.dataDir, readFileSync(from), { force })
  if (config.masterKey === undefined && !existsSync(path.join(config.dataDir, 'master.key'))) {
    console.error(`partner-gateway: ${config.dataDir} has no master.key: put the backed-up installation's key there (or set GATEWAY_MASTER_KEY) before \`start\`, or its sealed secrets cannot be opened`)
  }
}

/** The first line of stdin, as `docker login --password-stdin` reads it: no echo, no shell history. */
async function readPasswordFromStdin (): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  const password = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0]
  if (password.length < 10 || password.length > 200) throw new ConfigError('the password on stdin must have 10 to 200 characters')
  return password
}

async function main (argv: string[]): Promise<void> {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === 'help') {
    console.log(USAGE)
    return
  }
  const config = loadConfig()
  switch (command) {
    case 'start':
      await start(config)
      return
    case 'migrate': {
      const owner = commandTakingOwner(config)
      const applied = owner !== undefined
        ? (JSON.parse((await callOwner(config.dataDir, owner, 'POST', '/migrate')).body.toString('utf8')) as { applied: string[] }).applied
        : await withDatabase(config, 'migrate', async () => [])
      console.log(applied.length === 0 ? 'migrations applied; the database is up to date' : applied.join('\n'))
      return
    }
    case 'seed': {
      const owner = commandTakingOwner(config)
      const demo = owner !== undefined
        ? (JSON.parse((await callOwner(config.dataDir, owner, 'POST', '/seed')).body.toString('utf8')) as { demo: DemoCredentials | null }).demo ?? undefined
        : await withDatabase(config, 'seed', async database => {
          const secretBox = new SecretBox(resolveMasterKey(config).key)
          return await seedDemo(database.prisma, new ConfigWriter(database.prisma, new MemoryChangeBus()), secretBox, { controlPort: config.controlPort, dataDir: config.dataDir })
        })
      if (demo === undefined) console.log('the database already has data; nothing seeded')
      else printDemo(demo, `http://127.0.0.1:${config.gatewayPort}`)
      return
    }
    case 'admin-token': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { name: { type: 'string' }, scope: { type: 'string', default: 'admin' } } })
      if (positionals[0] !== 'create' || values.name === undefined) throw new ConfigError('usage: admin-token create --name NAME [--scope admin|read]')
      if (values.scope !== 'admin' && values.scope !== 'read') throw new ConfigError('--scope must be admin or read')
      const scope: OperatorScope = values.scope
      const owner = commandTakingOwner(config)
      const created = owner !== undefined
        ? JSON.parse((await callOwner(config.dataDir, owner, 'POST', '/admin-tokens', { name: values.name, scopes: [scope] })).body.toString('utf8')) as { name: string, scopes: string[], token: string }
        : await withDatabase(config, 'admin-token create', async database => await createAdminToken(new ConfigWriter(database.prisma, new MemoryChangeBus()), 'cli', values.name as string, [scope]))
      console.log(`operator token "${created.name}" (${created.scopes.join(', ')}); shown once:\n${created.token}`)
      return
    }
    case 'operator': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { email: { type: 'string' }, role: { type: 'string', default: 'admin' }, 'password-stdin': { type: 'boolean', default: false } } })
      if (positionals[0] !== 'create' || values.email === undefined) throw new ConfigError('usage: operator create --email EMAIL [--role admin|viewer] [--password-stdin]')
      if (values.role !== 'admin' && values.role !== 'viewer') throw new ConfigError('--role must be admin or viewer')
      if (!/^[^\s@]+@[^\s@]+$/.test(values.email)) throw new ConfigError('--email must be an email address')
      const role: OperatorRole = values.role
      const typed = values['password-stdin'] ? await readPasswordFromStdin() : undefined
      const password = typed ?? generatePassword()
      const input = { email: values.email, role, password }
      const owner = commandTakingOwner(config)
      const created = owner !== undefined
        ? JSON.parse((await callOwner(config.dataDir, owner, 'POST', '/operators', input)).body.toString('utf8')) as OperatorAccount
        : await withDatabase(config, 'operator create', async database => await createOperator(new ConfigWriter(database.prisma, new MemoryChangeBus()), 'cli', input))
      console.log(`operator ${created.email} (${created.role}) created; sign in at the control server's /console`)
      if (typed === undefined) console.log(`password, shown once:\n${password}`)
      return
    }
    case 'keys': {
      if (rest[0] !== 'rotate') throw new ConfigError('usage: keys rotate')
      const owner = commandTakingOwner(config)
      const rotated = owner !== undefined
        ? JSON.parse((await callOwner(config.dataDir, owner, 'POST', '/signing-keys/rotate')).body.toString('utf8')) as { kid: string, retired: string[] }
        : await withDatabase(config, 'keys rotate', async database => {
          const writer = new ConfigWriter(database.prisma, new MemoryChangeBus())
          return await new SigningKeys(database.prisma, writer, new SecretBox(resolveMasterKey(config).key)).rotate('cli')
        })
      console.log(`new signing key ${rotated.kid}; retired ${rotated.retired.length === 0 ? 'none' : rotated.retired.join(', ')} (still published until their tokens expire)`)
      return
    }
    case 'backup': {
      const { values } = parseArgs({ args: rest, options: { out: { type: 'string' } } })
      if (values.out === undefined) throw new ConfigError('usage: backup --out FILE')
      const size = await backup(config, values.out)
      console.log(`backup of ${config.dataDir} written to ${values.out} (${size} bytes)`)
      return
    }
    case 'restore': {
      const { values } = parseArgs({ args: rest, options: { from: { type: 'string' }, force: { type: 'boolean', default: false } } })
      if (values.from === undefined) throw new ConfigError('usage: restore --from FILE [--force]')
      await restore(config, values.from, values.force)
      console.log(`restored ${config.dataDir} from ${values.from}`)
      return
    }
    case 'sign': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { key: { type: 'string' }, secret: { type: 'string' }, method: { type: 'string', default: 'GET' }, data: { type: 'string' }, 'content-type': { type: 'string' } } })
      if (values.key === undefined || values.secret === undefined || positionals.length !== 1) throw new ConfigError('sign needs --key, --secret and one URL')
      console.log(signedCurl({ key: values.key, secret: values.secret, method: values.method.toUpperCase(), url: positionals[0], body: values.data, contentType: values['content-type'] ?? (values.data !== undefined ? 'application/json' : undefined) }))
      return
    }
    default:
      throw new ConfigError(`Unknown command "${command}"\n\n${USAGE}`)
  }
}

/** Our own errors (configuration, catalogue) are for the operator to read; anything else shows its stack. */
function isExplained (error: unknown): error is Error {
  return error instanceof ConfigError || (error instanceof Error && error.name === 'FastifyError')
}

main(process.argv.slice(2)).catch(error => {
  console.error(isExplained(error) ? `partner-gateway: ${error.message}` : error)
  process.exit(1)
})
