// The buffered process logs lose nothing: flush() writes what is buffered and waits for it,
// and a process that exits right after logging still gets its lines out.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { createProcessLogs } from '../../../src/observability/logger.js'

const run = promisify(execFile)

function lineCount (file: string): number {
  return readFileSync(file, 'utf8').split('\n').filter(line => line !== '').length
}

describe('process logs', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pgw-logger-'))
  afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

  it('writes buffered access lines to the file when flushed, far below the buffer size', async () => {
    const file = path.join(dir, 'flush', 'access.log')
    const logs = createProcessLogs({ level: 'silent', accessLogFile: file })
    for (let index = 0; index < 3; index++) logs.accessLog.info({ index }, 'request')
    await logs.flush()
    expect(lineCount(file)).toBe(3)
  })

  it('keeps multi-byte text intact across many buffer-sized writes', async () => {
    const file = path.join(dir, 'utf8.log')
    const logs = createProcessLogs({ level: 'silent', accessLogFile: file })
    const text = 'café 日本 🚀 '.repeat(40)
    for (let index = 0; index < 2_000; index++) logs.accessLog.info({ index, text }, 'request')
    await logs.flush()
    const lines = readFileSync(file, 'utf8').split('\n').filter(line => line !== '').map(line => JSON.parse(line) as { index: number, text: string })
    expect(lines.map(line => line.index)).toEqual(Array.from({ length: 2_000 }, (_, index) => index))
    expect(lines.every(line => line.text === text)).toBe(true)
  })

  it('writes to a new file under the same name after a rename and reopen', async () => {
    const file = path.join(dir, 'rotate.log')
    const logs = createProcessLogs({ level: 'silent', accessLogFile: file })
    logs.accessLog.info('first')
    await logs.flush()
    renameSync(file, `${file}.1`)
    logs.reopen()
    logs.accessLog.info('second')
    await logs.flush()
    expect(readFileSync(`${file}.1`, 'utf8')).toContain('"first"')
    expect(readFileSync(file, 'utf8')).toContain('"second"')
    expect(readFileSync(file, 'utf8')).not.toContain('"first"')
  })

  it('gets the lines out of a process that exits right after logging them', async () => {
    const file = path.join(dir, 'exit.log')
    const script = `
      import { createProcessLogs } from './src/observability/logger.ts'
      const logs = createProcessLogs({ level: 'info', accessLogFile: ${JSON.stringify(file)} })
      await new Promise(resolve => setTimeout(resolve, 100))
      for (let index = 0; index < 50; index++) logs.accessLog.info({ index }, 'request')
      process.exit(0)
    `
    await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script])
    expect(lineCount(file)).toBe(50)
  })
})
