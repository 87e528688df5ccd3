// Request ids: the one a partner quotes to support, found in the response header, the error
// body, the access log, the trace and the upstream's X-Request-Id. An incoming X-Request-Id is
// kept from any client when it is well-formed (a partner's own correlation id is what they
// will quote); it decides nothing, and the charset keeps it harmless in headers and logs.
// Anything else gets a fresh UUID.
import { randomUUID } from 'node:crypto'

const REQUEST_ID = /^[\w.:-]{1,128}$/

export const REQUEST_ID_HEADER = 'x-request-id'

export function requestIdFrom (incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID()
}
