// Schema errors (the control API's validators) come back as the fields a person can fix, not Ajv's every failed branch.
import Fastify, { type FastifyError } from 'fastify'
import { Type } from 'typebox'
import { describe, expect, it } from 'vitest'
import { buildValidatorCompiler } from '../../../src/control/validation.js'
import { errorHandler } from '../../../src/domain/error-handler.js'

async function validationError (body: unknown): Promise<{ status: number, error: { code: string, message: string } }> {
  // the control API's validators: unknown properties are refused, not dropped
  const fastify = Fastify()
  fastify.setValidatorCompiler(buildValidatorCompiler())
  fastify.setErrorHandler((error: FastifyError, request, reply) => { errorHandler(error, request, reply) })
  const schema = Type.Object({
    cors: Type.Optional(Type.Union([Type.Object({ origins: Type.Array(Type.String({ pattern: '^https?://' })) }, { additionalProperties: false }), Type.Null()])),
    name: Type.Optional(Type.String({ minLength: 1 }))
  }, { additionalProperties: false })
  fastify.post('/', { schema: { body: schema } }, async () => ({ ok: true }))
  const response = await fastify.inject({ method: 'POST', url: '/', payload: body as object })
  await fastify.close()
  return { status: response.statusCode, error: response.json().error }
}

describe('validation errors', () => {
  it('names the wrong value of a nullable field without "must be null" and the anyOf around it', async () => {
    const { status, error } = await validationError({ cors: { origins: ['ftp://example.com'] } })
    expect(status).toBe(400)
    expect(error.code).toBe('VALIDATION_FAILED')
    expect(error.message).toBe('body/cors/origins/0 must match pattern "^https?://"')
  })

  it('names an unknown property', async () => {
    const { error } = await validationError({ cors: { origins: [], credential: true } })
    expect(error.message).toBe("body/cors must NOT have additional properties ('credential')")
  })

  it('lists each field that is wrong', async () => {
    const { error } = await validationError({ cors: 5, name: '' })
    expect(error.message).toContain('body/cors must be object')
    expect(error.message).not.toContain('must be null')
  })
})
