// Exports spans to an OpenTelemetry collector over OTLP/HTTP with the JSON encoding
// (https://opentelemetry.io/docs/specs/otlp/#otlphttp): POST {endpoint}/v1/traces, one
// request per batch. Requests never wait for it: spans go into a bounded queue, one export
// runs at a time, and spans that find the queue full or whose export fails are dropped and
// counted (a collector that is down must cost the gateway nothing but those spans).
import { request } from 'undici'
import type { AttributeValue, Span, SpanExporter } from './tracing.js'

export interface OtlpExporterOptions {
  /** the collector's base URL, e.g. http://otel-collector:4318 */
  endpoint: string
  serviceName: string
  onExported: (spans: number) => void
  onDropped: (reason: 'queue_full' | 'export_failed', spans: number) => void
  maxQueueSpans?: number
  maxBatchSpans?: number
  intervalMs?: number
  timeoutMs?: number
}

interface OtlpAttribute { key: string, value: { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean } }

const SCOPE = { name: 'partner-gateway' }
const STATUS_UNSET = 0
const STATUS_ERROR = 2

function attributeValue (value: AttributeValue): OtlpAttribute['value'] {
  if (typeof value === 'string') return { stringValue: value }
  if (typeof value === 'boolean') return { boolValue: value }
  // int64 is a decimal string in the protobuf JSON mapping OTLP uses
  return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value }
}

function attributes (values: Record<string, AttributeValue | undefined>): OtlpAttribute[] {
  const list: OtlpAttribute[] = []
  for (const key in values) {
    const value = values[key]
    if (value !== undefined) list.push({ key, value: attributeValue(value) })
  }
  return list
}

/** Epoch milliseconds (with a fraction) as OTLP's fixed64 nanoseconds, a decimal string. */
export function unixNano (ms: number): string {
  const whole = Math.floor(ms)
  return (BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6))).toString()
}

/** The ExportTraceServiceRequest of a batch, in the OTLP JSON encoding. */
export function exportRequest (spans: Span[], serviceName: string): unknown {
  return {
    resourceSpans: [{
      resource: { attributes: attributes({ 'service.name': serviceName }) },
      scopeSpans: [{
        scope: SCOPE,
        spans: spans.map(span => ({
          traceId: span.traceId,
          spanId: span.spanId,
          ...(span.parentSpanId !== undefined ? { parentSpanId: span.parentSpanId } : {}),
          name: span.name,
          kind: span.kind,
          startTimeUnixNano: unixNano(span.startMs),
          endTimeUnixNano: unixNano(span.endMs),
          attributes: attributes(span.error === undefined ? span.attributes : { ...span.attributes, 'error.type': span.error }),
          status: span.error === undefined ? { code: STATUS_UNSET } : { code: STATUS_ERROR, message: span.error }
        }))
      }]
    }]
  }
}

export class OtlpHttpExporter implements SpanExporter {
  readonly #options: Required<OtlpExporterOptions>
  readonly #url: string
  #queue: Span[] = []
  #exporting: Promise<void> | undefined
  readonly #timer: NodeJS.Timeout

  constructor (options: OtlpExporterOptions) {
    this.#options = { maxQueueSpans: 8192, maxBatchSpans: 512, intervalMs: 1000, timeoutMs: 5000, ...options }
    this.#url = `${options.endpoint.replace(/\/+$/, '')}/v1/traces`
    this.#timer = setInterval(() => { this.#exportNext() }, this.#options.intervalMs)
    this.#timer.unref()
  }

  add (spans: Span[]): void {
    const room = this.#options.maxQueueSpans - this.#queue.length
    if (room < spans.length) {
      this.#options.onDropped('queue_full', spans.length - Math.max(room, 0))
      if (room <= 0) return
      spans = spans.slice(0, room)
    }
    for (const span of spans) this.#queue.push(span)
    if (this.#queue.length >= this.#options.maxBatchSpans) this.#exportNext()
  }

  /** Exports everything queued (at shutdown); resolves when done or dropped. */
  async flush (): Promise<void> {
    while (this.#exporting !== undefined || this.#queue.length > 0) {
      this.#exportNext()
      await this.#exporting
    }
  }

  async close (): Promise<void> {
    clearInterval(this.#timer)
    await this.flush()
  }

  #exportNext (): void {
    if (this.#exporting !== undefined || this.#queue.length === 0) return
    const batch = this.#queue.splice(0, this.#options.maxBatchSpans)
    this.#exporting = this.#send(batch).finally(() => {
      this.#exporting = undefined
      // a backlog goes out at once rather than a batch per interval
      if (this.#queue.length >= this.#options.maxBatchSpans) this.#exportNext()
    })
  }

  async #send (batch: Span[]): Promise<void> {
    try {
      const response = await request(this.#url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(exportRequest(batch, this.#options.serviceName)),
        headersTimeout: this.#options.timeoutMs,
        bodyTimeout: this.#options.timeoutMs
      })
      await response.body.dump()
      if (response.statusCode >= 200 && response.statusCode < 300) this.#options.onExported(batch.length)
      else this.#options.onDropped('export_failed', batch.length)
    } catch {
      this.#options.onDropped('export_failed', batch.length)
    }
  }
}
