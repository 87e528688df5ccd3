// /admin/v1/grants — which app may call which API, on which plan. Operator grants are
// approved unless asked otherwise; revoking takes effect on every gateway within a second.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ConflictError, NotFoundError } from '../../../domain/errors.js'
import type { Transaction } from '../../../store/config-writer.js'
import { PageQuery, pageArguments, pageOf, toPage } from '../../pagination.js'
import { ERROR_RESPONSES, IdParams, Timestamp } from '../../schemas/common.js'

const GrantStatus = Type.Union([Type.Literal('requested'), Type.Literal('approved'), Type.Literal('rejected'), Type.Literal('revoked')])

const Grant = Type.Object({
  id: Type.String({ format: 'uuid' }),
  appId: Type.String({ format: 'uuid' }),
  apiId: Type.String({ format: 'uuid' }),
  planId: Type.String({ format: 'uuid' }),
  status: GrantStatus,
  createdAt: Timestamp,
  updatedAt: Timestamp,
  partnerId: Type.String({ format: 'uuid' }),
  partnerName: Type.String(),
  appName: Type.String(),
  apiName: Type.String(),
  planName: Type.String()
})

// names come along, so that a queue of requests can be read without looking up every id
const WITH_NAMES = { app: { select: { name: true, partner: { select: { id: true, name: true } } } }, api: { select: { name: true } }, plan: { select: { name: true } } } as const

function grantView (grant: { id: string, appId: string, apiId: string, planId: string, status: string, createdAt: Date, updatedAt: Date, app: { name: string, partner: { id: string, name: string } }, api: { name: string }, plan: { name: string } }) {
  const { app, api, plan, ...fields } = grant
  return { ...fields, partnerId: app.partner.id, partnerName: app.partner.name, appName: app.name, apiName: api.name, planName: plan.name }
}

const GrantQuery = Type.Object({
  ...PageQuery.properties,
  appId: Type.Optional(Type.String({ format: 'uuid' })),
  apiId: Type.Optional(Type.String({ format: 'uuid' })),
  status: Type.Optional(GrantStatus)
})

async function checkReferences (tx: Transaction, references: { appId?: string, apiId?: string, planId?: string }): Promise<void> {
  if (references.appId !== undefined && await tx.app.findUnique({ where: { id: references.appId } }) === null) throw new NotFoundError(`App ${references.appId} does not exist`)
  if (references.apiId !== undefined && await tx.api.findUnique({ where: { id: references.apiId } }) === null) throw new NotFoundError(`API ${references.apiId} does not exist`)
  if (references.planId !== undefined && await tx.plan.findUnique({ where: { id: references.planId } }) === null) throw new NotFoundError(`Plan ${references.planId} does not exist`)
}

export const grantRoutes: FastifyPluginAsyncTypebox = async fastify => {
  const tags = ['grants']

  fastify.post('/grants', {
    schema: {
      tags,
      summary: 'Grant an app access to an API on a plan (409 if the app already has a grant for the API: change that one)',
      body: Type.Object({ appId: Type.String({ format: 'uuid' }), apiId: Type.String({ format: 'uuid' }), planId: Type.String({ format: 'uuid' }), status: Type.Optional(Type.Union([Type.Literal('approved'), Type.Literal('requested')])) }, { additionalProperties: false }),
      response: { 201: Grant, ...ERROR_RESPONSES }
    }
  }, async (request, reply) => {
    const body = request.body
    const grant = await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      await checkReferences(tx, body)
      const existing = await tx.grant.findUnique({ where: { appId_apiId: { appId: body.appId, apiId: body.apiId } } })
      if (existing !== null) throw new ConflictError(`The app already has a grant for this API (${existing.id}, ${existing.status})`)
      const created = await tx.grant.create({ data: { ...body, status: body.status ?? 'approved' }, include: WITH_NAMES })
      audit({ action: 'grant.create', targetType: 'grant', targetId: created.id, details: { ...body, status: created.status } })
      return created
    })
    return await reply.code(201).send(grantView(grant) as never)
  })

  fastify.get('/grants', { schema: { tags, summary: 'List grants, filtered by app, API or status', querystring: GrantQuery, response: { 200: pageOf(Grant), ...ERROR_RESPONSES } } }, async request => {
    const { appId, apiId, status } = request.query
    const page = pageArguments(request.query)
    const rows = await fastify.prisma.grant.findMany({ ...page, include: WITH_NAMES, where: { ...page.where, ...(appId !== undefined ? { appId } : {}), ...(apiId !== undefined ? { apiId } : {}), ...(status !== undefined ? { status } : {}) } })
    return toPage(rows, request.query.limit, row => grantView(row) as never)
  })

  fastify.get('/grants/:id', { schema: { tags, summary: 'Get a grant', params: IdParams, response: { 200: Grant, ...ERROR_RESPONSES } } }, async request => {
    const grant = await fastify.prisma.grant.findUnique({ where: { id: request.params.id }, include: WITH_NAMES })
    if (grant === null) throw new NotFoundError(`Grant ${request.params.id} does not exist`)
    return grantView(grant) as never
  })

  fastify.patch('/grants/:id', {
    schema: { tags, summary: 'Approve, reject or revoke a grant, or move it to another plan', params: IdParams, body: Type.Object({ status: Type.Optional(Type.Union([Type.Literal('approved'), Type.Literal('rejected'), Type.Literal('revoked')])), planId: Type.Optional(Type.String({ format: 'uuid' })), reason: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'why, for the audit log (e.g. of a rejection)' })) }, { additionalProperties: false, minProperties: 1 }), response: { 200: Grant, ...ERROR_RESPONSES } }
  }, async request => {
    const grant = await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      const existing = await tx.grant.findUnique({ where: { id: request.params.id } })
      if (existing === null) throw new NotFoundError(`Grant ${request.params.id} does not exist`)
      await checkReferences(tx, { planId: request.body.planId })
      const { reason: _reason, ...change } = request.body
      const updated = await tx.grant.update({ where: { id: existing.id }, data: change, include: WITH_NAMES })
      const action = request.body.status !== undefined && request.body.status !== existing.status ? `grant.${request.body.status === 'approved' ? 'approve' : request.body.status === 'rejected' ? 'reject' : 'revoke'}` : 'grant.update'
      audit({ action, targetType: 'grant', targetId: existing.id, details: { ...request.body, appId: existing.appId, apiId: existing.apiId } })
      return updated
    })
    return grantView(grant) as never
  })

  fastify.delete('/grants/:id', { schema: { tags, summary: 'Delete a grant', params: IdParams, response: { 204: Type.Null(), ...ERROR_RESPONSES } } }, async (request, reply) => {
    await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      const existing = await tx.grant.findUnique({ where: { id: request.params.id } })
      if (existing === null) throw new NotFoundError(`Grant ${request.params.id} does not exist`)
      await tx.grant.delete({ where: { id: existing.id } })
      audit({ action: 'grant.delete', targetType: 'grant', targetId: existing.id, details: { appId: existing.appId, apiId: existing.apiId } })
    })
    return await reply.code(204).send(null)
  })
}
