// /admin/v1/signing-keys — the OAuth2 token signing keys, and their rotation.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ERROR_RESPONSES, NullableTimestamp, Timestamp } from '../../schemas/common.js'
import type { SigningKeys } from '../../services/signing-keys.js'

export function signingKeyRoutes (signingKeys: SigningKeys): FastifyPluginAsyncTypebox {
  return async fastify => {
    const tags = ['oauth']
    fastify.get('/signing-keys', {
      schema: { tags, summary: 'Published token signing keys: the active one and retired ones still verifying tokens', response: { 200: Type.Object({ items: Type.Array(Type.Object({ kid: Type.String(), alg: Type.String(), createdAt: Timestamp, retiredAt: NullableTimestamp })) }), ...ERROR_RESPONSES } }
    }, async () => ({ items: (await signingKeys.published(fastify.appConfig.tokenTtlSeconds)).map(key => ({ kid: key.kid, alg: key.alg, createdAt: key.createdAt, retiredAt: key.retiredAt })) as never }))

    fastify.post('/signing-keys/rotate', {
      schema: { tags, summary: 'Sign new tokens with a new key; the previous key stays published until its tokens expire', response: { 201: Type.Object({ kid: Type.String(), retired: Type.Array(Type.String()) }), ...ERROR_RESPONSES } }
    }, async (request, reply) => await reply.code(201).send(await signingKeys.rotate(request.operator.name)))
  }
}
