// A fresh database per test file: a new PostgreSQL database on the shared server (dropped
// after), or an in-memory embedded PGlite started from the run's migrated database (see
// migrated-database.ts). Both get the committed migrations applied.
import { randomBytes } from 'node:crypto'
import { cpSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { inject } from 'vitest'
import { openDatabase, type Database } from '../../src/store/db.js'

export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

export type DatabaseKind = 'postgresql' | 'pglite'
export const DATABASE_KINDS: DatabaseKind[] = ['postgresql', 'pglite']

export interface TestDatabase extends Database {
  /** the connection URL of a postgresql test database; undefined for pglite */
  url?: string
  drop: () => Promise<void>
}

async function adminQuery (sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL })
  await client.connect()
  try { await client.query(sql) } finally { await client.end() }
}

export async function createTestDatabase (kind: DatabaseKind): Promise<TestDatabase> {
  if (kind === 'pglite') {
    const database = await openDatabase({ fromDump: readFileSync(inject('migratedDatabase').dumpFile) })
    await database.migrate()
    return { ...database, drop: async () => { await database.close() } }
  }
  const name = `pgw_test_${randomBytes(6).toString('hex')}`
  await adminQuery(`CREATE DATABASE ${name}`)
  const url = new URL(POSTGRES_ADMIN_URL)
  url.pathname = `/${name}`
  const database = await openDatabase({ databaseUrl: url.toString(), maxConnections: 5 })
  await database.migrate()
  return {
    ...database,
    url: url.toString(),
    async drop () {
      await database.close()
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    }
  }
}

/**
 * A new DATA_DIR (under the temporary directory, named from `prefix`) that already holds the
 * migrated embedded database, closed: the product's first start on it skips initdb. Tests of
 * what happens on an empty DATA_DIR (first-run seeding, migrations, restore, the lock) make
 * their own with mkdtempSync.
 */
export function createMigratedDataDir (prefix: string): string {
  const dataDir = mkdtempSync(path.join(tmpdir(), prefix))
  cpSync(inject('migratedDatabase').dataDir, dataDir, { recursive: true })
  return dataDir
}

export function randomPrefix (): string {
  return `pgwtest:${randomBytes(5).toString('hex')}:`
}
