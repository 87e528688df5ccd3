// One error handler for every Fastify instance: maps Fastify's own and our catalogue's
// errors to {"error":{"code","message","requestId"}} with a 4xx status, and hides 5xx details.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'

export interface ErrorBody {
  error: { code: string, message: string, requestId?: string }
}

const FASTIFY_CODE_MAP: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED'
}

/** The error body; `requestId` is what the partner quotes to support. */
export function errorBody (code: string, message: string, requestId?: string): ErrorBody {
  return { error: requestId === undefined ? { code, message } : { code, message, requestId } }
}

export type ValidationIssue = NonNullable<FastifyError['validation']>[number]

/** Says what is wrong with the field, naming an unknown property (Ajv's message leaves it out). */
function describeIssue (context: string, issue: ValidationIssue): string {
  const unknown = issue.keyword === 'additionalProperties' ? (issue.params as { additionalProperty?: string }).additionalProperty : undefined
  return `${context}${issue.instancePath} ${issue.message ?? 'is invalid'}${unknown !== undefined ? ` ('${unknown}')` : ''}`
}

/**
 * The schema errors a person can act on, of the request part `context` ('body', 'querystring').
 * A nullable field is `anyOf [its schema, null]`: a wrong value also fails "must be null" and
 * the anyOf itself, which only repeat that the value is wrong. Empty when there are none.
 */
export function validationMessage (issues: readonly ValidationIssue[], context: string): string {
  const specific = issues.filter(issue => issue.keyword !== 'anyOf' && issue.keyword !== 'oneOf' && !(issue.keyword === 'type' && (issue.params as { type?: string }).type === 'null'))
  return [...new Set((specific.length > 0 ? specific : issues).map(issue => describeIssue(context, issue)))].join(', ')
}

export function toErrorResponse (error: FastifyError, requestId?: string): { statusCode: number, body: ErrorBody } {
  if (error.validation !== undefined) {
    const message = validationMessage(error.validation, error.validationContext ?? 'body')
    return { statusCode: 400, body: errorBody('VALIDATION_FAILED', message === '' ? error.message : message, requestId) }
  }
  const statusCode = error.statusCode ?? 500
  if (statusCode >= 500) {
    return { statusCode, body: errorBody(error.code?.startsWith('FST_') === false && error.code !== undefined ? error.code : 'INTERNAL_ERROR', statusCode === 500 ? 'Internal server error' : error.message, requestId) }
  }
  // a JSON parse failure inside Fastify carries a SyntaxError with status 400 and no code
  const code = error.code !== undefined ? (FASTIFY_CODE_MAP[error.code] ?? (error.code.startsWith('FST_') ? 'BAD_REQUEST' : error.code)) : (error instanceof SyntaxError ? 'MALFORMED_JSON' : 'BAD_REQUEST')
  return { statusCode, body: errorBody(code, error.message, requestId) }
}

/** Sends the error body; returns its code (for the access log). */
export function errorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): string {
  const { statusCode, body } = toErrorResponse(error, String(request.id))
  // servers without a child logger per request (the gateway) get the request id written here
  if (statusCode >= 500) {
    const bound = (request.log as { bindings?: () => Record<string, unknown> }).bindings?.().reqId !== undefined
    request.log.error(bound ? { err: error } : { err: error, reqId: request.id }, 'request failed')
  }
  void reply.code(statusCode).send(body)
  return body.error.code
}

export function notFoundHandler (request: FastifyRequest, reply: FastifyReply): void {
  void reply.code(404).send(errorBody('NOT_FOUND', `No resource at ${request.method} ${request.url.split('?')[0]}`, String(request.id)))
}
