// The client connection below the request handler: how long a client may take to send its
// request headers (a slowloris holds a connection with a byte now and then), and the answer
// to what Node refuses before any handler runs.
import { STATUS_CODES, type ServerOptions } from 'node:http'
import type { Socket } from 'node:net'
import { errorBody } from '../domain/error-handler.js'
import { BadRequestError, HeadersTooLargeError, RequestTimeoutError } from '../domain/errors.js'

/** How often Node compares open requests with headersTimeout; it runs in C++ over the connections that are mid-request. */
const CONNECTION_CHECK_INTERVAL_MS = 500

export function httpServerOptions (headersTimeoutSeconds: number): ServerOptions {
  return {
    // Node cuts a late connection at the first check after its limit: shortened by one
    // interval, headers never get more than the configured time
    headersTimeout: headersTimeoutSeconds * 1000 - CONNECTION_CHECK_INTERVAL_MS,
    connectionsCheckingInterval: CONNECTION_CHECK_INTERVAL_MS,
    // a body takes as long as it needs while it keeps moving (requestBodyIdleTimeoutSeconds)
    requestTimeout: 0
  }
}

/**
 * Fastify's clientErrorHandler: the catalogue's JSON answer to a request Node refused (headers
 * too slow, too large, not HTTP), then the connection closed. Nothing is written once bytes went
 * out on the connection: they may be part of a response.
 */
export function answerClientError (error: NodeJS.ErrnoException, socket: Socket): void {
  if (socket.destroyed) return
  if (socket.writable && socket.bytesWritten === 0 && error.code !== 'ECONNRESET') {
    const answer = error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new RequestTimeoutError('The request headers did not arrive in time')
      : error.code === 'HPE_HEADER_OVERFLOW' ? new HeadersTooLargeError() : new BadRequestError('The request is not valid HTTP/1.1')
    const body = JSON.stringify(errorBody(answer.code, answer.message))
    socket.write(`HTTP/1.1 ${answer.statusCode} ${STATUS_CODES[answer.statusCode as number] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}
