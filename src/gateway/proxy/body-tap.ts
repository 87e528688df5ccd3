// A look at a response body as it streams from the upstream to the client, for a policy that
// keeps a copy (the response cache). The proxy hands each chunk to the tap as it writes it
// to the client; a response no policy taps pays nothing.

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
