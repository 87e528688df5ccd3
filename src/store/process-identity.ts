// Whether a process that wrote a file in DATA_DIR (a lock, a journal) still runs. A pid alone
// does not say: pids are reused after a restart, so the process's start time is compared too.
import { readFileSync } from 'node:fs'

/** Field 22 of /proc/<pid>/stat: the start time in clock ticks since boot; undefined without procfs. */
export function processStartTicks (pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the command name (field 2) may hold spaces and parentheses; the fields after it are plain
    const ticks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
    return /^\d+$/.test(ticks ?? '') ? Number(ticks) : undefined
  } catch {
    return undefined
  }
}

/** Whether `pid` runs and, when its start time is known, is still the same process. */
export function isProcessRunning (pid: number, startTicks?: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    // EPERM: the process exists but belongs to another user
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
  if (startTicks === undefined) return true
  const start = processStartTicks(pid)
  return start === undefined || start === startTicks
}
