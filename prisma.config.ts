// Prisma CLI configuration for offline machines: migrations go through the wasm
// schema engine shipped inside the prisma package (engine "js"), never a downloaded binary.
// Without a postgres DATABASE_URL the CLI works on the embedded PGlite database in DATA_DIR.
import path from 'node:path'
import { defineConfig } from 'prisma/config'

// prisma validates env("DATABASE_URL") even when an adapter does the connecting
process.env.DATABASE_URL ??= 'postgresql://unused@localhost/unused'
const databaseUrl = process.env.DATABASE_URL
const isPostgres = !databaseUrl.includes('unused@localhost') && process.env.PRISMA_EMBEDDED !== '1'

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: 'prisma/schema.prisma',
  async adapter () {
    if (isPostgres) {
      // the 7.x pg adapter: 6.19's fails `migrate deploy` ("Column type 'name' could not be deserialized")
      const { PrismaPg } = await import('pg-adapter-cli')
      return new PrismaPg({ connectionString: databaseUrl })
    }
    const { PGlite } = await import('@electric-sql/pglite')
    const { PrismaPGlite } = await import('pglite-prisma-adapter')
    const dataDir = process.env.DATA_DIR ?? './data'
    const { mkdirSync } = await import('node:fs')
    mkdirSync(dataDir, { recursive: true })
    return new PrismaPGlite(new PGlite(path.join(dataDir, 'pglite'))) as never
  }
})
