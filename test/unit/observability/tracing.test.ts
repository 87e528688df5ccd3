// W3C traceparent parsing and the OTLP JSON the exporter sends.
import { describe, expect, it } from 'vitest'
import { exportRequestJson, unixNano } from '../../../src/observability/otlp-exporter.js'
import { formatTraceparent, parseTraceparent, Tracer, type Span } from '../../../src/observability/tracing.js'

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT_ID = '00f067aa0ba902b7'

describe('trace context', () => {
  it('parses a valid traceparent and its sampled flag', () => {
    expect(parseTraceparent(`00-${TRACE_ID}-${PARENT_ID}-01`)).toEqual({ traceId: TRACE_ID, parentSpanId: PARENT_ID, sampled: true })
    expect(parseTraceparent(`00-${TRACE_ID}-${PARENT_ID}-00`)?.sampled).toBe(false)
    // a later version may append fields (§4.3)
    expect(parseTraceparent(`01-${TRACE_ID}-${PARENT_ID}-01-extra`)?.traceId).toBe(TRACE_ID)
  })

  it('refuses invalid traceparents, so that a new trace starts', () => {
    for (const bad of [
      undefined, '', `ff-${TRACE_ID}-${PARENT_ID}-01`, `00-${'0'.repeat(32)}-${PARENT_ID}-01`, `00-${TRACE_ID}-${'0'.repeat(16)}-01`,
      `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`, `00-${TRACE_ID}-${PARENT_ID}-01-extra`, `00-${TRACE_ID}-${PARENT_ID}`
    ]) expect(parseTraceparent(bad)).toBeUndefined()
  })

  it('continues an incoming trace with a new span id, and starts one otherwise', () => {
    const tracer = new Tracer({ add: () => {} })
    const continued = tracer.startRequest(`00-${TRACE_ID}-${PARENT_ID}-01`)
    expect(continued.traceId).toBe(TRACE_ID)
    expect(continued.parentSpanId).toBe(PARENT_ID)
    expect(continued.spanId).toMatch(/^[0-9a-f]{16}$/)
    expect(continued.spanId).not.toBe(PARENT_ID)
    const fresh = tracer.startRequest(undefined)
    expect(fresh.traceId).toMatch(/^[0-9a-f]{32}$/)
    expect(fresh.parentSpanId).toBeUndefined()
    const upstream = fresh.startPhase('upstream', 3)
    expect(fresh.traceparentFor(upstream)).toBe(formatTraceparent(fresh.traceId, upstream.spanId, true))
  })

  it('exports nothing for a request its caller did not sample, and ends a phase left open as failed', () => {
    const exported: Span[] = []
    const tracer = new Tracer({ add: spans => { exported.push(...spans) } })
    tracer.finish(tracer.startRequest(`00-${TRACE_ID}-${PARENT_ID}-00`), 'GET', {}, undefined, false)
    expect(exported).toHaveLength(0)
    const request = tracer.startRequest(undefined)
    request.startPhase('auth')
    tracer.finish(request, 'GET /orders', {}, 'UNKNOWN_KEY', false)
    expect(exported.map(span => [span.name, span.error])).toEqual([['GET /orders', undefined], ['auth', 'UNKNOWN_KEY']])
  })
})

describe('OTLP JSON', () => {
  it('writes times as nanosecond strings and spans in resourceSpans / scopeSpans', () => {
    expect(unixNano(1_700_000_000_123.5)).toBe('1700000000123500000')
    expect(unixNano(1_700_000_000_123)).toBe('1700000000123000000')
    expect(unixNano(1_700_000_000_123.0000004)).toBe('1700000000123000000')
    expect(unixNano(1_700_000_000_123.9999999)).toBe('1700000000124000000')
    const span: Span = { traceId: TRACE_ID, spanId: PARENT_ID, name: 'GET /orders', kind: 2, startMs: 1000, endMs: 1001.5, attributes: { 'http.response.status_code': 502, 'url.path': '/orders', skipped: undefined }, error: 'UPSTREAM_UNAVAILABLE' }
    expect(JSON.parse(exportRequestJson([span], 'partner-gateway'))).toEqual({
      resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'partner-gateway' } }] },
        scopeSpans: [{
          scope: { name: 'partner-gateway' },
          spans: [{
            traceId: TRACE_ID,
            spanId: PARENT_ID,
            name: 'GET /orders',
            kind: 2,
            startTimeUnixNano: '1000000000',
            endTimeUnixNano: '1001500000',
            attributes: [
              { key: 'http.response.status_code', value: { intValue: '502' } },
              { key: 'url.path', value: { stringValue: '/orders' } },
              { key: 'error.type', value: { stringValue: 'UPSTREAM_UNAVAILABLE' } }
            ],
            status: { code: 2, message: 'UPSTREAM_UNAVAILABLE' }
          }]
        }]
      }]
    })
  })
})
