// Calls per day as an inline SVG bar chart (rejections stacked in another colour), with the
// same numbers in a table for screen readers and for anyone who prefers figures.
import type { JSX } from 'preact'
import type { ApiUsage } from './api.js'

const WIDTH = 600
const HEIGHT = 160
const PAD_LEFT = 36
const PAD_BOTTOM = 20
const PAD_TOP = 10

function niceMax (value: number): number {
  if (value <= 5) return 5
  const magnitude = 10 ** Math.floor(Math.log10(value))
  return Math.ceil(value / magnitude) * magnitude
}

export function UsageChart (props: { usage: ApiUsage }): JSX.Element {
  const series = props.usage.series
  const max = niceMax(Math.max(...series.map(point => point.calls + point.rejected)))
  const plotWidth = WIDTH - PAD_LEFT
  const plotHeight = HEIGHT - PAD_BOTTOM - PAD_TOP
  const step = plotWidth / series.length
  const barWidth = Math.max(2, step * 0.7)
  const y = (value: number): number => PAD_TOP + plotHeight - (value / max) * plotHeight
  const total = props.usage.total
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`${props.usage.apiName}: ${total.calls} calls and ${total.rejected} rejected in the last ${series.length} days`}>
        {[0, 0.5, 1].map(fraction => (
          <g key={fraction}>
            <line x1={PAD_LEFT} x2={WIDTH} y1={y(max * fraction)} y2={y(max * fraction)} class="grid" />
            <text x={PAD_LEFT - 4} y={y(max * fraction) + 4} class="axis" text-anchor="end">{Math.round(max * fraction)}</text>
          </g>
        ))}
        {series.map((point, index) => {
          const x = PAD_LEFT + index * step + (step - barWidth) / 2
          return (
            <g key={point.day}>
              <title>{`${point.day}: ${point.calls} calls, ${point.rejected} rejected`}</title>
              <rect x={x} width={barWidth} y={y(point.calls)} height={PAD_TOP + plotHeight - y(point.calls)} class="bar-calls" />
              <rect x={x} width={barWidth} y={y(point.calls + point.rejected)} height={y(point.calls) - y(point.calls + point.rejected)} class="bar-rejected" />
            </g>
          )
        })}
        <text x={PAD_LEFT} y={HEIGHT - 4} class="axis">{series[0]?.day}</text>
        <text x={WIDTH} y={HEIGHT - 4} class="axis" text-anchor="end">{series[series.length - 1]?.day}</text>
      </svg>
      <figcaption><span class="key key-calls" aria-hidden="true" /> calls <span class="key key-rejected" aria-hidden="true" /> rejected (rate limit or quota)</figcaption>
      <details>
        <summary>Show the numbers</summary>
        <table>
          <thead><tr><th scope="col">Day (UTC)</th><th scope="col">Calls</th><th scope="col">Rejected</th></tr></thead>
          <tbody>{series.filter(point => point.calls + point.rejected > 0).map(point => <tr key={point.day}><td>{point.day}</td><td>{point.calls}</td><td>{point.rejected}</td></tr>)}</tbody>
        </table>
      </details>
    </figure>
  )
}

export function QuotaMeter (props: { label: string, used: number, quota: number | null, id: string }): JSX.Element {
  return (
    <div class="quota">
      <label for={props.id}>{props.label}</label>
      {props.quota === null
        ? <output id={props.id}>{props.used.toLocaleString()} calls (no quota)</output>
        : (
          <>
            <meter id={props.id} min={0} max={props.quota} low={props.quota * 0.8} high={props.quota * 0.95} optimum={0} value={Math.min(props.used, props.quota)}>{props.used} of {props.quota}</meter>
            <span class="quota-figure">{props.used.toLocaleString()} / {props.quota.toLocaleString()}</span>
          </>
          )}
    </div>
  )
}
