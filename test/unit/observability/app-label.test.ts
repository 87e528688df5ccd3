// The app label of the request metrics stays bounded however many apps call.
import { describe, expect, it } from 'vitest'
import { AppLabeller, NO_APP, OTHER_APPS, parseAppLabelSetting } from '../../../src/observability/app-label.js'
import { GatewayMetrics } from '../../../src/observability/gateway-metrics.js'

const ROUTE = { id: 'route-1', apiId: 'api-1', methods: [], host: null, path: '/orders', stripPrefix: true, websocket: false }

async function appLabelsInMetrics (metrics: GatewayMetrics): Promise<Set<string>> {
  const text = await metrics.registry.getSingleMetricAsString('gateway_requests_total')
  return new Set([...text.matchAll(/app="([^"]*)"/g)].map(match => match[1]))
}

describe('app label', () => {
  it('parses off and top:N and refuses anything else', () => {
    expect(parseAppLabelSetting('off')).toEqual({ kind: 'off' })
    expect(parseAppLabelSetting('top:20')).toEqual({ kind: 'top', limit: 20 })
    for (const bad of ['top:0', 'top:1001', 'top', 'all', 'top:-1', '']) expect(() => parseAppLabelSetting(bad)).toThrow(/metricsAppLabel/)
  })

  it('names no app when off, and none for a request without an app', () => {
    const labeller = new AppLabeller({ kind: 'off' })
    expect(labeller.label('app-1')).toBe(OTHER_APPS)
    expect(labeller.label(undefined)).toBe(NO_APP)
  })

  it('keeps the busiest apps after a rerank and lets idle ones go', () => {
    const labeller = new AppLabeller({ kind: 'top', limit: 2 })
    expect(['a', 'b', 'c'].map(app => labeller.label(app))).toEqual(['a', 'b', OTHER_APPS])
    for (let index = 0; index < 10; index++) labeller.label('c')
    labeller.label('b')
    expect(labeller.rerank()).toEqual(['a'])
    expect(['a', 'b', 'c'].map(app => labeller.label(app))).toEqual([OTHER_APPS, 'b', 'c'])
  })

  it('holds gateway_requests_total to N app labels with 10,000 distinct apps calling', async () => {
    const metrics = new GatewayMetrics({ appLabel: { kind: 'top', limit: 20 }, appRerankMs: 0 })
    const route = metrics.forRoute('orders', ROUTE)
    for (let index = 0; index < 10_000; index++) route.countRequest(metrics.apps.label(`app-${index}`), 'GET', 200, 'proxied')
    let labels = await appLabelsInMetrics(metrics)
    expect(labels.size).toBe(21)
    expect(labels.has(OTHER_APPS)).toBe(true)
    // a late but busy app enters the top at the next scrape; the series of the apps it displaced go
    for (let index = 0; index < 50; index++) route.countRequest(metrics.apps.label('app-9999'), 'GET', 200, 'proxied')
    await metrics.registry.metrics()
    route.countRequest(metrics.apps.label('app-9999'), 'GET', 200, 'proxied')
    labels = await appLabelsInMetrics(metrics)
    expect(labels.has('app-9999')).toBe(true)
    expect(labels.size).toBeLessThanOrEqual(21)
  })
})
