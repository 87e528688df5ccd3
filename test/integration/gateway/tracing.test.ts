// Distributed tracing against a local OTLP/HTTP receiver: a request produces a SERVER span
// with auth, limits and upstream (CLIENT) spans as its children, the upstream receives a
// traceparent naming the gateway's upstream span, an incoming trace is continued, failures
// are marked, and a collector that is down costs only dropped spans, counted.
import { createServer, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { value, parseMetrics } from '../../helpers/metrics-text.js'
import { freePort } from '../../helpers/ports.js'
import { provision, startStack, waitForPropagation, type Provisioned, type TestStack } from '../../helpers/stack.js'
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js'

interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  startTimeUnixNano: string
  endTimeUnixNano: string
  attributes: Array<{ key: string, value: Record<string, unknown> }>
  status: { code: number, message?: string }
}

interface Receiver { url: string, spans: OtlpSpan[], resources: unknown[], contentTypes: string[], close: () => Promise<void> }

/** A stand-in OpenTelemetry collector: keeps every span POSTed to /v1/traces. */
async function startReceiver (): Promise<Receiver> {
  const spans: OtlpSpan[] = []
  const resources: unknown[] = []
  const contentTypes: string[] = []
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', chunk => chunks.push(chunk as Buffer))
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/v1/traces') {
        response.statusCode = 404
        response.end()
        return
      }
      contentTypes.push(request.headers['content-type'] ?? '')
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { resourceSpans: Array<{ resource: unknown, scopeSpans: Array<{ spans: OtlpSpan[] }> }> }
      for (const resourceSpans of body.resourceSpans) {
        resources.push(resourceSpans.resource)
        for (const scopeSpans of resourceSpans.scopeSpans) spans.push(...scopeSpans.spans)
      }
      response.setHeader('content-type', 'application/json')
      response.end('{}')
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`,
    spans,
    resources,
    contentTypes,
    async close () {
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    }
  }
}

function attribute (span: OtlpSpan, key: string): unknown {
  const found = span.attributes.find(entry => entry.key === key)
  return found === undefined ? undefined : Object.values(found.value)[0]
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const CALLER_SPAN_ID = '00f067aa0ba902b7'

describe('tracing with an OTLP endpoint', () => {
  let receiver: Receiver
  let stack: TestStack
  let upstream: TestUpstream
  let app: Provisioned
  let broken: Provisioned

  beforeAll(async () => {
    receiver = await startReceiver()
    stack = await startStack({ database: 'pglite', redis: false, config: { otelExporterEndpoint: receiver.url, otelServiceName: 'gateway-under-test' } })
    upstream = await startUpstream('traced')
    app = await provision(stack, { upstreamUrls: [upstream.url], auth: ['apikey'], routes: [{ path: '/traced', stripPrefix: true }] })
    broken = await provision(stack, { upstreamUrls: [`http://127.0.0.1:${await freePort()}`], auth: ['apikey'], routes: [{ path: '/traced-broken', stripPrefix: true }] })
    await waitForPropagation(stack)
  })

  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
    await receiver?.close()
  })

  /** The request's spans once exported: its server span and the children of it. */
  async function spansOf (requestId: string, children: number): Promise<{ server: OtlpSpan, phases: Map<string, OtlpSpan> }> {
    const deadline = Date.now() + 5_000
    for (;;) {
      const server = receiver.spans.find(span => span.kind === 2 && attribute(span, 'gateway.request_id') === requestId)
      const phases = receiver.spans.filter(span => server !== undefined && span.parentSpanId === server.spanId)
      if (server !== undefined && phases.length >= children) return { server, phases: new Map(phases.map(span => [span.name, span])) }
      if (Date.now() > deadline) throw new Error(`no spans of ${requestId}: ${JSON.stringify(receiver.spans)}`)
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }

  it('exports a server span with a child per policy unit and the upstream call, and the upstream continues the trace', async () => {
    const response = await fetch(`${stack.gatewayUrls[0]}/traced/orders?page=2`, { headers: { 'x-api-key': app.apiKey, 'x-request-id': 'traced-1', 'user-agent': 'tracing-test' } })
    expect(response.status).toBe(200)
    const { server, phases } = await spansOf('traced-1', 6)
    expect(server.traceId).toMatch(/^[0-9a-f]{32}$/)
    expect(server.spanId).toMatch(/^[0-9a-f]{16}$/)
    expect(server.parentSpanId).toBeUndefined()
    expect(server.name).toBe('GET /traced')
    expect(server.status).toEqual({ code: 0 })
    expect(attribute(server, 'http.request.method')).toBe('GET')
    expect(attribute(server, 'http.route')).toBe('/traced')
    expect(attribute(server, 'url.path')).toBe('/traced/orders')
    expect(attribute(server, 'http.response.status_code')).toBe('200')
    expect(attribute(server, 'user_agent.original')).toBe('tracing-test')
    expect([...phases.keys()].sort()).toEqual(['app-ip-restriction', 'authentication', 'permission', 'rate-limit', 'upstream', 'upstream-concurrency'])
    for (const phase of phases.values()) {
      expect(phase.traceId).toBe(server.traceId)
      expect(phase.kind).toBe(phase.name === 'upstream' ? 3 : 1)
      expect(BigInt(phase.startTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(server.startTimeUnixNano))
      expect(BigInt(phase.endTimeUnixNano)).toBeLessThanOrEqual(BigInt(server.endTimeUnixNano))
      expect(BigInt(phase.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(phase.startTimeUnixNano))
    }
    for (const phase of phases.values()) expect(phase.status).toEqual({ code: 0 })
    const upstreamSpan = phases.get('upstream') as OtlpSpan
    expect(attribute(upstreamSpan, 'http.response.status_code')).toBe('200')
    expect(attribute(upstreamSpan, 'server.address')).toBe(new URL(upstream.url).host)
    const received = upstream.received.find(request => request.headers['x-request-id'] === 'traced-1')
    expect(received?.headers.traceparent).toBe(`00-${server.traceId}-${upstreamSpan.spanId}-01`)
    expect(receiver.contentTypes.every(type => type === 'application/json')).toBe(true)
    expect(receiver.resources[0]).toEqual({ attributes: [{ key: 'service.name', value: { stringValue: 'gateway-under-test' } }] })
  })

  it('continues an incoming trace and passes its tracestate on', async () => {
    const response = await fetch(`${stack.gatewayUrls[0]}/traced/orders`, { headers: { 'x-api-key': app.apiKey, 'x-request-id': 'traced-2', traceparent: `00-${TRACE_ID}-${CALLER_SPAN_ID}-01`, tracestate: 'vendor=abc' } })
    expect(response.status).toBe(200)
    const { server, phases } = await spansOf('traced-2', 6)
    expect(server.traceId).toBe(TRACE_ID)
    expect(server.parentSpanId).toBe(CALLER_SPAN_ID)
    const received = upstream.received.find(request => request.headers['x-request-id'] === 'traced-2')
    expect(received?.headers.traceparent).toBe(`00-${TRACE_ID}-${phases.get('upstream')?.spanId as string}-01`)
    expect(received?.headers.tracestate).toBe('vendor=abc')
  })

  it('marks the phase a request was refused in, and the server span only for a 5xx', async () => {
    expect((await fetch(`${stack.gatewayUrls[0]}/traced/orders`, { headers: { 'x-request-id': 'traced-401' } })).status).toBe(401)
    const refused = await spansOf('traced-401', 1)
    expect(refused.server.status).toEqual({ code: 0 })
    expect(refused.phases.get('authentication')?.status).toEqual({ code: 2, message: 'MISSING_CREDENTIALS' })
    expect(refused.phases.has('upstream')).toBe(false)

    expect((await fetch(`${stack.gatewayUrls[0]}/traced-broken/orders`, { headers: { 'x-api-key': broken.apiKey, 'x-request-id': 'traced-502' } })).status).toBe(502)
    const failed = await spansOf('traced-502', 6)
    expect(failed.server.status).toEqual({ code: 2, message: 'UPSTREAM_UNAVAILABLE' })
    expect(failed.phases.get('upstream')?.status).toEqual({ code: 2, message: 'UPSTREAM_UNAVAILABLE' })
    expect(attribute(failed.server, 'http.response.status_code')).toBe('502')
  })

  it('keeps serving when the collector is down, counting the spans it dropped', async () => {
    await receiver.close()
    const started = Date.now()
    for (let index = 0; index < 5; index++) {
      expect((await fetch(`${stack.gatewayUrls[0]}/traced/orders`, { headers: { 'x-api-key': app.apiKey } })).status).toBe(200)
    }
    expect(Date.now() - started).toBeLessThan(2_000)
    const deadline = Date.now() + 5_000
    let dropped: number | undefined
    while (dropped === undefined && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 200))
      dropped = value(parseMetrics(await (await fetch(`${stack.gatewayUrls[0]}/metrics`)).text()), 'gateway_trace_spans_dropped_total', { reason: 'export_failed' })
    }
    expect(dropped).toBeGreaterThanOrEqual(5 * 4)
    expect(value(parseMetrics(await (await fetch(`${stack.gatewayUrls[0]}/metrics`)).text()), 'gateway_trace_spans_exported_total')).toBeGreaterThan(0)
  })
})

describe('tracing off (no endpoint)', () => {
  let stack: TestStack
  let upstream: TestUpstream
  let app: Provisioned

  beforeAll(async () => {
    stack = await startStack({ database: 'pglite', redis: false })
    upstream = await startUpstream('untraced')
    app = await provision(stack, { upstreamUrls: [upstream.url], auth: ['apikey'], routes: [{ path: '/untraced', stripPrefix: true }] })
    await waitForPropagation(stack)
  })

  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
  })

  it('passes an incoming traceparent and tracestate through untouched and starts none', async () => {
    const traceparent = `00-${TRACE_ID}-${CALLER_SPAN_ID}-01`
    await (await fetch(`${stack.gatewayUrls[0]}/untraced/a`, { headers: { 'x-api-key': app.apiKey, traceparent, tracestate: 'vendor=abc' } })).arrayBuffer()
    await (await fetch(`${stack.gatewayUrls[0]}/untraced/b`, { headers: { 'x-api-key': app.apiKey } })).arrayBuffer()
    expect(upstream.received[0].headers).toMatchObject({ traceparent, tracestate: 'vendor=abc' })
    expect(upstream.received[1].headers.traceparent).toBeUndefined()
  })
})
