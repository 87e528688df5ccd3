// /admin/v1/session and /admin/v1/operators — console sign-in and the operator accounts.
// Signing in is throttled per email and per IP as for partners; accounts are managed by admins.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ConflictError, InvalidLoginError, LoginThrottledError, NotFoundError, UnauthorizedError } from '../../../domain/errors.js'
import type { Transaction } from '../../../store/config-writer.js'
import type { OperatorSession } from '../../plugins/operator-session.js'
import { ERROR_RESPONSES, IdParams, NullableTimestamp, Timestamp } from '../../schemas/common.js'
import { LoginThrottle } from '../../services/login-throttle.js'
import { createOperator, generatePassword, normalizeEmail, toAccount } from '../../services/operators.js'
import { burnPasswordCheck, hashPassword, verifyPassword } from '../../services/passwords.js'

const Role = Type.Union([Type.Literal('admin'), Type.Literal('viewer')])
const Email = Type.String({ format: 'email', minLength: 3, maxLength: 320 })
const Password = Type.String({ minLength: 10, maxLength: 200, description: 'at least 10 characters' })
const OperatorAccount = Type.Object({ id: Type.String({ format: 'uuid' }), email: Type.String(), role: Role, createdAt: Timestamp, lastLoginAt: NullableTimestamp })
const SessionInfo = Type.Object({
  operator: Type.Object({ id: Type.String({ format: 'uuid' }), email: Type.String(), role: Role }),
  csrfToken: Type.String({ description: 'Send it back in X-CSRF-Token on every POST, PATCH, PUT and DELETE' }),
  expiresAt: Timestamp
})
const SESSION_ERRORS = { ...ERROR_RESPONSES, 429: ERROR_RESPONSES[400] }

function sessionInfo (session: OperatorSession) {
  return { operator: { id: session.operatorId, email: session.email, role: session.role }, csrfToken: session.csrfToken, expiresAt: session.expiresAt.toISOString() }
}

/** An admin may not remove the last admin: nobody could manage operators any more. */
async function keepAnAdmin (tx: Transaction, leavingId: string): Promise<void> {
  const others = await tx.operator.count({ where: { role: 'admin', id: { not: leavingId } } })
  if (others === 0) throw new ConflictError('This is the last admin: make another operator admin first')
}

export const operatorRoutes: FastifyPluginAsyncTypebox<{ throttle?: LoginThrottle }> = async (fastify, options) => {
  const throttle = options.throttle ?? new LoginThrottle()
  const tags = ['operators']

  fastify.post('/session', {
    config: { publicRoute: true },
    schema: {
      tags,
      security: [],
      summary: 'Sign in to the console; sets the operator session cookie. Failed attempts are throttled per email and per IP.',
      body: Type.Object({ email: Type.String({ minLength: 1, maxLength: 320 }), password: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
      response: { 200: SessionInfo, ...SESSION_ERRORS }
    }
  }, async (request, reply) => {
    const email = normalizeEmail(request.body.email)
    const wait = throttle.retryAfterSeconds(email, request.ip)
    if (wait > 0) {
      void reply.header('retry-after', String(wait))
      throw new LoginThrottledError(wait)
    }
    const operator = await fastify.prisma.operator.findUnique({ where: { email } })
    const valid = operator !== null ? await verifyPassword(request.body.password, operator.passwordHash) : (await burnPasswordCheck(request.body.password), false)
    if (operator === null || !valid) {
      throttle.recordFailure(email, request.ip)
      throw new InvalidLoginError()
    }
    throttle.recordSuccess(email)
    await fastify.prisma.operator.update({ where: { id: operator.id }, data: { lastLoginAt: new Date() } })
    return sessionInfo(await fastify.operatorSessions.create(request, reply, toAccount(operator)))
  })

  fastify.get('/session', {
    schema: { tags, summary: 'The signed-in console operator and the CSRF token', response: { 200: SessionInfo, ...ERROR_RESPONSES } }
  }, async request => {
    if (request.operatorSession === null) throw new UnauthorizedError('Operator tokens have no console session')
    return sessionInfo(request.operatorSession)
  })

  fastify.delete('/session', {
    config: { operatorSelfService: true },
    schema: { tags, summary: 'Sign out of the console', response: { 204: Type.Null(), ...ERROR_RESPONSES } }
  }, async (request, reply) => {
    await fastify.operatorSessions.destroy(request, reply)
    return await reply.code(204).send(null)
  })

  fastify.get('/operators', {
    schema: { tags, summary: 'List console operators', response: { 200: Type.Object({ items: Type.Array(OperatorAccount) }), ...ERROR_RESPONSES } }
  }, async () => {
    const rows = await fastify.prisma.operator.findMany({ orderBy: { email: 'asc' } })
    return { items: rows.map(row => toAccount(row)) as never }
  })

  fastify.post('/operators', {
    schema: {
      tags,
      summary: 'Create a console operator; without a password one is generated and returned in this response only',
      body: Type.Object({ email: Email, role: Role, password: Type.Optional(Password) }, { additionalProperties: false }),
      response: { 201: Type.Object({ ...OperatorAccount.properties, password: Type.Optional(Type.String()) }), ...ERROR_RESPONSES }
    }
  }, async (request, reply) => {
    const generated = request.body.password === undefined ? generatePassword() : undefined
    const created = await createOperator(fastify.configWriter, request.operator.name, { email: request.body.email, role: request.body.role, password: request.body.password ?? generated as string })
    return await reply.code(201).send({ ...created, ...(generated !== undefined ? { password: generated } : {}) } as never)
  })

  fastify.patch('/operators/:id', {
    schema: {
      tags,
      summary: 'Change an operator\'s role or password; a new password ends their sessions',
      params: IdParams,
      body: Type.Object({ role: Type.Optional(Role), password: Type.Optional(Password) }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: OperatorAccount, ...ERROR_RESPONSES }
    }
  }, async request => {
    const passwordHash = request.body.password === undefined ? undefined : await hashPassword(request.body.password)
    const updated = await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      const existing = await tx.operator.findUnique({ where: { id: request.params.id } })
      if (existing === null) throw new NotFoundError(`Operator ${request.params.id} does not exist`)
      if (existing.role === 'admin' && request.body.role === 'viewer') await keepAnAdmin(tx, existing.id)
      const row = await tx.operator.update({ where: { id: existing.id }, data: { role: request.body.role, passwordHash } })
      if (passwordHash !== undefined) await tx.operatorSession.deleteMany({ where: { operatorId: existing.id } })
      audit({ action: 'operator.update', targetType: 'operator', targetId: existing.id, details: { email: existing.email, ...(request.body.role !== undefined ? { role: request.body.role } : {}), passwordChanged: passwordHash !== undefined } })
      return row
    })
    return toAccount(updated) as never
  })

  fastify.delete('/operators/:id', {
    schema: { tags, summary: 'Delete an operator and end their sessions', params: IdParams, response: { 204: Type.Null(), ...ERROR_RESPONSES } }
  }, async (request, reply) => {
    await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      const existing = await tx.operator.findUnique({ where: { id: request.params.id } })
      if (existing === null) throw new NotFoundError(`Operator ${request.params.id} does not exist`)
      if (existing.role === 'admin') await keepAnAdmin(tx, existing.id)
      await tx.operator.delete({ where: { id: existing.id } })
      audit({ action: 'operator.delete', targetType: 'operator', targetId: existing.id, details: { email: existing.email } })
    })
    return await reply.code(204).send(null)
  })
}
