// The process logs: JSON lines through asynchronous, buffered destinations. A synchronous
// write per access-log line cost more CPU than the rest of a request's policies; buffered
// lines are written at least every second, flushed (and waited for) at the end of a graceful
// stop, and flushed synchronously by pino when the process exits, so none is lost on SIGTERM.
// Access-log lines go to stdout with the rest, or to ACCESS_LOG_FILE; rotation is the
// operator's tool's job (logrotate, newsyslog): it renames the file and sends SIGHUP, and
// the file is reopened under its name.
import pino, { type DestinationStream, type Logger } from 'pino'

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

interface BufferedDestination {
  /** what pino writes its lines to */
  stream: DestinationStream
  sonic: SonicBoom
  /** bytes handed to SonicBoom and not yet written */
  pendingBytes: () => number
}

function bufferedDestination (dest: string | number): BufferedDestination {
  // SonicBoom's default (string) mode appends each line to one string and measures that
  // string's UTF-8 length on every write, which copies all of it each time: 16.6 KB allocated
  // per 350-byte access line at this buffer size, the largest allocation of a request. In
  // buffer mode each line stays its own Buffer and they are joined once per write.
  const sonic = pino.destination({ dest, sync: false, minLength: BUFFER_BYTES, maxWrite: 2 * BUFFER_BYTES, mkdir: typeof dest === 'string', append: true, contentMode: 'buffer' })
  let handed = 0
  let written = 0
  sonic.on('write', (bytes: number) => { written += bytes })
  // pino itself flushes its destinations synchronously when the process exits
  setInterval(() => { sonic.flush() }, FLUSH_INTERVAL_MS).unref()
  // sonic-boom's types only know its string mode
  const bytes = sonic as unknown as { write: (data: Buffer) => boolean }
  const stream = {
    write: (line: string) => {
      const data = Buffer.from(line)
      handed += data.length
      return bytes.write(data)
    }
  }
  return { stream, sonic, pendingBytes: () => handed - written }
}

async function drain (destination: BufferedDestination): Promise<void> {
  // SonicBoom calls a flush back once fewer than minLength bytes are left, not when none is
  // (its fsync fails on a pipe, so an error alone does not end the wait: a flush that wrote nothing does)
  let pending = destination.pendingBytes()
  while (pending > 0) {
    await new Promise<void>(resolve => { destination.sonic.flush(() => { resolve() }) })
    const left = destination.pendingBytes()
    if (left >= pending) return
    pending = left
  }
}

export function createProcessLogs (options: { level: string, accessLogFile?: string }): ProcessLogs {
  const stdout = bufferedDestination(1)
  const logger = pino({ level: options.level }, stdout.stream)
  if (options.accessLogFile === undefined) {
    return { logger, accessLog: logger, flush: async () => { await drain(stdout) }, reopen: () => {} }
  }
  const file = bufferedDestination(options.accessLogFile)
  // the file holds nothing but access lines: they are written at info whatever LOG_LEVEL says
  const accessLog = pino({ level: 'info' }, file.stream)
  return {
    logger,
    accessLog,
    flush: async () => { await Promise.all([drain(stdout), drain(file)]) },
    reopen: () => { file.sonic.reopen() }
  }
}
