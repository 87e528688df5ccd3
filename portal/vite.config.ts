// Builds the portal into portal/dist, served by the control server under /portal.
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/portal/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // no inline scripts: the portal's Content-Security-Policy allows 'self' only
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0
  }
})
