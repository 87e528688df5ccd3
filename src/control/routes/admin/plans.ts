// /admin/v1/plans — what a grant allows: a rate limit (sustained per second with a burst),
// daily and monthly quotas, and concurrent WebSocket connections.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ConflictError, NotFoundError } from '../../../domain/errors.js'
import type { Transaction } from '../../../store/config-writer.js'
import { PageQuery, pageArguments, pageOf, toPage } from '../../pagination.js'
import { ERROR_RESPONSES, IdParams, Name, Timestamp } from '../../schemas/common.js'

const RateLimit = Type.Object({
  perSecond: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  burst: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000, description: 'default: perSecond' }))
}, { additionalProperties: false })

// the columns are 32-bit integers
const MAX_INT = 2_147_483_647

const Quota = Type.Object({
  perDay: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: MAX_INT }), Type.Null()])),
  perMonth: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: MAX_INT }), Type.Null()]))
}, { additionalProperties: false })

const PlanFields = {
  name: Name,
  rateLimit: Type.Optional(Type.Union([RateLimit, Type.Null()])),
  quota: Type.Optional(Type.Union([Quota, Type.Null()])),
  maxConnections: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()]))
}

const Plan = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  rateLimit: Type.Union([Type.Object({ perSecond: Type.Integer(), burst: Type.Integer() }), Type.Null()]),
  quota: Type.Object({ perDay: Type.Union([Type.Integer(), Type.Null()]), perMonth: Type.Union([Type.Integer(), Type.Null()]) }),
  maxConnections: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp
})

interface PlanRow { id: string, name: string, rateLimitPerSecond: number | null, rateLimitBurst: number | null, quotaPerDay: number | null, quotaPerMonth: number | null, maxConnections: number | null, createdAt: Date, updatedAt: Date }

export function toPlan (row: PlanRow) {
  return {
    id: row.id,
    name: row.name,
    rateLimit: row.rateLimitPerSecond === null ? null : { perSecond: row.rateLimitPerSecond, burst: row.rateLimitBurst ?? row.rateLimitPerSecond },
    quota: { perDay: row.quotaPerDay, perMonth: row.quotaPerMonth },
    maxConnections: row.maxConnections,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt
  } as never
}

function planColumns (body: { name?: string, rateLimit?: { perSecond: number, burst?: number } | null, quota?: { perDay?: number | null, perMonth?: number | null } | null, maxConnections?: number | null }) {
  return {
    name: body.name,
    ...(body.rateLimit !== undefined ? { rateLimitPerSecond: body.rateLimit?.perSecond ?? null, rateLimitBurst: body.rateLimit === null ? null : body.rateLimit.burst ?? body.rateLimit.perSecond } : {}),
    ...(body.quota !== undefined ? { quotaPerDay: body.quota?.perDay ?? null, quotaPerMonth: body.quota?.perMonth ?? null } : {}),
    ...(body.maxConnections !== undefined ? { maxConnections: body.maxConnections } : {})
  }
}

/** A clear 409 before the unique index would give a generic one (which still guards races). */
async function assertNameFree (tx: Transaction, name: string | undefined, planId?: string): Promise<void> {
  if (name === undefined) return
  const existing = await tx.plan.findUnique({ where: { name }, select: { id: true } })
  if (existing !== null && existing.id !== planId) throw new ConflictError(`A plan named ${name} already exists`)
}

export const planRoutes: FastifyPluginAsyncTypebox = async fastify => {
  const tags = ['plans']

  fastify.post('/plans', { schema: { tags, summary: 'Create a plan', body: Type.Object(PlanFields, { additionalProperties: false }), response: { 201: Plan, ...ERROR_RESPONSES } } }, async (request, reply) => {
    const plan = await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      await assertNameFree(tx, request.body.name)
      const created = await tx.plan.create({ data: { ...planColumns(request.body), name: request.body.name } })
      audit({ action: 'plan.create', targetType: 'plan', targetId: created.id, details: request.body })
      return created
    })
    return await reply.code(201).send(toPlan(plan))
  })

  fastify.get('/plans', { schema: { tags, summary: 'List plans', querystring: PageQuery, response: { 200: pageOf(Plan), ...ERROR_RESPONSES } } }, async request => {
    return toPage(await fastify.prisma.plan.findMany(pageArguments(request.query)), request.query.limit, toPlan)
  })

  fastify.get('/plans/:id', { schema: { tags, summary: 'Get a plan', params: IdParams, response: { 200: Plan, ...ERROR_RESPONSES } } }, async request => {
    const plan = await fastify.prisma.plan.findUnique({ where: { id: request.params.id } })
    if (plan === null) throw new NotFoundError(`Plan ${request.params.id} does not exist`)
    return toPlan(plan)
  })

  fastify.patch('/plans/:id', { schema: { tags, summary: 'Update a plan; grants on it follow at once', params: IdParams, body: Type.Object({ ...Type.Partial(Type.Object(PlanFields)).properties }, { additionalProperties: false, minProperties: 1 }), response: { 200: Plan, ...ERROR_RESPONSES } } }, async request => {
    const plan = await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      if (await tx.plan.findUnique({ where: { id: request.params.id } }) === null) throw new NotFoundError(`Plan ${request.params.id} does not exist`)
      await assertNameFree(tx, request.body.name, request.params.id)
      const updated = await tx.plan.update({ where: { id: request.params.id }, data: planColumns(request.body) })
      audit({ action: 'plan.update', targetType: 'plan', targetId: updated.id, details: request.body })
      return updated
    })
    return toPlan(plan)
  })

  fastify.delete('/plans/:id', { schema: { tags, summary: 'Delete a plan no grant uses', params: IdParams, response: { 204: Type.Null(), ...ERROR_RESPONSES } } }, async (request, reply) => {
    await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      const plan = await tx.plan.findUnique({ where: { id: request.params.id } })
      if (plan === null) throw new NotFoundError(`Plan ${request.params.id} does not exist`)
      const grants = await tx.grant.count({ where: { planId: plan.id } })
      if (grants > 0) throw new ConflictError(`Plan ${plan.name} is used by ${grants} grant(s)`)
      // an API offering the plan would be left offering a plan that is gone, and removing it
      // from the API's list could empty that list, which means "every plan"
      const offering = await tx.api.findMany({ where: { planIds: { has: plan.id } }, select: { name: true }, take: 5 })
      if (offering.length > 0) throw new ConflictError(`Plan ${plan.name} is offered by the API(s) ${offering.map(api => api.name).join(', ')}; remove it from their planIds first`)
      await tx.plan.delete({ where: { id: plan.id } })
      audit({ action: 'plan.delete', targetType: 'plan', targetId: plan.id, details: { name: plan.name } })
    })
    return await reply.code(204).send(null)
  })
}
