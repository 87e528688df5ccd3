// Composition of the control server: operator API, docs and (later) the partner API,
// OAuth2 endpoints and the portal. The process concerns (ports, signals) live in src/server.ts.
import Fastify, { type FastifyError, type FastifyInstance, type FastifyBaseLogger } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from '../config/schema.js'
import type { SecretBox } from '../domain/crypto.js'
import { errorHandler, notFoundHandler } from '../domain/error-handler.js'
import { REQUEST_ID_HEADER, requestIdFrom } from '../domain/request-id.js'
import { plainAddress, TrustedProxies } from '../gateway/client-address.js'
import { probeWithDeadline, readinessStatusCode, type Lifecycle, type ReadinessReport } from '../observability/readiness.js'
import type { ConfigWriter } from '../store/config-writer.js'
import type { PrismaClient } from '../store/db.js'
import { DatabaseNodeRegistry, type NodeRegistry } from '../store/node-registry.js'
import './decorators.js'
import accountMail from './plugins/account-mail.js'
import docs from './plugins/docs.js'
import operatorAuth from './plugins/operator-auth.js'
import operatorSession from './plugins/operator-session.js'
import { mapPrismaError } from './prisma-errors.js'
import { adminRoutes } from './routes/admin/index.js'
import { signingKeyRoutes } from './routes/admin/signing-keys.js'
import { oauthRoutes } from './routes/oauth/index.js'
import { SigningKeys } from './services/signing-keys.js'
import { partnerApiRoutes } from './routes/partner/index.js'
import portalStatic from './plugins/portal-static.js'
import consoleStatic from './plugins/console-static.js'
import { buildValidatorCompiler } from './validation.js'

export interface ControlServerOptions {
  config: Config
  prisma: PrismaClient
  configWriter: ConfigWriter
  secretBox: SecretBox
  /** where gateway nodes report; the database when not given */
  nodeRegistry?: NodeRegistry
  /** draining turns readiness off */
  lifecycle?: Lifecycle
  logger?: FastifyBaseLogger
}

/** How long /readyz waits for the database before calling it down. */
const DATABASE_PROBE_DEADLINE_MS = 1_000

export async function buildControlServer (options: ControlServerOptions): Promise<FastifyInstance> {
  // behind a load balancer, the sign-in and token throttles count the client, not the balancer
  const trustedProxies = new TrustedProxies(options.config.trustedProxies)
  const fastify = Fastify({
    ...(options.logger !== undefined ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: options.config.bodyLimitBytes,
    trustProxy: options.config.trustedProxies.length === 0 ? false : (address: string) => trustedProxies.trusts(plainAddress(address)),
    genReqId: request => requestIdFrom(request.headers[REQUEST_ID_HEADER])
  }).withTypeProvider<TypeBoxTypeProvider>()
  // the id in every error body is worth quoting only if the caller can see it on successes too
  fastify.addHook('onRequest', async (request, reply) => { void reply.header(REQUEST_ID_HEADER, request.id) })
  fastify.setValidatorCompiler(buildValidatorCompiler())

  fastify.decorate('prisma', options.prisma)
  fastify.decorate('configWriter', options.configWriter)
  fastify.decorate('secretBox', options.secretBox)
  fastify.decorate('appConfig', options.config)
  fastify.decorate('nodeRegistry', options.nodeRegistry ?? new DatabaseNodeRegistry(options.prisma))

  fastify.setErrorHandler((error: FastifyError, request, reply) => {
    errorHandler((mapPrismaError(error) as FastifyError | undefined) ?? error, request, reply)
  })
  fastify.setNotFoundHandler(notFoundHandler)

  await fastify.register(docs)
  await fastify.register(accountMail)
  const signingKeys = new SigningKeys(options.prisma, options.configWriter, options.secretBox)
  await fastify.register(async admin => {
    await admin.register(operatorSession)
    await admin.register(operatorAuth)
    await admin.register(adminRoutes)
    await admin.register(signingKeyRoutes(signingKeys))
  }, { prefix: '/admin/v1' })
  await fastify.register(partnerApiRoutes, { prefix: '/partner/v1' })
  await fastify.register(oauthRoutes(signingKeys))
  await fastify.register(portalStatic)
  await fastify.register(consoleStatic)

  fastify.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }))
  // without its database the control API can only answer 503: not ready
  fastify.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const database = await probeWithDeadline(async () => await options.prisma.$queryRawUnsafe('SELECT 1'), DATABASE_PROBE_DEADLINE_MS)
    const report: ReadinessReport = { status: options.lifecycle?.draining === true ? 'draining' : database === 'up' ? 'ready' : 'not_ready', database }
    return await reply.code(readinessStatusCode(report)).send(report)
  })
  return fastify
}
