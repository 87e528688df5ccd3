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
  /** PostgreSQL: deadline to open a connection, ms */
  connectTimeoutMs?: number
  /** PostgreSQL: deadline of a statement, ms — enforced by the server and, for a silent network, by the client */
  statementTimeoutMs?: number
}

export interface Database {
  prisma: PrismaClient
  kind: 'postgresql' | 'pglite'
  migrate: () => Promise<string[]>
  close: () => Promise<void>
}

export async function openDatabase (options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl !== undefined) return openPostgres(options.databaseUrl, options)
  return openPglite(options.dataDir)
}

async function openPostgres (databaseUrl: string, options: DatabaseOptions): Promise<Database> {
  const statementTimeoutMs = options.statementTimeoutMs ?? 5_000
  const bounded: pg.ClientConfig = {
    connectionString: databaseUrl,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 2_000,
    statement_timeout: statementTimeoutMs,
    // an unreachable host never answers: the client gives up a little after the server would have
    query_timeout: statementTimeoutMs + 1_000,
    keepAlive: true
  }
  const prisma = new PrismaClient({ adapter: new PrismaPg({ ...bounded, max: options.maxConnections ?? 10 }) })
  return {
    prisma,
    kind: 'postgresql',
    async migrate () {
      // migrations may legitimately run long: only connecting is bounded
      const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: bounded.connectionTimeoutMillis })
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
