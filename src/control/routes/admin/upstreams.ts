// /admin/v1/upstreams — where APIs send their traffic: targets with weights, balancing,
// health checks, timeouts and TLS to https:// targets. Only operators set upstream targets.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ConflictError, NotFoundError, ValidationError } from '../../../domain/errors.js'
import type { Transaction } from '../../../store/config-writer.js'
import { DbNull, type Prisma } from '../../../store/db.js'
import { PageQuery, pageArguments, pageOf, toPage } from '../../pagination.js'
import { ERROR_RESPONSES, IdParams, Name, Timestamp } from '../../schemas/common.js'
import { auditedTls, hasTls, NO_TLS, upstreamTlsChange, upstreamTlsView, type UpstreamTlsColumns } from '../../services/upstream-tls.js'

const Target = Type.Object({
  url: Type.String({ format: 'uri', maxLength: 2000, description: 'http(s)://host[:port][/base-path]' }),
  weight: Type.Integer({ minimum: 1, maximum: 1000, default: 1 })
}, { additionalProperties: false })

const HealthCheckFields = {
  path: Type.String({ pattern: '^/[\\u0021-\\u007E]*$', maxLength: 500, description: 'starts with /, printable ASCII without spaces' }),
  intervalMs: Type.Integer({ minimum: 100, maximum: 3_600_000, description: 'default 5000' }),
  timeoutMs: Type.Integer({ minimum: 10, maximum: 60_000, description: 'default 2000' }),
  healthyThreshold: Type.Integer({ minimum: 1, maximum: 100, description: 'default 2' }),
  unhealthyThreshold: Type.Integer({ minimum: 1, maximum: 100, description: 'default 3' })
}
const HealthCheck = Type.Object(HealthCheckFields)
// JSON Schema defaults are not applied inside anyOf (the nullable union), so they are filled in here
const HealthCheckInput = Type.Object({ ...Type.Partial(Type.Object(HealthCheckFields)).properties, path: HealthCheckFields.path }, { additionalProperties: false })
const HEALTH_CHECK_DEFAULTS = { intervalMs: 5000, timeoutMs: 2000, healthyThreshold: 2, unhealthyThreshold: 3 }

interface HealthCheckInput { path: string, intervalMs?: number, timeoutMs?: number, healthyThreshold?: number, unhealthyThreshold?: number }

/** Fills in defaults; a probe may not outlast its interval (the default timeout shrinks to fit). */
function withHealthCheckDefaults (check: HealthCheckInput | null | undefined): Prisma.InputJsonObject | null | undefined {
  if (check === null || check === undefined) return check
  const intervalMs = check.intervalMs ?? HEALTH_CHECK_DEFAULTS.intervalMs
  const timeoutMs = check.timeoutMs ?? Math.min(HEALTH_CHECK_DEFAULTS.timeoutMs, intervalMs)
  if (timeoutMs > intervalMs) throw new ValidationError(`healthCheck.timeoutMs (${timeoutMs}) must not exceed healthCheck.intervalMs (${intervalMs})`)
  return { ...HEALTH_CHECK_DEFAULTS, ...check, intervalMs, timeoutMs }
}

const Timeouts = Type.Object({
  connectMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 5000 }),
  responseMs: Type.Integer({ minimum: 1, maximum: 3_600_000, default: 30_000 })
}, { additionalProperties: false })

const LoadBalancing = Type.Union([Type.Literal('round-robin'), Type.Literal('least-connections')])

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])
const DNS_NAME = '^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$'

const TlsInput = Type.Object({
  caBundle: Type.Optional(Nullable(Type.String({ maxLength: 524_288, description: 'PEM certificates that verify the https:// targets, in place of Node\'s own CAs; null: Node\'s CAs' }))),
  clientCertificate: Type.Optional(Nullable(Type.String({ maxLength: 65_536, description: 'PEM: the certificate (then its chain) the gateway presents to targets that require one; given and cleared with clientKey' }))),
  clientKey: Type.Optional(Nullable(Type.String({ maxLength: 65_536, writeOnly: true, description: 'PEM private key of clientCertificate, unencrypted; stored sealed with the master key and never returned' }))),
  servername: Type.Optional(Nullable(Type.String({ pattern: DNS_NAME, description: 'SNI name, and the name the targets\' certificates must carry; null: each target\'s host' }))),
  insecureSkipVerify: Type.Optional(Type.Boolean({ description: 'accept whatever certificate the targets present (no CA or name check); default false' }))
}, { additionalProperties: false, description: 'fields left out keep their value; null clears one, tls: null clears all' })

const Tls = Type.Object({
  caBundle: Type.Union([Type.String(), Type.Null()]),
  clientCertificate: Type.Union([Type.String(), Type.Null()]),
  clientKeySet: Type.Boolean(),
  servername: Type.Union([Type.String(), Type.Null()]),
  insecureSkipVerify: Type.Boolean()
}, { description: 'null: Node\'s defaults' })

const UpstreamBody = {
  name: Name,
  targets: Type.Array(Target, { minItems: 1, maxItems: 64 }),
  loadBalancing: Type.Optional(LoadBalancing),
  healthCheck: Type.Optional(Type.Union([HealthCheckInput, Type.Null()])),
  timeouts: Type.Optional(Timeouts),
  tls: Type.Optional(Type.Union([TlsInput, Type.Null()]))
}

const Upstream = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  targets: Type.Array(Type.Object({ url: Type.String(), weight: Type.Integer() })),
  loadBalancing: LoadBalancing,
  healthCheck: Type.Union([HealthCheck, Type.Null()]),
  timeouts: Type.Object({ connectMs: Type.Integer(), responseMs: Type.Integer() }),
  tls: Type.Union([Tls, Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp
})

interface UpstreamRow extends UpstreamTlsColumns {
  id: string
  name: string
  loadBalancing: string
  healthCheck: unknown
  connectTimeoutMs: number
  responseTimeoutMs: number
  createdAt: Date
  updatedAt: Date
  targets: Array<{ url: string, weight: number }>
}

function toUpstream (row: UpstreamRow) {
  return {
    id: row.id,
    name: row.name,
    targets: row.targets.map(target => ({ url: target.url, weight: target.weight })),
    loadBalancing: row.loadBalancing,
    healthCheck: row.healthCheck ?? null,
    timeouts: { connectMs: row.connectTimeoutMs, responseMs: row.responseTimeoutMs },
    tls: upstreamTlsView(row),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt
  } as never
}

/** Targets must be plain http(s) origins with an optional base path: no credentials, query or fragment. */
export function checkTargetUrl (url: string): void {
  // checked on the text as well: the URL parser forgives "http:/host", an empty "?" or "#", and control characters
  if (!/^https?:\/\/[^/?#]/i.test(url)) throw new ValidationError(`Target URL ${url} must be absolute: http(s)://host[:port][/base-path]`)
  if (/[\u0000-\u0020\u007F]/.test(url)) throw new ValidationError(`Target URL ${JSON.stringify(url)} must not contain spaces or control characters`)
  if (url.includes('?') || url.includes('#')) throw new ValidationError(`Target URL ${url} must not have a query or fragment`)
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ValidationError(`Target URL ${url} is not a valid URL`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ValidationError(`Target URL ${url} must use http or https`)
  if (parsed.username !== '' || parsed.password !== '') throw new ValidationError(`Target URL ${url} must not contain credentials`)
  if (parsed.search !== '' || parsed.hash !== '') throw new ValidationError(`Target URL ${url} must not have a query or fragment`)
}

/** TLS settings with no https:// target to use them are a mistake worth a 400, not silence. */
function checkTlsTargets (tls: UpstreamTlsColumns, targets: Array<{ url: string }>): void {
  if (hasTls(tls) && !targets.some(target => /^https:/i.test(target.url))) {
    throw new ValidationError('tls settings apply to https:// targets and this upstream has none: use https targets, or set tls to null')
  }
}

/** A clear 409 before the unique index would give a generic one (which still guards races). */
async function assertNameFree (tx: Transaction, name: string | undefined, upstreamId?: string): Promise<void> {
  if (name === undefined) return
  const existing = await tx.upstream.findUnique({ where: { name }, select: { id: true } })
  if (existing !== null && existing.id !== upstreamId) throw new ConflictError(`An upstream named ${name} already exists`)
}

async function findUpstream (tx: Transaction, id: string): Promise<UpstreamRow> {
  const upstream = await tx.upstream.findUnique({ where: { id }, include: { targets: { orderBy: { id: 'asc' } } } })
  if (upstream === null) throw new NotFoundError(`Upstream ${id} does not exist`)
  return upstream
}

export const upstreamRoutes: FastifyPluginAsyncTypebox = async fastify => {
  const tags = ['upstreams']

  fastify.post('/upstreams', { schema: { tags, summary: 'Create an upstream', body: Type.Object(UpstreamBody, { additionalProperties: false }), response: { 201: Upstream, ...ERROR_RESPONSES } } }, async (request, reply) => {
    const body = request.body
    for (const target of body.targets) checkTargetUrl(target.url)
    const healthCheck = withHealthCheckDefaults(body.healthCheck)
    const tls = { ...NO_TLS, ...upstreamTlsChange(body.tls, fastify.secretBox) }
    checkTlsTargets(tls, body.targets)
    const upstream = await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      await assertNameFree(tx, body.name)
      const created = await tx.upstream.create({
        data: {
          name: body.name,
          loadBalancing: body.loadBalancing ?? 'round-robin',
          healthCheck: healthCheck ?? undefined,
          connectTimeoutMs: body.timeouts?.connectMs,
          responseTimeoutMs: body.timeouts?.responseMs,
          ...tls,
          targets: { create: body.targets.map(target => ({ url: target.url, weight: target.weight })) }
        }
      })
      audit({ action: 'upstream.create', targetType: 'upstream', targetId: created.id, details: { ...body, tls: auditedTls(body.tls) } })
      return await findUpstream(tx, created.id)
    })
    return await reply.code(201).send(toUpstream(upstream))
  })

  fastify.get('/upstreams', { schema: { tags, summary: 'List upstreams', querystring: PageQuery, response: { 200: pageOf(Upstream), ...ERROR_RESPONSES } } }, async request => {
    const rows = await fastify.prisma.upstream.findMany({ ...pageArguments(request.query), include: { targets: { orderBy: { id: 'asc' } } } })
    return toPage(rows, request.query.limit, toUpstream)
  })

  fastify.get('/upstreams/:id', { schema: { tags, summary: 'Get an upstream', params: IdParams, response: { 200: Upstream, ...ERROR_RESPONSES } } }, async request => {
    return toUpstream(await findUpstream(fastify.prisma as unknown as Transaction, request.params.id))
  })

  fastify.patch('/upstreams/:id', {
    schema: { tags, summary: 'Update an upstream; targets, when given, replace the current ones', params: IdParams, body: Type.Object({ ...Type.Partial(Type.Object(UpstreamBody)).properties }, { additionalProperties: false, minProperties: 1 }), response: { 200: Upstream, ...ERROR_RESPONSES } }
  }, async request => {
    const body = request.body
    for (const target of body.targets ?? []) checkTargetUrl(target.url)
    const healthCheck = withHealthCheckDefaults(body.healthCheck)
    const tlsChange = upstreamTlsChange(body.tls, fastify.secretBox)
    const upstream = await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      const current = await findUpstream(tx, request.params.id)
      await assertNameFree(tx, body.name, request.params.id)
      if (body.tls !== undefined || body.targets !== undefined) checkTlsTargets({ ...current, ...tlsChange }, body.targets ?? current.targets)
      await tx.upstream.update({
        where: { id: request.params.id },
        data: {
          name: body.name,
          loadBalancing: body.loadBalancing,
          healthCheck: healthCheck === null ? DbNull : healthCheck,
          connectTimeoutMs: body.timeouts?.connectMs,
          responseTimeoutMs: body.timeouts?.responseMs,
          ...tlsChange,
          ...(body.targets !== undefined ? { targets: { deleteMany: {}, create: body.targets.map(target => ({ url: target.url, weight: target.weight })) } } : {})
        }
      })
      audit({ action: 'upstream.update', targetType: 'upstream', targetId: request.params.id, details: { ...body, tls: auditedTls(body.tls) } })
      return await findUpstream(tx, request.params.id)
    })
    return toUpstream(upstream)
  })

  fastify.delete('/upstreams/:id', { schema: { tags, summary: 'Delete an upstream no API uses', params: IdParams, response: { 204: Type.Null(), ...ERROR_RESPONSES } } }, async (request, reply) => {
    await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      const upstream = await findUpstream(tx, request.params.id)
      const users = await tx.api.findMany({ where: { upstreamId: upstream.id }, select: { name: true }, take: 5 })
      if (users.length > 0) throw new ConflictError(`Upstream ${upstream.name} is used by the API(s) ${users.map(api => api.name).join(', ')}`)
      await tx.upstream.delete({ where: { id: upstream.id } })
      audit({ action: 'upstream.delete', targetType: 'upstream', targetId: upstream.id, details: { name: upstream.name } })
    })
    return await reply.code(204).send(null)
  })
}
