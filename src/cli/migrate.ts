// `partner-gateway migrate`
import type { Config } from '../config/schema.js'
import { withDatabase } from './database.js'
import { askOwner, commandTakingOwner } from './owner.js'

export async function migrate (config: Config): Promise<void> {
  const owner = commandTakingOwner(config)
  const applied = owner !== undefined
    ? (await askOwner<{ applied: string[] }>(config, owner, 'POST', '/migrate')).applied
    : await withDatabase(config, 'migrate', async () => [])
  console.log(applied.length === 0 ? 'migrations applied; the database is up to date' : applied.join('\n'))
}
