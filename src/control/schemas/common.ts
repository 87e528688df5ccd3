import { Type } from 'typebox'

export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) })
export const ErrorResponse = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), requestId: Type.Optional(Type.String({ description: 'The X-Request-Id of the request: quote it to support' })) })
}, { description: 'Every error has this shape' })
export const Timestamp = Type.String({ format: 'date-time' })
export const NullableTimestamp = Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
// PostgreSQL text cannot hold NUL, and control characters in names only cause trouble in logs and UIs
export const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '^(?=.*\\S)[^\\u0000-\\u001F\\u007F]+$', description: 'printable text, not only spaces' })
export const Description = Type.String({ maxLength: 5000, pattern: '^[^\\u0000]*$' })

/** Standard 4xx responses for the OpenAPI document. */
export const ERROR_RESPONSES = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  404: ErrorResponse,
  409: ErrorResponse
}
