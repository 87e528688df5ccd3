// The gateway's access-log line, written without pino's generic serialisation: pino walks the
// fields object, looks up a serializer and a stringifier per key and escapes every string,
// several µs of main-thread time per request in the profile at 2,000 req/s. This line always
// has the same keys in the same order, so it is concatenated directly and handed to the
// logger's own destination (stdout or ACCESS_LOG_FILE, with its buffering, flushing and
// reopening) in pino's exact line format: the level, time and bindings pino would write, then
// the fields, then the message. The pieces come from the logger under the symbols pino exports
// for integrations, and the result is checked against pino's own rendering once per logger.
import pino, { type DestinationStream, type Logger } from 'pino'

const symbols = pino.symbols
const INFO = 30
const MESSAGE = ',"msg":"request"'

/** One request's access-log fields, in the order they appear in the line; undefined ones are left out. */
export interface AccessLogLine {
  reqId: string
  clientIp?: string
  method?: string
  path: string
  route?: string
  api?: string
  app?: string
  partner?: string
  status: number
  errorCode?: string
  outcome?: string
  websocket?: boolean
  bytesIn?: number
  bytesOut?: number
  durationMs: number
  upstreamMs?: number
  upstreamTarget?: string
  userAgent?: string
  traceId?: string
}

export type AccessLogWriter = (line: AccessLogLine) => void

/** What pino keeps on a logger instance, under the symbols it exports for integrations. */
interface PinoInstance {
  [symbols.streamSym]: DestinationStream & { [symbols.needsMetadataGsym]?: boolean }
  [symbols.lsCacheSym]: Record<number, string>
  [symbols.timeSym]: () => string
  [symbols.chindingsSym]: string
  [symbols.endSym]: string
  [symbols.asJsonSym]: (fields: object, message: string, level: number, time: string) => string
  [symbols.mixinSym]?: unknown
  [symbols.hooksSym]: { logMethod?: unknown, streamWrite?: unknown }
}

// control characters, the quote, the backslash and surrogates: JSON.stringify escapes lone
// surrogates, which pino (on Node < 25) writes raw and the destination turns into U+FFFD
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/

/** A JSON string literal, as JSON.stringify writes it; most values need no escaping at all. */
function quoted (value: string): string {
  return NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : '"' + value + '"'
}

function text (key: string, value: string | undefined): string {
  return value === undefined ? '' : key + quoted(value)
}

function numeric (key: string, value: number | undefined): string {
  if (value === undefined) return ''
  return key + (Number.isFinite(value) ? String(value) : 'null')
}

function flag (key: string, value: boolean | undefined): string {
  return value === undefined ? '' : key + String(value)
}

function fields (line: AccessLogLine): string {
  return text(',"reqId":', line.reqId) +
    text(',"clientIp":', line.clientIp) +
    text(',"method":', line.method) +
    text(',"path":', line.path) +
    text(',"route":', line.route) +
    text(',"api":', line.api) +
    text(',"app":', line.app) +
    text(',"partner":', line.partner) +
    numeric(',"status":', line.status) +
    text(',"errorCode":', line.errorCode) +
    text(',"outcome":', line.outcome) +
    flag(',"websocket":', line.websocket) +
    numeric(',"bytesIn":', line.bytesIn) +
    numeric(',"bytesOut":', line.bytesOut) +
    numeric(',"durationMs":', line.durationMs) +
    numeric(',"upstreamMs":', line.upstreamMs) +
    text(',"upstreamTarget":', line.upstreamTarget) +
    text(',"userAgent":', line.userAgent) +
    text(',"traceId":', line.traceId)
}

function render (instance: PinoInstance, line: AccessLogLine, time: string): string {
  return instance[symbols.lsCacheSym][INFO] + time + instance[symbols.chindingsSym] + fields(line) + MESSAGE + instance[symbols.endSym]
}

/** Every field set, so that a serializer, redaction or formatter of any of them shows. */
const PROBE: AccessLogLine = {
  reqId: 'probe', clientIp: '203.0.113.9', method: 'GET', path: '/a"b\\c\n\u00e9\u2028', route: '/a',
  api: 'api', app: 'app', partner: 'partner', status: 200, errorCode: 'CODE', outcome: 'proxied',
  websocket: true, bytesIn: 1, bytesOut: 2, durationMs: 1.25, upstreamMs: 0.5,
  upstreamTarget: 'http://127.0.0.1:1', userAgent: 'agent/1.0', traceId: 'trace'
}

/**
 * Whether this logger writes the line exactly as `render` does: none of the options that
 * change a line (serializers, redact, a log formatter, a mixin, a message key or prefix, hooks)
 * and a destination that does not need pino's per-line metadata (multistream).
 */
function rendersLikePino (logger: Logger, instance: PinoInstance): boolean {
  const hooks = instance[symbols.hooksSym]
  if (instance[symbols.mixinSym] !== undefined || logger.msgPrefix !== undefined || hooks.logMethod !== undefined || hooks.streamWrite !== undefined) return false
  if (instance[symbols.streamSym][symbols.needsMetadataGsym] === true) return false
  const time = ',"time":0'
  return instance[symbols.asJsonSym](PROBE, 'request', INFO, time) === render(instance, PROBE, time)
}

/**
 * Writes access-log lines to the destination of `logger`, as `logger.info(line, 'request')`
 * would, and nothing while the logger's level drops info. A logger configured to change lines
 * (see rendersLikePino) gets them through `logger.info` itself.
 */
export function accessLogWriter (logger: Logger): AccessLogWriter {
  const instance = logger as unknown as PinoInstance
  if (!rendersLikePino(logger, instance)) return line => { logger.info(line, 'request') }
  const stream = instance[symbols.streamSym]
  return line => {
    if (!logger.isLevelEnabled('info')) return
    stream.write(render(instance, line, instance[symbols.timeSym]()))
  }
}
