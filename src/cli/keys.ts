// `partner-gateway keys rotate`
import { ConfigError } from '../config/load.js'
import type { Config } from '../config/schema.js'
import { SigningKeys } from '../control/services/signing-keys.js'
import { SecretBox } from '../domain/crypto.js'
import { resolveMasterKey } from '../store/master-key.js'
import { withDatabase } from './database.js'
import { askOwner, commandTakingOwner } from './owner.js'

export async function keys (config: Config, args: string[]): Promise<void> {
  if (args[0] !== 'rotate') throw new ConfigError('usage: keys rotate')
  const owner = commandTakingOwner(config)
  const rotated = owner !== undefined
    ? await askOwner<{ kid: string, retired: string[] }>(config, owner, 'POST', '/signing-keys/rotate')
    : await withDatabase(config, 'keys rotate', async ({ database, writer }) => await new SigningKeys(database.prisma, writer, new SecretBox(resolveMasterKey(config).key)).rotate('cli'))
  console.log(`new signing key ${rotated.kid}; retired ${rotated.retired.length === 0 ? 'none' : rotated.retired.join(', ')} (still published until their tokens expire)`)
}
