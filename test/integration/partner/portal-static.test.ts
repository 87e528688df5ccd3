// The portal's static files under /portal: SPA fallback, cache headers, CSP.
import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PORTAL_DIST } from '../../../src/control/plugins/portal-static.js'
import { startControlServer, type TestControlServer } from '../../helpers/control-server.js'
import { ensurePortalBuilt } from '../../e2e/portal-build.js'

describe('portal static files', () => {
  let server: TestControlServer
  beforeAll(async () => {
    await ensurePortalBuilt()
    server = await startControlServer('pglite')
  })
  afterAll(async () => { await server?.close() })

  it('serves index.html for the app\'s own paths, revalidated, with a strict CSP', async () => {
    expect(existsSync(`${PORTAL_DIST}/index.html`)).toBe(true)
    for (const path of ['/portal/', '/portal/apps/0192', '/portal/login']) {
      const response = await fetch(server.url + path)
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toMatch(/text\/html/)
      expect(response.headers.get('cache-control')).toBe('no-cache')
      expect(response.headers.get('content-security-policy')).toMatch(/default-src 'self'; script-src 'self'/)
      expect(await response.text()).toMatch(/<div id="app">/)
    }
    const redirect = await fetch(server.url + '/portal', { redirect: 'manual' })
    expect(redirect.status).toBe(301)
    expect(redirect.headers.get('location')).toBe('/portal/')
    await redirect.text()
  })

  it('caches hashed assets for a year and answers 404 for missing ones', async () => {
    const html = await (await fetch(server.url + '/portal/')).text()
    const script = /src="(\/portal\/assets\/[^"]+\.js)"/.exec(html)?.[1] as string
    const asset = await fetch(server.url + script)
    expect(asset.status).toBe(200)
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(asset.headers.get('content-type')).toMatch(/javascript/)
    await asset.text()
    expect(html).not.toMatch(/https?:\/\//)
    const missing = await fetch(server.url + '/portal/assets/missing-1234.js')
    expect(missing.status).toBe(404)
    await missing.text()
  })

  it("lets the page connect to the gateway's origin (the try-it console), and nothing else", async () => {
    expect((await server.call('PUT', '/admin/v1/settings', { gatewayUrl: 'https://gateway.example.com/base' })).status).toBe(200)
    const page = await fetch(server.url + '/portal/catalog')
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self' https://gateway.example.com;")
    const html = await page.text()
    const asset = await fetch(server.url + (/src="(\/portal\/assets\/[^"]+\.js)"/.exec(html)?.[1] as string))
    expect(asset.headers.get('content-security-policy')).toContain("connect-src 'self';")
    await asset.text()
    expect((await server.call('PUT', '/admin/v1/settings', { gatewayUrl: null })).status).toBe(200)
  })
})
