// Where lost Redis quota counters start again: the database's usage plus this node's calls not
// in it. A batch confirmed while the database is read may be missing from what the read saw
// (its snapshot came first); those calls must still count.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { quotaSeedSource } from '../../../src/gateway/usage/quota-seed.js'
import { UsageRecorder } from '../../../src/gateway/usage/usage-recorder.js'
import type { PrismaClient } from '../../../src/store/db.js'
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js'

let database: TestDatabase
let dataDir: string
beforeAll(async () => {
  database = await createTestDatabase('postgresql')
  dataDir = mkdtempSync(path.join(tmpdir(), 'pgw-quota-seed-'))
})
afterAll(async () => {
  await database?.drop()
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true })
})

/** The database as the seed reads it, with `meanwhile` run after its read and before its answer. */
function readingThen (prisma: PrismaClient, meanwhile: () => Promise<void>): PrismaClient {
  const usageDaily = new Proxy(prisma.usageDaily, {
    get (target, property, receiver) {
      if (property !== 'findMany') return Reflect.get(target, property, receiver)
      return async (...args: Parameters<typeof target.findMany>) => {
        const rows = await target.findMany(...args)
        await meanwhile()
        return rows
      }
    }
  })
  return new Proxy(prisma, { get: (target, property, receiver) => property === 'usageDaily' ? usageDaily : Reflect.get(target, property, receiver) })
}

describe('quota seed source', () => {
  it('counts stored calls, unflushed calls, and calls flushed while the database was read', async () => {
    const usage = await UsageRecorder.open({ prisma: database.prisma, log: pino({ level: 'silent' }), dataDir, flushMs: 3_600_000, journalMs: 3_600_000 })
    try {
      const appId = randomUUID()
      const apiId = randomUUID()
      for (let index = 0; index < 7; index++) usage.record(appId, apiId, 'call')
      await usage.flush()
      for (let index = 0; index < 5; index++) usage.record(appId, apiId, 'call')
      usage.record(appId, apiId, 'rejected')

      const plain = await quotaSeedSource(database.prisma, usage)(`${appId}:${apiId}`, Date.now())
      expect(plain).toEqual({ dayUsed: 12, monthUsed: 12 })

      // the 5 unflushed calls reach the database after the read saw it, and leave the recorder before the read answers
      const racing = await quotaSeedSource(readingThen(database.prisma, async () => { await usage.flush() }), usage)(`${appId}:${apiId}`, Date.now())
      expect(racing).toEqual({ dayUsed: 12, monthUsed: 12 })
    } finally {
      await usage.close()
    }
  })
})
