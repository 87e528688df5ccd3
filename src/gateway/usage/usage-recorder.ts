// Counts calls per app × API × UTC day in memory, journals the counts to DATA_DIR every
// journal interval and adds them to UsageDaily in batches, at least every flush interval
// and on shutdown. Each gateway adds only its own deltas, so any number of nodes sum up.
//
// Exactly once across crashes and outages: a batch gets an id before it is sent, the
// journal names it, and the statement that adds it to UsageDaily also inserts the id into
// UsageFlush, doing nothing if the id is there already. A batch whose outcome is unknown
// (error, deadline) is resent under the same id until the database confirms it, and the
// journal of a killed process is replayed by the next recorder on the same DATA_DIR.
import { randomUUID } from 'node:crypto'
import { readFileSync, unlinkSync } from 'node:fs'
import path from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import { DependencyUnavailableError } from '../../domain/errors.js'
import { dayWindow } from '../../limits/limit-math.js'
import type { PrismaClient } from '../../store/db.js'
import { claimOrphanedJournals, JournalFile, newJournalOwner, releaseJournalOwner, writeFileAtomically } from './journal-files.js'
import { addUsage, formatBatchLine, formatDeltaLine, formatSettledJournal, parseJournal, sumUsage, type JournalBatch, type JournalOwner, type UsageDelta, type UsageTotals } from './usage-journal.js'

export interface UsageRecorderOptions {
  prisma: PrismaClient
  log: FastifyBaseLogger
  /** the journal lives in <dataDir>/usage-journal */
  dataDir: string
  flushMs: number
  /** how many counted calls a process killed with SIGKILL may lose, in milliseconds */
  journalMs: number
}

const FIRST_RETRY_MS = 500
// a committed batch id must outlive every journal that may still name it
const FLUSH_RECORD_DAYS = 7
const PRUNE_EVERY_MS = 3_600_000
const MAX_DEADLINE_MS = 10_000

export class UsageRecorder {
  readonly #prisma: PrismaClient
  readonly #log: FastifyBaseLogger
  readonly #directory: string
  readonly #owner: JournalOwner
  readonly #journal: JournalFile
  readonly #flushMs: number
  readonly #deadlineMs: number
  /** counted since the last journal line */
  #counted: UsageTotals = new Map()
  /** in the journal, in no batch yet */
  #journaled: UsageTotals = new Map()
  /** named in the journal and sent (or to be sent) under its id until the database confirms it */
  #batch: JournalBatch | undefined
  /** per database read of the usage running now: the batches confirmed meanwhile, which the read may not have seen */
  readonly #reads = new Set<UsageDelta[]>()
  /** the journal file misses lines (a write failed); rewritten whole before anything else */
  #journalStale = false
  #flushing: Promise<boolean> | undefined
  #retryMs = FIRST_RETRY_MS
  #prunedAtMs = 0
  #flushTimer: NodeJS.Timeout | undefined
  #closed = false
  readonly #journalTimer: NodeJS.Timeout

  /** Replays the journals of dead processes in DATA_DIR (as far as the database is reachable), then starts counting. */
  static async open (options: UsageRecorderOptions): Promise<UsageRecorder> {
    const recorder = new UsageRecorder(options)
    await recorder.#settleOrphans()
    recorder.#scheduleFlush(options.flushMs)
    return recorder
  }

  private constructor (options: UsageRecorderOptions) {
    this.#prisma = options.prisma
    this.#log = options.log
    this.#flushMs = options.flushMs
    // an attempt may not outlast the flush interval; a late answer is harmless, the resend has the same id
    this.#deadlineMs = Math.min(options.flushMs, MAX_DEADLINE_MS)
    this.#directory = path.join(options.dataDir, 'usage-journal')
    this.#owner = newJournalOwner()
    this.#journal = new JournalFile(this.#directory, this.#owner)
    this.#journalTimer = setInterval(() => { this.#writeJournal() }, options.journalMs)
    this.#journalTimer.unref()
  }

  record (appId: string, apiId: string, outcome: 'call' | 'rejected', nowMs = Date.now()): void {
    const day = dayWindow(nowMs).id
    addUsage(this.#counted, { appId, apiId, day, calls: outcome === 'call' ? 1 : 0, rejected: outcome === 'rejected' ? 1 : 0 })
  }

  /**
   * An app × API's calls today and this month: what `readStored` reads from the database, plus
   * the calls counted here and not flushed yet, plus those of every batch confirmed while the
   * read ran — its snapshot may predate their commit, and they have left this recorder's
   * counts by the time it answers (at worst they count twice, never not at all).
   */
  async withPendingCalls (appId: string, apiId: string, nowMs: number, readStored: () => Promise<{ day: number, month: number }>): Promise<{ day: number, month: number }> {
    const confirmedMeanwhile: UsageDelta[] = []
    this.#reads.add(confirmedMeanwhile)
    try {
      const stored = await readStored()
      const day = dayWindow(nowMs).id
      const month = day.slice(0, 7)
      const used = { ...stored }
      for (const deltas of [this.#counted.values(), this.#journaled.values(), this.#batch?.deltas ?? [], confirmedMeanwhile]) {
        for (const delta of deltas) {
          if (delta.appId !== appId || delta.apiId !== apiId || !delta.day.startsWith(month)) continue
          used.month += delta.calls
          if (delta.day === day) used.day += delta.calls
        }
      }
      return used
    } finally {
      this.#reads.delete(confirmedMeanwhile)
    }
  }

  /** Sends what is counted so far; on failure the counts stay, journaled, for the next attempt. */
  async flush (): Promise<void> {
    await this.#flushOnce()
  }

  async close (): Promise<void> {
    this.#closed = true
    clearInterval(this.#journalTimer)
    clearTimeout(this.#flushTimer)
    const flushed = await this.#flushOnce()
    const everythingFlushed = flushed && this.#batch === undefined && this.#journaled.size === 0 && this.#counted.size === 0 && !this.#journalStale
    // what could not be flushed stays in the journal for the next start on this DATA_DIR
    this.#journal.close({ remove: everythingFlushed })
    releaseJournalOwner(this.#owner)
  }

  #scheduleFlush (delayMs: number): void {
    this.#flushTimer = setTimeout(() => {
      void this.#flushOnce().then(flushed => {
        if (this.#closed) return
        this.#retryMs = flushed ? FIRST_RETRY_MS : Math.min(this.#retryMs * 2, this.#flushMs)
        this.#scheduleFlush(flushed ? this.#flushMs : Math.min(this.#retryMs, this.#flushMs))
      })
    }, delayMs)
    this.#flushTimer.unref()
  }

  async #flushOnce (): Promise<boolean> {
    while (this.#flushing !== undefined) await this.#flushing
    this.#flushing = this.#sendBatches().finally(() => { this.#flushing = undefined })
    return await this.#flushing
  }

  async #sendBatches (): Promise<boolean> {
    this.#writeJournal()
    // the batch left by a failed attempt first, then one with what was journaled since
    for (let round = 0; round < 2; round++) {
      if (this.#batch === undefined) {
        if (this.#journaled.size === 0 || this.#journalStale) break
        const batch = { id: randomUUID(), deltas: [...this.#journaled.values()] }
        // the journal must name the batch before it can reach the database, or a replay would count it again
        try {
          this.#journal.append(formatBatchLine(batch.id))
        } catch (error) {
          this.#journalFailed(error)
          return false
        }
        this.#batch = batch
        this.#journaled = new Map()
      }
      try {
        await this.#withDeadline(writeUsageBatch(this.#prisma, this.#batch.id, this.#batch.deltas))
      } catch (error) {
        this.#log.error({ err: error, batch: this.#batch.id }, 'usage flush failed; the batch is kept and resent under the same id')
        return false
      }
      this.#confirmed(this.#batch.deltas)
      this.#batch = undefined
      this.#rewriteJournal()
    }
    await this.#settleOrphans()
    await this.#pruneFlushRecords()
    return this.#batch === undefined
  }

  #confirmed (deltas: UsageDelta[]): void {
    for (const read of this.#reads) read.push(...deltas)
  }

  #writeJournal (): void {
    if (this.#counted.size === 0 && !this.#journalStale) return
    const counted = this.#counted
    this.#counted = new Map()
    for (const delta of counted.values()) addUsage(this.#journaled, delta)
    if (this.#journalStale) {
      this.#rewriteJournal()
      return
    }
    try {
      this.#journal.append(formatDeltaLine(counted.values()))
    } catch (error) {
      this.#journalFailed(error)
    }
  }

  /** Writes the journal from memory: the unconfirmed batch, then what no batch holds yet. */
  #rewriteJournal (): void {
    const batch = this.#batch !== undefined ? formatDeltaLine(this.#batch.deltas) + formatBatchLine(this.#batch.id) : ''
    const journaled = this.#journaled.size > 0 ? formatDeltaLine(this.#journaled.values()) : ''
    try {
      this.#journal.rewrite(batch + journaled)
      if (this.#journalStale) this.#log.info('usage journal writable again')
      this.#journalStale = false
    } catch (error) {
      this.#journalFailed(error)
    }
  }

  #journalFailed (error: unknown): void {
    if (!this.#journalStale) this.#log.error({ err: error, file: this.#journal.file }, 'cannot write the usage journal; counts stay in memory and no batch is sent until it is rewritten')
    this.#journalStale = true
  }

  /** Adds the journals of dead processes to UsageDaily and deletes them; files the database cannot take yet are kept. */
  async #settleOrphans (): Promise<void> {
    let files: string[]
    try {
      files = claimOrphanedJournals(this.#directory, this.#owner)
    } catch (error) {
      this.#log.error({ err: error, directory: this.#directory }, 'cannot read the usage journal directory')
      return
    }
    for (const file of files) {
      try {
        let parsed = parseJournal(readFileSync(file, 'utf8'))
        if (parsed.unbatched.length > 0) {
          // give the unbatched deltas an id on disk before sending them, like a live batch
          writeFileAtomically(file, formatSettledJournal(parsed, randomUUID()))
          parsed = parseJournal(readFileSync(file, 'utf8'))
        }
        for (const batch of parsed.batches) {
          await this.#withDeadline(writeUsageBatch(this.#prisma, batch.id, batch.deltas))
          this.#confirmed(batch.deltas)
        }
        unlinkSync(file)
        const calls = parsed.batches.reduce((sum, batch) => sum + batch.deltas.reduce((batchSum, delta) => batchSum + delta.calls, 0), 0)
        this.#log.info({ file, batches: parsed.batches.length, calls, skippedLines: parsed.skippedLines }, 'replayed the usage journal of a stopped process')
      } catch (error) {
        this.#log.error({ err: error, file }, 'cannot replay a usage journal yet; kept for the next attempt')
        // the database is likely away: the other files wait for the next attempt too
        return
      }
    }
  }

  async #pruneFlushRecords (): Promise<void> {
    if (Date.now() - this.#prunedAtMs < PRUNE_EVERY_MS) return
    this.#prunedAtMs = Date.now()
    try {
      await this.#withDeadline(this.#prisma.$executeRawUnsafe(`DELETE FROM "UsageFlush" WHERE "flushedAt" < CURRENT_TIMESTAMP - INTERVAL '${FLUSH_RECORD_DAYS} days'`))
    } catch (error) {
      this.#log.warn({ err: error }, 'cannot prune old usage flush records')
    }
  }

  async #withDeadline<T> (work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new DependencyUnavailableError(`PostgreSQL did not answer within ${this.#deadlineMs} ms`)) }, this.#deadlineMs)
    })
    try {
      return await Promise.race([work, deadline])
    } finally {
      clearTimeout(timer)
    }
  }
}

/**
 * Adds a batch to UsageDaily unless a batch with its id was added already: one statement, so the
 * UsageFlush row and the counts commit together. If another session is inserting the same id,
 * PostgreSQL waits for it and then does nothing if it committed. An app or API deleted meanwhile
 * is still counted (UsageDaily has no foreign keys) rather than failing the batch.
 */
export async function writeUsageBatch (prisma: PrismaClient, id: string, deltas: UsageDelta[]): Promise<void> {
  const totals = [...sumUsage(deltas).values()]
  if (totals.length === 0) return
  const values = totals.map((_, index) => `($${index * 5 + 2}::uuid, $${index * 5 + 3}::uuid, $${index * 5 + 4}::date, $${index * 5 + 5}::bigint, $${index * 5 + 6}::bigint)`).join(', ')
  const parameters = totals.flatMap(delta => [delta.appId, delta.apiId, delta.day, delta.calls, delta.rejected])
  await prisma.$executeRawUnsafe(
    `WITH "claim" AS (INSERT INTO "UsageFlush" ("id") VALUES ($1::uuid) ON CONFLICT ("id") DO NOTHING RETURNING "id")
     INSERT INTO "UsageDaily" ("appId", "apiId", "day", "calls", "rejected")
     SELECT "batch".* FROM (VALUES ${values}) AS "batch" ("appId", "apiId", "day", "calls", "rejected") CROSS JOIN "claim"
     ON CONFLICT ("appId", "apiId", "day") DO UPDATE SET "calls" = "UsageDaily"."calls" + EXCLUDED."calls", "rejected" = "UsageDaily"."rejected" + EXCLUDED."rejected"`,
    id, ...parameters
  )
}

/** Today's and this month's persisted calls per app × API (or of one), to start quota counters after a restart or a lost Redis. */
export async function readQuotaUsage (prisma: PrismaClient, nowMs = Date.now(), only?: { appId: string, apiId: string }): Promise<Array<{ appId: string, apiId: string, day: number, month: number }>> {
  const now = new Date(nowMs)
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1))
  const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()))
  const rows = await prisma.usageDaily.findMany({ where: { ...only, day: { gte: monthStart } } })
  const totals = new Map<string, { appId: string, apiId: string, day: number, month: number }>()
  for (const row of rows) {
    const key = `${row.appId}:${row.apiId}`
    const total = totals.get(key) ?? { appId: row.appId, apiId: row.apiId, day: 0, month: 0 }
    total.month += Number(row.calls)
    if (row.day.getTime() === today.getTime()) total.day += Number(row.calls)
    totals.set(key, total)
  }
  return [...totals.values()]
}
