// SIGTERM with a deadline, on the real process: readiness off at once, in-flight requests
// finish, a client that never reads its response cannot hold the process past
// SHUTDOWN_TIMEOUT_SECONDS, usage is flushed and the process exits 0.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import http from 'node:http'
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase } from '../../src/store/db.js'
import { createMigratedDataDir } from '../helpers/database.js'
import { freePort } from '../helpers/ports.js'
import { provision, type JsonResponse, type TestStack } from '../helpers/stack.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'

const SHUTDOWN_TIMEOUT_SECONDS = 2

describe('graceful shutdown of the embedded product', () => {
  const dataDir = createMigratedDataDir('pgw-shutdown-')
  const adminToken = randomBytes(24).toString('hex')
  let child: ChildProcess
  let upstream: TestUpstream
  let gatewayUrl: string
  let exit: Promise<{ code: number | null, signal: string | null }>

  beforeAll(async () => {
    upstream = await startUpstream('big', (request, response) => {
      if (request.url?.startsWith('/slow') === true) {
        setTimeout(() => { response.end('slow done') }, 700)
        return
      }
      // far more than the socket buffers hold: a client that does not read stalls it
      const chunk = Buffer.alloc(64 * 1024, 120)
      let sent = 0
      const write = (): void => {
        while (sent < 1024) {
          sent++
          if (!response.write(chunk)) { response.once('drain', write); return }
        }
        response.end()
      }
      write()
    })
    const [gatewayPort, controlPort] = [await freePort(), await freePort()]
    gatewayUrl = `http://127.0.0.1:${gatewayPort}`
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start'], {
      env: { ...process.env, DATA_DIR: dataDir, GATEWAY_PORT: String(gatewayPort), CONTROL_PORT: String(controlPort), HOST: '127.0.0.1', GATEWAY_ADMIN_TOKEN: adminToken, SEED_DEMO: 'false', LOG_LEVEL: 'warn', SHUTDOWN_TIMEOUT_SECONDS: String(SHUTDOWN_TIMEOUT_SECONDS) },
      stdio: ['ignore', 'pipe', 'inherit']
    })
    exit = new Promise(resolve => child.once('exit', (code, signal) => { resolve({ code, signal }) }))
    await new Promise<void>((resolve, reject) => {
      let output = ''
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes('partner-gateway started')) resolve()
      })
      void exit.then(() => { reject(new Error(`the product exited at start:\n${output}`)) })
    })
    const admin = async (method: string, urlPath: string, body?: unknown): Promise<JsonResponse> => {
      const response = await fetch(`http://127.0.0.1:${controlPort}${urlPath}`, { method, headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) })
      const text = await response.text()
      return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) }
    }
    const app = await provision({ admin } as unknown as TestStack, { upstreamUrls: [upstream.url], routes: [{ path: '/files', stripPrefix: true }] })
    apiKey = app.apiKey
    appId = app.appId
    const deadline = Date.now() + 10_000
    while ((await fetch(`${gatewayUrl}/files/slow`, { headers: { 'x-api-key': apiKey } })).status !== 200) {
      if (Date.now() > deadline) throw new Error('the API never became callable')
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    successfulCalls = 1
  }, 60_000)
  let apiKey: string
  let appId: string
  let successfulCalls = 0

  afterAll(async () => {
    if (child.exitCode === null) child.kill('SIGKILL')
    await upstream?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('finishes in-flight requests, cuts a client that never reads at the deadline, flushes usage and exits 0', async () => {
    const stalled = new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get(`${gatewayUrl}/files/big`, { headers: { 'x-api-key': apiKey } }, response => {
        response.pause()
        resolve(response)
      }).on('error', reject)
    })
    const stalledResponse = await stalled
    expect(stalledResponse.statusCode).toBe(200)
    successfulCalls++
    const inFlight = fetch(`${gatewayUrl}/files/slow`, { headers: { 'x-api-key': apiKey } })
    // a request sent while the server closes, on a connection busy with one sent before (pipelined): it is still served
    const pipelineSocket = connect(Number(new URL(gatewayUrl).port), '127.0.0.1')
    const pipelinedRequest = `GET /files/slow HTTP/1.1\r\nhost: gateway\r\nx-api-key: ${apiKey}\r\n\r\n`
    const pipelined = new Promise<string>((resolve, reject) => {
      let received = ''
      pipelineSocket.on('data', chunk => { received += chunk.toString('latin1') })
      pipelineSocket.on('close', () => { resolve(received) })
      pipelineSocket.on('error', reject)
    })
    pipelineSocket.write(pipelinedRequest)
    await new Promise(resolve => setTimeout(resolve, 200))

    const started = Date.now()
    child.kill('SIGTERM')
    await new Promise(resolve => setTimeout(resolve, 100))
    pipelineSocket.write(pipelinedRequest)
    const slow = await inFlight
    expect(slow.status).toBe(200)
    expect(await slow.text()).toBe('slow done')
    successfulCalls++
    const answers = (await pipelined).split(/(?=HTTP\/1\.1 )/)
    expect(answers.map(answer => answer.slice(0, 12))).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200'])
    expect(answers[1]).toMatch(/\r\nconnection: close\r\n/i)
    expect(answers[1]).toMatch(/slow done$/)
    successfulCalls += 2

    const { code } = await exit
    const took = Date.now() - started
    expect(code).toBe(0)
    expect(took).toBeGreaterThanOrEqual(SHUTDOWN_TIMEOUT_SECONDS * 1000 - 100)
    expect(took).toBeLessThan(SHUTDOWN_TIMEOUT_SECONDS * 1000 + 8_000)

    const database = await openDatabase({ dataDir })
    try {
      const usage = await database.prisma.usageDaily.findMany({ where: { appId } })
      expect(usage.reduce((sum, row) => sum + Number(row.calls), 0)).toBe(successfulCalls)
    } finally {
      await database.close()
    }
  }, 30_000)
})
