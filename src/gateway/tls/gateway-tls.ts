// The gateway's TLS port: HTTP/2 (ALPN h2) with HTTP/1.1 for clients that do not offer it,
// TLS 1.2 at least, one certificate per SNI name, served by the same Fastify routes, hooks
// and WebSocket proxy as the plain port. Certificates are reloaded on SIGHUP and when their
// files change, without a restart: open connections keep the certificate they shook hands
// with, new ones get the new one. Optionally the plain port only redirects to this one.
// It closes with the gateway: no new connections, HTTP/2 sessions told to go away (GOAWAY,
// their open streams finish), idle HTTP/1.1 connections closed, and whatever is still open at
// SHUTDOWN_TIMEOUT_SECONDS cut, all before the gateway releases its upstream pools.
import type { Server } from 'node:http'
import { createSecureServer, type Http2SecureServer, type Http2Session } from 'node:http2'
import type { Socket } from 'node:net'
import type { FastifyBaseLogger } from 'fastify'
import { ConfigError } from '../../config/load.js'
import type { Config } from '../../config/schema.js'
import type { GatewayServer } from '../app.js'
import { httpServerOptions } from '../client-connection.js'
import { CertificateStore, type LoadedCertificate } from './certificate-store.js'
import { adaptHttp2Requests } from './http2-requests.js'
import { watchFiles } from './file-watch.js'
import { createRedirectServer } from './redirect-server.js'

/** Streams one HTTP/2 connection may have open at once (Node's default is unbounded); nginx allows 128. */
const MAX_CONCURRENT_STREAMS = 128

export interface GatewayTls {
  /** listens on gatewayTlsPort, and on gatewayPort with the redirect when configured */
  listen: () => Promise<void>
  /** `https://127.0.0.1:<port>` once listening */
  url: () => string
  /** the redirecting plain port's URL once listening; undefined without the redirect */
  redirectUrl: () => string | undefined
  /** reads every certificate again (SIGHUP); resolves when the new ones are in use */
  reloadCertificates: () => Promise<void>
}

function listeningPort (server: Server | Http2SecureServer): number {
  const address = server.address()
  return typeof address === 'object' && address !== null ? address.port : 0
}

async function listen (server: Server | Http2SecureServer, port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

async function close (server: Server | Http2SecureServer): Promise<void> {
  if (!server.listening) return
  await new Promise<void>(resolve => { server.close(() => { resolve() }) })
}

/**
 * Builds the TLS port of `gateway` (and its redirecting plain port) and ties them to its close.
 * Call before the gateway is ready; throws a ConfigError when a certificate does not load.
 */
export async function attachGatewayTls (gateway: GatewayServer, config: Config, log: FastifyBaseLogger): Promise<GatewayTls> {
  const files = config.gatewayTlsCertificates
  // watched before the first read, so that a renewal landing during the start is not missed
  let changedDuringStart = false
  let onFilesChanged = (): void => { changedDuringStart = true }
  const watch = await watchFiles(files.flatMap(pair => [pair.certFile, pair.keyFile]), config.gatewayTlsCheckMs, () => { onFilesChanged() })
  const recordExpiry = (certificate: LoadedCertificate): void => {
    gateway.metrics.tlsCertificateExpiry.set({ certificate: certificate.files.certFile }, Math.floor(certificate.notAfter.getTime() / 1000))
  }
  let certificates: CertificateStore
  try {
    certificates = await CertificateStore.open(files, {
      minVersion: config.gatewayTlsMinVersion,
      log,
      onReload: (certificate, result) => {
        gateway.metrics.tlsCertificateReloads.inc({ certificate: certificate.files.certFile, result })
        if (result === 'reloaded') recordExpiry(certificate)
      }
    })
  } catch (error) {
    watch.stop()
    throw new ConfigError((error as Error).message)
  }
  for (const certificate of certificates.certificates) recordExpiry(certificate)

  const initial = certificates.defaultCertificate
  const tlsServer = createSecureServer({
    cert: initial.cert,
    key: initial.key,
    minVersion: config.gatewayTlsMinVersion,
    allowHTTP1: true,
    SNICallback: (serverName, callback) => { callback(null, certificates.contextFor(serverName)) },
    // the handshake is part of sending the request headers
    handshakeTimeout: config.headersTimeoutSeconds * 1000,
    settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS }
  })

  async function reloadCertificates (): Promise<void> {
    const before = certificates.defaultCertificate
    await certificates.reload()
    const after = certificates.defaultCertificate
    // clients that send no server name get the server's own context, not the SNI callback's
    if (after !== before) tlsServer.setSecureContext({ cert: after.cert, key: after.key })
  }
  onFilesChanged = () => {
    reloadCertificates().catch((error: unknown) => { log.error({ err: error }, 'TLS certificates could not be reloaded') })
  }
  if (changedDuringStart) onFilesChanged()
  // HTTP/1.1 over TLS keeps the plain port's limits: header deadline, no request deadline, keep-alive
  Object.assign(tlsServer, httpServerOptions(config.headersTimeoutSeconds), { keepAliveTimeout: gateway.server.keepAliveTimeout })
  adaptHttp2Requests(tlsServer)
  const connections = new Set<Socket>()
  const sessions = new Set<Http2Session>()
  tlsServer.on('secureConnection', (socket: Socket) => {
    connections.add(socket)
    socket.once('close', () => { connections.delete(socket) })
  })
  tlsServer.on('session', (session: Http2Session) => {
    sessions.add(session)
    session.once('close', () => { sessions.delete(session) })
    // an idle session goes away like an idle HTTP/1.1 keep-alive connection (GOAWAY: nothing in flight is cut)
    session.setTimeout(gateway.server.keepAliveTimeout, () => { session.close() })
  })
  gateway.serve(tlsServer)

  const redirect = config.gatewayHttpRedirect
    ? createRedirectServer({
      headersTimeoutSeconds: config.headersTimeoutSeconds,
      keepAliveTimeoutMs: gateway.server.keepAliveTimeout,
      tlsPort: () => listeningPort(tlsServer),
      gateway: (request, response) => { gateway.routing(request, response) }
    })
    : undefined
  if (redirect !== undefined) gateway.capConnections(redirect)

  let closed: Promise<unknown> | undefined
  let deadline: NodeJS.Timeout | undefined
  gateway.addHook('preClose', async () => {
    closed = Promise.all([close(tlsServer), redirect === undefined ? undefined : close(redirect)])
    for (const session of sessions) session.close()
    deadline = setTimeout(() => {
      log.warn({ deadlineMs: config.shutdownTimeoutSeconds * 1000 }, 'shutdown deadline reached; closing the TLS connections still open')
      for (const socket of connections) socket.destroy()
      redirect?.closeAllConnections()
    }, config.shutdownTimeoutSeconds * 1000)
  })
  // onClose hooks run last-registered first: this one before the gateway's releases its upstream pools
  gateway.addHook('onClose', async () => {
    watch.stop()
    await closed
    clearTimeout(deadline)
  })

  return {
    async listen () {
      await listen(tlsServer, config.gatewayTlsPort ?? 0, config.host)
      if (redirect !== undefined) await listen(redirect, config.gatewayPort, config.host)
    },
    url: () => `https://127.0.0.1:${listeningPort(tlsServer)}`,
    redirectUrl: () => redirect === undefined ? undefined : `http://127.0.0.1:${listeningPort(redirect)}`,
    reloadCertificates
  }
}
