// Two validators: query strings, params and headers are text on the wire, so they are
// coerced to the schema's types; JSON bodies are not, so `{"name": 42}` is an error rather
// than the string "42".
import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'

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
