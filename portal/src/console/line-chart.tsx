// A small inline SVG line chart: one line per series over the same minutes, the y axis from
// zero to a round maximum, and the figures in a table for screen readers and exact reading.
import type { JSX } from 'preact'

const WIDTH = 480
const HEIGHT = 200
const PAD_LEFT = 64
const PAD_BOTTOM = 20
const PAD_TOP = 10
// five colours in console.css; more series reuse them
const COLOURS = 5

export interface Series { label: string, values: Array<number | null> }

function niceMax (value: number): number {
  if (value <= 0) return 1
  const magnitude = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude
  return 10 * magnitude
}

function time (iso: string): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
}

export function LineChart (props: { title: string, minutes: string[], series: Series[], format: (value: number) => string }): JSX.Element {
  const max = niceMax(Math.max(0, ...props.series.flatMap(series => series.values.filter((value): value is number => value !== null))))
  const plotWidth = WIDTH - PAD_LEFT
  const plotHeight = HEIGHT - PAD_BOTTOM - PAD_TOP
  const step = props.minutes.length > 1 ? plotWidth / (props.minutes.length - 1) : plotWidth
  const x = (index: number): number => PAD_LEFT + index * step
  const y = (value: number): number => PAD_TOP + plotHeight - (value / max) * plotHeight
  const path = (values: Array<number | null>): string => {
    let d = ''
    let drawing = false
    values.forEach((value, index) => {
      if (value === null) { drawing = false; return }
      d += `${drawing ? 'L' : 'M'}${x(index).toFixed(1)},${y(value).toFixed(1)}`
      drawing = true
    })
    return d
  }
  return (
    <figure class="chart line-chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`${props.title}, ${props.minutes.length} minutes`}>
        {[0, 0.5, 1].map(fraction => (
          <g key={fraction}>
            <line x1={PAD_LEFT} x2={WIDTH} y1={y(max * fraction)} y2={y(max * fraction)} class="grid" />
            <text x={PAD_LEFT - 4} y={y(max * fraction) + 4} class="axis" text-anchor="end">{props.format(max * fraction)}</text>
          </g>
        ))}
        {props.series.map((series, index) => (
          <g key={series.label} class={`line-${index % COLOURS}`}>
            <path d={path(series.values)} class={`line line-${index % COLOURS}`}><title>{series.label}</title></path>
            {/* a dot per minute with traffic: a single minute draws no line */}
            {series.values.map((value, minute) => value === null || value === 0 ? null : <circle key={minute} cx={x(minute)} cy={y(value)} r={3} class={`dot dot-${index % COLOURS}`} />)}
          </g>
        ))}
        {props.minutes.length > 0 && <text x={PAD_LEFT} y={HEIGHT - 4} class="axis">{time(props.minutes[0])}</text>}
        {props.minutes.length > 0 && <text x={WIDTH} y={HEIGHT - 4} class="axis" text-anchor="end">{time(props.minutes[props.minutes.length - 1])}</text>}
      </svg>
      <ul class="legend">{props.series.map((series, index) => <li key={series.label}><span class={`key key-${index % COLOURS}`} aria-hidden="true" /> {series.label}</li>)}</ul>
      <details>
        <summary>Show the numbers</summary>
        <table>
          <thead><tr><th scope="col">Minute</th>{props.series.map(series => <th key={series.label} scope="col">{series.label}</th>)}</tr></thead>
          <tbody>
            {props.minutes.map((minute, index) => (
              <tr key={minute}><td>{time(minute)}</td>{props.series.map(series => <td key={series.label}>{series.values[index] === null ? '—' : props.format(series.values[index] as number)}</td>)}</tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  )
}
