// The access-log writer writes, byte for byte, the line pino writes for the same fields, to the
// logger's own destination, and nothing while the logger drops info.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import pino, { type LoggerOptions } from 'pino'
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { accessLogWriter, type AccessLogLine } from '../../../src/observability/access-log-writer.js'
import { createProcessLogs } from '../../../src/observability/logger.js'

function sink (): { stream: Writable, lines: string[] } {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  return { stream, lines }
}

/** The line pino writes and the line the writer writes for `line`, through the same logger. */
function bothLines (line: AccessLogLine, options: LoggerOptions = { level: 'info' }): { pino: string, writer: string } {
  const { stream, lines } = sink()
  const logger = pino(options, stream).child({ server: 'gateway' })
  logger.info(line, 'request')
  accessLogWriter(logger)(line)
  expect(lines).toHaveLength(2)
  return { pino: lines[0], writer: lines[1] }
}

// in the order the gateway gives them (src/gateway/app.ts, recordExchange)
const PROXIED: AccessLogLine = {
  reqId: '0f4c1e2a-8d7b-4a51-9f0e-3b6c2d1a7e54',
  clientIp: '203.0.113.9',
  method: 'POST',
  path: '/demo/items',
  route: '/demo',
  api: 'demo',
  app: 'app_7Hq2',
  partner: '5b1d6c9e-2f3a-4e8b-a7c4-0d9e8f7a6b5c',
  status: 200,
  errorCode: undefined,
  outcome: 'proxied',
  bytesIn: 812,
  bytesOut: 341,
  durationMs: 3.47,
  upstreamMs: 1.2,
  upstreamTarget: 'http://127.0.0.1:4001',
  userAgent: 'partner-sdk/1.2',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736'
}

// in the order the WebSocket proxy gives them (src/gateway/websocket/websocket-proxy.ts)
const REFUSED_UPGRADE: AccessLogLine = {
  reqId: 'log-ws-1',
  clientIp: '127.0.0.1',
  method: 'GET',
  path: '/demo',
  route: '/demo',
  api: 'demo',
  app: undefined,
  partner: undefined,
  status: 401,
  errorCode: 'MISSING_CREDENTIALS',
  websocket: true,
  durationMs: 0.83,
  upstreamTarget: undefined,
  userAgent: undefined
}

afterEach(() => { vi.restoreAllMocks() })

describe('access-log writer', () => {
  beforeEach(() => { vi.spyOn(Date, 'now').mockReturnValue(1_767_225_600_123) })

  it('writes the line pino writes for a proxied request, bindings and all', () => {
    const { pino: expected, writer } = bothLines(PROXIED)
    expect(writer).toBe(expected)
    expect(writer).toMatch(/^\{"level":30,"time":1767225600123,"pid":\d+,"hostname":"[^"]*","server":"gateway","reqId":"0f4c1e2a-/)
    expect(writer.endsWith(',"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","msg":"request"}\n')).toBe(true)
  })

  it('writes straight to the destination, not through logger.info', () => {
    const { stream, lines } = sink()
    const logger = pino({ level: 'info' }, stream).child({ server: 'gateway' })
    const info = vi.spyOn(logger, 'info')
    accessLogWriter(logger)(PROXIED)
    expect(lines).toHaveLength(1)
    expect(info).not.toHaveBeenCalled()
  })

  it('writes the line pino writes for a WebSocket upgrade, leaving undefined fields out', () => {
    const { pino: expected, writer } = bothLines(REFUSED_UPGRADE)
    expect(writer).toBe(expected)
    expect(writer).toContain(',"errorCode":"MISSING_CREDENTIALS","websocket":true,"durationMs":0.83,"msg":"request"}\n')
    expect(writer).not.toContain('"app"')
    expect(writer).not.toContain('"userAgent"')
  })

  // each alone, so that one escape does not hide a missing other
  it.each([
    ['a quote', 'agent "1.0"'],
    ['a backslash', 'C:\\agent\\1.0'],
    ['a forged line after a newline', 'agent/1.0\r\n{level:60,msg:forged}'],
    ['control characters', 'agent\t1.0\u0000\u0001\u001f\b\f'],
    ['DEL, latin-1 and line separators', 'agent\u007f \u00e9t\u00e9 \u00fc \u2028\u2029'],
    ['CJK and an emoji', 'agent \u4e2d\u6587 \ud83d\ude00']
  ])('escapes %s in user-controlled values as pino does', (_name, value) => {
    const hostile = { ...PROXIED, path: `/demo/${value}`, userAgent: value }
    const { pino: expected, writer } = bothLines(hostile)
    expect(writer).toBe(expected)
    expect(writer.split('\n')).toEqual([expect.any(String), ''])
    const parsed = JSON.parse(writer) as Record<string, unknown>
    expect(parsed.userAgent).toBe(value)
    expect(parsed.path).toBe(hostile.path)
  })

  it('escapes values longer than pino escapes by hand as pino does', () => {
    const { pino: expected, writer } = bothLines({ ...PROXIED, userAgent: `${'Mozilla/5.0 "x" '.repeat(10)}\n` })
    expect(writer).toBe(expected)
  })

  it('writes numbers as numbers and non-finite ones as null, as pino does', () => {
    const { pino: expected, writer } = bothLines({ ...PROXIED, bytesIn: 0, durationMs: Number.NaN, upstreamMs: 1e-7 })
    expect(writer).toBe(expected)
    expect(writer).toContain('"bytesIn":0,')
    expect(writer).toContain('"durationMs":null,')
  })

  it('writes a lone surrogate as an escape, so the line stays valid UTF-8', () => {
    const { lines, stream } = sink()
    accessLogWriter(pino({ level: 'info' }, stream))({ ...PROXIED, route: '/r\ud800' })
    expect(lines[0]).toContain('"route":"/r\\ud800"')
  })

  it('writes nothing while the logger drops info, and again once it keeps it', () => {
    const { stream, lines } = sink()
    const logger = pino({ level: 'warn' }, stream)
    const write = accessLogWriter(logger)
    write(PROXIED)
    expect(lines).toHaveLength(0)
    logger.level = 'info'
    write(PROXIED)
    expect(lines).toHaveLength(1)
    logger.level = 'silent'
    write(PROXIED)
    expect(lines).toHaveLength(1)
  })

  it('follows a level change of the parent of the logger it writes through', () => {
    const { stream, lines } = sink()
    const parent = pino({ level: 'info' }, stream)
    const write = accessLogWriter(parent.child({ server: 'gateway' }))
    parent.level = 'error'
    write(PROXIED)
    expect(lines).toHaveLength(0)
  })

  it('leaves the line to pino when the logger is configured to change it', () => {
    const redacted = bothLines(PROXIED, { level: 'info', redact: ['userAgent', 'clientIp'] })
    expect(redacted.writer).toBe(redacted.pino)
    expect(redacted.writer).toContain('"userAgent":"[Redacted]"')
    const prefixed = bothLines(PROXIED, { level: 'info', msgPrefix: '[gw] ' })
    expect(prefixed.writer).toBe(prefixed.pino)
    const mixed = bothLines(PROXIED, { level: 'info', mixin: () => ({ node: 'a' }) })
    expect(mixed.writer).toBe(mixed.pino)
    const renamed = bothLines(PROXIED, { level: 'info', messageKey: 'message' })
    expect(renamed.writer).toBe(renamed.pino)
  })

  it('writes to every stream of a multistream', () => {
    const first = sink()
    const second = sink()
    accessLogWriter(pino({ level: 'info' }, pino.multistream([first.stream, second.stream])))(PROXIED)
    expect(first.lines).toHaveLength(1)
    expect(second.lines).toEqual(first.lines)
  })
})

describe('access-log writer on the process logs', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pgw-access-writer-'))
  afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

  it('writes into the buffered ACCESS_LOG_FILE, flushed with the rest', async () => {
    const file = path.join(dir, 'access.log')
    const logs = createProcessLogs({ level: 'silent', accessLogFile: file })
    const info = vi.spyOn(logs.accessLog, 'info')
    const write = accessLogWriter(logs.accessLog)
    write(PROXIED)
    write(REFUSED_UPGRADE)
    await logs.flush()
    const lines = readFileSync(file, 'utf8').split('\n')
    expect(lines).toHaveLength(3)
    expect(JSON.parse(lines[0])).toMatchObject({ level: 30, msg: 'request', reqId: PROXIED.reqId })
    expect(JSON.parse(lines[1])).toMatchObject({ level: 30, msg: 'request', reqId: 'log-ws-1', websocket: true })
    expect(info).not.toHaveBeenCalled()
  })

  it('writes straight to stdout\'s destination for the gateway\'s child of the process logger', () => {
    const logs = createProcessLogs({ level: 'info' })
    const gatewayLog = logs.logger.child({ server: 'gateway' })
    const info = vi.spyOn(gatewayLog, 'info')
    const destination = (gatewayLog as unknown as Record<symbol, { write: (line: string) => boolean }>)[pino.symbols.streamSym]
    const written: string[] = []
    vi.spyOn(destination, 'write').mockImplementation(line => { written.push(line); return true })
    accessLogWriter(gatewayLog)(PROXIED)
    expect(info).not.toHaveBeenCalled()
    expect(written).toHaveLength(1)
    expect(JSON.parse(written[0])).toMatchObject({ server: 'gateway', reqId: PROXIED.reqId })
  })
})
