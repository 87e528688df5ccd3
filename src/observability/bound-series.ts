// Counters and histograms for the request path whose series keep their own values.
// prom-client's children are thin wrappers: every child.inc() or observe() hands the label
// object back to its metric, which hashes it again, looks the series up and, for a
// histogram, walks a bucket map keyed by bound. Here a series is bound once and counts into
// its own fields; prom-client's Registry reads the values only when it is read (a scrape,
// getMetricsAsJSON), as the same objects prom-client's own Counter and Histogram return, so
// the exposition text, the default labels and the cluster aggregation stay prom-client's.
import type { Aggregator, MetricValue, Registry, RegistryContentType } from 'prom-client'

export type SeriesLabels<Name extends string> = Readonly<Partial<Record<Name, string | number>>>

export interface BoundMetricOptions<Name extends string> {
  name: string
  help: string
  /** at least one: a series shows once it has a value, where prom-client shows an unlabelled metric at 0 from the start */
  labelNames: readonly Name[]
  registers: Array<Registry<RegistryContentType>>
  /** called before every read, like prom-client's collect */
  collect?: () => void
}

export interface BoundHistogramOptions<Name extends string> extends BoundMetricOptions<Name> {
  /** upper bounds, ascending; +Inf is implicit */
  buckets: readonly number[]
}

/**
 * The series of one metric: all those bound, by label key, and those that have a value, in
 * the order of their first one (prom-client lists its series in that order too).
 */
class SeriesTable<Series> {
  readonly bound = new Map<string, Series>()
  readonly listed = new Set<Series>()

  /**
   * The series that counts for `key` from now on: `series` itself, unless it was removed
   * and bound again since, when the new one counts (as prom-client's children of the same
   * labels share one value).
   */
  claim (key: string, series: Series): Series {
    const owner = this.bound.get(key)
    if (owner !== undefined && owner !== series) return owner
    this.bound.set(key, series)
    this.listed.add(series)
    return series
  }
}

export class CounterSeries<Name extends string = string> {
  readonly labels: SeriesLabels<Name>
  value = 0
  #listed = false
  readonly #key: string
  readonly #table: SeriesTable<CounterSeries<Name>>

  constructor (labels: SeriesLabels<Name>, key: string, table: SeriesTable<CounterSeries<Name>>) {
    this.labels = labels
    this.#key = key
    this.#table = table
  }

  inc (value = 1): void {
    if (!(value >= 0 && value < Infinity)) throw new RangeError(`a counter grows by a finite number of at least 0, not ${value}`)
    if (!this.#listed) {
      const owner = this.#table.claim(this.#key, this)
      if (owner !== this) {
        owner.inc(value)
        return
      }
      this.#listed = true
    }
    this.value += value
  }

  /** Drops the value: the series shows again only once it counts again. */
  forget (): void {
    this.value = 0
    this.#listed = false
  }
}

export class HistogramSeries<Name extends string = string> {
  readonly labels: SeriesLabels<Name>
  /** observations per bucket (not cumulative); the last entry counts those above every bound */
  readonly buckets: Float64Array
  sum = 0
  count = 0
  #listed = false
  readonly #bounds: Float64Array
  readonly #key: string
  readonly #table: SeriesTable<HistogramSeries<Name>>

  constructor (labels: SeriesLabels<Name>, key: string, table: SeriesTable<HistogramSeries<Name>>, bounds: Float64Array) {
    this.labels = labels
    this.#key = key
    this.#table = table
    this.#bounds = bounds
    this.buckets = new Float64Array(bounds.length + 1)
  }

  observe (value: number): void {
    if (!Number.isFinite(value)) throw new RangeError(`a histogram observes finite numbers, not ${value}`)
    if (!this.#listed) {
      const owner = this.#table.claim(this.#key, this)
      if (owner !== this) {
        owner.observe(value)
        return
      }
      this.#listed = true
    }
    // latencies mostly fall in the first few buckets: a forward scan ends sooner than a bisection
    const bounds = this.#bounds
    let bucket = 0
    while (bucket < bounds.length && value > bounds[bucket]) bucket++
    this.buckets[bucket]++
    this.sum += value
    this.count++
  }

  forget (): void {
    this.buckets.fill(0)
    this.sum = 0
    this.count = 0
    this.#listed = false
  }
}

interface MetricRead<Value> { help: string, name: string, type: 'counter' | 'histogram', values: Value[], aggregator: Aggregator }
interface BucketValue<Name extends string> { value: number, metricName: string, exemplar: null | undefined, labels: SeriesLabels<'le'> & SeriesLabels<Name> }
/** prom-client's form for the text format: the series' labels apart, shared by its lines */
interface SharedLabelsValue<Name extends string> { labels: SeriesLabels<'le'>, sharedLabels: SeriesLabels<Name>, value: number, metricName: string, exemplar: null | undefined }

abstract class BoundMetric<Name extends string, Series extends CounterSeries<Name> | HistogramSeries<Name>> {
  name: string
  readonly help: string
  readonly labelNames: readonly Name[]
  readonly aggregator: Aggregator = 'sum'
  protected readonly table = new SeriesTable<Series>()
  readonly #collect: (() => void) | undefined

  constructor (options: BoundMetricOptions<Name>) {
    if (options.labelNames.length === 0) throw new Error(`${options.name}: a bound metric needs labels`)
    this.name = options.name
    this.help = options.help
    this.labelNames = options.labelNames
    this.#collect = options.collect
    // the Registry reads a metric through get() (and getForPromString() when there is one) and reset()
    for (const registry of options.registers) registry.registerMetric(this as unknown as Parameters<Registry<RegistryContentType>['registerMetric']>[0])
  }

  /** The series of `labels`, bound once: the same object for the same label values. */
  labels (labels: SeriesLabels<Name>): Series {
    const key = this.#key(labels)
    let series = this.table.bound.get(key)
    if (series === undefined) {
      series = this.createSeries(Object.freeze({ ...labels }), key)
      this.table.bound.set(key, series)
    }
    return series
  }

  /** Removes the series of `labels`; a series bound before counts from zero if used again. */
  remove (labels: SeriesLabels<Name>): void {
    const key = this.#key(labels)
    const series = this.table.bound.get(key)
    if (series === undefined) return
    this.table.bound.delete(key)
    this.table.listed.delete(series)
    series.forget()
  }

  reset (): void {
    for (const series of this.table.bound.values()) series.forget()
    this.table.bound.clear()
    this.table.listed.clear()
  }

  protected abstract createSeries (labels: SeriesLabels<Name>, key: string): Series

  protected collected (): void {
    this.#collect?.()
  }

  #key (labels: SeriesLabels<Name>): string {
    for (const name of Object.keys(labels)) {
      if (!this.labelNames.includes(name as Name)) throw new Error(`label "${name}" is not one of ${this.name}'s: ${this.labelNames.join(', ')}`)
    }
    // 200 and '200' are one series, as in prom-client
    return JSON.stringify(this.labelNames.map(name => labels[name] === undefined ? null : String(labels[name])))
  }
}

export class BoundCounter<Name extends string = string> extends BoundMetric<Name, CounterSeries<Name>> {
  readonly type = 'counter'

  protected createSeries (labels: SeriesLabels<Name>, key: string): CounterSeries<Name> {
    return new CounterSeries(labels, key, this.table)
  }

  async get (): Promise<MetricRead<MetricValue<Name>>> {
    this.collected()
    const values: Array<MetricValue<Name>> = []
    for (const series of this.table.listed) values.push({ value: series.value, labels: series.labels })
    return { help: this.help, name: this.name, type: this.type, values, aggregator: this.aggregator }
  }
}

export class BoundHistogram<Name extends string = string> extends BoundMetric<Name, HistogramSeries<Name>> {
  readonly type = 'histogram'
  readonly #bounds: Float64Array

  constructor (options: BoundHistogramOptions<Name>) {
    if (options.buckets.some((bound, index) => !Number.isFinite(bound) || (index > 0 && bound <= options.buckets[index - 1]))) {
      throw new Error(`${options.name}: bucket bounds must be finite and ascending`)
    }
    if (options.labelNames.includes('le' as Name)) throw new Error(`${options.name}: le is the label of the buckets`)
    super(options)
    this.#bounds = Float64Array.from(options.buckets)
  }

  protected createSeries (labels: SeriesLabels<Name>, key: string): HistogramSeries<Name> {
    return new HistogramSeries(labels, key, this.table, this.#bounds)
  }

  /** Every series' cumulative buckets, +Inf, sum and count, with its labels after `le`, as prom-client's get(). */
  async get (): Promise<MetricRead<BucketValue<Name>>> {
    this.collected()
    const bucketName = `${this.name}_bucket`
    const values: Array<BucketValue<Name>> = []
    for (const series of this.table.listed) {
      const labels = series.labels
      let cumulative = 0
      for (let bucket = 0; bucket < this.#bounds.length; bucket++) {
        cumulative += series.buckets[bucket]
        values.push({ value: cumulative, metricName: bucketName, exemplar: null, labels: { le: this.#bounds[bucket], ...labels } })
      }
      values.push(
        { value: series.count, metricName: bucketName, exemplar: null, labels: { le: '+Inf', ...labels } },
        { value: series.sum, metricName: `${this.name}_sum`, exemplar: undefined, labels: { ...labels } },
        { value: series.count, metricName: `${this.name}_count`, exemplar: undefined, labels: { ...labels } }
      )
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator }
  }

  /** What the Registry formats the text from: prom-client's histogram gives it the same. */
  async getForPromString (): Promise<MetricRead<SharedLabelsValue<Name>>> {
    this.collected()
    const bucketName = `${this.name}_bucket`
    const values: Array<SharedLabelsValue<Name>> = []
    for (const series of this.table.listed) {
      let cumulative = 0
      for (let bucket = 0; bucket < this.#bounds.length; bucket++) {
        cumulative += series.buckets[bucket]
        values.push({ labels: { le: this.#bounds[bucket] }, sharedLabels: series.labels, value: cumulative, metricName: bucketName, exemplar: null })
      }
      values.push(
        { labels: { le: '+Inf' }, sharedLabels: series.labels, value: series.count, metricName: bucketName, exemplar: null },
        { labels: {}, sharedLabels: series.labels, value: series.sum, metricName: `${this.name}_sum`, exemplar: undefined },
        { labels: {}, sharedLabels: series.labels, value: series.count, metricName: `${this.name}_count`, exemplar: undefined }
      )
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator }
  }
}
