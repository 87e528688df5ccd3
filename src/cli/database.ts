// The database of a command that runs in the CLI's own process. Prisma and PGlite are loaded
// here, when the command opens it: a command that the owner of DATA_DIR runs, or one that
// needs no database, does not pay their seconds of start-up.
import { ConfigError } from '../config/load.js'
import type { Config } from '../config/schema.js'
import type { ConfigWriter } from '../store/config-writer.js'
import type { Database } from '../store/db.js'

export interface CommandDatabase {
  database: Database
  /** writes with their audit entries; nothing listens for the changes in this process */
  writer: ConfigWriter
}

/** Opens the database for `command` (named in DATA_DIR's lock), migrated unless `migrate` is false, and closes it after `work`. */
export async function withDatabase<T> (config: Config, command: string, work: (opened: CommandDatabase) => Promise<T>, { migrate = true } = {}): Promise<T> {
  const [{ openDatabase }, { ConfigWriter }, { MemoryChangeBus }] = await Promise.all([import('../store/db.js'), import('../store/config-writer.js'), import('../store/change-bus.js')])
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, ownership: { command } })
  try {
    if (migrate) await database.migrate()
    return await work({ database, writer: new ConfigWriter(database.prisma, new MemoryChangeBus()) })
  } finally {
    await database.close()
  }
}

/** backup and restore copy the embedded database's files; PostgreSQL has its own tools. */
export function requireEmbedded (config: Config, command: string): void {
  if (config.databaseUrl !== undefined) throw new ConfigError(`${command} is for the embedded database; with DATABASE_URL use pg_dump and pg_restore`)
}
