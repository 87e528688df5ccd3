// The baseline: @fastify/http-proxy with no policies in front of the same upstream.
import Fastify from 'fastify'
import proxy from '@fastify/http-proxy'

const upstream = process.argv[2]
const fastify = Fastify({ logger: false })
await fastify.register(proxy, { upstream, prefix: '/bench', rewritePrefix: '' })
await fastify.listen({ port: 0, host: '127.0.0.1' })
const address = fastify.server.address()
process.send?.({ port: typeof address === 'object' && address !== null ? address.port : 0 })
// a clean exit writes the CPU profile when run under --cpu-prof (bench/profile.ts)
process.once('SIGTERM', () => { void fastify.close().then(() => process.exit(0)) })
