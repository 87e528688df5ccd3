// The TLS port of a real `partner-gateway start` process: certificates from
// GATEWAY_TLS_CERTIFICATES reloaded on SIGHUP, and SIGTERM draining the TLS port too (HTTP/2
// sessions told to go away, the request in flight answered) before the process exits 0.
import { once } from 'node:events'
import { X509Certificate } from 'node:crypto'
import { rmSync, writeFileSync } from 'node:fs'
import http2, { type IncomingHttpHeaders as Http2Headers } from 'node:http2'
import path from 'node:path'
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestCa, replaceFile, type TestCa } from '../../helpers/certificates.js'
import { admin, embeddedEnvironment, startGateway, type StartedGateway } from '../../helpers/cli-process.js'
import { createMigratedDataDir } from '../../helpers/database.js'
import { provision, type JsonResponse, type TestStack } from '../../helpers/stack.js'
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js'

const HOST = 'gateway.test'

async function presentedFingerprint (port: number, ca: string): Promise<string> {
  const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: HOST })
  await once(socket, 'secureConnect')
  const fingerprint = socket.getPeerCertificate().fingerprint256
  socket.destroy()
  return fingerprint
}

describe('the TLS port of a partner-gateway process', () => {
  const dataDir = createMigratedDataDir('pgw-tls-process-')
  let ca: TestCa
  let upstream: TestUpstream
  let gateway: StartedGateway
  let tlsPort: number
  let apiKey: string
  let original: string
  const certFile = path.join(dataDir, 'gateway.crt')
  const keyFile = path.join(dataDir, 'gateway.key')

  beforeAll(async () => {
    ca = await createTestCa()
    const certificate = await ca.issue([HOST])
    writeFileSync(certFile, certificate.cert)
    writeFileSync(keyFile, certificate.key)
    original = new X509Certificate(certificate.cert).fingerprint256
    upstream = await startUpstream('slow', (_request, response) => { setTimeout(() => { response.end('slow done') }, 700) })
    // the files are checked once an hour: only SIGHUP can make this process read them again
    gateway = await startGateway({ ...embeddedEnvironment(dataDir), GATEWAY_TLS_PORT: '0', GATEWAY_TLS_CERTIFICATES: `${certFile}:${keyFile}`, GATEWAY_TLS_CHECK_MS: '3600000', SHUTDOWN_TIMEOUT_SECONDS: '5' })
    tlsPort = Number(/gateway TLS: +https:\/\/127\.0\.0\.1:(\d+)/.exec(gateway.output())?.[1])
    const stack = {
      async admin (method: string, urlPath: string, body?: unknown): Promise<JsonResponse> {
        const response = await admin(gateway.controlUrl, method, urlPath.replace(/^\/admin\/v1/, ''), body)
        const text = await response.text()
        return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) }
      }
    }
    apiKey = (await provision(stack as unknown as TestStack, { upstreamUrls: [upstream.url], auth: ['apikey'], routes: [{ path: '/slow', stripPrefix: true }] })).apiKey
  }, 90_000)

  afterAll(async () => {
    if (gateway?.child.exitCode === null) gateway.child.kill('SIGKILL')
    await upstream?.close()
    ca?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('reloads its certificate on SIGHUP, then drains its TLS port on SIGTERM and exits 0', async () => {
    expect(tlsPort).toBeGreaterThan(0)
    expect(await presentedFingerprint(tlsPort, ca.ca)).toBe(original)
    const renewed = await ca.issue([HOST])
    replaceFile(keyFile, renewed.key)
    replaceFile(certFile, renewed.cert)
    gateway.child.kill('SIGHUP')
    const deadline = Date.now() + 10_000
    while (await presentedFingerprint(tlsPort, ca.ca) !== new X509Certificate(renewed.cert).fingerprint256) {
      if (Date.now() > deadline) throw new Error(`SIGHUP did not reload the certificate:\n${gateway.output()}`)
      await new Promise(resolve => setTimeout(resolve, 50))
    }

    const session = http2.connect(`https://127.0.0.1:${tlsPort}`, { ca: ca.ca, servername: HOST })
    await once(session, 'connect')
    // the route becomes callable once the gateway's snapshot has the API
    const callable = Date.now() + 10_000
    for (;;) {
      const probe = session.request({ ':path': '/slow/probe', 'x-api-key': apiKey })
      const [headers] = await once(probe, 'response') as [Http2Headers]
      probe.resume()
      if (Number(headers[':status']) === 200) break
      if (Date.now() > callable) throw new Error(`the API never became callable: ${String(headers[':status'])}`)
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    const goaway = once(session, 'goaway')
    const inFlight = session.request({ ':path': '/slow/in-flight', 'x-api-key': apiKey })
    const answered = once(inFlight, 'response') as Promise<[Http2Headers]>
    await new Promise(resolve => setTimeout(resolve, 200))
    gateway.child.kill('SIGTERM')
    await goaway
    const [headers] = await answered
    expect(Number(headers[':status'])).toBe(200)
    const chunks: Buffer[] = []
    for await (const chunk of inFlight) chunks.push(chunk as Buffer)
    expect(Buffer.concat(chunks).toString()).toBe('slow done')
    expect(await gateway.exited).toEqual({ code: 0, signal: null })
    session.destroy()
  }, 60_000)
})
