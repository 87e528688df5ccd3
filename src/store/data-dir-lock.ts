// One owner per embedded DATA_DIR. PGlite cannot share its files: it always runs as
// "pid 42" inside WebAssembly, so PostgreSQL's own postmaster.pid never tells two processes
// apart, and two of them appending to one WAL lose writes and can leave a checkpoint record
// that no longer parses (PANIC at the next start, "RuntimeError: Aborted()").
//
// The lock is a file per generation, `owner.<n>.lock`, and the owner is the holder of the
// highest generation. A file is created whole (written to a temporary name, then hard-linked,
// which fails if the name exists), so two processes can never both create generation n, and
// nobody reads a half-written lock. Taking over from a dead owner means creating n + 1; a
// process that won a generation someone else has already passed (it listed the directory
// before them) sees the higher file right after and backs off. No step ever deletes the
// file of a live owner, so there is no window in which two processes both hold the lock.
import { randomBytes } from 'node:crypto'
import { linkSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { DataDirInUseError } from '../domain/errors.js'
import { isProcessRunning, processStartTicks } from './process-identity.js'

export interface DataDirOwner {
  pid: number
  /** start time of the process in clock ticks since boot (Linux), to tell a reused pid apart */
  processStart?: number
  startedAt: string
  /** what the owner runs, e.g. "start" or "backup" */
  command: string
  /** the Unix socket on which the owner takes CLI commands, if it serves them */
  commandSocket?: string
  /** unique per acquisition */
  nonce: string
}

export interface DataDirLock {
  owner: DataDirOwner
  release: () => void
}

const LOCK_NAME = /^owner\.(\d+)\.lock$/
const MAX_ATTEMPTS = 50
// locks this process holds, by file: an owner with our own pid that is not among them was
// left by an earlier process that had the same pid (pid 1 in a restarted container)
const held = new Set<string>()

function lockFile (dataDir: string, generation: number): string {
  return path.join(dataDir, `owner.${generation}.lock`)
}

function generations (dataDir: string): number[] {
  let names: string[]
  try {
    names = readdirSync(dataDir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  return names.map(name => LOCK_NAME.exec(name)?.[1]).filter(match => match !== undefined).map(Number).sort((a, b) => a - b)
}

function isRunning (owner: DataDirOwner, file: string): boolean {
  if (owner.pid === process.pid) return held.has(file)
  return isProcessRunning(owner.pid, owner.processStart)
}

function readOwner (file: string): DataDirOwner | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DataDirOwner
  } catch (error) {
    // a newer owner removed it after taking over; the caller lists again
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/** The live owner of `dataDir`, if there is one. */
export function runningOwner (dataDir: string): DataDirOwner | undefined {
  dataDir = path.resolve(dataDir)
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const highest = generations(dataDir).at(-1)
    if (highest === undefined) return undefined
    const file = lockFile(dataDir, highest)
    const owner = readOwner(file)
    if (owner !== undefined) return isRunning(owner, file) ? owner : undefined
  }
  return undefined
}

function describeOwner (dataDir: string, owner: DataDirOwner): string {
  return `DATA_DIR ${dataDir} is in use by partner-gateway ${owner.command} (pid ${owner.pid}, since ${owner.startedAt})`
}

/** Takes `dataDir` for this process, or throws DATA_DIR_IN_USE naming the live owner. */
export function acquireDataDirLock (dataDir: string, ownership: { command: string, commandSocket?: string }): DataDirLock {
  dataDir = path.resolve(dataDir)
  const owner: DataDirOwner = { pid: process.pid, processStart: processStartTicks(process.pid), startedAt: new Date().toISOString(), ...ownership, nonce: randomBytes(8).toString('hex') }
  const draft = path.join(dataDir, `owner.${process.pid}.${owner.nonce}.tmp`)
  writeFileSync(draft, JSON.stringify(owner) + '\n', { mode: 0o600 })
  try {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const highest = generations(dataDir).at(-1) ?? 0
      if (highest > 0) {
        const current = readOwner(lockFile(dataDir, highest))
        if (current === undefined) continue
        if (isRunning(current, lockFile(dataDir, highest))) throw new DataDirInUseError(describeOwner(dataDir, current))
      }
      const mine = lockFile(dataDir, highest + 1)
      try {
        linkSync(draft, mine)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue
        throw error
      }
      if ((generations(dataDir).at(-1) as number) > highest + 1) {
        rmSync(mine, { force: true })
        continue
      }
      for (const older of generations(dataDir).filter(generation => generation <= highest)) rmSync(lockFile(dataDir, older), { force: true })
      held.add(mine)
      return {
        owner,
        release () {
          held.delete(mine)
          rmSync(mine, { force: true })
        }
      }
    }
    throw new DataDirInUseError(`DATA_DIR ${dataDir}: could not take the lock after ${MAX_ATTEMPTS} attempts; other processes keep taking it`)
  } finally {
    rmSync(draft, { force: true })
  }
}
