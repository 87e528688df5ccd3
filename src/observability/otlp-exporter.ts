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

const STATUS_UNSET = 0
const STATUS_ERROR = 2

/** An AnyValue in the protobuf JSON mapping OTLP uses: int64 as a decimal string. */
function anyValue (value: AttributeValue): string {
  if (typeof value === 'string') return `{"stringValue":${JSON.stringify(value)}}`
  if (typeof value === 'boolean') return `{"boolValue":${String(value)}}`
  return Number.isInteger(value) ? `{"intValue":"${value}"}` : `{"doubleValue":${value}}`
}

function attributes (values: Record<string, AttributeValue | undefined>, error?: string): string {
  let list = ''
  for (const key in values) {
    const value = values[key]
    if (value !== undefined) list += `${list === '' ? '' : ','}{"key":${JSON.stringify(key)},"value":${anyValue(value)}}`
  }
  if (error !== undefined) list += `${list === '' ? '' : ','}{"key":"error.type","value":${anyValue(error)}}`
  return `[${list}]`
}

/** Epoch milliseconds (with a fraction) as OTLP's fixed64 nanoseconds, a decimal string. */
export function unixNano (ms: number): string {
  let whole = Math.floor(ms)
  let nanos = Math.round((ms - whole) * 1e6)
  if (nanos === 1e6) {
    whole++
    nanos = 0
  }
  // the milliseconds, then the nanoseconds within them as six digits: no BigInt per timestamp
  return `${whole}${String(nanos).padStart(6, '0')}`
}

function spanJson (span: Span): string {
  const status = span.error === undefined ? `{"code":${STATUS_UNSET}}` : `{"code":${STATUS_ERROR},"message":${JSON.stringify(span.error)}}`
  return `{"traceId":"${span.traceId}","spanId":"${span.spanId}",${span.parentSpanId === undefined ? '' : `"parentSpanId":"${span.parentSpanId}",`}` +
    `"name":${JSON.stringify(span.name)},"kind":${span.kind},"startTimeUnixNano":"${unixNano(span.startMs)}","endTimeUnixNano":"${unixNano(span.endMs)}",` +
    `"attributes":${attributes(span.attributes, span.error)},"status":${status}}`
}

/**
 * The ExportTraceServiceRequest of a batch in the OTLP JSON encoding, written as text
 * directly: building the object tree first and stringifying it cost twice as much.
 */
export function exportRequestJson (spans: Span[], serviceName: string): string {
  return `{"resourceSpans":[{"resource":{"attributes":${attributes({ 'service.name': serviceName })}},` +
    `"scopeSpans":[{"scope":{"name":"partner-gateway"},"spans":[${spans.map(spanJson).join(',')}]}]}]}`
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
        body: exportRequestJson(batch, this.#options.serviceName),
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
