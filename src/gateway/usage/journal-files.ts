// The usage journal on disk: one file per recorder in DATA_DIR/usage-journal, named after
// its owner (pid, process start, recorder instance) so that no two processes ever write
// one file, and so that a file whose owner is gone can be told from a live one.
// Appends are plain write(2) calls without fsync: the page cache outlives a killed process.
import { closeSync, mkdirSync, openSync, readdirSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { isProcessRunning, processStartTicks } from '../../store/process-identity.js'
import { formatJournalFileName, parseJournalFileName, sameOwner, type JournalOwner } from './usage-journal.js'

const TEMPORARY_SUFFIX = '.tmp'

// `p<ticks in base 36>` from /proc (Linux), else `t<start time>`, which only tells this process's own files apart
const START_TICKS = processStartTicks(process.pid)
const PROCESS_START = START_TICKS !== undefined ? `p${START_TICKS.toString(36)}` : `t${Date.now().toString(36)}`
/** recorders of this process whose journals are in use */
const liveInstances = new Set<string>()

export function newJournalOwner (): JournalOwner {
  const owner = { pid: process.pid, start: PROCESS_START, instance: randomBytes(4).toString('hex') }
  liveInstances.add(owner.instance)
  return owner
}

/** After this, the owner's files are left to whoever starts next (another recorder or process). */
export function releaseJournalOwner (owner: JournalOwner): void {
  liveInstances.delete(owner.instance)
}

function isAlive (owner: JournalOwner): boolean {
  if (owner.pid === process.pid) return owner.start === PROCESS_START && liveInstances.has(owner.instance)
  return isProcessRunning(owner.pid, owner.start.startsWith('p') ? parseInt(owner.start.slice(1), 36) : undefined)
}

export function writeFileAtomically (file: string, text: string): void {
  const temporary = file + TEMPORARY_SUFFIX
  writeFileSync(temporary, text)
  renameSync(temporary, file)
}

function writeAll (fd: number, text: string): void {
  const bytes = Buffer.from(text)
  let written = 0
  while (written < bytes.length) written += writeSync(fd, bytes, written)
}

/** A recorder's own journal, appended to synchronously so that lines land in the order they are made. */
export class JournalFile {
  readonly file: string
  #fd: number

  constructor (directory: string, owner: JournalOwner) {
    mkdirSync(directory, { recursive: true })
    this.file = path.join(directory, formatJournalFileName({ owner }))
    this.#fd = openSync(this.file, 'a')
  }

  append (text: string): void {
    writeAll(this.#fd, text)
  }

  /** Replaces the whole file at once: a crash leaves either the old or the new content. */
  rewrite (text: string): void {
    writeFileAtomically(this.file, text)
    // open before closing: if the open fails, appends still land somewhere harmless until the next rewrite
    const fd = openSync(this.file, 'a')
    closeSync(this.#fd)
    this.#fd = fd
  }

  close (options: { remove: boolean }): void {
    closeSync(this.#fd)
    if (options.remove) unlinkSync(this.file)
  }
}

/**
 * Takes over the journals of owners that are gone, by renaming each to a name of `owner`'s
 * (a rename succeeds for one process only, so no file is replayed twice), and returns every
 * file `owner` has taken over and not yet settled. Leftover temporary files of dead owners are removed.
 */
export function claimOrphanedJournals (directory: string, owner: JournalOwner): string[] {
  let names: string[]
  try {
    names = readdirSync(directory)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  const claimed: string[] = []
  for (const name of names) {
    const temporary = name.endsWith(TEMPORARY_SUFFIX)
    const parsed = parseJournalFileName(temporary ? name.slice(0, -TEMPORARY_SUFFIX.length) : name)
    if (parsed === undefined) continue
    const file = path.join(directory, name)
    if (sameOwner(parsed.owner, owner)) {
      if (!temporary && parsed.claim !== undefined) claimed.push(file)
      continue
    }
    if (isAlive(parsed.owner)) continue
    try {
      if (temporary) {
        unlinkSync(file)
        continue
      }
      const target = path.join(directory, formatJournalFileName({ owner, claim: randomBytes(4).toString('hex') }))
      renameSync(file, target)
      claimed.push(target)
    } catch (error) {
      // another process took it first
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }
  return claimed
}
