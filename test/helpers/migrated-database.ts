// Vitest globalSetup: one migrated embedded database per test run, built once, so that test
// files start from it instead of each running initdb (seconds of CPU per database on these
// 2 cores). It is provided twice: as a `dumpDataDir` tarball, from which an in-memory PGlite
// starts, and as a closed DATA_DIR, copied for a product that starts on disk.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { TestProject } from 'vitest/node'
import { openDatabase } from '../../src/store/db.js'

export interface MigratedDatabase {
  /** a gzipped tar of the database's files (`Database.dumpDataDir`) */
  dumpFile: string
  /** a DATA_DIR holding only the database, closed */
  dataDir: string
}

declare module 'vitest' {
  export interface ProvidedContext {
    migratedDatabase: MigratedDatabase
  }
}

export default async function setup (project: TestProject): Promise<() => void> {
  const directory = mkdtempSync(path.join(tmpdir(), 'pgw-migrated-'))
  const migrated: MigratedDatabase = { dumpFile: path.join(directory, 'migrated.tar.gz'), dataDir: path.join(directory, 'data') }
  const remove = (): void => { rmSync(directory, { recursive: true, force: true }) }
  try {
    const database = await openDatabase({ dataDir: migrated.dataDir, ownership: { command: 'test setup' } })
    try {
      await database.migrate()
      writeFileSync(migrated.dumpFile, await (database.dumpDataDir as () => Promise<Buffer>)())
    } finally {
      await database.close()
    }
  } catch (error) {
    remove()
    throw error
  }
  project.provide('migratedDatabase', migrated)
  return remove
}
