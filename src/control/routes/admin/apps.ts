// /admin/v1 apps and their credentials: an app belongs to a partner and holds the
// credentials partners sign calls with. Secrets appear only in the response that creates them.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { NotFoundError } from '../../../domain/errors.js'
import { APP_POLICIES } from '../../../gateway/policies/registry.js'
import { PageQuery, pageArguments, pageOf, toPage } from '../../pagination.js'
import { AppStatus, Credential, NewSecretFields, RotatedCredential } from '../../schemas/apps.js'
import { ERROR_RESPONSES, IdParams, Name, Timestamp } from '../../schemas/common.js'
import { issueCredential, revokeCredential, rotateCredentials, toCredentialView } from '../../services/credentials.js'
import { policiesToStore, policyBodyFields, policyViewFields, policyViews, withoutPolicies, type StoredPolicies } from '../../services/policy-settings.js'

const App = Type.Object({
  id: Type.String({ format: 'uuid' }),
  partnerId: Type.String({ format: 'uuid' }),
  name: Type.String(),
  status: AppStatus,
  // one field per policy configured per app (APP_POLICIES in src/gateway/policies/registry.ts)
  ...policyViewFields(APP_POLICIES),
  createdAt: Timestamp,
  updatedAt: Timestamp
})

const AppBody = Type.Object({ name: Name, ...policyBodyFields(APP_POLICIES) }, { additionalProperties: false })

const AppPatch = Type.Object({ name: Type.Optional(Name), status: Type.Optional(AppStatus), ...policyBodyFields(APP_POLICIES) }, { additionalProperties: false, minProperties: 1 })

/** An app row as the API shows it: its policies as fields of their own. */
function toAppView<Row extends { policies: unknown }> (row: Row): Omit<Row, 'policies'> & Record<string, unknown> {
  const { policies, ...rest } = row
  return { ...rest, ...policyViews(APP_POLICIES, policies) }
}

const AppWithCredentials = Type.Object({ ...App.properties, credentials: Type.Array(Credential) })

const CreatedApp = Type.Object({ ...App.properties, credentialId: Type.String({ format: 'uuid' }), ...NewSecretFields })

const UsageQuery = Type.Object({
  from: Type.Optional(Type.String({ format: 'date' })),
  to: Type.Optional(Type.String({ format: 'date' }))
})

const Usage = Type.Object({
  appId: Type.String({ format: 'uuid' }),
  from: Type.String({ format: 'date' }),
  to: Type.String({ format: 'date' }),
  items: Type.Array(Type.Object({
    apiId: Type.String({ format: 'uuid' }),
    apiName: Type.String(),
    day: Type.String({ format: 'date' }),
    calls: Type.Integer(),
    rejected: Type.Integer()
  }))
})

const DAY_MS = 86_400_000

export const appRoutes: FastifyPluginAsyncTypebox = async fastify => {
  const tags = ['apps']

  async function findApp (id: string) {
    const app = await fastify.prisma.app.findUnique({ where: { id }, include: { credentials: { orderBy: { createdAt: 'asc' } } } })
    if (app === null) throw new NotFoundError(`App ${id} does not exist`)
    return { ...toAppView(app), credentials: app.credentials.map(toCredentialView) }
  }

  fastify.post('/partners/:id/apps', {
    schema: { tags, summary: 'Create an app with its first credential', params: IdParams, body: AppBody, response: { 201: CreatedApp, ...ERROR_RESPONSES } }
  }, async (request, reply) => {
    const policies = policiesToStore(APP_POLICIES, request.body, {}) ?? {}
    const created = await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      const partner = await tx.partner.findUnique({ where: { id: request.params.id } })
      if (partner === null) throw new NotFoundError(`Partner ${request.params.id} does not exist`)
      const app = await tx.app.create({ data: { partnerId: partner.id, name: request.body.name, policies: policies as object } })
      const credential = await issueCredential(tx, fastify.secretBox, app.id)
      audit({ action: 'app.create', targetType: 'app', targetId: app.id, details: { name: app.name, partnerId: partner.id, key: credential.key, ...policies } })
      return { ...toAppView(app), credentialId: credential.id, key: credential.key, secret: credential.secret, apiKey: credential.apiKey }
    })
    return await reply.code(201).send(created as never)
  })

  fastify.get('/partners/:id/apps', { schema: { tags, summary: "List a partner's apps", params: IdParams, querystring: PageQuery, response: { 200: pageOf(App), ...ERROR_RESPONSES } } }, async request => {
    const partner = await fastify.prisma.partner.findUnique({ where: { id: request.params.id } })
    if (partner === null) throw new NotFoundError(`Partner ${request.params.id} does not exist`)
    const page = pageArguments(request.query)
    const rows = await fastify.prisma.app.findMany({ ...page, where: { ...page.where, partnerId: partner.id } })
    return toPage(rows, request.query.limit, row => toAppView(row) as never)
  })

  fastify.get('/apps/:id', { schema: { tags, summary: 'Get an app and its credentials (never secrets)', params: IdParams, response: { 200: AppWithCredentials, ...ERROR_RESPONSES } } }, async request => {
    return await findApp(request.params.id) as never
  })

  fastify.patch('/apps/:id', {
    schema: { tags, summary: 'Rename, suspend or resume an app, or change its policies (null removes one)', params: IdParams, body: AppPatch, response: { 200: AppWithCredentials, ...ERROR_RESPONSES } }
  }, async request => {
    await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      const app = await tx.app.findUnique({ where: { id: request.params.id } })
      if (app === null) throw new NotFoundError(`App ${request.params.id} does not exist`)
      const policies = policiesToStore(APP_POLICIES, request.body, app.policies as StoredPolicies)
      await tx.app.update({ where: { id: app.id }, data: { ...withoutPolicies(APP_POLICIES, request.body), ...(policies !== undefined ? { policies: policies as object } : {}) } })
      audit({ action: request.body.status !== undefined && request.body.status !== app.status ? `app.${request.body.status === 'suspended' ? 'suspend' : 'resume'}` : 'app.update', targetType: 'app', targetId: app.id, details: request.body })
    })
    return await findApp(request.params.id) as never
  })

  fastify.delete('/apps/:id', { schema: { tags, summary: 'Delete an app with its credentials and grants', params: IdParams, response: { 204: Type.Null(), ...ERROR_RESPONSES } } }, async (request, reply) => {
    await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      const app = await tx.app.findUnique({ where: { id: request.params.id } })
      if (app === null) throw new NotFoundError(`App ${request.params.id} does not exist`)
      await tx.app.delete({ where: { id: app.id } })
      audit({ action: 'app.delete', targetType: 'app', targetId: app.id, details: { name: app.name } })
    })
    return await reply.code(204).send(null)
  })

  fastify.post('/apps/:id/credentials', {
    schema: {
      tags,
      summary: 'Rotate: issue a new credential; the previous ones keep working for the overlap window',
      params: IdParams,
      body: Type.Optional(Type.Object({ overlapSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86400, description: 'default 86400; 0 revokes the previous credentials now' })) }, { additionalProperties: false })),
      response: { 201: RotatedCredential, ...ERROR_RESPONSES }
    }
  }, async (request, reply) => {
    const overlapSeconds = request.body?.overlapSeconds ?? fastify.appConfig.credentialOverlapSeconds
    const rotated = await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      const app = await tx.app.findUnique({ where: { id: request.params.id } })
      if (app === null) throw new NotFoundError(`App ${request.params.id} does not exist`)
      const { issued, previous } = await rotateCredentials(tx, fastify.secretBox, app.id, overlapSeconds)
      audit({ action: 'credential.rotate', targetType: 'app', targetId: app.id, details: { key: issued.key, overlapSeconds, previous: previous.map(each => each.key) } })
      return { ...issued, previous }
    })
    return await reply.code(201).send(rotated as never)
  })

  fastify.delete('/apps/:id/credentials/:keyId', {
    schema: { tags, summary: 'Revoke a credential at once (by credential id or key)', params: Type.Object({ id: Type.String({ format: 'uuid' }), keyId: Type.String({ minLength: 1, maxLength: 100 }) }), response: { 204: Type.Null(), ...ERROR_RESPONSES } }
  }, async (request, reply) => {
    await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      const app = await tx.app.findUnique({ where: { id: request.params.id } })
      if (app === null) throw new NotFoundError(`App ${request.params.id} does not exist`)
      const revoked = await revokeCredential(tx, app.id, request.params.keyId)
      audit({ action: 'credential.revoke', targetType: 'app', targetId: app.id, details: { key: revoked.key } })
    })
    return await reply.code(204).send(null)
  })

  fastify.get('/apps/:id/usage', { schema: { tags, summary: 'Calls per API per day (UTC), flushed by the gateways', params: IdParams, querystring: UsageQuery, response: { 200: Usage, ...ERROR_RESPONSES } } }, async request => {
    const app = await fastify.prisma.app.findUnique({ where: { id: request.params.id } })
    if (app === null) throw new NotFoundError(`App ${request.params.id} does not exist`)
    const to = request.query.to !== undefined ? new Date(`${request.query.to}T00:00:00Z`) : new Date(new Date().toISOString().slice(0, 10) + 'T00:00:00Z')
    const from = request.query.from !== undefined ? new Date(`${request.query.from}T00:00:00Z`) : new Date(to.getTime() - 29 * DAY_MS)
    const rows = await fastify.prisma.usageDaily.findMany({ where: { appId: app.id, day: { gte: from, lte: to } }, orderBy: [{ day: 'asc' }, { apiId: 'asc' }] })
    const apis = await fastify.prisma.api.findMany({ where: { id: { in: [...new Set(rows.map(row => row.apiId))] } }, select: { id: true, name: true } })
    const apiNames = new Map(apis.map(api => [api.id, api.name]))
    return {
      appId: app.id,
      from: from.toISOString().slice(0, 10),
      to: to.toISOString().slice(0, 10),
      items: rows.map(row => ({ apiId: row.apiId, apiName: apiNames.get(row.apiId) ?? '(deleted)', day: row.day.toISOString().slice(0, 10), calls: Number(row.calls), rejected: Number(row.rejected) }))
    }
  })
}
