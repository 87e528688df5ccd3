// The usage recorder against both databases: batches count once however often they are sent,
// and the journal a dead process left in DATA_DIR is replayed exactly once.
import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { formatBatchLine, formatDeltaLine, formatJournalFileName, type UsageDelta } from '../../../src/gateway/usage/usage-journal.js'
import { UsageRecorder, writeUsageBatch } from '../../../src/gateway/usage/usage-recorder.js'
import { openDatabase } from '../../../src/store/db.js'
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../../helpers/database.js'

const log = pino({ level: 'silent' })
const DAY = new Date().toISOString().slice(0, 10)

/** A pid that belonged to a process that has exited. */
function deadPid (): number {
  const child = spawnSync(process.execPath, ['-e', ''])
  return child.pid as number
}

describe.each(DATABASE_KINDS)('usage recorder on %s', kind => {
  let database: TestDatabase
  let dataDir: string
  const directories: string[] = []

  beforeAll(async () => { database = await createTestDatabase(kind) })
  afterAll(async () => { await database?.drop() })
  afterEach(() => {
    for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true })
  })

  function newDataDir (): string {
    dataDir = mkdtempSync(path.join(tmpdir(), 'pgw-usage-'))
    directories.push(dataDir)
    return dataDir
  }

  function journalDirectory (): string {
    return path.join(dataDir, 'usage-journal')
  }

  async function calls (appId: string): Promise<{ calls: number, rejected: number }> {
    const rows = await database.prisma.usageDaily.findMany({ where: { appId } })
    return { calls: rows.reduce((sum, row) => sum + Number(row.calls), 0), rejected: rows.reduce((sum, row) => sum + Number(row.rejected), 0) }
  }

  function delta (appId: string, count: number, rejected = 0): UsageDelta {
    return { appId, apiId: randomUUID(), day: DAY, calls: count, rejected }
  }

  /** Leaves a journal as a process killed at that moment would have. */
  function leaveJournal (text: string, pid = deadPid()): string {
    mkdirSync(journalDirectory(), { recursive: true })
    const file = path.join(journalDirectory(), formatJournalFileName({ owner: { pid, start: 't0', instance: 'dead' } }))
    writeFileSync(file, text)
    return file
  }

  it('adds a batch once however often it is sent, also when two sends race', async () => {
    const appId = randomUUID()
    const batch = [delta(appId, 5, 1)]
    const id = randomUUID()
    await writeUsageBatch(database.prisma, id, batch)
    await writeUsageBatch(database.prisma, id, batch)
    await Promise.all([writeUsageBatch(database.prisma, id, batch), writeUsageBatch(database.prisma, id, batch)])
    expect(await calls(appId)).toEqual({ calls: 5, rejected: 1 })
    const racing = randomUUID()
    const other = [delta(appId, 7)]
    await Promise.all([writeUsageBatch(database.prisma, racing, other), writeUsageBatch(database.prisma, racing, other)])
    expect((await calls(appId)).calls).toBe(12)
  })

  it('flushes what it counted and removes its journal on close', async () => {
    const appId = randomUUID()
    const apiId = randomUUID()
    const recorder = await UsageRecorder.open({ prisma: database.prisma, log, dataDir: newDataDir(), flushMs: 60_000, journalMs: 100 })
    for (let index = 0; index < 5; index++) recorder.record(appId, apiId, 'call')
    recorder.record(appId, apiId, 'rejected')
    await recorder.flush()
    expect(await calls(appId)).toEqual({ calls: 5, rejected: 1 })
    recorder.record(appId, apiId, 'call')
    await recorder.close()
    expect(await calls(appId)).toEqual({ calls: 6, rejected: 1 })
    expect(readdirSync(journalDirectory())).toEqual([])
  })

  it('replays a dead process\'s journal once: a committed batch not again, an uncommitted batch and the lines after it, not a torn last line', async () => {
    newDataDir()
    const appId = randomUUID()
    const committed = [delta(appId, 1)]
    const committedId = randomUUID()
    await writeUsageBatch(database.prisma, committedId, committed)
    const file = leaveJournal(
      formatDeltaLine(committed) + formatBatchLine(committedId) +
      formatDeltaLine([delta(appId, 10)]) + formatBatchLine(randomUUID()) +
      formatDeltaLine([delta(appId, 100, 3)]) +
      formatDeltaLine([delta(appId, 1000)]).slice(0, 40)
    )
    const recorder = await UsageRecorder.open({ prisma: database.prisma, log, dataDir, flushMs: 60_000, journalMs: 100 })
    expect(await calls(appId)).toEqual({ calls: 111, rejected: 3 })
    expect(existsSync(file)).toBe(false)
    // the next flushes and starts find nothing more to replay
    await recorder.flush()
    await recorder.close()
    await (await UsageRecorder.open({ prisma: database.prisma, log, dataDir, flushMs: 60_000, journalMs: 100 })).close()
    expect(await calls(appId)).toEqual({ calls: 111, rejected: 3 })
  })

  it('prunes batch records older than a week when it flushes', async () => {
    const old = randomUUID()
    const recent = randomUUID()
    await database.prisma.usageFlush.createMany({ data: [{ id: old, flushedAt: new Date(Date.now() - 8 * 86_400_000) }, { id: recent, flushedAt: new Date(Date.now() - 6 * 86_400_000) }] })
    const recorder = await UsageRecorder.open({ prisma: database.prisma, log, dataDir: newDataDir(), flushMs: 60_000, journalMs: 100 })
    recorder.record(randomUUID(), randomUUID(), 'call')
    await recorder.close()
    const left = await database.prisma.usageFlush.findMany({ where: { id: { in: [old, recent] } } })
    expect(left.map(row => row.id)).toEqual([recent])
  })

  it('leaves the journal of a live process alone', async () => {
    newDataDir()
    const appId = randomUUID()
    const file = leaveJournal(formatDeltaLine([delta(appId, 4)]), process.ppid)
    const recorder = await UsageRecorder.open({ prisma: database.prisma, log, dataDir, flushMs: 60_000, journalMs: 100 })
    await recorder.close()
    expect(existsSync(file)).toBe(true)
    expect((await calls(appId)).calls).toBe(0)
  })

  it('keeps a journal it cannot replay while the database is away, and replays it once when it is back', async () => {
    newDataDir()
    const appId = randomUUID()
    leaveJournal(formatDeltaLine([delta(appId, 9)]))
    const unreachable = kind === 'postgresql' ? await openDatabase({ databaseUrl: 'postgresql://postgres@127.0.0.1:1/unreachable' }) : await openDatabase({})
    // an embedded database without the migrations lacks the tables: every write fails as it would with PostgreSQL away
    const offline = await UsageRecorder.open({ prisma: unreachable.prisma, log, dataDir, flushMs: 60_000, journalMs: 100 })
    offline.record(appId, randomUUID(), 'call')
    await offline.flush()
    await offline.close()
    await unreachable.close()
    expect(readdirSync(journalDirectory())).toHaveLength(2)
    expect((await calls(appId)).calls).toBe(0)

    const online = await UsageRecorder.open({ prisma: database.prisma, log, dataDir, flushMs: 60_000, journalMs: 100 })
    expect((await calls(appId)).calls).toBe(10)
    await online.close()
    expect(readdirSync(journalDirectory())).toEqual([])
    expect((await calls(appId)).calls).toBe(10)
  })
})
