// `partner-gateway operator create`
import { parseArgs } from 'node:util'
import { ConfigError } from '../config/load.js'
import type { Config } from '../config/schema.js'
import { createOperator, generatePassword, type OperatorAccount, type OperatorRole } from '../control/services/operators.js'
import { withDatabase } from './database.js'
import { askOwner, commandTakingOwner } from './owner.js'

/** The first line of stdin, as `docker login --password-stdin` reads it: no echo, no shell history. */
async function readPasswordFromStdin (): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  const password = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0]
  if (password.length < 10 || password.length > 200) throw new ConfigError('the password on stdin must have 10 to 200 characters')
  return password
}

export async function operator (config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { email: { type: 'string' }, role: { type: 'string', default: 'admin' }, 'password-stdin': { type: 'boolean', default: false } } })
  if (positionals[0] !== 'create' || values.email === undefined) throw new ConfigError('usage: operator create --email EMAIL [--role admin|viewer] [--password-stdin]')
  if (values.role !== 'admin' && values.role !== 'viewer') throw new ConfigError('--role must be admin or viewer')
  if (!/^[^\s@]+@[^\s@]+$/.test(values.email)) throw new ConfigError('--email must be an email address')
  const role: OperatorRole = values.role
  const typed = values['password-stdin'] ? await readPasswordFromStdin() : undefined
  const password = typed ?? generatePassword()
  const input = { email: values.email, role, password }
  const owner = commandTakingOwner(config)
  const created = owner !== undefined
    ? await askOwner<OperatorAccount>(config, owner, 'POST', '/operators', input)
    : await withDatabase(config, 'operator create', async ({ writer }) => await createOperator(writer, 'cli', input))
  console.log(`operator ${created.email} (${created.role}) created; sign in at the control server's /console`)
  if (typed === undefined) console.log(`password, shown once:\n${password}`)
}
