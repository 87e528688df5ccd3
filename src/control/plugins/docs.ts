// The OpenAPI 3 document of the control API at /docs/json and a browsable page at /docs.
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

async function docs (fastify: FastifyInstance): Promise<void> {
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Partner API gateway — control API',
        description: 'Operator API (/admin/v1, Bearer operator token) and partner API (/partner/v1, portal session).',
        version: '1'
      },
      components: {
        securitySchemes: {
          operatorToken: { type: 'http', scheme: 'bearer', description: 'GATEWAY_ADMIN_TOKEN or a token from `admin-token create`' }
        }
      },
      security: [{ operatorToken: [] }]
    }
  })
  await fastify.register(swaggerUi, { routePrefix: '/docs' })
}

export default fp(docs, { name: 'docs', fastify: '5.x' })
