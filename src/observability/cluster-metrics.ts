// /metrics with GATEWAY_WORKERS: whichever worker takes the scrape asks the primary, the
// primary asks every listening worker for its registry (as JSON) and answers with them
// combined (metrics-aggregation.ts). Workers share no memory, and a scrape that each worker
// answered from its own counters would show Prometheus counters falling and rising again.
//
// A worker that does not answer within the deadline fails the scrape (503
// METRICS_INCOMPLETE) instead of leaving its share out: a total without it would fall, which
// Prometheus reads as a counter reset and counts the whole remaining total as new increase.
import type { FastifyBaseLogger } from 'fastify'
import type { Registry } from 'prom-client'
import { MetricsIncompleteError } from '../domain/errors.js'
import { aggregateWorkerMetrics, type MetricsJson, type WorkerMetrics } from './metrics-aggregation.js'

/** How long the primary waits for every worker's metrics; Prometheus's own scrape timeout is 10 s by default. */
export const METRICS_COLLECT_DEADLINE_MS = 2_000
/** How much longer a worker waits for the primary than the primary for the workers. */
const PRIMARY_ANSWER_MARGIN_MS = 1_000

/** worker → primary: a /metrics request on this worker wants every worker's metrics combined */
export interface ScrapeRequest { type: 'gateway-metrics:scrape', scrapeId: number }
/** primary → the worker that asked: the combined text, or none when not every worker answered */
export interface ScrapeAnswer { type: 'gateway-metrics:scraped', scrapeId: number, text?: string, answered: number, asked: number }
/** primary → every listening worker: send your registry */
export interface CollectRequest { type: 'gateway-metrics:collect', collectId: number }
/** worker → primary */
export interface CollectAnswer { type: 'gateway-metrics:collected', collectId: number, metrics: MetricsJson }

type ClusterMetricsMessage = ScrapeRequest | ScrapeAnswer | CollectRequest | CollectAnswer

/** IPC carries every module's messages: these are the ones of type `type`. */
function isMessage<Type extends ClusterMetricsMessage['type']> (message: unknown, type: Type): message is Extract<ClusterMetricsMessage, { type: Type }> {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type
}

type SendCallback = (error: Error | null) => void

/** A worker as the primary sees it; node:cluster's Worker is one. */
export interface MetricsWorker {
  readonly id: number
  send: (message: CollectRequest | ScrapeAnswer, callback: SendCallback) => boolean
}

/** The primary's end: collects the workers' registries for the worker that was scraped. */
export class ClusterMetricsPrimary {
  readonly #deadlineMs: number
  /** workers listening on the gateway port: they have built their gateway and answer collect requests */
  readonly #workers = new Map<number, MetricsWorker>()
  /** by collect id: what each worker asked still has to send */
  readonly #collections = new Map<number, (worker: number, metrics: MetricsJson) => void>()
  #nextCollectId = 0

  constructor (options: { deadlineMs: number }) {
    this.#deadlineMs = options.deadlineMs
  }

  add (worker: MetricsWorker): void {
    this.#workers.set(worker.id, worker)
  }

  remove (worker: MetricsWorker): void {
    this.#workers.delete(worker.id)
  }

  receive (worker: MetricsWorker, message: unknown): void {
    if (isMessage(message, 'gateway-metrics:collected')) {
      this.#collections.get(message.collectId)?.(worker.id, message.metrics)
    } else if (isMessage(message, 'gateway-metrics:scrape')) {
      const { scrapeId } = message
      void this.#collect().then(answer => {
        // a worker that died meanwhile has nobody to answer
        worker.send({ type: 'gateway-metrics:scraped', scrapeId, ...answer }, () => {})
      })
    }
  }

  async #collect (): Promise<Omit<ScrapeAnswer, 'type' | 'scrapeId'>> {
    const collectId = this.#nextCollectId++
    const pending = new Set(this.#workers.keys())
    let asked = pending.size
    const answers: WorkerMetrics[] = []
    await new Promise<void>(resolve => {
      const finish = (): void => {
        clearTimeout(deadline)
        this.#collections.delete(collectId)
        resolve()
      }
      const deadline = setTimeout(finish, this.#deadlineMs)
      this.#collections.set(collectId, (worker, metrics) => {
        if (!pending.delete(worker)) return
        answers.push({ worker, metrics })
        if (pending.size === 0) finish()
      })
      if (pending.size === 0) finish()
      for (const worker of [...this.#workers.values()]) {
        worker.send({ type: 'gateway-metrics:collect', collectId }, error => {
          // a worker whose channel closed is exiting: its counts leave with it, as on any restart
          if (error === null || !pending.delete(worker.id)) return
          asked--
          if (pending.size === 0) finish()
        })
      }
    })
    if (answers.length < asked) return { answered: answers.length, asked }
    // in worker order, so that series keep their places from one scrape to the next
    answers.sort((first, second) => first.worker - second.worker)
    return { text: await aggregateWorkerMetrics(answers).metrics(), answered: answers.length, asked }
  }
}

/** The worker's side of the IPC channel to the primary; `process` in a worker is one. */
export interface PrimaryChannel {
  send?: (message: ScrapeRequest | CollectAnswer, callback: SendCallback) => boolean
  on: (event: 'message', listener: (message: unknown) => void) => unknown
  off: (event: 'message', listener: (message: unknown) => void) => unknown
}

export interface ClusterMetricsWorkerOptions {
  registry: Registry
  channel: PrimaryChannel
  /** the primary's deadline for the workers' answers */
  deadlineMs: number
  log: FastifyBaseLogger
}

/** A worker's end: sends its registry when the primary collects, asks the primary for the whole when scraped. */
export class ClusterMetricsWorker {
  readonly #registry: Registry
  readonly #channel: PrimaryChannel
  readonly #deadlineMs: number
  readonly #log: FastifyBaseLogger
  readonly #scrapes = new Map<number, (answer: ScrapeAnswer) => void>()
  #nextScrapeId = 0
  readonly #listener = (message: unknown): void => {
    if (isMessage(message, 'gateway-metrics:scraped')) this.#scrapes.get(message.scrapeId)?.(message)
    else if (isMessage(message, 'gateway-metrics:collect')) void this.#report(message.collectId)
  }

  constructor (options: ClusterMetricsWorkerOptions) {
    this.#registry = options.registry
    this.#channel = options.channel
    this.#deadlineMs = options.deadlineMs
    this.#log = options.log
    this.#channel.on('message', this.#listener)
  }

  /** The Prometheus text of every worker's metrics combined; MetricsIncompleteError when not all of them answered in time. */
  async scrape (): Promise<string> {
    const scrapeId = this.#nextScrapeId++
    const waitMs = this.#deadlineMs + PRIMARY_ANSWER_MARGIN_MS
    return await new Promise<string>((resolve, reject) => {
      const timeout = setTimeout(() => {
        this.#scrapes.delete(scrapeId)
        reject(new MetricsIncompleteError(`The primary process did not send the workers' metrics within ${waitMs} ms`))
      }, waitMs)
      this.#scrapes.set(scrapeId, answer => {
        clearTimeout(timeout)
        this.#scrapes.delete(scrapeId)
        if (answer.text !== undefined) resolve(answer.text)
        else reject(new MetricsIncompleteError(`Only ${answer.answered} of ${answer.asked} gateway workers sent their metrics within ${this.#deadlineMs} ms`))
      })
      this.#send({ type: 'gateway-metrics:scrape', scrapeId })
    })
  }

  close (): void {
    this.#channel.off('message', this.#listener)
  }

  async #report (collectId: number): Promise<void> {
    try {
      this.#send({ type: 'gateway-metrics:collected', collectId, metrics: await this.#registry.getMetricsAsJSON() })
    } catch (error) {
      this.#log.error({ err: error }, 'could not read the metrics for the primary; scrapes fail until they can be read')
    }
  }

  #send (message: ScrapeRequest | CollectAnswer): void {
    this.#channel.send?.(message, error => {
      if (error !== null) this.#log.warn({ err: error, type: message.type }, 'could not send to the primary process')
    })
  }
}
