// The process logger: JSON lines to stdout through an asynchronous, buffered destination. A
// synchronous write per access-log line cost more CPU than the rest of a request's policies;
// buffered lines are written at least every second and flushed synchronously when the process
// exits, so none is lost on a graceful stop.
import pino, { type Logger } from 'pino'

const FLUSH_INTERVAL_MS = 1_000

export function createProcessLogger (level: string): Logger {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 })
  const timer = setInterval(() => { destination.flush() }, FLUSH_INTERVAL_MS)
  timer.unref()
  process.once('exit', () => {
    clearInterval(timer)
    destination.flushSync()
  })
  return pino({ level }, destination)
}
