// The one place that knows which database we are on: PostgreSQL through node-postgres
// when DATABASE_URL is set, otherwise the embedded PGlite in DATA_DIR (or in memory).
// Everything else receives a PrismaClient and never sees the adapter.
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaPGlite } from 'pglite-prisma-adapter'
import pg from 'pg'
import { Prisma, PrismaClient } from './generated/client.js'
import { applyMigrations, type SqlExecutor } from './migrate.js'

export { PrismaClient }
export { Prisma } from './generated/client.js'
/** Writes SQL NULL into a Json column (a plain null would be ambiguous with JSON null) */
export const DbNull = Prisma.DbNull

export interface DatabaseOptions {
  /** PostgreSQL URL; undefined = embedded PGlite */
  databaseUrl?: string
  /** where PGlite keeps its files; undefined with no databaseUrl = in memory */
  dataDir?: string
  /** pool size for PostgreSQL */
  maxConnections?: number
}

export interface Database {
  prisma: PrismaClient
  kind: 'postgresql' | 'pglite'
  migrate: () => Promise<string[]>
  close: () => Promise<void>
}

export async function openDatabase (options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl !== undefined) return openPostgres(options.databaseUrl, options.maxConnections ?? 10)
  return openPglite(options.dataDir)
}

async function openPostgres (databaseUrl: string, maxConnections: number): Promise<Database> {
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max: maxConnections }) })
  return {
    prisma,
    kind: 'postgresql',
    async migrate () {
      const client = new pg.Client({ connectionString: databaseUrl })
      await client.connect()
      try {
        const executor: SqlExecutor = { query: async (sql, parameters) => await client.query(sql, parameters), exec: async sql => await client.query(sql) }
        return await applyMigrations(executor)
      } finally {
        await client.end()
      }
    },
    async close () { await prisma.$disconnect() }
  }
}

async function openPglite (dataDir: string | undefined): Promise<Database> {
  let directory: string | undefined
  if (dataDir !== undefined) {
    directory = path.join(dataDir, 'pglite')
    mkdirSync(directory, { recursive: true })
  }
  const pglite = new PGlite(directory)
  await pglite.waitReady
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) as unknown as PrismaPg })
  return {
    prisma,
    kind: 'pglite',
    async migrate () {
      const executor: SqlExecutor = { query: async (sql, parameters) => await pglite.query(sql, parameters), exec: async sql => await pglite.exec(sql) }
      return await applyMigrations(executor)
    },
    async close () {
      await prisma.$disconnect()
      await pglite.close()
    }
  }
}
