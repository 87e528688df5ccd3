// The live overview and the node list, made from the node registry's rows (pure: the caller
// passes the time). A node is up while its reports arrive; three intervals overdue it is down.
// The last minute's figures come from the nodes that are up; the per-minute series from every
// node, since a node that went down still served the traffic it reported.
import { addCounts, emptyCounts, latencyQuantileMs, MINUTE_MS, totalOfApis, type Counts } from '../../observability/node-stats.js'
import type { RegisteredNode } from '../../store/node-registry.js'

export type NodeStatus = 'up' | 'down' | 'stopped'

// room for a report that is slow to be written, on top of the missed intervals
const DOWN_SLACK_MS = 1_000
const MISSED_INTERVALS = 3

export function nodeStatus (node: RegisteredNode, now: number): NodeStatus {
  if (node.stoppedAt !== null) return 'stopped'
  return now - node.reportedAt.getTime() > MISSED_INTERVALS * node.stats.intervalMs + DOWN_SLACK_MS ? 'down' : 'up'
}

function perMinute (count: number, seconds: number): number {
  return seconds > 0 ? count * 60 / seconds : 0
}

export function nodeView (node: RegisteredNode, now: number, currentVersion: bigint) {
  const window = node.stats.window
  const requests = Object.values(window.counts.apis).reduce((sum, api) => sum + api.requests, 0)
  return {
    id: node.id,
    hostname: node.hostname,
    pid: node.pid,
    version: node.version,
    status: nodeStatus(node, now),
    startedAt: node.startedAt.toISOString(),
    reportedAt: node.reportedAt.toISOString(),
    stoppedAt: node.stoppedAt?.toISOString() ?? null,
    configVersion: node.configVersion.toString(),
    versionsBehind: Number(currentVersion > node.configVersion ? currentVersion - node.configVersion : 0n),
    snapshotAgeSeconds: node.snapshotAgeSeconds,
    requestsPerMinute: perMinute(requests, window.seconds),
    webSocketConnections: Object.values(node.stats.webSockets).reduce((sum, count) => sum + count, 0),
    databaseUp: node.stats.databaseUp,
    redisUp: node.stats.redisUp,
    targets: node.stats.targets
  }
}

interface ApiFigures { requestsPerMinute: number, refusedPerMinute: number, errorRate: number | null, p99Ms: number | null }

function figures (counts: Counts['apis'][string], ratePerRequest: number): ApiFigures {
  if (counts.requests === 0) return { requestsPerMinute: 0, refusedPerMinute: 0, errorRate: null, p99Ms: null }
  return { requestsPerMinute: counts.requests * ratePerRequest, refusedPerMinute: counts.refused * ratePerRequest, errorRate: counts.errors / counts.requests, p99Ms: latencyQuantileMs(counts.latency, 0.99) }
}

export interface TopApp { appId: string, appName: string, partnerId: string, partnerName: string, calls: number, rejected: number }

export function overview (nodes: RegisteredNode[], now: number, options: { minutes: number, topApps: TopApp[] }) {
  const up = nodes.filter(node => nodeStatus(node, now) === 'up')
  // each node's last minute as a rate, then summed: nodes' windows differ a little in length
  const rates = new Map<string, { requests: number, refused: number }>()
  const rejections = new Map<string, number>()
  let windowCounts = emptyCounts()
  for (const node of up) {
    const { seconds, counts } = node.stats.window
    windowCounts = addCounts(windowCounts, counts)
    for (const [api, each] of Object.entries(counts.apis)) {
      const rate = rates.get(api) ?? { requests: 0, refused: 0 }
      rate.requests += perMinute(each.requests, seconds)
      rate.refused += perMinute(each.refused, seconds)
      rates.set(api, rate)
    }
    for (const [reason, count] of Object.entries(counts.rejections)) rejections.set(reason, (rejections.get(reason) ?? 0) + perMinute(count, seconds))
  }

  const firstMinute = Math.floor(now / MINUTE_MS) * MINUTE_MS - (options.minutes - 1) * MINUTE_MS
  const byMinute = new Map<number, Counts>()
  for (const node of nodes) {
    for (const minute of node.stats.minutes) {
      const start = Date.parse(minute.start)
      if (start >= firstMinute) byMinute.set(start, addCounts(byMinute.get(start) ?? emptyCounts(), minute.counts))
    }
  }
  const starts = Array.from({ length: options.minutes }, (_, index) => firstMinute + index * MINUTE_MS)
  const apiNames = new Set([...rates.keys(), ...[...byMinute.values()].flatMap(counts => Object.keys(counts.apis))])
  const webSockets = new Map<string, number>()
  for (const node of up) for (const [api, count] of Object.entries(node.stats.webSockets)) webSockets.set(api, (webSockets.get(api) ?? 0) + count)

  const point = (start: number, counts: Counts['apis'][string] | undefined) => ({
    minute: new Date(start).toISOString(),
    requests: counts?.requests ?? 0,
    errors: counts?.errors ?? 0,
    refused: counts?.refused ?? 0,
    p99Ms: counts === undefined ? null : latencyQuantileMs(counts.latency, 0.99)
  })
  const apis = [...apiNames].sort().map(api => {
    const rate = rates.get(api)
    const window = windowCounts.apis[api]
    return {
      api,
      requestsPerMinute: rate?.requests ?? 0,
      refusedPerMinute: rate?.refused ?? 0,
      errorRate: window === undefined || window.requests === 0 ? null : window.errors / window.requests,
      p99Ms: window === undefined ? null : latencyQuantileMs(window.latency, 0.99),
      webSocketConnections: webSockets.get(api) ?? 0,
      series: starts.map(start => point(start, byMinute.get(start)?.apis[api]))
    }
  })
  const all = totalOfApis(windowCounts)
  const totalRate = [...rates.values()].reduce((sum, rate) => sum + rate.requests, 0)
  const rejectionsInRange = new Map<string, number>()
  for (const start of starts) for (const [reason, count] of Object.entries(byMinute.get(start)?.rejections ?? {})) rejectionsInRange.set(reason, (rejectionsInRange.get(reason) ?? 0) + count)
  return {
    generatedAt: new Date(now).toISOString(),
    minutes: options.minutes,
    nodes: { up: up.length, down: nodes.filter(node => nodeStatus(node, now) === 'down').length, stopped: nodes.filter(node => nodeStatus(node, now) === 'stopped').length },
    totals: {
      ...figures(all, all.requests === 0 ? 0 : totalRate / all.requests),
      webSocketConnections: [...webSockets.values()].reduce((sum, count) => sum + count, 0)
    },
    apis,
    rejections: [...new Set([...rejections.keys(), ...rejectionsInRange.keys()])].sort().map(reason => ({ reason, perMinute: rejections.get(reason) ?? 0, inRange: rejectionsInRange.get(reason) ?? 0 })),
    topApps: options.topApps
  }
}
