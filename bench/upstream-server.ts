// A minimal upstream for benchmarks: answers every request with a small JSON body.
import { createServer } from 'node:http'

const port = Number(process.argv[2] ?? 0)
const body = JSON.stringify({ ok: true, service: 'bench-upstream' })
const server = createServer((request, response) => {
  request.resume()
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    response.end(body)
  })
})
// advertised to the gateway as `Keep-Alive: timeout=…`, which is how long it keeps idle connections
server.keepAliveTimeout = Number(process.env.UPSTREAM_KEEP_ALIVE_MS ?? 60_000)
server.listen(port, '127.0.0.1', () => {
  const address = server.address()
  process.send?.({ port: typeof address === 'object' && address !== null ? address.port : port })
})
