// The partner portal: the static files Vite builds into portal/dist, served under /portal.
// Hashed assets are cached for a year; index.html is revalidated on every load, and any
// other path under /portal gets index.html too, so that the single-page app's own URLs work
// on reload. A strict Content-Security-Policy applies: every asset is local.
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { ServiceUnavailableError } from '../../domain/errors.js'

// src/control/plugins and dist/control/plugins are both three levels below the project root
export const PORTAL_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../portal/dist')

const PREFIX = '/portal'
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

/** Also sent with the operator console (console-static.ts), the same app. */
export const PORTAL_SECURITY_HEADERS = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY'
}

function noCache (reply: FastifyReply): void {
  void reply.header('cache-control', 'no-cache')
}

export default async function portalStatic (fastify: FastifyInstance, options: { root?: string } = {}): Promise<void> {
  const root = options.root ?? PORTAL_DIST

  fastify.addHook('onSend', async (request, reply) => {
    if (!request.url.startsWith(PREFIX)) return
    void reply.headers(PORTAL_SECURITY_HEADERS)
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
