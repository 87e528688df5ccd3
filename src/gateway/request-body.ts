// How the gateway takes a client's request body: not before the request passed every
// policy (a client that sends Expect: 100-continue holds the body back until then), and
// only while it keeps moving.
import type { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Transform, type Readable } from 'node:stream'
import { BadRequestError, PayloadTooLargeError, RequestTimeoutError } from '../domain/errors.js'

/** Requests whose client holds the body back until it reads 100 Continue. */
const awaitingContinue = new WeakSet<IncomingMessage>()

/**
 * RFC 9110 §10.1.1. Without a 'checkContinue' listener Node answers 100 Continue before any
 * handler runs; with this one the request goes through the policy chain first, and a refused
 * request gets its final status without the body ever being sent (Node then closes the
 * connection itself: the unsent body could not be told apart from a next request).
 * Any other expectation goes to `refuseExpectation`, which must answer 417.
 */
export function deferContinue (server: EventEmitter, refuseExpectation: (request: IncomingMessage, response: ServerResponse) => void): void {
  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    awaitingContinue.add(request)
    server.emit('request', request, response)
  })
  server.on('checkExpectation', refuseExpectation)
}

/** Asks for the body when the client waits for 100 Continue; called right before the body is read. */
export function releaseBody (request: IncomingMessage, response: ServerResponse): void {
  if (awaitingContinue.delete(request)) response.writeContinue()
}

/**
 * Calls onIdle when the body sends nothing for idleMs, until it ends. The connection's own idle
 * timer watches (Node refreshes it on every byte, so no timer is made per request): the
 * socket's over HTTP/1.x, the stream's over HTTP/2 (the session's would cover every stream on
 * the connection); on it, 'timeout' is emitted on the unfinished request instead of closing.
 */
export function limitBodyIdle (request: IncomingMessage, response: ServerResponse, idleMs: number, onIdle: () => void): void {
  if (request.complete) return
  const onTimeout = (): void => {
    // bytes wait in the buffer: the reader (a slow upstream) holds the body back, not the client
    if (request.readableLength > 0) request.setTimeout(idleMs)
    else onIdle()
  }
  request.on('timeout', onTimeout)
  request.once('end', () => {
    request.off('timeout', onTimeout)
    // once the response has finished, the socket's timer is Node's keep-alive timer
    if (!response.writableFinished) request.setTimeout(0)
  })
  request.setTimeout(idleMs)
}

/**
 * The body as the upstream gets it, at most limitBytes: the chunk that would pass the limit
 * is held back, the client's request paused and onOverflow called instead. The pipe carries
 * a slow upstream's backpressure back to the request, where limitBodyIdle sees it waiting.
 */
export function limitBodySize (request: IncomingMessage, limitBytes: number, onOverflow: () => void): Readable {
  let size = 0
  const limited = new Transform({
    transform (chunk: Buffer, _encoding, callback) {
      size += chunk.length
      if (size <= limitBytes) {
        callback(null, chunk)
        return
      }
      request.unpipe(limited)
      request.pause()
      callback()
      onOverflow()
    }
  })
  return request.pipe(limited)
}

/**
 * Reads the whole body for a signature that covers it, at most limitBytes and under the idle
 * limit. On failure the rest is left unread: the error answer then closes the connection.
 */
export async function readBoundedBody (request: IncomingMessage, response: ServerResponse, limitBytes: number, idleMs: number): Promise<Buffer> {
  return await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const settle = (error?: Error): void => {
      request.off('data', onData).off('end', onEnd).off('close', onClose)
      if (error === undefined) {
        resolve(Buffer.concat(chunks, size))
        return
      }
      request.pause()
      reject(error)
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > limitBytes) settle(new PayloadTooLargeError(String(limitBytes)))
      else chunks.push(chunk)
    }
    const onEnd = (): void => { settle() }
    const onClose = (): void => { settle(new BadRequestError('The connection closed before the end of the request body')) }
    request.on('data', onData).once('end', onEnd).once('close', onClose)
    limitBodyIdle(request, response, idleMs, () => { settle(new RequestTimeoutError(`The request body sent nothing for ${idleMs / 1000} s`)) })
    releaseBody(request, response)
  })
}
