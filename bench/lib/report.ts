// The header every result file starts with: when, on what machine, under what load.
import { cpus, loadavg } from 'node:os'
import { readFileSync } from 'node:fs'

export function machineDescription (): string {
  const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown'
  const load = loadavg().map(value => value.toFixed(2)).join(' ')
  return `${new Date().toISOString()} · ${cpus().length} CPUs (nproc), ${model} · Node ${process.version} · load average at start ${load}`
}

export function table (header: string[], alignRight: boolean[], rows: string[][]): string {
  const lines = [`| ${header.join(' | ')} |`, `| ${alignRight.map(right => right ? '---:' : '---').join(' | ')} |`]
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`)
  return lines.join('\n')
}

export function formatNumber (value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}
