// The snapshot cache can be tens of megabytes: written without holding the event loop.
import { createWriteStream } from 'node:fs'

const SLICE = 2_000

function isRecordList (value: unknown): value is Iterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.iterator in value
}

/**
 * Writes an object as JSON, as JSON.stringify would, its arrays (and other iterables, written
 * as arrays) a slice of records at a time, yielding between slices: one JSON.stringify of
 * 100,000 apps would hold every request for most of a second. An iterable is read across
 * those slices, so it must not change meanwhile.
 */
export async function writeJsonInSlices (file: string, data: object): Promise<void> {
  const stream = createWriteStream(file, { mode: 0o600 })
  const finished = new Promise<void>((resolve, reject) => { stream.once('finish', resolve); stream.once('error', reject) })
  const write = async (text: string): Promise<void> => {
    if (!stream.write(text)) await new Promise<void>(resolve => stream.once('drain', () => { resolve() }))
    else await new Promise<void>(resolve => setImmediate(resolve))
  }
  // as JSON.stringify does, a property whose value is undefined is left out
  const entries = Object.entries(data).filter(([, value]) => value !== undefined)
  await write('{')
  for (const [index, [name, value]] of entries.entries()) {
    await write(`${index === 0 ? '' : ','}${JSON.stringify(name)}:`)
    if (!isRecordList(value)) {
      await write(JSON.stringify(value))
      continue
    }
    await write('[')
    let slice: unknown[] = []
    let first = true
    const flush = async (): Promise<void> => {
      // one stringify per slice, its brackets cut off, costs less than one per record
      await write((first ? '' : ',') + JSON.stringify(slice).slice(1, -1))
      first = false
      slice = []
    }
    for (const record of value) {
      slice.push(record)
      if (slice.length === SLICE) await flush()
    }
    if (slice.length > 0) await flush()
    await write(']')
  }
  stream.end('}')
  await finished
}
