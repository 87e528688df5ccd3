// Starts the real control server on port 0 against a fresh test database.
import { randomBytes } from 'node:crypto'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { buildControlServer } from '../../src/control/app.js'
import { loadConfig } from '../../src/config/load.js'
import type { Config } from '../../src/config/schema.js'
import { SecretBox } from '../../src/domain/crypto.js'
import { MemoryChangeBus, type ChangeBus } from '../../src/store/change-bus.js'
import { ConfigWriter } from '../../src/store/config-writer.js'
import { createTestDatabase, type DatabaseKind, type TestDatabase } from './database.js'

export interface TestControlServer {
  url: string
  fastify: FastifyInstance
  database: TestDatabase
  bus: ChangeBus
  secretBox: SecretBox
  adminToken: string
  config: Config
  /** JSON request with the operator token; returns status, headers and parsed body */
  call: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<{ status: number, body: any, headers: Headers }>
  close: () => Promise<void>
}

export async function startControlServer (kind: DatabaseKind, options: { bus?: ChangeBus, config?: Partial<Config>, masterKey?: Buffer, logger?: FastifyBaseLogger } = {}): Promise<TestControlServer> {
  const database = await createTestDatabase(kind)
  const adminToken = randomBytes(24).toString('hex')
  const config = loadConfig({}, { adminToken, controlPort: 0, gatewayPort: 0, ...options.config })
  const bus = options.bus ?? new MemoryChangeBus()
  const secretBox = new SecretBox(options.masterKey ?? randomBytes(32))
  const fastify = await buildControlServer({ config, prisma: database.prisma, configWriter: new ConfigWriter(database.prisma, bus), secretBox, logger: options.logger })
  await fastify.listen({ port: 0, host: '127.0.0.1' })
  const address = fastify.server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  return {
    url,
    fastify,
    database,
    bus,
    secretBox,
    adminToken,
    config,
    async call (method, path, body, headers = {}) {
      const response = await fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
      })
      const text = await response.text()
      return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) }
    },
    async close () {
      await fastify.close()
      await database.drop()
    }
  }
}
