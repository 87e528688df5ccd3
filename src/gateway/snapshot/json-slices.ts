// The snapshot cache can be tens of megabytes: written without holding the event loop.
import { createWriteStream } from 'node:fs'

/**
 * Writes an object as JSON, its arrays a slice of records at a time, yielding between slices: one
 * JSON.stringify of 100,000 apps would hold every request for most of a second.
 */
export async function writeJsonInSlices (file: string, data: object): Promise<void> {
  const SLICE = 2_000
  const stream = createWriteStream(file, { mode: 0o600 })
  const finished = new Promise<void>((resolve, reject) => { stream.once('finish', resolve); stream.once('error', reject) })
  const write = async (text: string): Promise<void> => {
    if (!stream.write(text)) await new Promise<void>(resolve => stream.once('drain', () => { resolve() }))
    else await new Promise<void>(resolve => setImmediate(resolve))
  }
  const entries = Object.entries(data)
  await write('{')
  for (const [index, [name, value]] of entries.entries()) {
    await write(`${index === 0 ? '' : ','}${JSON.stringify(name)}:`)
    if (!Array.isArray(value)) {
      await write(JSON.stringify(value))
      continue
    }
    await write('[')
    for (let start = 0; start < value.length; start += SLICE) {
      await write((start === 0 ? '' : ',') + value.slice(start, start + SLICE).map(record => JSON.stringify(record)).join(','))
    }
    await write(']')
  }
  stream.end('}')
  await finished
}
