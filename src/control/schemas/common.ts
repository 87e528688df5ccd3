import { Type } from 'typebox'

export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) })
export const ErrorResponse = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() })
}, { description: 'Every error has this shape' })
export const Timestamp = Type.String({ format: 'date-time' })
export const NullableTimestamp = Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
export const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' })

/** Standard 4xx responses for the OpenAPI document. */
export const ERROR_RESPONSES = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  404: ErrorResponse,
  409: ErrorResponse
}
