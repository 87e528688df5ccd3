// Work that must not hold up or fail the request that caused it (mails, webhooks): each
// task's failure is logged, and closing the server waits for the tasks still running —
// each one is bounded by its own timeout.
import type { FastifyBaseLogger } from 'fastify'

export class BackgroundTasks {
  readonly #logger: FastifyBaseLogger
  readonly #running = new Set<Promise<void>>()

  constructor (logger: FastifyBaseLogger) {
    this.#logger = logger
  }

  run (description: string, task: () => Promise<unknown>): void {
    const running: Promise<void> = task().then(() => {}, (error: unknown) => {
      this.#logger.warn({ err: error }, `${description} failed`)
    }).finally(() => { this.#running.delete(running) })
    this.#running.add(running)
  }

  /** Resolves when every task started so far has finished. */
  async drain (): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running])
  }
}
