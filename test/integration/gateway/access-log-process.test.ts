// The access log of a real process: to ACCESS_LOG_FILE, reopened under its name on SIGHUP
// after the operator's tool renamed it, and not a line lost when SIGTERM follows a burst of
// requests (the lines are buffered in memory between writes).
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createMigratedDataDir } from '../../helpers/database.js'

interface Started { child: ChildProcess, url: string, apiKey: string, output: () => string, exited: Promise<number | null> }

async function startEmbedded (dataDir: string, environment: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start'], {
    env: { ...process.env, DATA_DIR: dataDir, GATEWAY_PORT: '0', CONTROL_PORT: '0', HOST: '127.0.0.1', SEED_DEMO: 'true', LOG_LEVEL: 'warn', ...environment },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<number | null>(resolve => { child.once('exit', code => { resolve(code) }) })
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    const url = /'(http:\/\/127\.0\.0\.1:\d+\/demo\/hello)\?greeting=hi'/.exec(output)?.[1]
    const apiKey = /apiKey: +(\S+)/.exec(output)?.[1]
    if (url !== undefined && apiKey !== undefined) return { child, url, apiKey, output: () => output, exited }
    if (child.exitCode !== null) break
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  child.kill('SIGKILL')
  throw new Error(`the product did not start:\n${output}`)
}

async function callMany (started: Started, prefix: string, count: number, concurrency = 20): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const id = `${prefix}-${next++}`
      // the demo plan's rate limit refuses some: a refusal has its line as well
      await (await fetch(started.url, { headers: { 'x-api-key': started.apiKey, 'x-request-id': id } })).arrayBuffer()
    }
  }))
}

/** Request ids of the access lines in `text`, with how often each appears. */
function accessIds (text: string): Map<string, number> {
  const ids = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue
    const entry = JSON.parse(line) as { msg?: string, reqId?: string }
    if (entry.msg === 'request' && entry.reqId !== undefined) ids.set(entry.reqId, (ids.get(entry.reqId) ?? 0) + 1)
  }
  return ids
}

function withPrefix (ids: Map<string, number>, prefix: string): number[] {
  return [...ids].filter(([id]) => id.startsWith(`${prefix}-`)).map(([, count]) => count)
}

describe('access log of a running process', () => {
  let dataDir: string | undefined
  let started: Started | undefined

  afterEach(() => {
    if (started?.child.exitCode === null) started.child.kill('SIGKILL')
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true })
  })

  it('writes to ACCESS_LOG_FILE, reopens it on SIGHUP after a rename, and loses nothing on SIGTERM', async () => {
    dataDir = createMigratedDataDir('pgw-access-')
    const file = path.join(dataDir, 'logs', 'access.log')
    started = await startEmbedded(dataDir, { ACCESS_LOG_FILE: file })
    await callMany(started, 'before', 5)
    const deadline = Date.now() + 5_000
    while (withPrefix(accessIds(existsSync(file) ? readFileSync(file, 'utf8') : ''), 'before').length < 5) {
      if (Date.now() > deadline) throw new Error(`the first lines never reached ${file}`)
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    renameSync(file, `${file}.1`)
    started.child.kill('SIGHUP')
    await new Promise(resolve => setTimeout(resolve, 300))
    await callMany(started, 'after', 5)
    await callMany(started, 'burst', 300)
    started.child.kill('SIGTERM')
    expect(await started.exited).toBe(0)

    const rotated = accessIds(readFileSync(`${file}.1`, 'utf8'))
    const current = accessIds(readFileSync(file, 'utf8'))
    expect(withPrefix(rotated, 'before')).toEqual([1, 1, 1, 1, 1])
    expect(withPrefix(rotated, 'after')).toEqual([])
    expect(withPrefix(current, 'after')).toEqual([1, 1, 1, 1, 1])
    expect(withPrefix(current, 'burst')).toEqual(Array(300).fill(1))
    // the process log (stdout) carries no access lines when they have a file
    expect(accessIds(started.output()).size).toBe(0)
  }, 120_000)

  it('loses no access line on stdout when SIGTERM follows a burst', async () => {
    dataDir = createMigratedDataDir('pgw-access-')
    started = await startEmbedded(dataDir, { LOG_LEVEL: 'info' })
    await callMany(started, 'burst', 300)
    started.child.kill('SIGTERM')
    expect(await started.exited).toBe(0)
    expect(withPrefix(accessIds(started.output()), 'burst')).toEqual(Array(300).fill(1))
  }, 120_000)
})
