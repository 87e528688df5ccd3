// The console's pages under /console: the portal's app shell for every path, with the same
// security headers, and a clear 503 when the app is not built.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import consoleStatic from '../../../src/control/plugins/console-static.js'
import { errorHandler } from '../../../src/domain/error-handler.js'
import { startControlServer, type TestControlServer } from '../../helpers/control-server.js'
import { ensurePortalBuilt } from '../../e2e/portal-build.js'

describe('console pages', () => {
  let server: TestControlServer
  beforeAll(async () => {
    await ensurePortalBuilt()
    server = await startControlServer('pglite')
  })
  afterAll(async () => { await server?.close() })

  it('answers every console path with the app shell, revalidated, with a strict CSP', async () => {
    for (const urlPath of ['/console/', '/console/partners', '/console/apps/0192/x']) {
      const response = await fetch(server.url + urlPath)
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toMatch(/text\/html/)
      expect(response.headers.get('cache-control')).toBe('no-cache')
      expect(response.headers.get('content-security-policy')).toMatch(/default-src 'self'; script-src 'self'/)
      expect(response.headers.get('x-frame-options')).toBe('DENY')
      expect(await response.text()).toMatch(/<script type="module" crossorigin src="\/portal\/assets\//)
    }
    const redirect = await fetch(server.url + '/console', { redirect: 'manual' })
    expect([redirect.status, redirect.headers.get('location')]).toEqual([301, '/console/'])
  })

  it('says the console is not built when there is no app to serve', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'pgw-no-portal-'))
    const fastify = Fastify()
    fastify.setErrorHandler(errorHandler)
    await fastify.register(consoleStatic, { root: empty })
    const response = await fastify.inject('/console/partners')
    expect([response.statusCode, response.json().error.code]).toEqual([503, 'SERVICE_UNAVAILABLE'])
    await fastify.close()
    rmSync(empty, { recursive: true })
  })
})
