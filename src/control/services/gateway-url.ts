// The gateway's base URL as partners reach it: the operator's gatewayUrl setting, else the
// host the partner reached the control server on, with the gateway's port. The portal shows
// it, its code samples and try-it console call it, and its CSP lets the page connect to it.
import type { FastifyRequest } from 'fastify'
import type { Transaction } from '../../store/config-writer.js'
import type { PrismaClient } from '../../store/db.js'
import { readSettings } from './settings.js'

export async function publicGatewayUrl (prisma: PrismaClient | Transaction, gatewayPort: number, request: FastifyRequest): Promise<string> {
  const configured = (await readSettings(prisma)).gatewayUrl
  return configured ?? `${request.protocol}://${request.hostname.replace(/:\d+$/, '')}:${gatewayPort}`
}
