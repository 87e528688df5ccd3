// Two validators: query strings, params and headers are text on the wire, so they are
// coerced to the schema's types; JSON bodies are not, so `{"name": 42}` is an error rather
// than the string "42".
import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'
import { validationMessage, type ValidationIssue } from '../domain/error-handler.js'
import { ValidationError } from '../domain/errors.js'

function buildAjv (options: Options): Ajv {
  const ajv = new Ajv({ removeAdditional: false, useDefaults: true, allErrors: false, strict: false, ...options })
  addFormats.default(ajv)
  return ajv
}

export function buildValidatorCompiler (): FastifySchemaCompiler<any> {
  const coercing = buildAjv({ coerceTypes: 'array' })
  const strict = buildAjv({ coerceTypes: false })
  return ({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema as object) as never
}

const bodyAjv = buildAjv({ coerceTypes: false })

/**
 * A validator for a body a route reads itself (a wrapped document arrives as text and is
 * parsed by the route): the same strict rules, the same 400 VALIDATION_FAILED on failure.
 */
export function compileBodyValidator<T> (schema: object): (value: unknown) => T {
  const validate = bodyAjv.compile(schema)
  return value => {
    if (validate(value)) return value as T
    // the same message as a route's own body schema would give (domain/error-handler.ts)
    throw new ValidationError(validationMessage((validate.errors ?? []) as ValidationIssue[], 'body'))
  }
}
