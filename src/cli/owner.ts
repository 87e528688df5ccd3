// On the embedded database, the `start` process that owns DATA_DIR runs the CLI's commands
// (src/control/local-commands.ts); a command opens the database itself only when none runs.
import { existsSync } from 'node:fs'
import type { Config } from '../config/schema.js'
import { callOwner } from '../control/local-command-client.js'
import { runningOwner, type DataDirOwner } from '../store/data-dir-lock.js'

export type CommandTakingOwner = DataDirOwner & { commandSocket: string }

/** The `start` process that owns the embedded DATA_DIR and takes commands, if one is running. */
export function commandTakingOwner (config: Config): CommandTakingOwner | undefined {
  if (config.databaseUrl !== undefined || !existsSync(config.dataDir)) return undefined
  const owner = runningOwner(config.dataDir)
  if (owner?.commandSocket === undefined) return undefined
  console.error(`partner-gateway: ${config.dataDir} is owned by partner-gateway ${owner.command} (pid ${owner.pid}); running the command there`)
  return { ...owner, commandSocket: owner.commandSocket }
}

/** Runs `method path` in the owner and returns its JSON answer. */
export async function askOwner<T> (config: Config, owner: CommandTakingOwner, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  return JSON.parse((await callOwner(config.dataDir, owner, method, path, body)).body.toString('utf8')) as T
}
