// `partner-gateway admin-token create`
import { parseArgs } from 'node:util'
import { ConfigError } from '../config/load.js'
import type { Config } from '../config/schema.js'
import { createAdminToken, type OperatorScope } from '../control/services/admin-tokens.js'
import { withDatabase } from './database.js'
import { askOwner, commandTakingOwner } from './owner.js'

export async function adminToken (config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { name: { type: 'string' }, scope: { type: 'string', default: 'admin' } } })
  if (positionals[0] !== 'create' || values.name === undefined) throw new ConfigError('usage: admin-token create --name NAME [--scope admin|read]')
  if (values.scope !== 'admin' && values.scope !== 'read') throw new ConfigError('--scope must be admin or read')
  const name = values.name
  const scope: OperatorScope = values.scope
  const owner = commandTakingOwner(config)
  const created = owner !== undefined
    ? await askOwner<{ name: string, scopes: string[], token: string }>(config, owner, 'POST', '/admin-tokens', { name, scopes: [scope] })
    : await withDatabase(config, 'admin-token create', async ({ writer }) => await createAdminToken(writer, 'cli', name, [scope]))
  console.log(`operator token "${created.name}" (${created.scopes.join(', ')}); shown once:\n${created.token}`)
}
