// Builds the portal once when portal/dist is missing (npm test builds it in pretest), so
// that these tests also run on their own with `npx vitest run test/e2e`.
import { existsSync } from 'node:fs'
import path from 'node:path'
import { PORTAL_DIST } from '../../src/control/plugins/portal-static.js'

export async function ensurePortalBuilt (): Promise<void> {
  if (existsSync(path.join(PORTAL_DIST, 'index.html'))) return
  const { build } = await import('vite')
  await build({ configFile: path.resolve(PORTAL_DIST, '../vite.config.ts'), logLevel: 'warn' })
}
