// /admin/v1/settings — operator settings stored in the database (see services/settings.ts).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ERROR_RESPONSES } from '../../schemas/common.js'
import { readSettings, writeSettings } from '../../services/settings.js'

const SettingsView = Type.Object({
  requirePartnerApproval: Type.Boolean({ description: 'New portal sign-ups start "pending" until an operator sets the partner "active"' }),
  requirePartnerApprovalByConfig: Type.Boolean({ description: 'REQUIRE_PARTNER_APPROVAL is set: approval is required whatever the setting says' }),
  gatewayUrl: Type.Union([Type.String(), Type.Null()], { description: "The gateway's base URL as partners reach it, shown in the portal's code snippets" }),
  portalOrigin: Type.Union([Type.String(), Type.Null()], { description: "The origin the partner portal is served from (scheme://host[:port]); APIs with cors.portal let its try-it console call them" })
})

const SettingsChange = Type.Object({
  requirePartnerApproval: Type.Optional(Type.Boolean()),
  gatewayUrl: Type.Optional(Type.Union([Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2000 }), Type.Null()])),
  portalOrigin: Type.Optional(Type.Union([Type.String({ pattern: '^https?://(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$', maxLength: 300 }), Type.Null()]))
}, { additionalProperties: false, minProperties: 1 })

export const settingRoutes: FastifyPluginAsyncTypebox = async fastify => {
  const tags = ['settings']
  const view = async () => ({ ...await readSettings(fastify.prisma), requirePartnerApprovalByConfig: fastify.appConfig.requirePartnerApproval })

  fastify.get('/settings', { schema: { tags, summary: 'Operator settings', response: { 200: SettingsView, ...ERROR_RESPONSES } } }, view)

  fastify.put('/settings', { schema: { tags, summary: 'Change operator settings (the fields given)', body: SettingsChange, response: { 200: SettingsView, ...ERROR_RESPONSES } } }, async request => {
    await fastify.configWriter.write(request.operator.name, async ({ tx, audit }) => {
      await writeSettings(tx, {
        ...request.body,
        gatewayUrl: request.body.gatewayUrl === undefined ? undefined : request.body.gatewayUrl?.replace(/\/+$/, '') ?? null,
        portalOrigin: request.body.portalOrigin === undefined ? undefined : request.body.portalOrigin?.toLowerCase() ?? null
      })
      audit({ action: 'settings.update', targetType: 'settings', details: request.body })
    })
    return await view()
  })
}
