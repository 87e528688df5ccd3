// POST /admin/v1/apis/import — registers an API from an OpenAPI 3 document: validated by the
// parser, routes derived from its paths (see services/openapi-import.ts), the upstream given
// by id, by targets, or else taken from servers[0]; the document is kept for the portal.
import { randomBytes } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { BadRequestError, InvalidOpenApiError, NotFoundError } from '../../../domain/errors.js'
import { ERROR_RESPONSES, Name, Timestamp } from '../../schemas/common.js'
import { defaultServerUrl, deriveRoutes, documentTitle, validateOpenApi } from '../../services/openapi-import.js'

const AuthMode = Type.Union([Type.Literal('hmac'), Type.Literal('apikey'), Type.Literal('jwt')])
const TargetUrl = Type.String({ pattern: '^https?://', maxLength: 2000 })

const ImportBody = Type.Object({
  document: Type.Object({}, { additionalProperties: true, description: 'An OpenAPI 3.0 or 3.1 document (JSON); external $refs are not resolved' }),
  name: Type.Optional(Name),
  description: Type.Optional(Type.String({ maxLength: 5000 })),
  upstreamId: Type.Optional(Type.String({ format: 'uuid' })),
  upstream: Type.Optional(Type.Object({
    name: Type.Optional(Name),
    targets: Type.Array(Type.Object({ url: TargetUrl, weight: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }, { additionalProperties: false }), { minItems: 1, maxItems: 100 })
  }, { additionalProperties: false })),
  auth: Type.Optional(Type.Array(AuthMode, { minItems: 1, uniqueItems: true })),
  planIds: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { uniqueItems: true, maxItems: 100 })),
  autoApprove: Type.Optional(Type.Boolean()),
  stripPrefix: Type.Optional(Type.Boolean({ description: 'strip the route prefix before proxying (default false: the upstream gets the path as documented)' }))
}, { additionalProperties: false })

const ImportedApi = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  description: Type.String(),
  upstreamId: Type.String({ format: 'uuid' }),
  upstreamCreated: Type.Boolean(),
  auth: Type.Array(Type.String()),
  autoApprove: Type.Boolean(),
  planIds: Type.Array(Type.String()),
  routes: Type.Array(Type.Object({ id: Type.String({ format: 'uuid' }), path: Type.String(), methods: Type.Array(Type.String()), stripPrefix: Type.Boolean() })),
  createdAt: Timestamp
})

export const apiImportRoutes: FastifyPluginAsyncTypebox = async fastify => {
  fastify.post('/apis/import', {
    schema: {
      tags: ['apis'],
      summary: 'Register an API from an OpenAPI 3 document',
      description: 'Routes: one prefix route per distinct first path segment with the methods used below it. Upstream: upstreamId, or upstream.targets, or servers[0].url of the document.',
      body: ImportBody,
      response: { 201: ImportedApi, ...ERROR_RESPONSES }
    }
  }, async (request, reply) => {
    const body = request.body
    const document = await validateOpenApi(body.document)
    const routes = deriveRoutes(document)
    if (routes.length === 0) throw new InvalidOpenApiError('The document has no operations under "paths", so there is nothing to route')
    const { title, description } = documentTitle(document)
    const name = body.name ?? title
    if (name === undefined) throw new BadRequestError('Give a name, or an info.title in the document')
    const targets = body.upstream?.targets ?? (body.upstreamId === undefined ? [{ url: defaultServerUrl(document) }] : [])
    if (body.upstreamId === undefined && targets.some(target => target.url === undefined)) {
      throw new BadRequestError('The document has no absolute http(s) URL in servers[0]: give upstreamId or upstream.targets')
    }
    const imported = await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      let upstreamId = body.upstreamId
      if (upstreamId !== undefined) {
        if (await tx.upstream.findUnique({ where: { id: upstreamId } }) === null) throw new NotFoundError(`Upstream ${upstreamId} does not exist`)
      } else {
        let upstreamName = body.upstream?.name ?? name
        if (body.upstream?.name === undefined && await tx.upstream.findUnique({ where: { name: upstreamName } }) !== null) upstreamName = `${name}-${randomBytes(3).toString('hex')}`
        const upstream = await tx.upstream.create({
          data: { name: upstreamName, targets: { create: targets.map(target => ({ url: target.url as string, weight: (target as { weight?: number }).weight ?? 1 })) } }
        })
        upstreamId = upstream.id
        audit({ action: 'upstream.create', targetType: 'upstream', targetId: upstream.id, details: { name: upstream.name, targets: targets.map(target => target.url as string), from: 'openapi-import' } })
      }
      const planIds = body.planIds ?? []
      if (planIds.length > 0) {
        const found = await tx.plan.count({ where: { id: { in: planIds } } })
        if (found !== planIds.length) throw new BadRequestError('Some planIds do not name existing plans')
      }
      const api = await tx.api.create({
        data: {
          name,
          description: body.description ?? description,
          upstreamId,
          auth: body.auth ?? ['hmac', 'apikey'],
          autoApprove: body.autoApprove ?? false,
          planIds,
          openapi: document as never,
          routes: { create: routes.map(route => ({ path: route.path, methods: route.methods, stripPrefix: body.stripPrefix ?? false, websocket: false })) }
        },
        // uuid[] columns do not read back through the embedded database's adapter: the ids are known anyway
        select: { id: true, name: true, description: true, upstreamId: true, auth: true, autoApprove: true, createdAt: true, routes: true }
      })
      audit({ action: 'api.import', targetType: 'api', targetId: api.id, details: { name: api.name, routes: routes.map(route => `${route.methods.join(',')} ${route.path}`) } })
      return { ...api, planIds, upstreamCreated: body.upstreamId === undefined }
    })
    return await reply.code(201).send({
      id: imported.id,
      name: imported.name,
      description: imported.description,
      upstreamId: imported.upstreamId,
      upstreamCreated: imported.upstreamCreated,
      auth: imported.auth,
      autoApprove: imported.autoApprove,
      planIds: imported.planIds,
      routes: imported.routes.map(route => ({ id: route.id, path: route.path, methods: route.methods, stripPrefix: route.stripPrefix })),
      createdAt: imported.createdAt.toISOString()
    })
  })
}
