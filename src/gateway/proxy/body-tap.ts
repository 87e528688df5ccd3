// A look at a response body as it streams from the upstream to the client, for a policy that
// keeps a copy (the response cache). Only a response some policy taps pays for it: the
// others are written by undici straight into the client's response, as before.
import type { ServerResponse } from 'node:http'
import { finished, Writable } from 'node:stream'

export interface ResponseBodyTap {
  /** each chunk of the body, in order, as it is sent to the client */
  write: (chunk: Buffer) => void
  /** the upstream's body has ended completely; never called for one cut short (an error, the client gone) */
  end: () => void
}

/** Both taps see the body. */
export function joinTaps (first: ResponseBodyTap, second: ResponseBodyTap): ResponseBodyTap {
  return {
    write (chunk) { first.write(chunk); second.write(chunk) },
    end () { first.end(); second.end() }
  }
}

/**
 * What undici writes the upstream's body into when it is tapped: each chunk goes to the tap
 * and on to the client's response, with the response's backpressure. It finishes when the
 * client's response does (or fails when that closes first), as the response itself would.
 */
export class TappedResponse extends Writable {
  readonly #response: ServerResponse
  readonly #tap: ResponseBodyTap

  constructor (response: ServerResponse, tap: ResponseBodyTap) {
    super()
    this.#response = response
    this.#tap = tap
  }

  override _write (chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#tap.write(chunk)
    if (this.#response.write(chunk)) callback()
    else this.#response.once('drain', () => { callback() })
  }

  override _final (callback: (error?: Error | null) => void): void {
    this.#tap.end()
    this.#response.end()
    finished(this.#response, { readable: false }, error => { callback(error) })
  }

  override _destroy (error: Error | null, callback: (error?: Error | null) => void): void {
    // undici also destroys the stream it wrote into after a complete body, with no error
    if (error !== null) this.#response.destroy()
    callback(error)
  }
}
