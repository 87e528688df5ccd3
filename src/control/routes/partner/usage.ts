// /partner/v1/apps/{id}/usage — the portal's usage chart and quota gauges.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { NotFoundError } from '../../../domain/errors.js'
import { requireActivePartner } from '../../plugins/partner-session.js'
import { IdParams } from '../../schemas/common.js'
import { summarizeUsage } from '../../services/usage-summary.js'
import { PARTNER_ERRORS, PARTNER_ROUTE } from './schemas.js'

const Count = Type.Object({ calls: Type.Integer(), rejected: Type.Integer() })
const Nullable = (schema: Type.TSchema) => Type.Union([schema, Type.Null()])

const Usage = Type.Object({
  appId: Type.String({ format: 'uuid' }),
  from: Type.String({ format: 'date' }),
  to: Type.String({ format: 'date' }),
  days: Type.Array(Type.String({ format: 'date' })),
  apis: Type.Array(Type.Object({
    apiId: Type.String({ format: 'uuid' }),
    apiName: Type.String(),
    grantStatus: Nullable(Type.String()),
    plan: Nullable(Type.Object({ id: Type.String(), name: Type.String(), quotaPerDay: Nullable(Type.Integer()), quotaPerMonth: Nullable(Type.Integer()), rateLimitPerSecond: Nullable(Type.Integer()) })),
    today: Count,
    month: Count,
    total: Count,
    series: Type.Array(Type.Object({ day: Type.String({ format: 'date' }), calls: Type.Integer(), rejected: Type.Integer() }))
  }))
})

export const usageRoutes: FastifyPluginAsyncTypebox = async fastify => {
  fastify.get('/apps/:id/usage', {
    schema: { ...PARTNER_ROUTE, summary: 'Calls and rejections per API per UTC day for the last 30 days, with today and this month against the quota', params: IdParams, response: { 200: Usage, ...PARTNER_ERRORS } }
  }, async request => {
    const session = requireActivePartner(request)
    const app = await fastify.prisma.app.findFirst({ where: { id: request.params.id, partnerId: session.partnerId }, select: { id: true } })
    if (app === null) throw new NotFoundError(`App ${request.params.id} does not exist`)
    return await summarizeUsage(fastify.prisma, app.id)
  })
}
