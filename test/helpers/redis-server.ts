// A private redis-server for fault tests: killed and restarted at will, never the shared one.
import { spawn, type ChildProcess } from 'node:child_process'
import { Redis } from 'ioredis'
import { freePort } from './ports.js'

export interface PrivateRedis {
  port: number
  url: string
  /** SIGKILL: the data is gone, as after a crash without persistence */
  kill: () => Promise<void>
  /** starts again on the same port, empty */
  start: () => Promise<void>
  stop: () => Promise<void>
}

export async function startPrivateRedis (): Promise<PrivateRedis> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    const deadline = Date.now() + 5000
    for (;;) {
      const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
      probe.on('error', () => {})
      try {
        await probe.connect()
        await probe.ping()
        return
      } catch (error) {
        if (Date.now() > deadline) throw error
        await new Promise(resolve => setTimeout(resolve, 50))
      } finally {
        probe.disconnect()
      }
    }
  }
  const kill = async (): Promise<void> => {
    const running = child
    if (running === undefined || running.exitCode !== null) return
    await new Promise(resolve => { running.once('exit', resolve); running.kill('SIGKILL') })
    child = undefined
  }
  await start()
  return { port, url: `redis://127.0.0.1:${port}`, kill, start, stop: kill }
}
