// Distributed tracing, W3C Trace Context (https://www.w3.org/TR/trace-context/): a request
// that arrives with a valid `traceparent` continues that trace, any other starts one. The
// gateway records a SERVER span for the request and a span per phase (auth, limits, and the
// CLIENT span of the upstream call, whose id the upstream receives as its parent). Spans are
// plain objects handed to an exporter (otlp-exporter.ts) when the request ends. Only built
// when an OTLP endpoint is configured: with tracing off, none of this runs.
import { randomFillSync } from 'node:crypto'

/** OTLP's Span.SpanKind values. */
export const SPAN_KIND = { internal: 1, server: 2, client: 3 } as const

export type AttributeValue = string | number | boolean

export interface Span {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  /** epoch milliseconds with a fraction (performance clock) */
  startMs: number
  endMs: number
  attributes: Record<string, AttributeValue | undefined>
  /** set when the span failed: the error code or type */
  error?: string
}

export interface TraceParent {
  traceId: string
  parentSpanId: string
  sampled: boolean
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/
const ZERO_TRACE_ID = '0'.repeat(32)
const ZERO_SPAN_ID = '0'.repeat(16)

/** A `traceparent` header, or undefined when it is missing or invalid (§3.2: then a new trace starts). */
export function parseTraceparent (value: string | string[] | undefined): TraceParent | undefined {
  if (typeof value !== 'string') return undefined
  const match = TRACEPARENT.exec(value.trim())
  if (match === null) return undefined
  const [, version, traceId, parentSpanId, flags, rest] = match
  // version ff is invalid; version 00 has nothing after the flags; later versions may append fields
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined
  if (traceId === ZERO_TRACE_ID || parentSpanId === ZERO_SPAN_ID) return undefined
  return { traceId, parentSpanId, sampled: (parseInt(flags, 16) & 1) === 1 }
}

export function formatTraceparent (traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`
}

// ids come from a pool of random bytes refilled 4 KiB at a time: a randomBytes() call per id
// cost more than the rest of a span
const ID_POOL = Buffer.allocUnsafe(4096)
let idPoolOffset = ID_POOL.length

function randomHex (bytes: number): string {
  if (idPoolOffset + bytes > ID_POOL.length) {
    randomFillSync(ID_POOL)
    idPoolOffset = 0
  }
  const hex = ID_POOL.toString('hex', idPoolOffset, idPoolOffset + bytes)
  idPoolOffset += bytes
  return hex
}

function newSpanId (): string {
  return randomHex(8)
}

export function nowMs (): number {
  return performance.timeOrigin + performance.now()
}

/** The spans of one request: the server span and its phases. */
export class RequestSpans {
  readonly traceId: string
  readonly spanId = newSpanId()
  readonly parentSpanId: string | undefined
  /** unsampled requests still propagate the trace, but export nothing (the caller chose so) */
  readonly sampled: boolean
  readonly startMs = nowMs()
  readonly phases: Span[] = []

  constructor (parent: TraceParent | undefined) {
    this.traceId = parent?.traceId ?? randomHex(16)
    this.parentSpanId = parent?.parentSpanId
    this.sampled = parent?.sampled ?? true
  }

  /** Starts a phase as a child of the server span; it ends with endSpan(), or failed when the request ends first. */
  startPhase (name: string, kind: number = SPAN_KIND.internal): Span {
    const span: Span = { traceId: this.traceId, spanId: newSpanId(), parentSpanId: this.spanId, name, kind, startMs: nowMs(), endMs: 0, attributes: {} }
    this.phases.push(span)
    return span
  }

  /** The `traceparent` for a call made inside `span`: the callee's parent is that span. */
  traceparentFor (span: Span): string {
    return formatTraceparent(this.traceId, span.spanId, this.sampled)
  }
}

/** Ends a phase unless the request's end already did; undefined (tracing off) costs nothing. */
export function endSpan (span: Span | undefined): void {
  if (span !== undefined && span.endMs === 0) span.endMs = nowMs()
}

export interface SpanExporter {
  add: (spans: Span[]) => void
}

export class Tracer {
  readonly #exporter: SpanExporter

  constructor (exporter: SpanExporter) {
    this.#exporter = exporter
  }

  startRequest (traceparent: string | string[] | undefined): RequestSpans {
    return new RequestSpans(parseTraceparent(traceparent))
  }

  /**
   * Ends the request's server span and hands it and its phases to the exporter. A phase still
   * open ends now: the one the request was refused or failed in (marked with `error`), or the
   * upstream call, whose promise settles only after the response finished. The server span is
   * marked failed only for a 5xx (`serverFailed`): a refusal is the gateway working
   * (OpenTelemetry's HTTP conventions say the same).
   */
  finish (request: RequestSpans, name: string, attributes: Span['attributes'], error: string | undefined, serverFailed: boolean): void {
    if (!request.sampled) return
    const endMs = nowMs()
    for (const phase of request.phases) {
      if (phase.endMs !== 0) continue
      phase.endMs = endMs
      phase.error = error
    }
    const server: Span = { traceId: request.traceId, spanId: request.spanId, parentSpanId: request.parentSpanId, name, kind: SPAN_KIND.server, startMs: request.startMs, endMs, attributes, error: serverFailed ? error ?? 'error' : undefined }
    this.#exporter.add([server, ...request.phases])
  }
}
