// /admin/v1/access-requests — the operator's queue of partners' access requests (grants in
// status "requested", with partner, app, API and plan names), and approving or rejecting one.
// Grants in general (create, revoke, list by any status) are /admin/v1/grants.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ConflictError, NotFoundError } from '../../../domain/errors.js'
import { PageQuery, pageArguments, pageOf, toPage } from '../../pagination.js'
import { ERROR_RESPONSES, IdParams, Timestamp } from '../../schemas/common.js'

const GrantStatus = Type.Union([Type.Literal('requested'), Type.Literal('approved'), Type.Literal('rejected'), Type.Literal('revoked')])

const AccessRequest = Type.Object({
  id: Type.String({ format: 'uuid' }),
  status: GrantStatus,
  partnerId: Type.String({ format: 'uuid' }),
  partnerName: Type.String(),
  appId: Type.String({ format: 'uuid' }),
  appName: Type.String(),
  apiId: Type.String({ format: 'uuid' }),
  apiName: Type.String(),
  planId: Type.String({ format: 'uuid' }),
  planName: Type.String(),
  createdAt: Timestamp,
  updatedAt: Timestamp
})

const INCLUDE = { app: { select: { name: true, partnerId: true, partner: { select: { name: true } } } }, api: { select: { name: true } }, plan: { select: { name: true } } } as const

interface GrantRow { id: string, status: string, appId: string, apiId: string, planId: string, createdAt: Date, updatedAt: Date, app: { name: string, partnerId: string, partner: { name: string } }, api: { name: string }, plan: { name: string } }

function toView (grant: GrantRow) {
  return {
    id: grant.id, status: grant.status, partnerId: grant.app.partnerId, partnerName: grant.app.partner.name, appId: grant.appId, appName: grant.app.name,
    apiId: grant.apiId, apiName: grant.api.name, planId: grant.planId, planName: grant.plan.name, createdAt: grant.createdAt, updatedAt: grant.updatedAt
  }
}

export const accessRequestRoutes: FastifyPluginAsyncTypebox = async fastify => {
  const tags = ['grants']

  fastify.get('/access-requests', {
    schema: { tags, summary: "Partners' access requests, pending ones by default", querystring: Type.Object({ ...PageQuery.properties, status: Type.Optional(GrantStatus) }), response: { 200: pageOf(AccessRequest), ...ERROR_RESPONSES } }
  }, async request => {
    const page = pageArguments(request.query)
    const rows = await fastify.prisma.grant.findMany({ ...page, where: { ...page.where, status: request.query.status ?? 'requested' }, include: INCLUDE })
    return toPage(rows, request.query.limit, row => toView(row) as never)
  })

  for (const decision of ['approve', 'reject'] as const) {
    fastify.post(`/access-requests/:id/${decision}`, {
      schema: { tags, summary: `${decision === 'approve' ? 'Approve' : 'Reject'} a pending access request`, params: IdParams, response: { 200: AccessRequest, ...ERROR_RESPONSES } }
    }, async request => {
      const grant = await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
        const existing = await tx.grant.findUnique({ where: { id: request.params.id } })
        if (existing === null) throw new NotFoundError(`Access request ${request.params.id} does not exist`)
        if (existing.status !== 'requested') throw new ConflictError(`The access request is already ${existing.status}`)
        const status = decision === 'approve' ? 'approved' : 'rejected'
        const updated = await tx.grant.update({ where: { id: existing.id }, data: { status }, include: INCLUDE })
        audit({ action: `grant.${decision}`, targetType: 'grant', targetId: existing.id, details: { appId: existing.appId, apiId: existing.apiId, planId: existing.planId } })
        return updated
      })
      return toView(grant) as never
    })
  }
}
