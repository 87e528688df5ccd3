// The CLI's way into a running embedded installation. The process that owns DATA_DIR is the
// only one that may open its database, so `admin-token create`, `operator create`, `keys rotate`, `seed`,
// `migrate` and `backup` run here, inside it, when the CLI finds it running. The API
// listens on a Unix socket in DATA_DIR, never on TCP: the socket is created mode 0600, so
// only the OS user that owns the installation can connect, and no operator token is needed.
import { rmSync } from 'node:fs'
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { SecretBox } from '../domain/crypto.js'
import { NotFoundError } from '../domain/errors.js'
import { errorHandler, notFoundHandler } from '../domain/error-handler.js'
import type { ConfigWriter } from '../store/config-writer.js'
import type { Database } from '../store/db.js'
import { seedDemo } from './demo.js'
import { mapPrismaError } from './prisma-errors.js'
import { Name } from './schemas/common.js'
import { createAdminToken } from './services/admin-tokens.js'
import { createOperator } from './services/operators.js'
import { SigningKeys } from './services/signing-keys.js'
import { buildValidatorCompiler } from './validation.js'

/** The audit actor of everything done through the socket, as when the CLI opened the database itself. */
export const LOCAL_COMMAND_ACTOR = 'cli'
export const COMMAND_SOCKET_NAME = 'control.sock'

export interface LocalCommandOptions {
  database: Database
  configWriter: ConfigWriter
  secretBox: SecretBox
  dataDir: string
  /** the port the demo upstream is served on, for `seed` */
  controlPort: number
  logger?: FastifyBaseLogger
}

export async function buildLocalCommandServer (options: LocalCommandOptions): Promise<FastifyInstance> {
  const fastify = Fastify(options.logger !== undefined ? { loggerInstance: options.logger } : { logger: false }).withTypeProvider<TypeBoxTypeProvider>()
  fastify.setValidatorCompiler(buildValidatorCompiler())
  fastify.setErrorHandler((error: FastifyError, request, reply) => {
    errorHandler((mapPrismaError(error) as FastifyError | undefined) ?? error, request, reply)
  })
  fastify.setNotFoundHandler(notFoundHandler)
  const { database, configWriter, secretBox } = options

  fastify.post('/admin-tokens', {
    schema: { body: Type.Object({ name: Name, scopes: Type.Array(Type.Union([Type.Literal('admin'), Type.Literal('read')]), { minItems: 1, maxItems: 2, uniqueItems: true }) }, { additionalProperties: false }) }
  }, async (request, reply) => await reply.code(201).send(await createAdminToken(configWriter, LOCAL_COMMAND_ACTOR, request.body.name, request.body.scopes)))

  fastify.post('/operators', {
    schema: { body: Type.Object({ email: Type.String({ format: 'email', minLength: 3, maxLength: 320 }), role: Type.Union([Type.Literal('admin'), Type.Literal('viewer')]), password: Type.String({ minLength: 10, maxLength: 200 }) }, { additionalProperties: false }) }
  }, async (request, reply) => await reply.code(201).send(await createOperator(configWriter, LOCAL_COMMAND_ACTOR, request.body)))

  fastify.post('/signing-keys/rotate', async (_request, reply) => await reply.code(201).send(await new SigningKeys(database.prisma, configWriter, secretBox).rotate(LOCAL_COMMAND_ACTOR)))

  fastify.post('/seed', async () => ({ demo: await seedDemo(database.prisma, configWriter, secretBox, { controlPort: options.controlPort, dataDir: options.dataDir }) ?? null }))

  // the owner migrated at start; this reports (and would apply) anything still pending
  fastify.post('/migrate', async () => ({ applied: await database.migrate() }))

  fastify.get('/backup', async (_request, reply) => {
    const dump = database.dumpDataDir
    if (dump === undefined) throw new NotFoundError('Only an embedded database is backed up here')
    return await reply.type('application/gzip').send(await dump())
  })
  return fastify
}

/** Serves `fastify` on `socketPath`, created mode 0600. Only the owner of DATA_DIR may call this. */
export async function listenOnCommandSocket (fastify: FastifyInstance, socketPath: string): Promise<void> {
  await fastify.ready()
  // a socket file left by an owner that was killed; the caller holds the DATA_DIR lock, so it is not anyone's
  rmSync(socketPath, { force: true })
  const server = fastify.server
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    // the socket file is created inside listen() with the process umask; binding synchronously
    // under 0o177 means it never exists with wider permissions, not even for an instant
    const umask = process.umask(0o177)
    try {
      server.listen(socketPath, () => { server.off('error', reject); resolve() })
    } finally {
      process.umask(umask)
    }
  })
}

/** Stops serving the socket and removes it. */
export async function closeCommandSocket (fastify: FastifyInstance, socketPath: string): Promise<void> {
  // listening was started on the raw server, so Fastify does not close it by itself
  await new Promise<void>(resolve => { fastify.server.close(() => { resolve() }); fastify.server.closeAllConnections() })
  await fastify.close()
  rmSync(socketPath, { force: true })
}
