// /partner/v1/apis — the API catalog every logged-in partner may browse (pending ones too),
// with the plans each API offers and its OpenAPI document for the reference pages.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { NotFoundError } from '../../../domain/errors.js'
import { IdParams } from '../../schemas/common.js'
import { readApiPlanIds } from '../../services/api-plans.js'
import { PARTNER_ERRORS, PARTNER_ROUTE } from './schemas.js'

export const OfferedPlan = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  rateLimitPerSecond: Type.Union([Type.Integer(), Type.Null()]),
  rateLimitBurst: Type.Union([Type.Integer(), Type.Null()]),
  quotaPerDay: Type.Union([Type.Integer(), Type.Null()]),
  quotaPerMonth: Type.Union([Type.Integer(), Type.Null()])
})

const CatalogApi = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  description: Type.String(),
  auth: Type.Array(Type.String(), { description: 'hmac | apikey | jwt' }),
  autoApprove: Type.Boolean(),
  hasReference: Type.Boolean({ description: 'an OpenAPI document is available' }),
  routes: Type.Array(Type.Object({ path: Type.String(), methods: Type.Array(Type.String()) })),
  plans: Type.Array(OfferedPlan)
})

const CatalogApiDetail = Type.Object({ ...CatalogApi.properties, openapi: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]) })

const PLAN_FIELDS = { id: true, name: true, rateLimitPerSecond: true, rateLimitBurst: true, quotaPerDay: true, quotaPerMonth: true } as const

export const catalogRoutes: FastifyPluginAsyncTypebox = async fastify => {
  async function plansFor (apiIds?: string[]) {
    const [plans, planIds] = await Promise.all([fastify.prisma.plan.findMany({ select: PLAN_FIELDS, orderBy: { name: 'asc' } }), readApiPlanIds(fastify.prisma, apiIds)])
    // an API with no plan ids offers every plan
    return (api: { id: string }) => {
      const offered = planIds.get(api.id) ?? []
      return offered.length === 0 ? plans : plans.filter(plan => offered.includes(plan.id))
    }
  }

  const SELECT = { id: true, name: true, description: true, auth: true, autoApprove: true, openapi: true, routes: { select: { path: true, methods: true } } } as const

  function view (api: { id: string, name: string, description: string, auth: string[], autoApprove: boolean, openapi: unknown, routes: Array<{ path: string, methods: string[] }> }) {
    return { id: api.id, name: api.name, description: api.description, auth: api.auth, autoApprove: api.autoApprove, hasReference: api.openapi !== null, routes: api.routes.map(route => ({ path: route.path, methods: route.methods })) }
  }

  fastify.get('/apis', { schema: { ...PARTNER_ROUTE, summary: 'The API catalog', response: { 200: Type.Object({ items: Type.Array(CatalogApi) }), ...PARTNER_ERRORS } } }, async () => {
    const apis = await fastify.prisma.api.findMany({ orderBy: { name: 'asc' }, select: SELECT })
    const offered = await plansFor()
    return { items: apis.map(api => ({ ...view(api), plans: offered(api) })) }
  })

  fastify.get('/apis/:id', { schema: { ...PARTNER_ROUTE, summary: 'One API of the catalog with its OpenAPI document', params: IdParams, response: { 200: CatalogApiDetail, ...PARTNER_ERRORS } } }, async request => {
    const api = await fastify.prisma.api.findUnique({ where: { id: request.params.id }, select: SELECT })
    if (api === null) throw new NotFoundError(`API ${request.params.id} does not exist`)
    const offered = await plansFor([api.id])
    return { ...view(api), plans: offered(api), openapi: (api.openapi ?? null) as never }
  })
}
