// Main-thread time to write one gateway access-log line: pino's `logger.info(fields, 'request')`
// against the access-log writer (src/observability/access-log-writer.ts), both through the same
// pino child logger (`server: 'gateway'` bindings) into a destination that drops the line, so
// only serialisation is measured; `fields` only gathers the fields object, which both do as
// well. CPU time of the process, not wall time (other work shares the cores); rounds alternate
// and each one's median is printed.
//   npx tsx bench/access-log-line.ts    BENCH_LINES (200000 per round)  BENCH_ROUNDS (7)
import pino from 'pino'
import { accessLogWriter, type AccessLogLine } from '../src/observability/access-log-writer.js'

const LINES = Number(process.env.BENCH_LINES ?? 200_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7)

let lastLine = ''
let lastStatus = 0
const logger = pino({ level: 'info' }, { write: (line: string) => { lastLine = line } }).child({ server: 'gateway' })
const writeAccessLine = accessLogWriter(logger)

/** A proxied request's fields, as the gateway gathers them (src/gateway/app.ts); a new object each time, as there. */
function proxiedLine (index: number): AccessLogLine {
  return {
    reqId: `0f4c1e2a-8d7b-4a51-9f0e-${String(index).padStart(12, '0')}`,
    clientIp: '203.0.113.9',
    method: 'GET',
    path: '/demo/items/42',
    route: '/demo',
    api: 'demo',
    app: 'app_7Hq2xk',
    partner: '5b1d6c9e-2f3a-4e8b-a7c4-0d9e8f7a6b5c',
    status: 200,
    errorCode: undefined,
    outcome: 'proxied',
    bytesIn: 212,
    bytesOut: 341 + (index & 7),
    durationMs: 1.37,
    upstreamMs: 0.84,
    upstreamTarget: 'http://127.0.0.1:4001',
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
    traceId: undefined
  }
}

const contenders: Record<string, (line: AccessLogLine) => void> = {
  fields: line => { lastStatus = line.status },
  pino: line => { logger.info(line, 'request') },
  writer: writeAccessLine
}

function round (write: (line: AccessLogLine) => void): number {
  const started = process.cpuUsage()
  for (let index = 0; index < LINES; index++) write(proxiedLine(index))
  const used = process.cpuUsage(started)
  return (used.user + used.system) * 1000 / LINES
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

for (const write of Object.values(contenders)) round(write)
const results: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map(name => [name, []]))
for (let index = 0; index < ROUNDS; index++) {
  for (const [name, write] of Object.entries(contenders)) results[name].push(round(write))
}
for (const [name, values] of Object.entries(results)) {
  console.log(`${name.padEnd(6)} ${median(values).toFixed(0).padStart(5)} ns/line (median of ${ROUNDS} rounds of ${LINES}; rounds ${values.map(value => value.toFixed(0)).join(' ')})`)
}
const fields = median(results.fields)
console.log(`serialising and writing, fields subtracted: pino ${(median(results.pino) - fields).toFixed(0)} ns, writer ${(median(results.writer) - fields).toFixed(0)} ns` +
  ` (${((median(results.pino) - fields) / (median(results.writer) - fields)).toFixed(1)}x); ${lastLine.length} bytes/line, last status ${lastStatus}`)
