// The usage journal's format, without I/O. Each gateway process appends to its own file, at
// least every journal interval, one delta line with the calls it counted since the line
// before, so a process killed with SIGKILL loses at most one interval of counts. Before a
// batch goes to the database, a batch line names its id: the batch is every delta line
// above it that no earlier batch line covers. The database records each committed batch
// id (UsageFlush), so whoever replays a dead process's file knows which batches are in
// UsageDaily already and which are not.
//
//   {"d":[["<appId>","<apiId>","2026-11-25",<calls>,<rejected>],…]}
//   {"b":"<batch id>"}
//
// A process killed in the middle of a write leaves a torn last line; it is skipped.

export interface UsageDelta { appId: string, apiId: string, day: string, calls: number, rejected: number }

/** Deltas summed per app × API × day. */
export type UsageTotals = Map<string, UsageDelta>

export interface JournalBatch { id: string, deltas: UsageDelta[] }

export interface ParsedJournal {
  /** batches in file order, each with the summed delta lines it covers */
  batches: JournalBatch[]
  /** delta lines after the last batch line */
  unbatched: UsageDelta[]
  /** lines that are not whole, valid lines (a torn last line, or damage) */
  skippedLines: number
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const DAY = /^\d{4}-\d{2}-\d{2}$/

export function addUsage (totals: UsageTotals, delta: UsageDelta): void {
  const key = `${delta.appId}|${delta.apiId}|${delta.day}`
  const total = totals.get(key)
  if (total === undefined) {
    totals.set(key, { ...delta })
    return
  }
  total.calls += delta.calls
  total.rejected += delta.rejected
}

export function sumUsage (deltas: Iterable<UsageDelta>): UsageTotals {
  const totals: UsageTotals = new Map()
  for (const delta of deltas) addUsage(totals, delta)
  return totals
}

export function formatDeltaLine (deltas: Iterable<UsageDelta>): string {
  const entries: Array<[string, string, string, number, number]> = []
  for (const delta of deltas) entries.push([delta.appId, delta.apiId, delta.day, delta.calls, delta.rejected])
  return `${JSON.stringify({ d: entries })}\n`
}

export function formatBatchLine (id: string): string {
  return `${JSON.stringify({ b: id })}\n`
}

/** A journal that says the same as `parsed` with every delta line in a batch: the unbatched deltas get `newBatchId`. */
export function formatSettledJournal (parsed: ParsedJournal, newBatchId: string): string {
  const batches = parsed.unbatched.length > 0 ? [...parsed.batches, { id: newBatchId, deltas: parsed.unbatched }] : parsed.batches
  return batches.map(batch => formatDeltaLine(batch.deltas) + formatBatchLine(batch.id)).join('')
}

export function parseJournal (text: string): ParsedJournal {
  const batches: JournalBatch[] = []
  let open: UsageTotals = new Map()
  let skippedLines = 0
  const lines = text.split('\n')
  // a file ends with a newline; anything after the last one is a write cut short
  const torn = lines.pop() as string
  if (torn !== '') skippedLines++
  for (const line of lines) {
    const entry = parseLine(line)
    if (entry === undefined) {
      skippedLines++
    } else if ('batchId' in entry) {
      if (open.size > 0) batches.push({ id: entry.batchId, deltas: [...open.values()] })
      open = new Map()
    } else {
      for (const delta of entry.deltas) addUsage(open, delta)
    }
  }
  return { batches, unbatched: [...open.values()], skippedLines }
}

function parseLine (line: string): { batchId: string } | { deltas: UsageDelta[] } | undefined {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  if ('b' in value) return typeof value.b === 'string' && UUID.test(value.b) ? { batchId: value.b } : undefined
  if (!('d' in value) || !Array.isArray(value.d)) return undefined
  const deltas: UsageDelta[] = []
  for (const entry of value.d as unknown[]) {
    const delta = parseDelta(entry)
    if (delta === undefined) return undefined
    deltas.push(delta)
  }
  return { deltas }
}

function parseDelta (entry: unknown): UsageDelta | undefined {
  if (!Array.isArray(entry) || entry.length !== 5) return undefined
  const [appId, apiId, day, calls, rejected] = entry as unknown[]
  if (typeof appId !== 'string' || !UUID.test(appId) || typeof apiId !== 'string' || !UUID.test(apiId)) return undefined
  if (typeof day !== 'string' || !DAY.test(day) || !isCount(calls) || !isCount(rejected)) return undefined
  return { appId, apiId, day, calls, rejected }
}

function isCount (value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0
}

/** Who wrote a journal file: the process (pid and start time) and the recorder in it. */
export interface JournalOwner {
  pid: number
  /** `p<ticks>` = start time from /proc (can be checked against the live process), `t<ms>` = clock at start */
  start: string
  instance: string
}

export interface JournalFileName {
  owner: JournalOwner
  /** set on a file taken over from a dead process; unset on the owner's own live journal */
  claim?: string
}

const FILE_NAME = /^([1-9]\d{0,9})-([pt][0-9a-z]+)-([0-9a-f]+)(?:\.([0-9a-f]+))?\.log$/

export function formatJournalFileName (name: JournalFileName): string {
  const { pid, start, instance } = name.owner
  return `${pid}-${start}-${instance}${name.claim !== undefined ? `.${name.claim}` : ''}.log`
}

export function parseJournalFileName (fileName: string): JournalFileName | undefined {
  const match = FILE_NAME.exec(fileName)
  if (match === null) return undefined
  const owner = { pid: Number(match[1]), start: match[2], instance: match[3] }
  return match[4] === undefined ? { owner } : { owner, claim: match[4] }
}

export function sameOwner (a: JournalOwner, b: JournalOwner): boolean {
  return a.pid === b.pid && a.start === b.start && a.instance === b.instance
}
