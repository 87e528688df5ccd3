// The live overview: traffic per API (requests per minute, error rate, p99), rejections,
// WebSocket connections, the busiest apps today and every gateway node — refreshed every few
// seconds without reloading the page.
import type { JSX } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { Empty, ErrorMessage, formatDate, Heading, Link, Loading, Notice, StatusBadge } from '../../components.js'
import { adminApi, type Nodes, type Overview } from '../admin-api.js'
import { LineChart } from '../line-chart.js'
import { formatNumber } from '../ui.js'

const REFRESH_MS = 5_000

/** Loads `load` now and every `intervalMs` while the page is shown; keeps the last good answer on errors. */
export function usePolling<T> (load: () => Promise<T>, intervalMs: number): { data: T | undefined, error: unknown, updatedAt: Date | undefined } {
  const [state, setState] = useState<{ data: T | undefined, error: unknown, updatedAt: Date | undefined }>({ data: undefined, error: undefined, updatedAt: undefined })
  useEffect(() => {
    let live = true
    let timer: ReturnType<typeof setTimeout> | undefined
    const tick = (): void => {
      load().then(
        data => { if (live) setState({ data, error: undefined, updatedAt: new Date() }) },
        (error: unknown) => { if (live) setState(previous => ({ ...previous, error })) }
      ).finally(() => { if (live) timer = setTimeout(tick, intervalMs) })
    }
    tick()
    return () => { live = false; clearTimeout(timer) }
  }, [])
  return state
}

function percent (value: number | null): string {
  return value === null ? '—' : `${formatNumber(value * 100, value < 0.1 ? 2 : 1)} %`
}

function milliseconds (value: number | null): string {
  return value === null ? '—' : `${formatNumber(value, value < 10 ? 1 : 0)} ms`
}

function Stat (props: { label: string, value: string }): JSX.Element {
  return <li><span class="stat-value">{props.value}</span><span class="stat-label">{props.label}</span></li>
}

function NodesTable (props: { nodes: Nodes }): JSX.Element {
  if (props.nodes.items.length === 0) return <Empty title="No gateway node has reported yet">Nodes report every few seconds once they start.</Empty>
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">Gateway nodes</caption>
        <thead><tr><th scope="col">Node</th><th scope="col">State</th><th scope="col">Release</th><th scope="col">Configuration</th><th scope="col">Snapshot age</th><th scope="col">Requests/min</th><th scope="col">WebSockets</th><th scope="col">Last report</th></tr></thead>
        <tbody>
          {props.nodes.items.map(node => (
            <tr key={node.id} data-node={node.id}>
              <td>{node.hostname} <span class="muted">pid {node.pid}</span></td>
              <td><StatusBadge status={node.status} />{node.status === 'up' && !node.databaseUp && <span class="small-text"> database down</span>}{node.status === 'up' && node.redisUp === false && <span class="small-text"> Redis down</span>}</td>
              <td>{node.version}</td>
              <td>v{node.configVersion}{node.versionsBehind > 0 && <span class="small-text warning-text"> ({node.versionsBehind} behind)</span>}</td>
              <td>{formatNumber(node.snapshotAgeSeconds, 0)} s</td>
              <td>{formatNumber(node.requestsPerMinute, 1)}</td>
              <td>{node.webSocketConnections}</td>
              <td>{formatDate(node.reportedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

export function OverviewPage (): JSX.Element {
  const live = usePolling(async () => {
    const [overview, nodes] = await Promise.all([adminApi<Overview>('GET', '/overview?minutes=30'), adminApi<Nodes>('GET', '/nodes')])
    return { overview, nodes }
  }, REFRESH_MS)
  if (live.data === undefined) return live.error !== undefined ? <ErrorMessage error={live.error} /> : <Loading />
  const { overview, nodes } = live.data
  const minutes = overview.apis[0]?.series.map(point => point.minute) ?? []
  return (
    <>
      <Heading>Overview</Heading>
      <p class="lead" aria-live="polite">Live from {overview.nodes.up} gateway node{overview.nodes.up === 1 ? '' : 's'}; updated {live.updatedAt?.toLocaleTimeString()}.</p>
      {live.error !== undefined && <Notice kind="warning">The last refresh failed; showing the figures from {live.updatedAt?.toLocaleTimeString()}.</Notice>}
      {overview.nodes.down > 0 && <Notice kind="warning"><strong>{overview.nodes.down} gateway node{overview.nodes.down === 1 ? ' has' : 's have'} stopped reporting.</strong> See the nodes below.</Notice>}
      <ul class="stats" aria-label="Last minute, all APIs">
        <Stat label="requests per minute" value={formatNumber(overview.totals.requestsPerMinute, 1)} />
        <Stat label="error rate (5xx)" value={percent(overview.totals.errorRate)} />
        <Stat label="p99 latency" value={milliseconds(overview.totals.p99Ms)} />
        <Stat label="refused per minute (4xx)" value={formatNumber(overview.totals.refusedPerMinute, 1)} />
        <Stat label="open WebSocket connections" value={formatNumber(overview.totals.webSocketConnections)} />
      </ul>

      <h2>APIs</h2>
      {overview.apis.length === 0
        ? <Empty title="No traffic in the last 30 minutes" />
        : (
          <>
            <div class="table-wrap">
              <table>
                <caption class="visually-hidden">Traffic per API in the last minute</caption>
                <thead><tr><th scope="col">API</th><th scope="col">Requests/min</th><th scope="col">Error rate</th><th scope="col">p99</th><th scope="col">Refused/min</th><th scope="col">WebSockets</th><th scope="col">Requests, 30 min</th></tr></thead>
                <tbody>
                  {overview.apis.map(api => (
                    <tr key={api.api} data-api={api.api}>
                      <th scope="row">{api.api}</th>
                      <td>{formatNumber(api.requestsPerMinute, 1)}</td>
                      <td>{percent(api.errorRate)}</td>
                      <td>{milliseconds(api.p99Ms)}</td>
                      <td>{formatNumber(api.refusedPerMinute, 1)}</td>
                      <td>{api.webSocketConnections}</td>
                      <td>{formatNumber(api.series.reduce((sum, point) => sum + point.requests, 0))}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div class="chart-grid">
              <section class="card"><h3>Requests per minute</h3><LineChart title="Requests per minute per API" minutes={minutes} series={overview.apis.map(api => ({ label: api.api, values: api.series.map(point => point.requests) }))} format={value => formatNumber(value)} /></section>
              <section class="card"><h3>Error rate (5xx)</h3><LineChart title="Error rate per API" minutes={minutes} series={overview.apis.map(api => ({ label: api.api, values: api.series.map(point => point.requests === 0 ? null : point.errors / point.requests) }))} format={value => percent(value)} /></section>
              <section class="card"><h3>p99 latency</h3><LineChart title="p99 latency per API" minutes={minutes} series={overview.apis.map(api => ({ label: api.api, values: api.series.map(point => point.p99Ms) }))} format={value => milliseconds(value)} /></section>
            </div>
          </>
          )}

      <div class="two-columns">
        <section aria-labelledby="top-apps-title">
          <h2 id="top-apps-title">Top apps today</h2>
          {overview.topApps.length === 0
            ? <Empty title="No calls today yet" />
            : (
              <table>
                <thead><tr><th scope="col">App</th><th scope="col">Partner</th><th scope="col">Calls</th><th scope="col">Rejected</th></tr></thead>
                <tbody>{overview.topApps.map(app => <tr key={app.appId} data-app={app.appName}><td><Link to={`/apps/${app.appId}`}>{app.appName}</Link></td><td><Link to={`/partners/${app.partnerId}`}>{app.partnerName}</Link></td><td>{formatNumber(app.calls)}</td><td>{formatNumber(app.rejected)}</td></tr>)}</tbody>
              </table>
              )}
        </section>
        <section aria-labelledby="rejections-title">
          <h2 id="rejections-title">Rejections</h2>
          {overview.rejections.length === 0
            ? <Empty title="No rejections in the last 30 minutes" />
            : (
              <table>
                <thead><tr><th scope="col">Reason</th><th scope="col">Per minute now</th><th scope="col">Last 30 min</th></tr></thead>
                <tbody>{overview.rejections.map(rejection => <tr key={rejection.reason} data-reason={rejection.reason}><td class="mono">{rejection.reason}</td><td>{formatNumber(rejection.perMinute, 1)}</td><td>{formatNumber(rejection.inRange)}</td></tr>)}</tbody>
              </table>
              )}
        </section>
      </div>

      <h2>Gateway nodes</h2>
      <p class="muted">Current configuration v{nodes.currentConfigVersion}. A node that misses three reports shows as down.</p>
      <NodesTable nodes={nodes} />
    </>
  )
}
