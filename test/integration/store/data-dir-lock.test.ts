// The lock that makes one process the owner of an embedded DATA_DIR: refused while the
// owner lives, taken over once it is gone (dead pid, reused pid, a restarted container's
// pid 1), and exactly one winner when several processes take over the same stale lock.
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { acquireDataDirLock, runningOwner, type DataDirOwner } from '../../../src/store/data-dir-lock.js'

const run = promisify(execFile)

function writeLock (dataDir: string, generation: number, owner: Partial<DataDirOwner>): void {
  writeFileSync(path.join(dataDir, `owner.${generation}.lock`), JSON.stringify({ startedAt: '2026-01-01T00:00:00.000Z', command: 'start', nonce: `left-${generation}`, ...owner }))
}

async function deadPid (): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''])
  await new Promise(resolve => child.once('exit', resolve))
  return child.pid as number
}

describe('the DATA_DIR owner lock', () => {
  let dataDir: string
  beforeEach(() => { dataDir = mkdtempSync(path.join(tmpdir(), 'pgw-lock-')) })
  afterEach(() => { rmSync(dataDir, { recursive: true, force: true }) })

  it('refuses a second owner while the first holds it, naming its pid and command, and frees it on release', () => {
    const lock = acquireDataDirLock(dataDir, { command: 'start', commandSocket: path.join(dataDir, 'control.sock') })
    expect(() => acquireDataDirLock(dataDir, { command: 'seed' })).toThrow(`is in use by partner-gateway start (pid ${process.pid}`)
    expect(runningOwner(dataDir)).toMatchObject({ pid: process.pid, command: 'start', commandSocket: path.join(dataDir, 'control.sock') })
    lock.release()
    expect(runningOwner(dataDir)).toBeUndefined()
    expect(readdirSync(dataDir)).toEqual([])
    acquireDataDirLock(dataDir, { command: 'seed' }).release()
  })

  it('takes over the lock of a process that no longer runs and removes it', async () => {
    writeLock(dataDir, 7, { pid: await deadPid() })
    expect(runningOwner(dataDir)).toBeUndefined()
    const lock = acquireDataDirLock(dataDir, { command: 'start' })
    expect(readdirSync(dataDir)).toEqual(['owner.8.lock'])
    lock.release()
  })

  it('takes over a lock whose pid now belongs to another process (started later than the owner)', () => {
    // pid 1 is alive, but its start time is not the one recorded, so the pid was reused
    writeLock(dataDir, 1, { pid: 1, processStart: 123456789012 })
    acquireDataDirLock(dataDir, { command: 'start' }).release()
  })

  it('takes over a lock left by an earlier process with this process\'s pid (a restarted container\'s pid 1)', () => {
    writeLock(dataDir, 1, { pid: process.pid })
    acquireDataDirLock(dataDir, { command: 'start' }).release()
  })

  it('lets exactly one of several processes take over the same stale lock', async () => {
    writeLock(dataDir, 3, { pid: await deadPid() })
    // the contenders start together (tsx takes a varying second to load), and each holds what
    // it won for a second, so the others see a live owner
    const startAt = Date.now() + 4000
    const contender = `
      import { acquireDataDirLock } from './src/store/data-dir-lock.ts'
      await new Promise(resolve => setTimeout(resolve, ${startAt} - Date.now() - 5))
      while (Date.now() < ${startAt});
      try {
        const lock = acquireDataDirLock(${JSON.stringify(dataDir)}, { command: 'contender' })
        console.log('won')
        setTimeout(() => { lock.release() }, 1000)
      } catch (error) {
        console.log(error.code)
      }`
    const outcomes = await Promise.all(Array.from({ length: 6 }, async () => (await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', contender])).stdout.trim()))
    expect(outcomes.filter(outcome => outcome === 'won')).toHaveLength(1)
    expect(outcomes.filter(outcome => outcome === 'DATA_DIR_IN_USE')).toHaveLength(5)
  })
})
