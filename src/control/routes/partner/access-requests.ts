// /partner/v1/access-requests — a partner asks for one of its apps to call an API on a
// plan the API offers. The grant starts "requested" (an operator approves or rejects it), or
// "approved" at once when the API auto-approves. The gateway sees approved grants only.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { BadRequestError, ConflictError, NotFoundError } from '../../../domain/errors.js'
import { requireActivePartner } from '../../plugins/partner-session.js'
import { IdParams, Timestamp } from '../../schemas/common.js'
import { readApiPlanIds } from '../../services/api-plans.js'
import { PARTNER_ERRORS, PARTNER_ROUTE } from './schemas.js'

const GrantStatus = Type.Union([Type.Literal('requested'), Type.Literal('approved'), Type.Literal('rejected'), Type.Literal('revoked')])

const AccessRequest = Type.Object({
  id: Type.String({ format: 'uuid' }),
  appId: Type.String({ format: 'uuid' }),
  appName: Type.String(),
  apiId: Type.String({ format: 'uuid' }),
  apiName: Type.String(),
  planId: Type.String({ format: 'uuid' }),
  planName: Type.String(),
  status: GrantStatus,
  createdAt: Timestamp,
  updatedAt: Timestamp
})

const INCLUDE = { app: { select: { name: true } }, api: { select: { name: true } }, plan: { select: { name: true } } } as const

function toView (grant: { id: string, appId: string, apiId: string, planId: string, status: string, createdAt: Date, updatedAt: Date, app: { name: string }, api: { name: string }, plan: { name: string } }) {
  return { id: grant.id, appId: grant.appId, appName: grant.app.name, apiId: grant.apiId, apiName: grant.api.name, planId: grant.planId, planName: grant.plan.name, status: grant.status, createdAt: grant.createdAt, updatedAt: grant.updatedAt }
}

export const accessRequestRoutes: FastifyPluginAsyncTypebox = async fastify => {
  fastify.get('/access-requests', {
    schema: { ...PARTNER_ROUTE, summary: "My apps' access requests and grants, with their status", querystring: Type.Object({ appId: Type.Optional(Type.String({ format: 'uuid' })) }), response: { 200: Type.Object({ items: Type.Array(AccessRequest) }), ...PARTNER_ERRORS } }
  }, async request => {
    const session = requireActivePartner(request)
    const rows = await fastify.prisma.grant.findMany({
      where: { app: { partnerId: session.partnerId }, ...(request.query.appId !== undefined ? { appId: request.query.appId } : {}) },
      include: INCLUDE,
      orderBy: { createdAt: 'desc' },
      take: 1000
    })
    return { items: rows.map(toView) as never }
  })

  fastify.post('/access-requests', {
    schema: {
      ...PARTNER_ROUTE,
      summary: 'Request access for an app to an API on one of the plans it offers',
      body: Type.Object({ appId: Type.String({ format: 'uuid' }), apiId: Type.String({ format: 'uuid' }), planId: Type.String({ format: 'uuid' }) }, { additionalProperties: false }),
      response: { 201: AccessRequest, ...PARTNER_ERRORS }
    }
  }, async (request, reply) => {
    const session = requireActivePartner(request)
    const { appId, apiId, planId } = request.body
    const grant = await fastify.configWriter.write(`partner:${session.userId}`, async ({ tx, audit }) => {
      const app = await tx.app.findFirst({ where: { id: appId, partnerId: session.partnerId } })
      if (app === null) throw new NotFoundError(`App ${appId} does not exist`)
      const api = await tx.api.findUnique({ where: { id: apiId }, select: { id: true, name: true, autoApprove: true } })
      if (api === null) throw new NotFoundError(`API ${apiId} does not exist`)
      const offered = (await readApiPlanIds(tx, [api.id])).get(api.id) ?? []
      const plan = await tx.plan.findUnique({ where: { id: planId } })
      if (plan === null || (offered.length > 0 && !offered.includes(plan.id))) throw new BadRequestError(`The API ${api.name} does not offer the plan ${planId}`)
      const existing = await tx.grant.findUnique({ where: { appId_apiId: { appId, apiId } } })
      if (existing !== null && (existing.status === 'requested' || existing.status === 'approved')) {
        throw new ConflictError(`The app already has ${existing.status === 'approved' ? 'access' : 'a pending request'} for ${api.name}`)
      }
      // auto-approval does not undo an operator's revocation: that request waits for an operator
      const status = api.autoApprove && existing?.status !== 'revoked' ? 'approved' : 'requested'
      const saved = existing === null
        ? await tx.grant.create({ data: { appId, apiId, planId, status }, include: INCLUDE })
        : await tx.grant.update({ where: { id: existing.id }, data: { planId, status }, include: INCLUDE })
      audit({ action: status === 'approved' ? 'grant.auto-approve' : 'grant.request', targetType: 'grant', targetId: saved.id, details: { appId, apiId, planId } })
      return saved
    })
    if (grant.status === 'requested') {
      fastify.operatorNotifier.notify({
        type: 'grant.requested',
        data: { grantId: grant.id, partnerId: session.partnerId, partnerName: session.partnerName, appId, appName: grant.app.name, apiId, apiName: grant.api.name, planId, planName: grant.plan.name, requestedBy: session.email }
      })
    }
    return await reply.code(201).send(toView(grant) as never)
  })

  fastify.delete('/access-requests/:id', {
    schema: { ...PARTNER_ROUTE, summary: 'Withdraw a pending request, or give up an approved access', params: IdParams, response: { 204: Type.Null(), ...PARTNER_ERRORS } }
  }, async (request, reply) => {
    const session = requireActivePartner(request)
    await fastify.configWriter.write(`partner:${session.userId}`, async ({ tx, audit }) => {
      const grant = await tx.grant.findFirst({ where: { id: request.params.id, app: { partnerId: session.partnerId } } })
      if (grant === null) throw new NotFoundError(`Access request ${request.params.id} does not exist`)
      // a rejection or revocation stays on record, so that auto-approval cannot bypass it
      if (grant.status !== 'requested' && grant.status !== 'approved') throw new ConflictError(`The request is ${grant.status}`)
      await tx.grant.delete({ where: { id: grant.id } })
      audit({ action: 'grant.withdraw', targetType: 'grant', targetId: grant.id, details: { appId: grant.appId, apiId: grant.apiId, status: grant.status } })
    })
    return await reply.code(204).send(null)
  })
}
