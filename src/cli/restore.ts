// `partner-gateway restore`: a backup replaces the embedded database, with the server stopped.
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { ConfigError } from '../config/load.js'
import type { Config } from '../config/schema.js'
import { DataDirInUseError } from '../domain/errors.js'
import { runningOwner } from '../store/data-dir-lock.js'
import { restoreDataDir } from '../store/db.js'
import { requireEmbedded } from './database.js'

export async function restore (config: Config, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { from: { type: 'string' }, force: { type: 'boolean', default: false } } })
  if (values.from === undefined) throw new ConfigError('usage: restore --from FILE [--force]')
  requireEmbedded(config, 'restore')
  const owner = runningOwner(config.dataDir)
  if (owner !== undefined) throw new DataDirInUseError(`DATA_DIR ${config.dataDir} is in use by partner-gateway ${owner.command} (pid ${owner.pid}); stop it before restoring`)
  await restoreDataDir(config.dataDir, readFileSync(values.from), { force: values.force })
  if (config.masterKey === undefined && !existsSync(path.join(config.dataDir, 'master.key'))) {
    console.error(`partner-gateway: ${config.dataDir} has no master.key: put the backed-up installation's key there (or set GATEWAY_MASTER_KEY) before \`start\`, or its sealed secrets cannot be opened`)
  }
  console.log(`restored ${config.dataDir} from ${values.from}`)
}
