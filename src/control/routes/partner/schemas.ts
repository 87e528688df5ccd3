// Schemas shared by the partner API routes.
import { Type } from 'typebox'
import { ERROR_RESPONSES } from '../../schemas/common.js'

export const TAGS = ['partner']

/** Partner routes authenticate with the portal session cookie, not an operator token. */
export const PARTNER_ROUTE = { tags: TAGS, security: [] as Array<Record<string, string[]>> }

export const PARTNER_ERRORS = { ...ERROR_RESPONSES, 429: ERROR_RESPONSES[400] }

export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 320 })
export const Password = Type.String({ minLength: 10, maxLength: 200, description: 'at least 10 characters' })
/** A one-time link's token, `<id>.<verifier>`, sent in the body so that it stays out of access logs. */
export const LinkToken = Type.String({ minLength: 1, maxLength: 200 })

export const PartnerRole = Type.Union([Type.Literal('admin'), Type.Literal('developer')], { description: 'admin: everything, the team included; developer: apps, credentials, access requests and usage' })

export const Me = Type.Object({
  user: Type.Object({
    id: Type.String({ format: 'uuid' }),
    email: Type.String(),
    name: Type.Union([Type.String(), Type.Null()]),
    role: PartnerRole,
    emailVerified: Type.Boolean()
  }),
  partner: Type.Object({
    id: Type.String({ format: 'uuid' }),
    name: Type.String(),
    status: Type.Union([Type.Literal('active'), Type.Literal('pending'), Type.Literal('suspended')])
  }),
  csrfToken: Type.String({ description: 'Send it back in X-CSRF-Token on every POST, PATCH, PUT and DELETE' }),
  expiresAt: Type.String({ format: 'date-time' }),
  gatewayUrl: Type.String({ description: 'Base URL of the gateway, for code snippets' })
})
