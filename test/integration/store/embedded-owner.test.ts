// The embedded database under its owner: a second `start` on the same DATA_DIR is turned
// away without touching the database, and SIGKILL in the middle of writes loses nothing
// that was acknowledged — the next start takes over the dead owner's lock and opens the
// files, again and again.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { admin, adminTokenNames, embeddedEnvironment, runCli, startGateway, type StartedGateway } from '../../helpers/cli-process.js'

const KILLS = 3
const WRITERS = 4
const WRITES_BEFORE_KILL = 10

function lockFiles (dataDir: string): Array<{ name: string, pid: number }> {
  return readdirSync(dataDir).filter(name => /^owner\.\d+\.lock$/.test(name)).map(name => ({ name, pid: (JSON.parse(readFileSync(path.join(dataDir, name), 'utf8')) as { pid: number }).pid }))
}

// every start of a child process loads tsx and PGlite: seconds each on a busy 2-core machine
describe('an embedded DATA_DIR and its owning process', { timeout: 240_000 }, () => {
  let dataDir: string
  let environment: NodeJS.ProcessEnv
  let gateway: StartedGateway | undefined
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'pgw-owner-'))
    environment = embeddedEnvironment(dataDir)
  })
  afterAll(async () => {
    gateway?.child.kill('SIGKILL')
    await gateway?.exited
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('turns a second start away at once, naming the owner\'s pid, without opening the database', async () => {
    gateway = await startGateway(environment)
    const postmasterPid = readFileSync(path.join(dataDir, 'pglite', 'postmaster.pid'), 'utf8')
    const second = await runCli(environment, 'start')
    expect(second.code).toBe(1)
    expect(second.stderr).toContain(`is in use by partner-gateway start (pid ${gateway.child.pid as number}`)
    // PGlite rewrites postmaster.pid (with its start time) whenever it opens the files
    expect(readFileSync(path.join(dataDir, 'pglite', 'postmaster.pid'), 'utf8')).toBe(postmasterPid)
    expect((await admin(gateway.controlUrl, 'GET', '/admin-tokens')).status).toBe(200)
  })

  it('takes CLI commands on a socket in DATA_DIR that only its OS user can open', () => {
    const socket = statSync(path.join(dataDir, 'control.sock'))
    expect(socket.isSocket()).toBe(true)
    expect(socket.mode & 0o777).toBe(0o600)
  })

  it(`keeps every acknowledged write through ${KILLS} SIGKILLs in the middle of writing, taking over the dead owner's lock each time`, async () => {
    const acknowledged: string[] = []
    for (let round = 0; round <= KILLS; round++) {
      if (gateway === undefined) gateway = await startGateway(environment)
      const running = gateway
      expect(lockFiles(dataDir)).toEqual([expect.objectContaining({ pid: running.child.pid })])
      const names = await adminTokenNames(running.controlUrl)
      expect(acknowledged.filter(name => !names.includes(name))).toEqual([])
      if (round === KILLS) break

      let writing = true
      const writers = Array.from({ length: WRITERS }, async (_, writer) => {
        for (let index = 0; writing; index++) {
          const name = `round-${round}-writer-${writer}-${index}`
          try {
            if ((await admin(running.controlUrl, 'POST', '/admin-tokens', { name, scopes: ['read'] })).status === 201) acknowledged.push(name)
          } catch {
            return
          }
        }
      })
      // killed once writes are flowing, at a random point between two of them
      const before = acknowledged.length
      while (acknowledged.length < before + WRITES_BEFORE_KILL) await new Promise(resolve => setTimeout(resolve, 20))
      await new Promise(resolve => setTimeout(resolve, Math.random() * 300))
      running.child.kill('SIGKILL')
      writing = false
      expect(await running.exited).toEqual({ code: null, signal: 'SIGKILL' })
      await Promise.all(writers)
      // the killed owner could not remove its lock: the next start must find it stale
      expect(lockFiles(dataDir)).toEqual([expect.objectContaining({ pid: running.child.pid })])
      gateway = undefined
    }
    expect(acknowledged.length).toBeGreaterThanOrEqual(KILLS * WRITES_BEFORE_KILL)
  })
})
