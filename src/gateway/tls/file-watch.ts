// Notices that files were replaced: a poll of their identity (inode, size, mtime) rather than
// fs.watch, because renewals replace files by rename or by swapping a symlink (certbot's live/
// directory, Kubernetes secret volumes), which inotify watches on the old file never report.
// Changes seen in a burst (certificate, then key) are reported once, after a quiet period.
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
export async function watchFiles (files: readonly string[], options: { intervalMs: number, quietMs: number }, onChange: () => void): Promise<FileWatch> {
  let last: string | undefined
  let checking = false
  let quiet: NodeJS.Timeout | undefined
  const check = async (): Promise<void> => {
    if (checking) return
    checking = true
    try {
      const current = (await Promise.all(files.map(identity))).join('|')
      if (last !== undefined && current !== last) {
        clearTimeout(quiet)
        quiet = setTimeout(onChange, options.quietMs)
        quiet.unref()
      }
      last = current
    } finally {
      checking = false
    }
  }
  await check()
  const timer = setInterval(() => { void check() }, options.intervalMs)
  timer.unref()
  return {
    stop () {
      clearInterval(timer)
      clearTimeout(quiet)
    }
  }
}
