// Keeps the gateway's in-memory snapshot current: loads it at start, then on a change event
// or when the periodic version poll sees a newer version applies only what changed (the
// audit log names it), reading everything again when the changes cannot be told or now and
// then as a safety net; caches the snapshot on local disk, and keeps serving the last good
// one when the database is away.
import { EventEmitter } from 'node:events'
import { mkdir, readFile, rename } from 'node:fs/promises'
import path from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import type { SecretBox } from '../../domain/crypto.js'
import type { ChangeBus } from '../../store/change-bus.js'
import { loadConfigDelta, loadConfigSnapshot, readConfigVersion, shareRepeatedIds, type ConfigSnapshotData } from '../../store/config-snapshot.js'
import type { PrismaClient } from '../../store/db.js'
import { applyConfigDelta, compileSnapshot, compileSnapshotInSlices, snapshotRecords, type GatewaySnapshot } from './compile.js'
import { writeJsonInSlices } from './json-slices.js'

/** A full read now and then, in case a change escaped the audit log. */
const FULL_RELOAD_INTERVAL_MS = 10 * 60_000
/** The disk cache is written at most this often: at 100,000 apps it is tens of megabytes. */
const CACHE_WRITE_INTERVAL_MS = 5_000

export interface SnapshotManagerOptions {
  prisma: PrismaClient
  bus: ChangeBus
  secretBox: SecretBox
  pollMs: number
  /** where the last good snapshot is cached; undefined = no disk cache */
  cacheFile?: string
  log: FastifyBaseLogger
}

export class SnapshotManager extends EventEmitter<{ update: [GatewaySnapshot, GatewaySnapshot | undefined] }> {
  readonly #options: SnapshotManagerOptions
  #snapshot: GatewaySnapshot | undefined
  #refreshing: Promise<void> | undefined
  #refreshAgain = false
  #pollTimer: NodeJS.Timeout | undefined
  #unsubscribe: (() => void) | undefined
  #lastError: Error | undefined
  #fullReloadAt = 0
  #syncedAt = 0
  #cacheTimer: NodeJS.Timeout | undefined
  #cacheWriting: Promise<void> | undefined
  #cacheWritten = false
  #polling = false

  constructor (options: SnapshotManagerOptions) {
    super()
    this.#options = options
  }

  get current (): GatewaySnapshot {
    if (this.#snapshot === undefined) throw new Error('The snapshot is not loaded yet')
    return this.#snapshot
  }

  get databaseHealthy (): boolean {
    return this.#lastError === undefined
  }

  /** When the snapshot was last known to match the database (a load, a delta or a poll finding no change). */
  get syncedAt (): number {
    return this.#syncedAt
  }

  async start (): Promise<void> {
    try {
      await this.#reload()
    } catch (error) {
      const cached = await this.#readCache()
      if (cached === undefined) throw error
      this.#options.log.warn({ err: error }, 'database unreachable at start; serving the cached snapshot')
      this.#lastError = error as Error
      this.#install(compileSnapshot(cached, this.#options.secretBox))
    }
    this.#unsubscribe = this.#options.bus.subscribe(version => {
      if (this.#snapshot === undefined || version > this.#snapshot.version) void this.refresh()
    })
    this.#pollTimer = setInterval(() => { void this.#poll() }, this.#options.pollMs)
    this.#pollTimer.unref()
  }

  /** Reloads now; concurrent calls share one reload, and a call during a reload schedules one more. */
  async refresh (): Promise<void> {
    if (this.#refreshing !== undefined) {
      this.#refreshAgain = true
      return await this.#refreshing
    }
    this.#refreshing = (async () => {
      do {
        this.#refreshAgain = false
        try {
          await this.#reload()
        } catch (error) {
          if (this.#lastError === undefined) this.#options.log.error({ err: error }, 'snapshot reload failed; serving the last good snapshot')
          this.#lastError = error as Error
        }
      } while (this.#refreshAgain)
    })().finally(() => { this.#refreshing = undefined })
    return await this.#refreshing
  }

  async stop (): Promise<void> {
    clearInterval(this.#pollTimer)
    this.#unsubscribe?.()
    await this.#refreshing
    if (this.#cacheTimer !== undefined) {
      clearTimeout(this.#cacheTimer)
      this.#cacheTimer = undefined
      await this.#writeCache()
    }
    await this.#cacheWriting
  }

  async #poll (): Promise<void> {
    // a poll the database has not answered yet holds a connection: never start another beside it
    if (this.#polling) return
    this.#polling = true
    try {
      const version = await readConfigVersion(this.#options.prisma)
      this.#lastError = undefined
      if (this.#snapshot !== undefined && version === this.#snapshot.version) this.#syncedAt = Date.now()
      if (this.#snapshot === undefined || version !== this.#snapshot.version || Date.now() - this.#fullReloadAt > FULL_RELOAD_INTERVAL_MS) await this.refresh()
    } catch (error) {
      if (this.#lastError === undefined) this.#options.log.error({ err: error }, 'configuration version poll failed')
      this.#lastError = error as Error
    } finally {
      this.#polling = false
    }
  }

  async #reload (): Promise<void> {
    const current = this.#snapshot
    if (current !== undefined && Date.now() - this.#fullReloadAt < FULL_RELOAD_INTERVAL_MS) {
      const delta = await loadConfigDelta(this.#options.prisma, current.version)
      this.#reachable()
      if (delta !== undefined) {
        if (BigInt(delta.version) > current.version) {
          this.#install(applyConfigDelta(current, delta, this.#options.secretBox))
          this.#scheduleCacheWrite()
        }
        this.#syncedAt = Date.now()
        return
      }
    }
    const data = await loadConfigSnapshot(this.#options.prisma)
    this.#reachable()
    this.#fullReloadAt = Date.now()
    this.#syncedAt = Date.now()
    if (current !== undefined && BigInt(data.version) < current.version) return
    // the first compile has nothing to serve meanwhile; a later one serves the current snapshot between slices
    this.#install(current === undefined ? compileSnapshot(data, this.#options.secretBox) : await compileSnapshotInSlices(data, this.#options.secretBox, current))
    this.#scheduleCacheWrite()
  }

  #reachable (): void {
    if (this.#lastError !== undefined) this.#options.log.info('database reachable again')
    this.#lastError = undefined
  }

  #install (snapshot: GatewaySnapshot): void {
    const previous = this.#snapshot
    this.#snapshot = snapshot
    this.emit('update', snapshot, previous)
  }

  async #readCache (): Promise<ConfigSnapshotData | undefined> {
    if (this.#options.cacheFile === undefined) return undefined
    try {
      return shareRepeatedIds(JSON.parse(await readFile(this.#options.cacheFile, 'utf8')) as ConfigSnapshotData)
    } catch {
      return undefined
    }
  }

  #scheduleCacheWrite (): void {
    if (this.#options.cacheFile === undefined || this.#cacheTimer !== undefined) return
    // the first snapshot is cached at once: it is what a restart without the database needs most
    const delayMs = this.#cacheWritten ? CACHE_WRITE_INTERVAL_MS : 0
    this.#cacheTimer = setTimeout(() => {
      this.#cacheTimer = undefined
      void this.#writeCache()
    }, delayMs)
    this.#cacheTimer.unref()
  }

  /** Writes the current snapshot to the disk cache; writes queue behind each other, never overlap. */
  async #writeCache (): Promise<void> {
    const file = this.#options.cacheFile
    if (file === undefined) return
    const writing = (this.#cacheWriting ?? Promise.resolve()).then(async () => {
      const snapshot = this.#snapshot
      if (snapshot === undefined) return
      try {
        await mkdir(path.dirname(file), { recursive: true })
        // write then rename, so a crash mid-write never leaves a torn cache
        const temporary = `${file}.${process.pid}.tmp`
        await writeJsonInSlices(temporary, snapshotRecords(snapshot))
        await rename(temporary, file)
        this.#cacheWritten = true
      } catch (error) {
        this.#options.log.warn({ err: error }, 'could not write the snapshot cache')
      }
    })
    this.#cacheWriting = writing
    await writing
    if (this.#cacheWriting === writing) this.#cacheWriting = undefined
  }
}
