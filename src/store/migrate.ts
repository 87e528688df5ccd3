// Applies the committed Prisma migrations (prisma/migrations/*/migration.sql) at start-up,
// recording them in _prisma_migrations exactly as `prisma migrate deploy` does, so that
// the service and the Prisma CLI agree on what is applied. An advisory lock makes
// concurrent starts of several nodes safe.
import { createHash, randomUUID } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The smallest SQL surface both PGlite and node-postgres offer. */
export interface SqlExecutor {
  query: (sql: string, parameters?: unknown[]) => Promise<{ rows: any[] }>
  exec: (sql: string) => Promise<unknown>
}

export interface Migration {
  name: string
  sql: string
  checksum: string
}

const MIGRATION_LOCK_ID = 7203419

export function migrationsDirectory (): string {
  // works from src/store (tsx, vitest) and dist/store (built)
  const here = path.dirname(fileURLToPath(import.meta.url))
  for (const candidate of [path.resolve(here, '../../prisma/migrations'), path.resolve(process.cwd(), 'prisma/migrations')]) {
    if (existsSync(candidate)) return candidate
  }
  throw new Error('prisma/migrations not found')
}

export function readMigrations (directory = migrationsDirectory()): Migration[] {
  return readdirSync(directory, { withFileTypes: true })
    .filter(entry => entry.isDirectory() && existsSync(path.join(directory, entry.name, 'migration.sql')))
    .map(entry => entry.name)
    .sort()
    .map(name => {
      const sql = readFileSync(path.join(directory, name, 'migration.sql'), 'utf8')
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') }
    })
}

export async function applyMigrations (executor: SqlExecutor, migrations = readMigrations()): Promise<string[]> {
  await executor.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID])
  try {
    await executor.exec(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
      "id" VARCHAR(36) PRIMARY KEY NOT NULL,
      "checksum" VARCHAR(64) NOT NULL,
      "finished_at" TIMESTAMPTZ,
      "migration_name" VARCHAR(255) NOT NULL,
      "logs" TEXT,
      "rolled_back_at" TIMESTAMPTZ,
      "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
      "applied_steps_count" INTEGER NOT NULL DEFAULT 0
    )`)
    const { rows } = await executor.query('SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL')
    const applied = new Map(rows.map(row => [row.migration_name as string, row]))
    const newlyApplied: string[] = []
    for (const migration of migrations) {
      const existing = applied.get(migration.name)
      if (existing !== undefined) {
        if (existing.finished_at === null) throw new Error(`Migration ${migration.name} failed earlier and must be resolved by hand`)
        continue
      }
      const id = randomUUID()
      await executor.exec('BEGIN')
      try {
        await executor.exec(migration.sql)
        await executor.query(
          'INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count) VALUES ($1, $2, now(), $3, 1)',
          [id, migration.checksum, migration.name]
        )
        await executor.exec('COMMIT')
      } catch (error) {
        await executor.exec('ROLLBACK')
        throw new Error(`Migration ${migration.name} failed: ${(error as Error).message}`)
      }
      newlyApplied.push(migration.name)
    }
    return newlyApplied
  } finally {
    await executor.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID])
  }
}
