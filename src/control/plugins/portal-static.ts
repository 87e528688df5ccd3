// The partner portal: the static files Vite builds into portal/dist, served under /portal.
// Hashed assets are cached for a year; index.html is revalidated on every load, and any
// other path under /portal gets index.html too, so that the single-page app's own URLs work
// on reload. A strict Content-Security-Policy applies: every asset is local, and the page
// connects to its own origin and to the gateway's (the try-it console calls the gateway).
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ServiceUnavailableError } from '../../domain/errors.js'
import { publicGatewayUrl } from '../services/gateway-url.js'

// src/control/plugins and dist/control/plugins are both three levels below the project root
export const PORTAL_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../portal/dist')

const PREFIX = '/portal'
const csp = (connectTo: string): string => `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ${connectTo}; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'`
const ASSET_CSP = csp("'self'")

/** Also sent with the operator console (console-static.ts), the same app, which connects to its own origin only. */
export const PORTAL_SECURITY_HEADERS = {
  'content-security-policy': ASSET_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY'
}

function noCache (reply: FastifyReply): void {
  void reply.header('cache-control', 'no-cache')
}

export default async function portalStatic (fastify: FastifyInstance, options: { root?: string } = {}): Promise<void> {
  const root = options.root ?? PORTAL_DIST

  async function gatewayOrigin (request: FastifyRequest): Promise<string> {
    return new URL(await publicGatewayUrl(fastify.prisma, fastify.appConfig.gatewayPort, request)).origin
  }

  fastify.addHook('onSend', async (request, reply) => {
    if (!request.url.startsWith(PREFIX)) return
    void reply.headers(PORTAL_SECURITY_HEADERS)
    // only a document's policy governs what its scripts may connect to: the portal's pages also reach the gateway
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) void reply.header('content-security-policy', csp(`'self' ${await gatewayOrigin(request)}`))
  })

  fastify.get(PREFIX, { schema: { hide: true } }, async (_request, reply) => await reply.redirect(`${PREFIX}/`, 301))

  if (!existsSync(path.join(root, 'index.html'))) {
    fastify.get(`${PREFIX}/*`, { schema: { hide: true } }, async () => {
      throw new ServiceUnavailableError('The portal is not built: run `npm run build`')
    })
    return
  }

  await fastify.register(fastifyStatic, {
    root,
    prefix: `${PREFIX}/`,
    // one route per file found now; every other path falls through to index.html below
    wildcard: false,
    index: false,
    cacheControl: false,
    decorateReply: true,
    schemaHide: true,
    setHeaders (reply, file) {
      const relative = path.relative(root, file)
      if (relative.startsWith(`assets${path.sep}`)) void reply.header('cache-control', 'public, max-age=31536000, immutable')
      else noCache(reply)
    }
  })

  fastify.get(`${PREFIX}/*`, { schema: { hide: true } }, async (request, reply) => {
    // a missing hashed asset is a real 404, not the app shell
    if (request.url.startsWith(`${PREFIX}/assets/`)) return await reply.callNotFound()
    noCache(reply)
    return await reply.type('text/html; charset=utf-8').sendFile('index.html', root)
  })
  fastify.get(`${PREFIX}/`, { schema: { hide: true } }, async (_request, reply) => {
    noCache(reply)
    return await reply.type('text/html; charset=utf-8').sendFile('index.html', root)
  })
}
