// Usage counted while PostgreSQL is unreachable is flushed once it is back: no call lost, none
// counted twice, also when a flush committed but the gateway never heard so. The gateway reaches
// PostgreSQL through a TCP relay the test switches (PGlite runs in-process and cannot be cut).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../../src/config/load.js'
import { startProduct, type RunningProduct } from '../../../src/server.js'
import { MASTER_KEY, provision, startStack, waitForPropagation, type Provisioned, type TestStack } from '../../helpers/stack.js'
import { startTcpRelay, type RelayMode, type TcpRelay } from '../../helpers/tcp-relay.js'
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js'

const FLUSH_MS = 300

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

describe('usage flushed through a PostgreSQL outage', () => {
  let stack: TestStack
  let upstream: TestUpstream
  let relay: TcpRelay
  let gateway: RunningProduct | undefined
  let dataDir: string

  beforeAll(async () => {
    stack = await startStack({ database: 'postgresql', redis: false })
    upstream = await startUpstream()
  })
  afterEach(async () => {
    // queries whose answers were lost would hold their pool connections forever: reset them
    relay?.setMode('refuse')
    relay?.setMode('pass')
    await gateway?.close()
    await relay?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })
  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
  })

  /** A gateway node of its own that reaches the stack's database only through the relay. */
  async function startRelayedGateway (): Promise<Provisioned & { prefix: string }> {
    const app = await provision(stack, { upstreamUrls: [upstream.url], auth: ['apikey'] })
    await waitForPropagation(stack)
    const prefix = (await stack.admin('GET', `/admin/v1/apis/${app.apiId}`)).body.routes[0].path
    const database = new URL(stack.control.config.databaseUrl as string)
    relay = await startTcpRelay({ host: database.hostname, port: Number(database.port) })
    database.port = String(relay.port)
    dataDir = mkdtempSync(path.join(tmpdir(), 'pgw-outage-'))
    gateway = await startProduct(loadConfig({}, {
      roles: ['gateway'], databaseUrl: database.toString(), masterKey: MASTER_KEY, dataDir, host: '127.0.0.1', gatewayPort: 0, logLevel: 'silent', usageFlushMs: FLUSH_MS
    }), { logger: pino({ level: 'silent' }) })
    return { ...app, prefix }
  }

  async function call (app: Provisioned & { prefix: string }, count: number): Promise<void> {
    for (let index = 0; index < count; index++) {
      const response = await fetch(`${gateway?.gatewayUrl as string}${app.prefix}/x`, { headers: { 'x-api-key': app.apiKey } })
      await response.arrayBuffer()
      expect(response.status).toBe(200)
    }
  }

  async function recordedCalls (appId: string): Promise<number> {
    const rows = await stack.control.database.prisma.usageDaily.findMany({ where: { appId } })
    return rows.reduce((sum, row) => sum + Number(row.calls), 0)
  }

  async function waitForCalls (appId: string, expected: number): Promise<void> {
    const deadline = Date.now() + 10_000
    while (await recordedCalls(appId) !== expected && Date.now() < deadline) await sleep(50)
  }

  function journalText (): string {
    return readdirSync(path.join(dataDir, 'usage-journal')).map(name => readFileSync(path.join(dataDir, 'usage-journal', name), 'utf8')).join('')
  }

  it.each<RelayMode>(['refuse', 'drop'])('keeps counting while PostgreSQL is cut (%s) and flushes every call once when it is back', async mode => {
    const app = await startRelayedGateway()
    await call(app, 5)
    await waitForCalls(app.appId, 5)
    relay.setMode(mode)
    await call(app, 40)
    // several failed attempts, with backoff
    await sleep(FLUSH_MS * 6)
    expect(await recordedCalls(app.appId)).toBe(5)
    expect(journalText()).toContain(app.appId)
    relay.setMode('pass')
    await waitForCalls(app.appId, 45)
    await sleep(FLUSH_MS * 4)
    expect(await recordedCalls(app.appId)).toBe(45)
  })

  it('counts a flush once when it committed but its answer was lost, after resending it under the same id', async () => {
    const app = await startRelayedGateway()
    // the node's first report goes out just after start: let it finish, so that a pooled
    // connection is idle (with every answer lost, no new connection can be opened)
    await sleep(1_000)
    relay.setMode('lose-replies')
    await call(app, 30)
    // with every answer lost, anything in UsageDaily is a batch that committed unbeknown to the gateway
    const deadline = Date.now() + 10_000
    while (await recordedCalls(app.appId) === 0 && Date.now() < deadline) await sleep(50)
    expect(await recordedCalls(app.appId)).toBeGreaterThan(0)
    await sleep(FLUSH_MS * 3)
    expect(journalText()).toContain(app.appId)
    relay.setMode('refuse')
    await sleep(FLUSH_MS)
    relay.setMode('pass')
    // the resend is confirmed as counted already, the rest follows, and the journal is emptied
    await waitForCalls(app.appId, 30)
    while (journalText() !== '' && Date.now() < deadline + 10_000) await sleep(50)
    expect(journalText()).toBe('')
    await sleep(FLUSH_MS * 3)
    expect(await recordedCalls(app.appId)).toBe(30)
  })
})
