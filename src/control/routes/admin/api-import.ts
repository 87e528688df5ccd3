// POST /admin/v1/apis/import registers an API from an OpenAPI document, and
// PUT /admin/v1/apis/{id}/document updates one from a new version of it: routes reconciled,
// grants kept, the change answered and audited as a diff. GET …/document gives the text back.
//
// The document comes raw (JSON or YAML body, options in the query string, so that
// `curl --data-binary @openapi.yaml -H 'content-type: application/yaml'` works) or wrapped
// (`{"document": <object or text>, ...options}`). Its text is kept as sent; Swagger 2.0 is
// converted to OpenAPI 3 first (services/openapi-document.ts).
import { randomBytes } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type, type Static } from 'typebox'
import { BadRequestError, InvalidOpenApiError, MalformedJsonError, NotFoundError } from '../../../domain/errors.js'
import type { Transaction } from '../../../store/config-writer.js'
import { Description, ERROR_RESPONSES, IdParams, Name, Timestamp } from '../../schemas/common.js'
import { compileBodyValidator } from '../../validation.js'
import { assertNoRouteClash, normaliseRoutePrefix, normaliseRoutes } from '../../services/api-routes.js'
import { documentDiff, reconcileRoutes } from '../../services/openapi-diff.js'
import { parseDocumentText, prepareDocument, sourceFormat, type SourceDocument } from '../../services/openapi-document.js'
import { defaultServerUrl, deriveRoutes, documentTitle, isObject, type Json } from '../../services/openapi-import.js'

const AuthMode = Type.Union([Type.Literal('hmac'), Type.Literal('apikey'), Type.Literal('jwt')])
const TargetUrl = Type.String({ pattern: '^https?://', maxLength: 2000 })
const Uuid = Type.String({ format: 'uuid' })

const RouteOptionFields = {
  basePath: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'serve every path of the document under this route prefix (one route, stripped before proxying unless stripPrefix is false); needed when paths start with a template such as /{tenant}' })),
  catchAll: Type.Optional(Type.Boolean({ description: 'route paths that start with a template to the catch-all prefix /, which takes every path no other API claims' })),
  stripPrefix: Type.Optional(Type.Boolean({ description: 'strip the route prefix before proxying; default: true with a basePath, else false (the upstream gets the path as documented)' }))
}

const ImportOptionFields = {
  ...RouteOptionFields,
  name: Type.Optional(Name),
  description: Type.Optional(Description),
  upstreamId: Type.Optional(Uuid),
  auth: Type.Optional(Type.Array(AuthMode, { minItems: 1, uniqueItems: true })),
  planIds: Type.Optional(Type.Array(Uuid, { uniqueItems: true, maxItems: 100 })),
  autoApprove: Type.Optional(Type.Boolean())
}

const DocumentField = Type.Union([
  Type.Object({}, { additionalProperties: true, description: 'the OpenAPI 3.0/3.1 or Swagger 2.0 document' }),
  Type.String({ minLength: 1, description: 'the document as JSON or YAML text' })
])

const ImportQuery = Type.Object({
  ...ImportOptionFields,
  upstreamUrl: Type.Optional(Type.Array(TargetUrl, { minItems: 1, maxItems: 100, description: 'upstream target URLs (repeat the parameter for several)' }))
}, { additionalProperties: false })

const WrappedImport = Type.Object({
  document: DocumentField,
  ...ImportOptionFields,
  upstream: Type.Optional(Type.Object({
    name: Type.Optional(Name),
    targets: Type.Array(Type.Object({ url: TargetUrl, weight: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }, { additionalProperties: false }), { minItems: 1, maxItems: 100 })
  }, { additionalProperties: false }))
}, { additionalProperties: false })

const UpdateQuery = Type.Object(RouteOptionFields, { additionalProperties: false })
const WrappedUpdate = Type.Object({ document: DocumentField, ...RouteOptionFields }, { additionalProperties: false })

type ImportOptions = Static<typeof ImportQuery> & Omit<Static<typeof WrappedImport>, 'document'>
type RouteOptions = Static<typeof UpdateQuery>

const ImportedRoute = Type.Object({ id: Uuid, path: Type.String(), methods: Type.Array(Type.String()), stripPrefix: Type.Boolean() })

const ImportedApi = Type.Object({
  id: Uuid,
  name: Type.String(),
  description: Type.String(),
  upstreamId: Uuid,
  upstreamCreated: Type.Boolean(),
  auth: Type.Array(Type.String()),
  autoApprove: Type.Boolean(),
  planIds: Type.Array(Type.String()),
  basePath: Type.Union([Type.String(), Type.Null()]),
  convertedFrom: Type.Optional(Type.String({ description: 'swagger-2.0 when the document was converted to OpenAPI 3' })),
  routes: Type.Array(ImportedRoute),
  createdAt: Timestamp
})

const ChangeList = Type.Object({ added: Type.Array(Type.String()), removed: Type.Array(Type.String()), changed: Type.Array(Type.String()) })
const RouteSummary = Type.Object({ path: Type.String(), methods: Type.Array(Type.String()) })
const DocumentDiffSchema = Type.Object({
  version: Type.Object({ before: Type.Union([Type.String(), Type.Null()]), after: Type.Union([Type.String(), Type.Null()]) }),
  routes: Type.Object({
    added: Type.Array(RouteSummary),
    removed: Type.Array(RouteSummary),
    changed: Type.Array(Type.Object({ path: Type.String(), methodsBefore: Type.Array(Type.String()), methodsAfter: Type.Array(Type.String()) }))
  }),
  operations: ChangeList,
  schemas: ChangeList
})

const UpdatedApi = Type.Object({
  id: Uuid,
  name: Type.String(),
  basePath: Type.Union([Type.String(), Type.Null()]),
  convertedFrom: Type.Optional(Type.String()),
  routes: Type.Array(Type.Object({ ...ImportedRoute.properties, websocket: Type.Boolean() })),
  diff: DocumentDiffSchema
})

// application/vnd.oai.openapi is the registered media type of OpenAPI documents in YAML
const DOCUMENT_MEDIA_TYPES = ['application/json', 'application/vnd.oai.openapi+json', 'application/yaml', 'application/x-yaml', 'application/vnd.oai.openapi', 'text/yaml', 'text/x-yaml', 'text/plain']
const JSON_MEDIA_TYPE = /^application\/(?:[\w.-]+\+)?json$/

const validateWrappedImport = compileBodyValidator<Json>(WrappedImport)
const validateWrappedUpdate = compileBodyValidator<Json>(WrappedUpdate)

interface ReceivedDocument<Options> { prepared: SourceDocument, options: Options }

/** The document and its options from a raw or wrapped body. */
async function receiveDocument<Options extends object> (request: FastifyRequest, query: Options, validateWrapped: (value: unknown) => Json): Promise<ReceivedDocument<Options>> {
  const raw = request.body
  if (typeof raw !== 'string' || raw.trim() === '') throw new BadRequestError('Send the document as the body (JSON or YAML), raw or as {"document": …}')
  if (raw.includes('\u0000')) throw new InvalidOpenApiError('The document holds a NUL character')
  const mediaType = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
  if (!JSON_MEDIA_TYPE.test(mediaType)) {
    const { document, format } = parseDocumentText(raw)
    return { prepared: await prepareDocument(raw, document, format), options: query }
  }
  let body: unknown
  try {
    body = JSON.parse(raw)
  } catch {
    throw new MalformedJsonError()
  }
  if (isObject(body) && 'document' in body && !('openapi' in body) && !('swagger' in body)) {
    const { document, ...options } = validateWrapped(body)
    const merged = { ...query, ...options } as Options
    if (typeof document === 'string') {
      const parsed = parseDocumentText(document)
      return { prepared: await prepareDocument(document, parsed.document, parsed.format), options: merged }
    }
    // the wrapped object's text is gone with the JSON around it: its keys keep their order in this one
    return { prepared: await prepareDocument(JSON.stringify(document, null, 2), document, 'json'), options: merged }
  }
  return { prepared: await prepareDocument(raw, body, 'json'), options: query }
}

function routeOptions (options: RouteOptions, name: string | undefined): { basePath: string | undefined, catchAll: boolean, stripPrefix: boolean, name: string | undefined } {
  const basePath = options.basePath === undefined ? undefined : normaliseRoutePrefix(options.basePath)
  if (basePath === '/') throw new BadRequestError('basePath / is the catch-all: give catchAll=true instead, or a longer prefix')
  return { basePath, catchAll: options.catchAll ?? false, stripPrefix: options.stripPrefix ?? basePath !== undefined, name }
}

function derive (document: Json, options: ReturnType<typeof routeOptions>) {
  const derived = deriveRoutes(document, options)
  if (derived.length === 0) throw new InvalidOpenApiError('The document has no operations under "paths", so there is nothing to route')
  return normaliseRoutes(derived.map(route => ({ ...route, stripPrefix: options.stripPrefix })))
}

async function assertPlansExist (tx: Transaction, planIds: string[]): Promise<void> {
  if (planIds.length === 0) return
  const found = await tx.plan.count({ where: { id: { in: planIds } } })
  if (found !== planIds.length) throw new BadRequestError('Some planIds do not name existing plans')
}

export const apiImportRoutes: FastifyPluginAsyncTypebox = async fastify => {
  // bodies arrive as text: the document's own text is what gets stored
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser(DOCUMENT_MEDIA_TYPES, { parseAs: 'string' }, (_request, body, done) => { done(null, body) })
  fastify.addContentTypeParser(JSON_MEDIA_TYPE, { parseAs: 'string' }, (_request, body, done) => { done(null, body) })

  fastify.post('/apis/import', {
    schema: {
      tags: ['apis'],
      summary: 'Register an API from an OpenAPI 3 or Swagger 2.0 document (JSON or YAML)',
      description: 'Raw: the document as the body (Content-Type application/json, application/yaml, text/yaml or text/plain) with the options as query parameters. Wrapped: {"document": <object or JSON/YAML text>, ...options} as application/json. ' +
        'Routes: one prefix route per distinct first path segment with the methods used below it, or one route at basePath. Paths starting with a template need basePath (or catchAll=true). ' +
        'Upstream: upstreamId, or upstream.targets / upstreamUrl, or servers[0].url of the document. The route check is the one of POST /apis: 409 naming the API that serves a route already.',
      querystring: ImportQuery,
      response: { 201: ImportedApi, ...ERROR_RESPONSES }
    }
  }, async (request, reply) => {
    const { prepared, options } = await receiveDocument<ImportOptions>(request, request.query, validateWrappedImport)
    const { document } = prepared
    const { title, description } = documentTitle(document)
    const name = options.name ?? title
    if (name === undefined) throw new BadRequestError('Give a name, or an info.title in the document')
    const routeSettings = routeOptions(options, name)
    const routes = derive(document, routeSettings)
    const targets = options.upstream?.targets ?? options.upstreamUrl?.map(url => ({ url, weight: 1 })) ?? (options.upstreamId === undefined ? [{ url: defaultServerUrl(document), weight: 1 }] : [])
    if (options.upstreamId === undefined && targets.some(target => target.url === undefined)) {
      throw new BadRequestError('The document has no absolute http(s) URL in servers[0]: give upstreamId or upstream targets (upstreamUrl in the query)')
    }
    const imported = await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      let upstreamId = options.upstreamId
      if (upstreamId !== undefined) {
        if (await tx.upstream.findUnique({ where: { id: upstreamId } }) === null) throw new NotFoundError(`Upstream ${upstreamId} does not exist`)
      } else {
        let upstreamName = options.upstream?.name ?? name
        if (options.upstream?.name === undefined && await tx.upstream.findUnique({ where: { name: upstreamName } }) !== null) upstreamName = `${name}-${randomBytes(3).toString('hex')}`
        const upstream = await tx.upstream.create({
          data: { name: upstreamName, targets: { create: targets.map(target => ({ url: target.url as string, weight: target.weight ?? 1 })) } }
        })
        upstreamId = upstream.id
        audit({ action: 'upstream.create', targetType: 'upstream', targetId: upstream.id, details: { name: upstream.name, targets: targets.map(target => target.url as string), from: 'openapi-import' } })
      }
      const planIds = options.planIds ?? []
      await assertPlansExist(tx, planIds)
      await assertNoRouteClash(tx, routes)
      const api = await tx.api.create({
        data: {
          name,
          description: options.description ?? description,
          upstreamId,
          auth: options.auth ?? ['hmac', 'apikey'],
          autoApprove: options.autoApprove ?? false,
          planIds,
          openapi: document as never,
          openapiSource: prepared.source,
          openapiBasePath: routeSettings.basePath ?? null,
          routes: { create: routes }
        },
        // uuid[] columns do not read back through the embedded database's adapter: the ids are known anyway
        select: { id: true, name: true, description: true, upstreamId: true, auth: true, autoApprove: true, createdAt: true, routes: true }
      })
      audit({ action: 'api.import', targetType: 'api', targetId: api.id, details: { name: api.name, format: prepared.format, ...(prepared.convertedFrom !== undefined ? { convertedFrom: prepared.convertedFrom } : {}), routes: routes.map(route => `${route.methods.join(',')} ${route.path}`) } })
      return { ...api, planIds, upstreamCreated: options.upstreamId === undefined }
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
      basePath: routeSettings.basePath ?? null,
      ...(prepared.convertedFrom !== undefined ? { convertedFrom: prepared.convertedFrom } : {}),
      routes: imported.routes.map(route => ({ id: route.id, path: route.path, methods: route.methods, stripPrefix: route.stripPrefix })),
      createdAt: imported.createdAt.toISOString()
    })
  })

  fastify.put('/apis/:id/document', {
    schema: {
      tags: ['apis'],
      summary: 'Update an API from a new version of its OpenAPI document',
      description: 'The body as for the import (raw with options in the query, or wrapped). Routes are reconciled with the document (WebSocket routes stay), grants, plans, upstream and auth stay; ' +
        'the answer and the audit log carry the diff: routes, operations and schemas added, removed and changed. basePath defaults to the one of the last import or update.',
      params: IdParams,
      querystring: UpdateQuery,
      response: { 200: UpdatedApi, ...ERROR_RESPONSES }
    }
  }, async request => {
    const { prepared, options } = await receiveDocument<RouteOptions>(request, request.query, validateWrappedUpdate)
    return await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      const api = await tx.api.findUnique({ where: { id: request.params.id }, select: { id: true, name: true, openapi: true, openapiSource: true, openapiBasePath: true, routes: true } })
      if (api === null) throw new NotFoundError(`API ${request.params.id} does not exist`)
      const hasCatchAll = api.routes.some(route => route.path === '/' && !route.websocket)
      const routeSettings = routeOptions({
        basePath: options.basePath ?? api.openapiBasePath ?? undefined,
        catchAll: options.catchAll ?? hasCatchAll,
        stripPrefix: options.stripPrefix
      }, api.name)
      const derived = derive(prepared.document, routeSettings)
      const plan = reconcileRoutes(api.routes, derived, routeSettings.stripPrefix)
      await assertNoRouteClash(tx, plan.result, api.id)
      if (plan.remove.length > 0) await tx.route.deleteMany({ where: { id: { in: plan.remove } } })
      for (const change of plan.update) await tx.route.update({ where: { id: change.id }, data: { methods: change.methods } })
      if (plan.create.length > 0) await tx.route.createMany({ data: plan.create.map(route => ({ ...route, apiId: api.id })) })
      const previous = isObject(api.openapi) ? api.openapi : null
      const diff = documentDiff(previous, prepared.document, plan.diff)
      const updated = await tx.api.update({
        where: { id: api.id },
        data: { openapi: prepared.document as never, openapiSource: prepared.source, openapiBasePath: routeSettings.basePath ?? null },
        select: { id: true, name: true, routes: { orderBy: { path: 'asc' } } }
      })
      audit({ action: 'api.document.update', targetType: 'api', targetId: api.id, details: { name: api.name, format: prepared.format, diff } as never })
      return {
        id: updated.id,
        name: updated.name,
        basePath: routeSettings.basePath ?? null,
        ...(prepared.convertedFrom !== undefined ? { convertedFrom: prepared.convertedFrom } : {}),
        routes: updated.routes.map(route => ({ id: route.id, path: route.path, methods: route.methods, stripPrefix: route.stripPrefix, websocket: route.websocket })),
        diff
      }
    })
  })

  fastify.get('/apis/:id/document', {
    schema: {
      tags: ['apis'],
      summary: 'The OpenAPI document of an API, as the operator last sent it (JSON or YAML)',
      params: IdParams,
      response: { 200: Type.String(), ...ERROR_RESPONSES }
    }
  }, async (request, reply) => {
    const api = await fastify.prisma.api.findUnique({ where: { id: request.params.id }, select: { openapi: true, openapiSource: true } })
    if (api === null) throw new NotFoundError(`API ${request.params.id} does not exist`)
    const source = api.openapiSource ?? (api.openapi !== null ? JSON.stringify(api.openapi, null, 2) : null)
    if (source === null) throw new NotFoundError(`API ${request.params.id} has no OpenAPI document`)
    return await reply.type(sourceFormat(source) === 'json' ? 'application/json; charset=utf-8' : 'application/yaml; charset=utf-8').send(source)
  })
}
