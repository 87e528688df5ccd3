// `partner-gateway seed`
import type { Config } from '../config/schema.js'
import { seedDemo, type DemoCredentials } from '../control/demo.js'
import { SecretBox } from '../domain/crypto.js'
import { resolveMasterKey } from '../store/master-key.js'
import { withDatabase } from './database.js'
import { printDemo } from './demo-output.js'
import { askOwner, commandTakingOwner } from './owner.js'

export async function seed (config: Config): Promise<void> {
  const owner = commandTakingOwner(config)
  const demo = owner !== undefined
    ? (await askOwner<{ demo: DemoCredentials | null }>(config, owner, 'POST', '/seed')).demo ?? undefined
    : await withDatabase(config, 'seed', async ({ database, writer }) => {
      const secretBox = new SecretBox(resolveMasterKey(config).key)
      return await seedDemo(database.prisma, writer, secretBox, { controlPort: config.controlPort, dataDir: config.dataDir })
    })
  if (demo === undefined) console.log('the database already has data; nothing seeded')
  else printDemo(demo, `http://127.0.0.1:${config.gatewayPort}`)
}
