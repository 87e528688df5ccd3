// An upstream's targets with their weights and their live health as the gateway nodes that
// are up report it (refreshed every few seconds): healthy on every node, or out of service on some.
import type { JSX } from 'preact'
import { adminApi, type Nodes, type Upstream } from '../admin-api.js'
import { usePolling } from './overview.js'

const REFRESH_MS = 5_000

function health (nodes: Nodes | undefined, upstream: string, target: string): { text: string, status: string } {
  if (nodes === undefined) return { text: '…', status: 'pending' }
  const reports = nodes.items.filter(node => node.status === 'up').flatMap(node => node.targets.filter(each => each.upstream === upstream && each.target === target))
  if (reports.length === 0) return { text: 'no node reports it yet', status: 'pending' }
  const unhealthy = reports.filter(each => !each.healthy).length
  if (unhealthy === 0) return { text: `healthy on ${reports.length} node${reports.length === 1 ? '' : 's'}`, status: 'up' }
  return { text: `out of service on ${unhealthy} of ${reports.length} node${reports.length === 1 ? '' : 's'}`, status: 'down' }
}

export function TargetHealth (props: { upstream: Upstream }): JSX.Element {
  const nodes = usePolling(async () => await adminApi<Nodes>('GET', '/nodes'), REFRESH_MS)
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">Targets of {props.upstream.name}</caption>
        <thead><tr><th scope="col">Target</th><th scope="col">Weight</th><th scope="col">Health</th></tr></thead>
        <tbody>
          {props.upstream.targets.map(target => {
            const state = health(nodes.data, props.upstream.name, target.url)
            return <tr key={target.url} data-target={target.url}><td class="mono">{target.url}</td><td>{target.weight}</td><td><span class={`badge badge-${state.status}`}>{state.status === 'up' ? 'healthy' : state.status === 'down' ? 'unhealthy' : 'unknown'}</span> <span class="small-text">{state.text}</span></td></tr>
          })}
        </tbody>
      </table>
    </div>
  )
}
