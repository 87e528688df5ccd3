// The IPC between a scraped worker, the primary and every worker, over fake channels that
// pass messages through JSON as node:cluster does.
import { EventEmitter } from 'node:events'
import { Counter, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { ClusterMetricsPrimary, ClusterMetricsWorker, type MetricsWorker } from '../../../src/observability/cluster-metrics.js'
import { parseMetrics, value } from '../../helpers/metrics-text.js'

const DEADLINE_MS = 100
const silentLog = { error () {}, warn () {} } as never

interface FakeWorker { handle: MetricsWorker, metrics: ClusterMetricsWorker, requests: Counter, state: { stopped: boolean, exited: boolean }, resume: () => void }

function startWorker (primary: ClusterMetricsPrimary, id: number): FakeWorker {
  const toWorker = new EventEmitter()
  const state = { stopped: false, exited: false }
  const unread: unknown[] = []
  const resume = (): void => {
    state.stopped = false
    for (const message of unread.splice(0)) toWorker.emit('message', message)
  }
  const handle: MetricsWorker = {
    id,
    send (message, callback) {
      if (state.exited) {
        setImmediate(() => { callback(new Error('channel closed')) })
        return false
      }
      // a stopped process reads its messages once it runs again
      const received = JSON.parse(JSON.stringify(message))
      if (state.stopped) unread.push(received)
      else setImmediate(() => toWorker.emit('message', received))
      setImmediate(() => { callback(null) })
      return true
    }
  }
  const registry = new Registry()
  const requests = new Counter({ name: 'gateway_requests_total', help: 'Requests', labelNames: ['api'], registers: [registry] })
  const metrics = new ClusterMetricsWorker({
    registry,
    deadlineMs: DEADLINE_MS,
    log: silentLog,
    channel: {
      send (message, callback) {
        setImmediate(() => { primary.receive(handle, JSON.parse(JSON.stringify(message))) })
        setImmediate(() => { callback(null) })
        return true
      },
      on: (event, listener) => toWorker.on(event, listener),
      off: (event, listener) => toWorker.off(event, listener)
    }
  })
  primary.add(handle)
  return { handle, metrics, requests, state, resume }
}

describe('cluster metrics over IPC', () => {
  it('answers a scrape on any worker with the requests of all of them', async () => {
    const primary = new ClusterMetricsPrimary({ deadlineMs: DEADLINE_MS })
    const workers = [startWorker(primary, 1), startWorker(primary, 2)]
    workers[0].requests.inc({ api: 'orders' }, 3)
    workers[1].requests.inc({ api: 'orders' }, 4)
    for (const worker of workers) {
      const samples = parseMetrics(await worker.metrics.scrape())
      expect(value(samples, 'gateway_requests_total', { api: 'orders' })).toBe(7)
      expect(value(samples, 'gateway_workers')).toBe(2)
    }
  })

  it('fails the scrape after the deadline when a worker does not answer, and counts the worker again once it does', async () => {
    const primary = new ClusterMetricsPrimary({ deadlineMs: DEADLINE_MS })
    const [answering, stopped] = [startWorker(primary, 1), startWorker(primary, 2)]
    stopped.state.stopped = true
    const started = Date.now()
    await expect(answering.metrics.scrape()).rejects.toMatchObject({ code: 'METRICS_INCOMPLETE', statusCode: 503, message: `Only 1 of 2 gateway workers sent their metrics within ${DEADLINE_MS} ms` })
    expect(Date.now() - started).toBeGreaterThanOrEqual(DEADLINE_MS - 5)
    answering.requests.inc({ api: 'orders' })
    stopped.requests.inc({ api: 'orders' }, 5)
    stopped.resume()
    const samples = parseMetrics(await answering.metrics.scrape())
    expect(value(samples, 'gateway_requests_total', { api: 'orders' })).toBe(6)
    expect(value(samples, 'gateway_workers')).toBe(2)
  })

  it('does not wait for a worker whose channel has closed', async () => {
    const primary = new ClusterMetricsPrimary({ deadlineMs: 10_000 })
    const [alive, exiting] = [startWorker(primary, 1), startWorker(primary, 2)]
    exiting.state.exited = true
    alive.requests.inc({ api: 'orders' }, 2)
    const samples = parseMetrics(await alive.metrics.scrape())
    expect(value(samples, 'gateway_requests_total', { api: 'orders' })).toBe(2)
    expect(value(samples, 'gateway_workers')).toBe(1)
  })

  it('asks only the workers it was given, and no longer one removed', async () => {
    const primary = new ClusterMetricsPrimary({ deadlineMs: DEADLINE_MS })
    const [kept, removed] = [startWorker(primary, 1), startWorker(primary, 2)]
    removed.state.stopped = true
    primary.remove(removed.handle)
    expect(value(parseMetrics(await kept.metrics.scrape()), 'gateway_workers')).toBe(1)
  })

  it('fails the scrape when the primary does not answer', async () => {
    const metrics = new ClusterMetricsWorker({ registry: new Registry(), deadlineMs: DEADLINE_MS, log: silentLog, channel: { send: () => true, on () {}, off () {} } })
    await expect(metrics.scrape()).rejects.toMatchObject({ code: 'METRICS_INCOMPLETE', message: `The primary process did not send the workers' metrics within ${DEADLINE_MS + 1_000} ms` })
  })
})
