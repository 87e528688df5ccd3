// The gateway's base URL as partners reach it: the operator's setting, else the host the
// partner used for the portal with the gateway's port. Snippets and served documents use it.
import type { FastifyRequest } from 'fastify'
import type { Config } from '../../config/schema.js'
import type { PrismaClient } from '../../store/db.js'
import { readSettings } from './settings.js'

export async function publicGatewayUrl (prisma: PrismaClient, config: Config, request: FastifyRequest): Promise<string> {
  const configured = (await readSettings(prisma)).gatewayUrl
  return configured ?? `${request.protocol}://${request.hostname.replace(/:\d+$/, '')}:${config.gatewayPort}`
}
