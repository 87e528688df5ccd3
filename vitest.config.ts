import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30000,
    hookTimeout: 60000,
    // 2-core machines: a few files at a time, each with its own database and Redis prefix
    maxWorkers: 3,
    // one migrated embedded database for the whole run, instead of an initdb per test database
    globalSetup: ['test/helpers/migrated-database.ts']
  }
})
