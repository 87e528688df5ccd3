// Reads the Prometheus text format into samples, to assert on series and labels.
export interface Sample { name: string, labels: Record<string, string>, value: number }

export function parseMetrics (text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (match === null) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, name, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[name] = value.replace(/\\(.)/g, '$1')
    samples.push({ name: match[1], labels, value: Number(match[3]) })
  }
  return samples
}

/** The samples of `name` whose labels include `labels`. */
export function find (samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter(sample => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
}

/** The one value of `name` with `labels`, or undefined when there is no such series. */
export function value (samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = find(samples, name, labels)
  if (found.length > 1) throw new Error(`${found.length} series of ${name} match ${JSON.stringify(labels)}`)
  return found[0]?.value
}
