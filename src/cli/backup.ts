// `partner-gateway backup`: the embedded database's files as one tarball, also while it runs.
import { existsSync, renameSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { ConfigError } from '../config/load.js'
import type { Config } from '../config/schema.js'
import { callOwner } from '../control/local-command-client.js'
import { requireEmbedded, withDatabase } from './database.js'
import { commandTakingOwner } from './owner.js'

async function writeBackup (config: Config, out: string): Promise<number> {
  requireEmbedded(config, 'backup')
  const owner = commandTakingOwner(config)
  let tarball: Buffer
  if (owner !== undefined) {
    tarball = (await callOwner(config.dataDir, owner, 'GET', '/backup')).body
  } else {
    if (!existsSync(path.join(config.dataDir, 'pglite', 'PG_VERSION'))) throw new ConfigError(`there is no embedded database in ${config.dataDir} to back up`)
    tarball = await withDatabase(config, 'backup', async ({ database }) => await (database.dumpDataDir as () => Promise<Buffer>)(), { migrate: false })
  }
  // the database holds sealed secrets and token hashes: owner-only, and never a partial file
  const partial = `${out}.${process.pid}.partial`
  writeFileSync(partial, tarball, { mode: 0o600 })
  renameSync(partial, out)
  return tarball.length
}

export async function backup (config: Config, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { out: { type: 'string' } } })
  if (values.out === undefined) throw new ConfigError('usage: backup --out FILE')
  const size = await writeBackup(config, values.out)
  console.log(`backup of ${config.dataDir} written to ${values.out} (${size} bytes)`)
}
