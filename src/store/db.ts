// The one place that knows which database we are on: PostgreSQL through node-postgres
// when DATABASE_URL is set, otherwise the embedded PGlite in DATA_DIR (or in memory).
// Everything else receives a PrismaClient and never sees the adapter. An embedded DATA_DIR
// is opened by one process at a time (see data-dir-lock.ts).
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaPGlite } from 'pglite-prisma-adapter'
import pg from 'pg'
import { Prisma, PrismaClient } from './generated/client.js'
import { DataDirNotEmptyError } from '../domain/errors.js'
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js'
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
  /** how the owner of an embedded DATA_DIR describes itself in its lock */
  ownership?: { command: string, commandSocket?: string }
  /** in-memory PGlite only: starts as a copy of this `dumpDataDir` tarball instead of empty (a DATA_DIR is filled by restoreDataDir) */
  fromDump?: Buffer
}

export interface Database {
  prisma: PrismaClient
  kind: 'postgresql' | 'pglite'
  migrate: () => Promise<string[]>
  /** a gzipped tar of an embedded database's files, consistent as of one moment */
  dumpDataDir?: () => Promise<Buffer>
  close: () => Promise<void>
}

const PGLITE_DIRECTORY = 'pglite'
// derived from the database; a restored database must not be shadowed by it
const SNAPSHOT_CACHE_FILE = 'snapshot-cache.json'

export async function openDatabase (options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl !== undefined) return openPostgres(options.databaseUrl, options)
  return await openPglite(options.dataDir, options.ownership ?? { command: 'database open' }, options.fromDump)
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

async function openPglite (dataDir: string | undefined, ownership: { command: string, commandSocket?: string }, fromDump: Buffer | undefined): Promise<Database> {
  let lock: DataDirLock | undefined
  let directory: string | undefined
  if (dataDir !== undefined) {
    if (fromDump !== undefined) throw new Error('fromDump starts an in-memory database; restoreDataDir fills a DATA_DIR')
    mkdirSync(dataDir, { recursive: true })
    lock = acquireDataDirLock(dataDir, ownership)
    directory = path.join(dataDir, PGLITE_DIRECTORY)
    mkdirSync(directory, { recursive: true })
  }
  let pglite: PGlite
  try {
    // relaxedDurability stays off: every commit reaches the files before the query returns
    // one options object: PGlite drops the second argument when the first (the directory) is undefined
    pglite = new PGlite({ dataDir: directory, relaxedDurability: false, loadDataDir: fromDump === undefined ? undefined : new Blob([fromDump], { type: 'application/gzip' }) })
    await pglite.waitReady
  } catch (error) {
    lock?.release()
    throw error
  }
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) as unknown as PrismaPg })
  return {
    prisma,
    kind: 'pglite',
    async migrate () {
      const executor: SqlExecutor = { query: async (sql, parameters) => await pglite.query(sql, parameters), exec: async sql => await pglite.exec(sql) }
      return await applyMigrations(executor)
    },
    // PGlite copies the files between two queries: with no query running, nothing writes,
    // so the copy is what a crash at that moment would leave, which PostgreSQL recovers from
    async dumpDataDir () { return Buffer.from(await (await pglite.dumpDataDir('gzip')).arrayBuffer()) },
    async close () {
      try {
        await prisma.$disconnect()
        await pglite.close()
      } finally {
        lock?.release()
      }
    }
  }
}

/**
 * Replaces the embedded database in `dataDir` with a `dumpDataDir` tarball. Refuses while
 * another process owns `dataDir`, and over an existing database unless `force`.
 */
export async function restoreDataDir (dataDir: string, tarball: Buffer, options: { force: boolean }): Promise<void> {
  mkdirSync(dataDir, { recursive: true })
  const lock = acquireDataDirLock(dataDir, { command: 'restore' })
  try {
    const target = path.join(dataDir, PGLITE_DIRECTORY)
    if (existsSync(target) && readdirSync(target).length > 0 && !options.force) {
      throw new DataDirNotEmptyError(`DATA_DIR ${dataDir} already holds a database; restore over it with --force`)
    }
    // unpacked and opened (replaying its WAL) beside the old one, so a bad file changes nothing
    const staging = path.join(dataDir, `${PGLITE_DIRECTORY}.restoring`)
    rmSync(staging, { recursive: true, force: true })
    const restored = new PGlite(staging, { loadDataDir: new Blob([tarball], { type: 'application/gzip' }) })
    try {
      await restored.waitReady
    } catch (error) {
      rmSync(staging, { recursive: true, force: true })
      throw error
    }
    await restored.close()
    const replaced = path.join(dataDir, `${PGLITE_DIRECTORY}.replaced`)
    rmSync(replaced, { recursive: true, force: true })
    if (existsSync(target)) renameSync(target, replaced)
    renameSync(staging, target)
    rmSync(replaced, { recursive: true, force: true })
    rmSync(path.join(dataDir, SNAPSHOT_CACHE_FILE), { force: true })
  } finally {
    lock.release()
  }
}
