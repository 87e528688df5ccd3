// The process logs: JSON lines through asynchronous, buffered destinations. A synchronous
// write per access-log line cost more CPU than the rest of a request's policies; buffered
// lines are written at least every second, flushed (and waited for) at the end of a graceful
// stop, and flushed synchronously by pino when the process exits, so none is lost on SIGTERM.
// Access-log lines go to stdout with the rest, or to ACCESS_LOG_FILE; rotation is the
// operator's tool's job (logrotate, newsyslog): it renames the file and sends SIGHUP, and
// the file is reopened under its name.
import pino, { type Logger } from 'pino'

const FLUSH_INTERVAL_MS = 1_000
// as nginx's `access_log ... buffer=32k`: at 4 KiB the writes (a string turned into bytes and
// handed to the thread pool each time) cost more main-thread time per request than the line itself
const BUFFER_BYTES = 32 * 1024

type SonicBoom = ReturnType<typeof pino.destination>

export interface ProcessLogs {
  logger: Logger
  /** where access-log lines go: `logger` unless they have a file of their own */
  accessLog: Logger
  /** writes what is buffered and waits for it */
  flush: () => Promise<void>
  /** reopens the access-log file under its name (after a rotation); no-op without a file */
  reopen: () => void
}

function bufferedDestination (dest: string | number): SonicBoom {
  const destination = pino.destination({ dest, sync: false, minLength: BUFFER_BYTES, maxWrite: 2 * BUFFER_BYTES, mkdir: typeof dest === 'string', append: true })
  // pino itself flushes its destinations synchronously when the process exits
  setInterval(() => { destination.flush() }, FLUSH_INTERVAL_MS).unref()
  return destination
}

async function drain (destination: SonicBoom): Promise<void> {
  await new Promise<void>(resolve => { destination.flush(() => { resolve() }) })
}

export function createProcessLogs (options: { level: string, accessLogFile?: string }): ProcessLogs {
  const stdout = bufferedDestination(1)
  const logger = pino({ level: options.level }, stdout)
  if (options.accessLogFile === undefined) {
    return { logger, accessLog: logger, flush: async () => { await drain(stdout) }, reopen: () => {} }
  }
  const file = bufferedDestination(options.accessLogFile)
  // the file holds nothing but access lines: they are written at info whatever LOG_LEVEL says
  const accessLog = pino({ level: 'info' }, file)
  return {
    logger,
    accessLog,
    flush: async () => { await Promise.all([drain(stdout), drain(file)]) },
    reopen: () => { file.reopen() }
  }
}
