// What the control server's routes can reach on `fastify` and `request`.
import type { Config } from '../config/schema.js'
import type { SecretBox } from '../domain/crypto.js'
import type { ConfigWriter } from '../store/config-writer.js'
import type { PrismaClient } from '../store/db.js'
import type { NodeRegistry } from '../store/node-registry.js'

export interface Operator {
  id: string
  name: string
  scopes: string[]
}

declare module 'fastify' {
  interface FastifyInstance {
    prisma: PrismaClient
    configWriter: ConfigWriter
    secretBox: SecretBox
    appConfig: Config
    nodeRegistry: NodeRegistry
  }
  interface FastifyRequest {
    operator: Operator
  }
}
