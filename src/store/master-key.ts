// Resolves the master key that seals secrets at rest: GATEWAY_MASTER_KEY, else the key file
// in DATA_DIR, else — on the embedded database only — a new key written to that file.
// A clustered deployment must share one key, so it is never generated there.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { ConfigError } from '../config/load.js'
import type { Config } from '../config/schema.js'
import { parseMasterKey } from '../domain/crypto.js'

export function resolveMasterKey (config: Config): { key: Buffer, source: 'environment' | 'file' | 'generated' } {
  if (config.masterKey !== undefined) {
    try {
      return { key: parseMasterKey(config.masterKey), source: 'environment' }
    } catch (error) {
      throw new ConfigError(`Invalid configuration key "masterKey" (GATEWAY_MASTER_KEY): ${(error as Error).message}`)
    }
  }
  const file = path.join(config.dataDir, 'master.key')
  if (existsSync(file)) return { key: parseMasterKey(readFileSync(file, 'utf8')), source: 'file' }
  if (config.databaseUrl !== undefined) {
    throw new ConfigError('GATEWAY_MASTER_KEY is required with DATABASE_URL: every node must seal and open secrets with the same key (generate one with `openssl rand -hex 32`)')
  }
  const key = randomBytes(32)
  mkdirSync(config.dataDir, { recursive: true })
  writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' })
  return { key, source: 'generated' }
}
