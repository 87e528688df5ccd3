// The cap on a streamed body: what passes on to the upstream, and when the overflow is told.
import type { IncomingMessage } from 'node:http'
import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { limitBodySize } from '../../../src/gateway/request-body.js'

async function stream (sizes: number[], limitBytes: number): Promise<{ passed: number, overflows: number, unread: number }> {
  const client = new PassThrough()
  let overflows = 0
  let passed = 0
  const limited = limitBodySize(client as unknown as IncomingMessage, limitBytes, () => { overflows++ })
  limited.on('data', (chunk: Buffer) => { passed += chunk.length })
  for (const size of sizes) {
    client.write(Buffer.alloc(size))
    await new Promise(resolve => setImmediate(resolve))
  }
  return { passed, overflows, unread: client.readableLength }
}

describe('a streamed body under a cap', () => {
  it('passes a body of exactly the limit whole', async () => {
    expect(await stream([400, 400, 200], 1000)).toEqual({ passed: 1000, overflows: 0, unread: 0 })
  })

  it('holds back the chunk that passes the limit, tells once, and stops reading the client', async () => {
    expect(await stream([400, 400, 201, 50, 50], 1000)).toEqual({ passed: 800, overflows: 1, unread: 100 })
  })

  it('passes nothing of a body under a limit of 0', async () => {
    expect(await stream([1], 0)).toEqual({ passed: 0, overflows: 1, unread: 0 })
  })
})
