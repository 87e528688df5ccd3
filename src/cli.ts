#!/usr/bin/env node
// partner-gateway <command>: start | migrate | seed | admin-token create | operator create | keys rotate |
// backup | restore | sign. On the embedded database, commands that need it run inside the
// `start` process that owns DATA_DIR when there is one (src/control/local-commands.ts).
import type { Config } from './config/schema.js'

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

type Command = (config: Config, args: string[]) => Promise<void>

// the one map from a command to its module, imported when that command runs: the server,
// Prisma and PGlite take seconds to load, which `--help`, `sign` or a command run by the
// owner of DATA_DIR need not pay (the configuration's TypeBox schema is loaded after --help too)
const COMMANDS = new Map<string, () => Promise<Command>>([
  ['start', async () => (await import('./cli/start.js')).start],
  ['migrate', async () => (await import('./cli/migrate.js')).migrate],
  ['seed', async () => (await import('./cli/seed.js')).seed],
  ['admin-token', async () => (await import('./cli/admin-token.js')).adminToken],
  ['operator', async () => (await import('./cli/operator.js')).operator],
  ['keys', async () => (await import('./cli/keys.js')).keys],
  ['backup', async () => (await import('./cli/backup.js')).backup],
  ['restore', async () => (await import('./cli/restore.js')).restore],
  ['sign', async () => (await import('./cli/sign.js')).sign]
])

async function main (argv: string[]): Promise<void> {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === 'help') {
    console.log(USAGE)
    return
  }
  const { ConfigError, loadConfig } = await import('./config/load.js')
  const config = loadConfig()
  const load = COMMANDS.get(command)
  if (load === undefined) throw new ConfigError(`Unknown command "${command}"\n\n${USAGE}`)
  const run = await load()
  await run(config, rest)
}

/** Our own errors (ConfigError, the catalogue's) are for the operator to read; anything else shows its stack. */
function isExplained (error: unknown): error is Error {
  return error instanceof Error && (error.name === 'ConfigError' || error.name === 'FastifyError')
}

main(process.argv.slice(2)).catch(error => {
  console.error(isExplained(error) ? `partner-gateway: ${error.message}` : error)
  process.exit(1)
})
