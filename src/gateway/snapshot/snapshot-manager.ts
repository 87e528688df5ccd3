// Keeps the gateway's in-memory snapshot current: loads it at start, reloads when a change
// event arrives or the periodic version poll sees a newer version, caches every good
// snapshot on local disk, and keeps serving the last good one when the database is away.
import { EventEmitter } from 'node:events'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import type { SecretBox } from '../../domain/crypto.js'
import type { ChangeBus } from '../../store/change-bus.js'
import { loadConfigSnapshot, readConfigVersion, type ConfigSnapshotData } from '../../store/config-snapshot.js'
import type { PrismaClient } from '../../store/db.js'
import { compileSnapshot, type GatewaySnapshot } from './compile.js'

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
  }

  async #poll (): Promise<void> {
    try {
      const version = await readConfigVersion(this.#options.prisma)
      this.#lastError = undefined
      if (this.#snapshot === undefined || version !== this.#snapshot.version) await this.refresh()
    } catch (error) {
      if (this.#lastError === undefined) this.#options.log.error({ err: error }, 'configuration version poll failed')
      this.#lastError = error as Error
    }
  }

  async #reload (): Promise<void> {
    const data = await loadConfigSnapshot(this.#options.prisma)
    if (this.#lastError !== undefined) this.#options.log.info('database reachable again')
    this.#lastError = undefined
    if (this.#snapshot !== undefined && BigInt(data.version) < this.#snapshot.version) return
    this.#install(compileSnapshot(data, this.#options.secretBox))
    await this.#writeCache(data)
  }

  #install (snapshot: GatewaySnapshot): void {
    const previous = this.#snapshot
    this.#snapshot = snapshot
    this.emit('update', snapshot, previous)
  }

  async #readCache (): Promise<ConfigSnapshotData | undefined> {
    if (this.#options.cacheFile === undefined) return undefined
    try {
      return JSON.parse(await readFile(this.#options.cacheFile, 'utf8')) as ConfigSnapshotData
    } catch {
      return undefined
    }
  }

  async #writeCache (data: ConfigSnapshotData): Promise<void> {
    const file = this.#options.cacheFile
    if (file === undefined) return
    try {
      await mkdir(path.dirname(file), { recursive: true })
      // write then rename, so a crash mid-write never leaves a torn cache
      const temporary = `${file}.${process.pid}.tmp`
      await writeFile(temporary, JSON.stringify(data), { mode: 0o600 })
      await rename(temporary, file)
    } catch (error) {
      this.#options.log.warn({ err: error }, 'could not write the snapshot cache')
    }
  }
}
