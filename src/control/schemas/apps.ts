// Schemas of apps and credentials shared by the operator and partner APIs.
import { Type } from 'typebox'
import { NullableTimestamp, Timestamp } from './common.js'

export const AppStatus = Type.Union([Type.Literal('active'), Type.Literal('suspended')])

export const Credential = Type.Object({
  id: Type.String({ format: 'uuid' }),
  key: Type.String(),
  apiKeyPrefix: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('expiring'), Type.Literal('revoked'), Type.Literal('expired')]),
  createdAt: Timestamp,
  expiresAt: NullableTimestamp,
  revokedAt: NullableTimestamp
})

/** Returned once, when a credential is created or rotated; never again. */
export const NewSecretFields = {
  key: Type.String({ description: 'Public app key (X-Ca-Key, OAuth2 client_id)' }),
  secret: Type.String({ description: 'HMAC secret — shown in this response only' }),
  apiKey: Type.String({ description: 'API key for X-Api-Key — shown in this response only' })
}

export const RotatedCredential = Type.Object({
  id: Type.String({ format: 'uuid' }),
  ...NewSecretFields,
  createdAt: Timestamp,
  previous: Type.Array(Credential, { description: 'Credentials that stay valid until their expiresAt' })
})
