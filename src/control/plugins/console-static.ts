// The operator console: the same single-page app as the portal (portal/dist, its assets
// served under /portal/assets by portal-static.ts), answering every path under /console with
// index.html; the app picks the console's route tree by the path. Same headers as the portal.
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { ServiceUnavailableError } from '../../domain/errors.js'
import { PORTAL_DIST, PORTAL_SECURITY_HEADERS } from './portal-static.js'

const PREFIX = '/console'

export default async function consoleStatic (fastify: FastifyInstance, options: { root?: string } = {}): Promise<void> {
  const root = options.root ?? PORTAL_DIST

  async function shell (reply: FastifyReply): Promise<FastifyReply> {
    // read on every load, as a rebuild replaces it; it is a few hundred bytes
    const html = await readFile(path.join(root, 'index.html')).catch(() => {
      throw new ServiceUnavailableError('The console is not built: run `npm run build`')
    })
    void reply.headers({ ...PORTAL_SECURITY_HEADERS, 'cache-control': 'no-cache' })
    return await reply.type('text/html; charset=utf-8').send(html)
  }

  fastify.get(PREFIX, { schema: { hide: true } }, async (_request, reply) => await reply.redirect(`${PREFIX}/`, 301))
  fastify.get(`${PREFIX}/`, { schema: { hide: true } }, async (_request, reply) => await shell(reply))
  fastify.get(`${PREFIX}/*`, { schema: { hide: true } }, async (_request, reply) => await shell(reply))
}
