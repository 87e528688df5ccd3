// An upstream's targets with their weights.
import type { JSX } from 'preact'
import type { Upstream } from '../admin-api.js'

export function TargetHealth (props: { upstream: Upstream }): JSX.Element {
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">Targets of {props.upstream.name}</caption>
        <thead><tr><th scope="col">Target</th><th scope="col">Weight</th></tr></thead>
        <tbody>{props.upstream.targets.map(target => <tr key={target.url}><td class="mono">{target.url}</td><td>{target.weight}</td></tr>)}</tbody>
      </table>
    </div>
  )
}
