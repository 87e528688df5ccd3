// /partner/v1/apps — the logged-in partner's apps and credentials. Every query is scoped
// by the session's partner: another partner's app id answers 404, exactly like a missing one.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { NotFoundError } from '../../../domain/errors.js'
import { APP_POLICIES } from '../../../gateway/policies/registry.js'
import type { Transaction } from '../../../store/config-writer.js'
import { requireActivePartner } from '../../plugins/partner-session.js'
import { IdParams, Name, Timestamp } from '../../schemas/common.js'
import { issueCredential, revokeCredential, rotateCredentials, toCredentialView } from '../../services/credentials.js'
import { AppStatus, Credential, NewSecretFields, RotatedCredential } from '../../schemas/apps.js'
import { policiesToStore, policyBodyFields, policyViewFields, policyViews, withoutPolicies, type StoredPolicies } from '../../services/policy-settings.js'
import { PARTNER_ERRORS, PARTNER_ROUTE } from './schemas.js'

const App = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  status: AppStatus,
  // the app's own policies, e.g. an IP allow list that locks its credentials to the partner's servers
  ...policyViewFields(APP_POLICIES),
  createdAt: Timestamp,
  updatedAt: Timestamp
})

function toAppView (app: { id: string, name: string, status: string, policies: unknown, createdAt: Date, updatedAt: Date }) {
  return { id: app.id, name: app.name, status: app.status, ...policyViews(APP_POLICIES, app.policies), createdAt: app.createdAt, updatedAt: app.updatedAt }
}

const AppDetail = Type.Object({ ...App.properties, credentials: Type.Array(Credential) })

const CreatedApp = Type.Object({ ...App.properties, credentialId: Type.String({ format: 'uuid' }), ...NewSecretFields })

const MAX_OVERLAP_SECONDS = 7 * 86400

export const appRoutes: FastifyPluginAsyncTypebox = async fastify => {
  const actor = (userId: string): string => `partner:${userId}`

  async function ownApp (tx: Transaction, partnerId: string, id: string) {
    const app = await tx.app.findFirst({ where: { id, partnerId } })
    if (app === null) throw new NotFoundError(`App ${id} does not exist`)
    return app
  }

  async function appDetail (partnerId: string, id: string) {
    const app = await fastify.prisma.app.findFirst({ where: { id, partnerId }, include: { credentials: { orderBy: { createdAt: 'desc' } } } })
    if (app === null) throw new NotFoundError(`App ${id} does not exist`)
    return { ...toAppView(app), credentials: app.credentials.map(toCredentialView) }
  }

  fastify.get('/apps', { schema: { ...PARTNER_ROUTE, summary: 'List my apps', response: { 200: Type.Object({ items: Type.Array(App) }), ...PARTNER_ERRORS } } }, async request => {
    const session = requireActivePartner(request)
    const rows = await fastify.prisma.app.findMany({ where: { partnerId: session.partnerId }, orderBy: { createdAt: 'asc' }, take: 500 })
    return { items: rows.map(toAppView) as never }
  })

  fastify.post('/apps', {
    schema: { ...PARTNER_ROUTE, summary: 'Create an app; the response holds its secret and API key, shown this once', body: Type.Object({ name: Name, ...policyBodyFields(APP_POLICIES) }, { additionalProperties: false }), response: { 201: CreatedApp, ...PARTNER_ERRORS } }
  }, async (request, reply) => {
    const session = requireActivePartner(request)
    const policies = policiesToStore(APP_POLICIES, request.body, {}) ?? {}
    const created = await fastify.configWriter.write(actor(session.userId), async ({ tx, audit }) => {
      const app = await tx.app.create({ data: { partnerId: session.partnerId, name: request.body.name, policies: policies as object } })
      const credential = await issueCredential(tx, fastify.secretBox, app.id)
      audit({ action: 'app.create', targetType: 'app', targetId: app.id, details: { name: app.name, partnerId: session.partnerId, key: credential.key, ...policies } })
      return { ...toAppView(app), credentialId: credential.id, key: credential.key, secret: credential.secret, apiKey: credential.apiKey }
    })
    return await reply.code(201).send(created as never)
  })

  fastify.get('/apps/:id', { schema: { ...PARTNER_ROUTE, summary: 'One of my apps with its credentials (never secrets)', params: IdParams, response: { 200: AppDetail, ...PARTNER_ERRORS } } }, async request => {
    const session = requireActivePartner(request)
    return await appDetail(session.partnerId, request.params.id) as never
  })

  fastify.patch('/apps/:id', {
    schema: { ...PARTNER_ROUTE, summary: 'Rename, suspend or resume an app, or change its policies (null removes one)', params: IdParams, body: Type.Object({ name: Type.Optional(Name), status: Type.Optional(AppStatus), ...policyBodyFields(APP_POLICIES) }, { additionalProperties: false, minProperties: 1 }), response: { 200: AppDetail, ...PARTNER_ERRORS } }
  }, async request => {
    const session = requireActivePartner(request)
    await fastify.configWriter.write(actor(session.userId), async ({ tx, audit }) => {
      const app = await ownApp(tx, session.partnerId, request.params.id)
      const policies = policiesToStore(APP_POLICIES, request.body, app.policies as StoredPolicies)
      await tx.app.update({ where: { id: app.id }, data: { ...withoutPolicies(APP_POLICIES, request.body), ...(policies !== undefined ? { policies: policies as object } : {}) } })
      const action = request.body.status !== undefined && request.body.status !== app.status ? `app.${request.body.status === 'suspended' ? 'suspend' : 'resume'}` : 'app.update'
      audit({ action, targetType: 'app', targetId: app.id, details: request.body })
    })
    return await appDetail(session.partnerId, request.params.id) as never
  })

  fastify.delete('/apps/:id', { schema: { ...PARTNER_ROUTE, summary: 'Delete an app with its credentials and access', params: IdParams, response: { 204: Type.Null(), ...PARTNER_ERRORS } } }, async (request, reply) => {
    const session = requireActivePartner(request)
    await fastify.configWriter.write(actor(session.userId), async ({ tx, audit }) => {
      const app = await ownApp(tx, session.partnerId, request.params.id)
      await tx.app.delete({ where: { id: app.id } })
      audit({ action: 'app.delete', targetType: 'app', targetId: app.id, details: { name: app.name } })
    })
    return await reply.code(204).send(null)
  })

  fastify.post('/apps/:id/credentials', {
    schema: {
      ...PARTNER_ROUTE,
      summary: 'Rotate: issue a new credential; the previous ones keep working for the overlap window',
      params: IdParams,
      body: Type.Optional(Type.Object({ overlapSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_OVERLAP_SECONDS, description: 'default 86400; 0 revokes the previous credentials now' })) }, { additionalProperties: false })),
      response: { 201: RotatedCredential, ...PARTNER_ERRORS }
    }
  }, async (request, reply) => {
    const session = requireActivePartner(request)
    const overlapSeconds = request.body?.overlapSeconds ?? Math.min(fastify.appConfig.credentialOverlapSeconds, MAX_OVERLAP_SECONDS)
    const rotated = await fastify.configWriter.write(actor(session.userId), async ({ tx, audit }) => {
      const app = await ownApp(tx, session.partnerId, request.params.id)
      const { issued, previous } = await rotateCredentials(tx, fastify.secretBox, app.id, overlapSeconds)
      audit({ action: 'credential.rotate', targetType: 'app', targetId: app.id, details: { key: issued.key, overlapSeconds, previous: previous.map(each => each.key) } })
      return { ...issued, previous }
    })
    return await reply.code(201).send(rotated as never)
  })

  fastify.delete('/apps/:id/credentials/:credentialId', {
    schema: { ...PARTNER_ROUTE, summary: 'Revoke a credential at once', params: Type.Object({ id: Type.String({ format: 'uuid' }), credentialId: Type.String({ format: 'uuid' }) }), response: { 204: Type.Null(), ...PARTNER_ERRORS } }
  }, async (request, reply) => {
    const session = requireActivePartner(request)
    await fastify.configWriter.write(actor(session.userId), async ({ tx, audit }) => {
      const app = await ownApp(tx, session.partnerId, request.params.id)
      const revoked = await revokeCredential(tx, app.id, request.params.credentialId)
      audit({ action: 'credential.revoke', targetType: 'app', targetId: app.id, details: { key: revoked.key } })
    })
    return await reply.code(204).send(null)
  })
}
