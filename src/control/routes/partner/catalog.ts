// /partner/v1/apis — the API catalog every logged-in partner may browse (pending ones too),
// searchable, with the plans each API offers and its OpenAPI document for the reference
// pages and downloads: the operator's document in its own key order, with the gateway's
// public URL as its only server (the upstream's address never reaches partners).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { NotFoundError } from '../../../domain/errors.js'
import { IdParams } from '../../schemas/common.js'
import { readApiPlanIds } from '../../services/api-plans.js'
import { documentTags, queryTerms, searchApi } from '../../services/catalog-search.js'
import { publicGatewayUrl } from '../../services/gateway-url.js'
import { parseDocumentText, partnerDocument, partnerYaml } from '../../services/openapi-document.js'
import { isObject, type Json } from '../../services/openapi-import.js'
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
  tags: Type.Array(Type.String(), { description: 'the tags of its OpenAPI document' }),
  plans: Type.Array(OfferedPlan),
  matches: Type.Optional(Type.Array(Type.Object({ method: Type.String(), path: Type.String(), summary: Type.String() }), { description: 'with q: the operations that match it' }))
})

const CatalogQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 200, description: 'words to find in the name, description, tags and operations (path, summary, operationId); all must occur' }))
}, { additionalProperties: false })

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
    return {
      id: api.id,
      name: api.name,
      description: api.description,
      auth: api.auth,
      autoApprove: api.autoApprove,
      hasReference: api.openapi !== null,
      routes: api.routes.map(route => ({ path: route.path, methods: route.methods })),
      tags: documentTags(isObject(api.openapi) ? api.openapi : null)
    }
  }

  /** The document as partners get it, with the source it came from; undefined when the API has none. */
  async function servedDocument (request: FastifyRequest, id: string): Promise<{ name: string, source: string | undefined, document: Json, publicUrl: string } | undefined> {
    const api = await fastify.prisma.api.findUnique({ where: { id }, select: { name: true, openapi: true, openapiSource: true, openapiBasePath: true } })
    if (api === null) throw new NotFoundError(`API ${id} does not exist`)
    if (!isObject(api.openapi)) return undefined
    // the stored text keeps the operator's key order; the jsonb copy (APIs imported before the text was kept) does not
    const parsed = api.openapiSource !== null ? parseDocumentText(api.openapiSource).document : api.openapi
    const publicUrl = (await publicGatewayUrl(fastify.prisma, fastify.appConfig.gatewayPort, request)) + (api.openapiBasePath ?? '')
    return { name: api.name, source: api.openapiSource ?? undefined, document: partnerDocument(parsed as Json, publicUrl), publicUrl }
  }

  fastify.get('/apis', { schema: { ...PARTNER_ROUTE, summary: 'The API catalog, or the APIs matching q', querystring: CatalogQuery, response: { 200: Type.Object({ items: Type.Array(CatalogApi) }), ...PARTNER_ERRORS } } }, async request => {
    const apis = await fastify.prisma.api.findMany({ orderBy: { name: 'asc' }, select: SELECT })
    const offered = await plansFor()
    const terms = queryTerms(request.query.q ?? '')
    if (terms.length === 0) return { items: apis.map(api => ({ ...view(api), plans: offered(api) })) }
    const hits = apis
      .map(api => ({ api, hit: searchApi({ name: api.name, description: api.description, document: isObject(api.openapi) ? api.openapi : null, routes: api.routes }, terms) }))
      .filter(entry => entry.hit !== undefined)
      .sort((left, right) => (right.hit?.score ?? 0) - (left.hit?.score ?? 0))
    return { items: hits.map(({ api, hit }) => ({ ...view(api), plans: offered(api), matches: hit?.operations ?? [] })) }
  })

  fastify.get('/apis/:id', { schema: { ...PARTNER_ROUTE, summary: 'One API of the catalog with its OpenAPI document', params: IdParams, response: { 200: CatalogApiDetail, ...PARTNER_ERRORS } } }, async request => {
    const api = await fastify.prisma.api.findUnique({ where: { id: request.params.id }, select: SELECT })
    if (api === null) throw new NotFoundError(`API ${request.params.id} does not exist`)
    const offered = await plansFor([api.id])
    const served = await servedDocument(request, api.id)
    return { ...view(api), plans: offered(api), openapi: (served?.document ?? null) as never }
  })

  const fileName = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'api'

  for (const format of ['json', 'yaml'] as const) {
    fastify.get(`/apis/:id/openapi.${format}`, {
      schema: { ...PARTNER_ROUTE, summary: `Download the API's OpenAPI document as ${format.toUpperCase()}`, params: IdParams, response: { 200: Type.String(), ...PARTNER_ERRORS } }
    }, async (request, reply) => {
      const served = await servedDocument(request, request.params.id)
      if (served === undefined) throw new NotFoundError(`API ${request.params.id} has no OpenAPI document`)
      const body = format === 'json' ? JSON.stringify(served.document, null, 2) + '\n' : partnerYaml(served.source ?? JSON.stringify(served.document), served.document, served.publicUrl)
      return await reply
        .type(format === 'json' ? 'application/json; charset=utf-8' : 'application/yaml; charset=utf-8')
        .header('content-disposition', `attachment; filename="${fileName(served.name)}.openapi.${format}"`)
        .send(body)
    })
  }
}
