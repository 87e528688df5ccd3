// Loads the configuration: defaults, then the JSON file named by CONFIG_FILE (or
// config/gateway.json when present), then environment variables; validated once at
// start-up with an error that names the bad key.
import { existsSync, readFileSync } from 'node:fs'
import { Value } from 'typebox/value'
import { ConfigSchema, ENVIRONMENT_VARIABLES, type Config } from './schema.js'

export class ConfigError extends Error {
  override name = 'ConfigError'
}

function parseEnvironmentValue (name: string, raw: string, parse: 'string' | 'integer' | 'boolean' | 'list' | 'certificates'): unknown {
  switch (parse) {
    case 'integer': {
      if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be an integer, got "${raw}"`)
      return Number(raw)
    }
    case 'boolean': {
      if (/^(1|true|yes|on)$/i.test(raw)) return true
      if (/^(0|false|no|off)$/i.test(raw)) return false
      throw new ConfigError(`${name} must be true or false, got "${raw}"`)
    }
    case 'list': return raw.split(',').map(item => item.trim()).filter(item => item !== '')
    // certFile:keyFile pairs, comma-separated; the key file's path is what follows the last colon
    case 'certificates': return (parseEnvironmentValue(name, raw, 'list') as string[]).map(pair => {
      const colon = pair.lastIndexOf(':')
      if (colon <= 0 || colon === pair.length - 1) throw new ConfigError(`${name} must list certFile:keyFile pairs separated by commas, got "${pair}"`)
      return { certFile: pair.slice(0, colon), keyFile: pair.slice(colon + 1) }
    })
    default: return raw
  }
}

export function loadConfig (environment: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const file = environment.CONFIG_FILE ?? (existsSync('config/gateway.json') ? 'config/gateway.json' : undefined)
  let fromFile: Record<string, unknown> = {}
  if (file !== undefined) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8'))
    } catch (error) {
      throw new ConfigError(`Cannot read the configuration file ${file}: ${(error as Error).message}`)
    }
  }
  const fromEnvironment: Record<string, unknown> = {}
  const sourceOf: Record<string, string> = {}
  for (const [name, { key, parse }] of Object.entries(ENVIRONMENT_VARIABLES)) {
    const raw = environment[name]
    if (raw === undefined || raw === '') continue
    fromEnvironment[key] = parseEnvironmentValue(name, raw, parse)
    sourceOf[key] = name
  }
  const merged = Value.Default(ConfigSchema, { ...fromFile, ...fromEnvironment, ...overrides })
  if (!Value.Check(ConfigSchema, merged)) {
    const first = Value.Errors(ConfigSchema, merged)[0]
    const path = first?.instancePath.replace(/^\//, '').split('/')[0] ?? ''
    const key = path === '' ? (first?.params as { additionalProperties?: string[] } | undefined)?.additionalProperties?.[0] ?? '(root)' : path
    const where = sourceOf[key] !== undefined ? ` (from ${sourceOf[key]})` : file !== undefined ? ` (in ${file})` : ''
    const reason = path === '' ? 'not a known setting' : first?.message ?? 'invalid value'
    throw new ConfigError(`Invalid configuration key "${key}"${where}: ${reason}`)
  }
  const config = merged as Config
  // an unsigned webhook would let anyone who learns its URL forge sign-ups and access requests
  if (config.operatorWebhookUrl !== undefined && config.operatorWebhookSecret === undefined) {
    throw new ConfigError('Invalid configuration key "operatorWebhookSecret": required when operatorWebhookUrl is set (OPERATOR_WEBHOOK_SECRET, at least 16 characters)')
  }
  checkGatewayTls(config)
  if (config.responseCacheStore === 'redis' && config.redisUrl === undefined) {
    throw new ConfigError('Invalid configuration key "responseCacheStore": redis needs redisUrl (REDIS_URL)')
  }
  return config
}

/** The TLS settings only make sense together. */
function checkGatewayTls (config: Config): void {
  if (config.gatewayTlsPort === undefined) {
    if (config.gatewayTlsCertificates.length > 0) throw new ConfigError('Invalid configuration key "gatewayTlsPort": required when gatewayTlsCertificates is set (GATEWAY_TLS_PORT)')
    if (config.gatewayHttpRedirect) throw new ConfigError('Invalid configuration key "gatewayHttpRedirect": redirects to HTTPS need gatewayTlsPort (GATEWAY_TLS_PORT)')
    return
  }
  if (config.gatewayTlsCertificates.length === 0) throw new ConfigError('Invalid configuration key "gatewayTlsCertificates": at least one certFile/keyFile pair is required with gatewayTlsPort (GATEWAY_TLS_CERTIFICATES=cert.pem:key.pem)')
  if (config.gatewayTlsPort !== 0 && config.gatewayTlsPort === config.gatewayPort) throw new ConfigError('Invalid configuration key "gatewayTlsPort": must differ from gatewayPort')
}
