// A real upstream HTTP server on port 0 that records what it received and echoes it back.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse, type IncomingMessage } from 'node:http'

export interface ReceivedRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: string
}

export interface TestUpstream {
  url: string
  received: ReceivedRequest[]
  server: Server
  close: () => Promise<void>
}

export type UpstreamHandler = (request: IncomingMessage, response: ServerResponse, body: string) => void

export async function startUpstream (name = 'upstream', handler?: UpstreamHandler): Promise<TestUpstream> {
  const received: ReceivedRequest[] = []
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', chunk => chunks.push(chunk))
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      received.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body })
      if (handler !== undefined) {
        handler(request, response, body)
        return
      }
      response.setHeader('content-type', 'application/json')
      response.end(JSON.stringify({ upstream: name, method: request.method, url: request.url, headers: request.headers, body }))
    })
  })
  server.keepAliveTimeout = 5000
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`,
    received,
    server,
    async close () {
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    }
  }
}
