// Notices that files were replaced: a poll of their identity (inode, size, mtime) rather than
// fs.watch, because renewals replace files by rename or by swapping a symlink (certbot's live/
// directory, Kubernetes secret volumes), which inotify watches on the old file never report.
// A change is reported once the files have stopped changing for a whole interval, so that a
// certificate and its key written one after the other are read together.
import { stat } from 'node:fs/promises'

export interface FileWatch {
  stop: () => void
}

async function identity (file: string): Promise<string> {
  try {
    const stats = await stat(file)
    return `${stats.ino}:${stats.size}:${stats.mtimeMs}`
  } catch (error) {
    return `missing:${(error as NodeJS.ErrnoException).code ?? ''}`
  }
}

/** Resolves once the files' current state is recorded: a change from then on is reported. */
export async function watchFiles (files: readonly string[], intervalMs: number, onChange: () => void): Promise<FileWatch> {
  let last: string | undefined
  let changed = false
  let checking = false
  const check = async (): Promise<void> => {
    if (checking) return
    checking = true
    try {
      const current = (await Promise.all(files.map(identity))).join('|')
      if (last !== undefined && current !== last) {
        changed = true
      } else if (changed) {
        changed = false
        onChange()
      }
      last = current
    } finally {
      checking = false
    }
  }
  await check()
  const timer = setInterval(() => { void check() }, intervalMs)
  timer.unref()
  return {
    stop () {
      clearInterval(timer)
    }
  }
}
