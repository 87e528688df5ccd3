// /admin/v1/apis — the products partners get access to: routes on the gateway, the upstream
// behind them, the accepted auth modes, and the plans partners may request.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ConflictError, NotFoundError } from '../../../domain/errors.js'
import { API_POLICIES } from '../../../gateway/policies/registry.js'
import type { Transaction } from '../../../store/config-writer.js'
import { PageQuery, pageArguments, pageOf, toPage } from '../../pagination.js'
import { Description, ERROR_RESPONSES, IdParams, Name, Timestamp } from '../../schemas/common.js'
import { HTTP_METHODS, assertNoRouteClash, normaliseRoutes } from '../../services/api-routes.js'
import { policiesToStore, policyBodyFields, policyViewFields, policyViews, withoutPolicies, type StoredPolicies } from '../../services/policy-settings.js'

const AuthMode = Type.Union([Type.Literal('hmac'), Type.Literal('apikey'), Type.Literal('jwt')])

const RouteBody = Type.Object({
  methods: Type.Optional(Type.Array(Type.String({ enum: [...HTTP_METHODS] }), { maxItems: 7, uniqueItems: true, description: 'empty or absent = every method' })),
  host: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.-]+$' }), Type.Null()])),
  path: Type.String({ minLength: 1, maxLength: 500, description: 'a path prefix, e.g. /v1/orders' }),
  stripPrefix: Type.Optional(Type.Boolean()),
  websocket: Type.Optional(Type.Boolean())
}, { additionalProperties: false })

const ApiFields = {
  name: Name,
  description: Type.Optional(Description),
  upstreamId: Type.String({ format: 'uuid' }),
  auth: Type.Array(AuthMode, { minItems: 1, maxItems: 3, uniqueItems: true }),
  routes: Type.Array(RouteBody, { minItems: 1, maxItems: 100 }),
  autoApprove: Type.Optional(Type.Boolean()),
  planIds: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { maxItems: 50, uniqueItems: true })),
  // one field per configurable policy (src/gateway/policies/registry.ts), validated with its own schema
  ...policyBodyFields(API_POLICIES)
}

const Api = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  description: Type.String(),
  upstreamId: Type.String({ format: 'uuid' }),
  auth: Type.Array(AuthMode),
  routes: Type.Array(Type.Object({ id: Type.String(), methods: Type.Array(Type.String()), host: Type.Union([Type.String(), Type.Null()]), path: Type.String(), stripPrefix: Type.Boolean(), websocket: Type.Boolean() })),
  autoApprove: Type.Boolean(),
  planIds: Type.Array(Type.String()),
  hasOpenApi: Type.Boolean(),
  ...policyViewFields(API_POLICIES),
  createdAt: Timestamp,
  updatedAt: Timestamp
})

const INCLUDE = { routes: { orderBy: { id: 'asc' as const } } }

function toApi (row: { id: string, name: string, description: string, upstreamId: string, auth: string[], autoApprove: boolean, planIds: string[], openapi: unknown, policies: unknown, createdAt: Date, updatedAt: Date, routes: Array<{ id: string, methods: string[], host: string | null, path: string, stripPrefix: boolean, websocket: boolean }> }) {
  const { openapi, routes, policies, ...rest } = row
  return { ...rest, ...policyViews(API_POLICIES, policies), hasOpenApi: openapi !== null, routes: routes.map(({ id, methods, host, path, stripPrefix, websocket }) => ({ id, methods, host, path, stripPrefix, websocket })) } as never
}

async function checkReferences (tx: Transaction, upstreamId: string | undefined, planIds: string[] | undefined): Promise<void> {
  if (upstreamId !== undefined && await tx.upstream.findUnique({ where: { id: upstreamId } }) === null) throw new NotFoundError(`Upstream ${upstreamId} does not exist`)
  if (planIds !== undefined && planIds.length > 0) {
    const found = await tx.plan.findMany({ where: { id: { in: planIds } }, select: { id: true } })
    const missing = planIds.filter(id => !found.some(plan => plan.id === id))
    if (missing.length > 0) throw new NotFoundError(`Plan ${missing.join(', ')} does not exist`)
  }
}

/** A clear 409 before the unique index would give a generic one (which still guards races). */
async function assertNameFree (tx: Transaction, name: string | undefined, apiId?: string): Promise<void> {
  if (name === undefined) return
  const existing = await tx.api.findUnique({ where: { name }, select: { id: true } })
  if (existing !== null && existing.id !== apiId) throw new ConflictError(`An API named ${name} already exists`)
}

export const apiRoutes: FastifyPluginAsyncTypebox = async fastify => {
  const tags = ['apis']

  fastify.post('/apis', { schema: { tags, summary: 'Create an API with its routes', body: Type.Object(ApiFields, { additionalProperties: false }), response: { 201: Api, ...ERROR_RESPONSES } } }, async (request, reply) => {
    const body = request.body
    const routes = normaliseRoutes(body.routes)
    const policies = policiesToStore(API_POLICIES, body, {}) ?? {}
    const api = await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      await assertNameFree(tx, body.name)
      await checkReferences(tx, body.upstreamId, body.planIds)
      await assertNoRouteClash(tx, routes)
      const created = await tx.api.create({
        data: { name: body.name, description: body.description ?? '', upstreamId: body.upstreamId, auth: body.auth, autoApprove: body.autoApprove ?? false, planIds: body.planIds ?? [], policies: policies as object, routes: { create: routes } },
        include: INCLUDE
      })
      audit({ action: 'api.create', targetType: 'api', targetId: created.id, details: { name: created.name, routes: routes.map(route => route.path) } })
      return created
    })
    return await reply.code(201).send(toApi(api))
  })

  fastify.get('/apis', { schema: { tags, summary: 'List APIs', querystring: PageQuery, response: { 200: pageOf(Api), ...ERROR_RESPONSES } } }, async request => {
    return toPage(await fastify.prisma.api.findMany({ ...pageArguments(request.query), include: INCLUDE }), request.query.limit, toApi)
  })

  fastify.get('/apis/:id', { schema: { tags, summary: 'Get an API', params: IdParams, response: { 200: Api, ...ERROR_RESPONSES } } }, async request => {
    const api = await fastify.prisma.api.findUnique({ where: { id: request.params.id }, include: INCLUDE })
    if (api === null) throw new NotFoundError(`API ${request.params.id} does not exist`)
    return toApi(api)
  })

  fastify.patch('/apis/:id', {
    schema: { tags, summary: 'Update an API; routes, when given, replace the current ones', params: IdParams, body: Type.Object({ ...Type.Partial(Type.Object(ApiFields)).properties }, { additionalProperties: false, minProperties: 1 }), response: { 200: Api, ...ERROR_RESPONSES } }
  }, async request => {
    const body = request.body
    const routes = body.routes !== undefined ? normaliseRoutes(body.routes) : undefined
    const api = await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      const current = await tx.api.findUnique({ where: { id: request.params.id }, select: { policies: true } })
      if (current === null) throw new NotFoundError(`API ${request.params.id} does not exist`)
      const policies = policiesToStore(API_POLICIES, body, current.policies as StoredPolicies)
      await assertNameFree(tx, body.name, request.params.id)
      await checkReferences(tx, body.upstreamId, body.planIds)
      if (routes !== undefined) await assertNoRouteClash(tx, routes, request.params.id)
      const { routes: _routes, ...fields } = withoutPolicies(API_POLICIES, body)
      const updated = await tx.api.update({
        where: { id: request.params.id },
        data: { ...fields, ...(policies !== undefined ? { policies: policies as object } : {}), ...(routes !== undefined ? { routes: { deleteMany: {}, create: routes } } : {}) },
        include: INCLUDE
      })
      audit({ action: 'api.update', targetType: 'api', targetId: updated.id, details: body as never })
      return updated
    })
    return toApi(api)
  })

  fastify.delete('/apis/:id', { schema: { tags, summary: 'Delete an API with its routes and grants', params: IdParams, response: { 204: Type.Null(), ...ERROR_RESPONSES } } }, async (request, reply) => {
    await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      const api = await tx.api.findUnique({ where: { id: request.params.id } })
      if (api === null) throw new NotFoundError(`API ${request.params.id} does not exist`)
      await tx.api.delete({ where: { id: api.id } })
      audit({ action: 'api.delete', targetType: 'api', targetId: api.id, details: { name: api.name } })
    })
    return await reply.code(204).send(null)
  })
}
