// A node's traffic as the node registry stores it: the last minute and per wall-clock minute
// from ever-growing totals, and a p99 read from a latency histogram.
import { describe, expect, it } from 'vitest'
import { LATENCY_BUCKETS } from '../../../src/observability/gateway-metrics.js'
import { addCounts, latencyQuantileMs, NodeStatsTracker, subtractCounts, type Counts } from '../../../src/observability/node-stats.js'

/** `requests` requests to `api`, all in the latency bucket bounded by `boundSeconds`. */
function counts (api: string, requests: number, options: { errors?: number, refused?: number, boundSeconds?: number, rejections?: Record<string, number> } = {}): Counts {
  const latency = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0)
  latency[LATENCY_BUCKETS.indexOf(options.boundSeconds ?? 0.01)] = requests
  return { apis: { [api]: { requests, errors: options.errors ?? 0, refused: options.refused ?? 0, latency } }, rejections: options.rejections ?? {} }
}

const T0 = Date.parse('2026-11-26T10:00:00Z')

describe('node stats', () => {
  it('reads the p99 inside its bucket, interpolated, and null without requests', () => {
    const latency = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0)
    expect(latencyQuantileMs(latency, 0.99)).toBeNull()
    // 99 fast requests (≤ 10 ms) and one slow one (250–500 ms): the 99th is the last fast one
    latency[LATENCY_BUCKETS.indexOf(0.01)] = 99
    latency[LATENCY_BUCKETS.indexOf(0.5)] = 1
    expect(latencyQuantileMs(latency, 0.99)).toBeCloseTo(10, 6)
    expect(latencyQuantileMs(latency, 0.5)).toBeCloseTo(5 + 5 * (50 / 99), 6)
    // 2 slow of 100: the 99th falls half-way into the 250–500 ms bucket
    latency[LATENCY_BUCKETS.indexOf(0.01)] = 98
    latency[LATENCY_BUCKETS.indexOf(0.5)] = 2
    expect(latencyQuantileMs(latency, 0.99)).toBeCloseTo(375, 6)
    const beyond = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0)
    beyond[LATENCY_BUCKETS.length] = 1
    expect(latencyQuantileMs(beyond, 0.99)).toBe(30_000)
  })

  it('adds and subtracts counts, leaving out what has no traffic', () => {
    const sum = addCounts(counts('orders', 3, { errors: 1, rejections: { RATE_LIMITED: 2 } }), counts('orders', 2, { refused: 2, rejections: { RATE_LIMITED: 1 } }))
    expect(sum.apis.orders).toMatchObject({ requests: 5, errors: 1, refused: 2 })
    expect(sum.rejections).toEqual({ RATE_LIMITED: 3 })
    expect(subtractCounts(sum, sum)).toEqual({ apis: {}, rejections: {} })
  })

  it('turns totals read every few seconds into the last minute and per-minute traffic', () => {
    const tracker = new NodeStatsTracker()
    tracker.observe(T0 + 50_000, counts('orders', 100))
    expect(tracker.window()).toEqual({ seconds: 0, counts: { apis: {}, rejections: {} } })
    tracker.observe(T0 + 55_000, counts('orders', 110))
    tracker.observe(T0 + 65_000, counts('orders', 130, { rejections: { QUOTA_EXCEEDED: 4 } }))
    expect(tracker.window().seconds).toBe(15)
    expect(tracker.window().counts.apis.orders.requests).toBe(30)
    // the traffic since the previous reading counts in the minute of the reading
    expect(tracker.minutes().map(minute => [minute.start, minute.counts.apis.orders.requests, minute.counts.rejections])).toEqual([
      ['2026-11-26T10:00:00.000Z', 10, {}],
      ['2026-11-26T10:01:00.000Z', 20, { QUOTA_EXCEEDED: 4 }]
    ])
    // a minute later the window no longer reaches back to the first readings
    tracker.observe(T0 + 120_000, counts('orders', 150))
    tracker.observe(T0 + 125_000, counts('orders', 160))
    expect(tracker.window()).toMatchObject({ seconds: 60 })
    expect(tracker.window().counts.apis.orders.requests).toBe(30)
  })

  it('keeps only the last minutes it was asked to keep', () => {
    const tracker = new NodeStatsTracker({ keepMinutes: 2 })
    for (let minute = 0; minute < 5; minute++) tracker.observe(T0 + minute * 60_000 + 1_000, counts('orders', minute * 10))
    expect(tracker.minutes().map(minute => minute.start)).toEqual(['2026-11-26T10:03:00.000Z', '2026-11-26T10:04:00.000Z'])
  })
})
