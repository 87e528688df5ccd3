// The configuration schema: every setting, its default and its environment variable.
import { Type, type Static } from 'typebox'

export const ConfigSchema = Type.Object({
  host: Type.String({ default: '0.0.0.0', description: 'Interface the servers listen on' }),
  gatewayPort: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  controlPort: Type.Integer({ minimum: 0, maximum: 65535, default: 8081 }),
  roles: Type.Array(Type.Union([Type.Literal('gateway'), Type.Literal('control')]), { minItems: 1, uniqueItems: true, default: ['gateway', 'control'] }),
  dataDir: Type.String({ minLength: 1, default: './data', description: 'Embedded database, generated master key, snapshot cache' }),
  databaseUrl: Type.Optional(Type.String({ pattern: '^postgres(ql)?://', description: 'PostgreSQL URL; unset = embedded PGlite in dataDir' })),
  redisUrl: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'Redis URL; unset = in-memory counters and events' })),
  redisKeyPrefix: Type.String({ default: 'pgw:' }),
  adminToken: Type.Optional(Type.String({ minLength: 16, description: 'Bootstrap operator token' })),
  masterKey: Type.Optional(Type.String({ minLength: 1, description: '32 bytes as hex or base64; encrypts secrets at rest' })),
  logLevel: Type.Union([Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')], { default: 'info' }),
  seedDemo: Type.Boolean({ default: true, description: 'Seed the demo partner, app and API on an empty embedded database' }),
  workers: Type.Integer({ minimum: 0, default: 0, description: 'node:cluster gateway workers; 0 = one process' }),
  credentialOverlapSeconds: Type.Integer({ minimum: 0, default: 86400 }),
  snapshotPollMs: Type.Integer({ minimum: 100, default: 5000 }),
  usageFlushMs: Type.Integer({ minimum: 100, default: 10000 }),
  bodyLimitBytes: Type.Integer({ minimum: 1, default: 1048576, description: 'Largest JSON body the control API accepts' }),
  timestampWindowSeconds: Type.Integer({ minimum: 1, default: 900 }),
  maxWebSocketConnections: Type.Integer({ minimum: 1, default: 50000 }),
  headersTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 10, description: 'A client must send its request headers within this time, or gets 408 and its connection closed' }),
  requestBodyIdleTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 10, description: 'A request body that sends nothing for this long gets 408 and its connection closed' }),
  webSocketIdleTimeoutSeconds: Type.Integer({ minimum: 1, default: 300 }),
  webSocketPingIntervalSeconds: Type.Integer({ minimum: 1, default: 30 }),
  webSocketMaxMessageBytes: Type.Integer({ minimum: 1, default: 1048576 }),
  tokenTtlSeconds: Type.Integer({ minimum: 1, default: 3600 }),
  publicUrl: Type.Optional(Type.String({ description: 'Base URL of the control server as partners see it (OAuth2 issuer)' })),
  requirePartnerApproval: Type.Boolean({ default: false })
}, { additionalProperties: false })

export type Config = Static<typeof ConfigSchema>

/** Environment variable → config key, with how to parse the string. */
export const ENVIRONMENT_VARIABLES: Record<string, { key: keyof Config, parse: 'string' | 'integer' | 'boolean' | 'list' }> = {
  HOST: { key: 'host', parse: 'string' },
  GATEWAY_PORT: { key: 'gatewayPort', parse: 'integer' },
  CONTROL_PORT: { key: 'controlPort', parse: 'integer' },
  GATEWAY_ROLES: { key: 'roles', parse: 'list' },
  DATA_DIR: { key: 'dataDir', parse: 'string' },
  DATABASE_URL: { key: 'databaseUrl', parse: 'string' },
  REDIS_URL: { key: 'redisUrl', parse: 'string' },
  REDIS_KEY_PREFIX: { key: 'redisKeyPrefix', parse: 'string' },
  GATEWAY_ADMIN_TOKEN: { key: 'adminToken', parse: 'string' },
  GATEWAY_MASTER_KEY: { key: 'masterKey', parse: 'string' },
  LOG_LEVEL: { key: 'logLevel', parse: 'string' },
  SEED_DEMO: { key: 'seedDemo', parse: 'boolean' },
  GATEWAY_WORKERS: { key: 'workers', parse: 'integer' },
  PUBLIC_URL: { key: 'publicUrl', parse: 'string' },
  HEADERS_TIMEOUT_SECONDS: { key: 'headersTimeoutSeconds', parse: 'integer' },
  REQUEST_BODY_IDLE_TIMEOUT_SECONDS: { key: 'requestBodyIdleTimeoutSeconds', parse: 'integer' },
  WEBSOCKET_MAX_CONNECTIONS: { key: 'maxWebSocketConnections', parse: 'integer' },
  WEBSOCKET_IDLE_TIMEOUT_SECONDS: { key: 'webSocketIdleTimeoutSeconds', parse: 'integer' },
  WEBSOCKET_MAX_MESSAGE_BYTES: { key: 'webSocketMaxMessageBytes', parse: 'integer' },
  REQUIRE_PARTNER_APPROVAL: { key: 'requirePartnerApproval', parse: 'boolean' }
}
