// The TLS port's certificates, read from PEM files: one secure context per certificate + key
// pair, chosen by the client's SNI server name, the first pair being the default. A reload
// reads every pair again; a pair that no longer loads (unreadable, not PEM, key and
// certificate that do not match) is logged and keeps serving its previous certificate, so a
// half-written renewal never takes the port down.
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createSecureContext, type SecureContext, type SecureVersion } from 'node:tls'
import type { FastifyBaseLogger } from 'fastify'
import { ServerNameIndex, certificateNames } from './server-names.js'

export interface CertificateFiles {
  certFile: string
  keyFile: string
}

export interface LoadedCertificate {
  files: CertificateFiles
  /** PEM: the certificate, then its chain */
  cert: Buffer
  key: Buffer
  names: string[]
  fingerprint256: string
  notAfter: Date
  context: SecureContext
}

export interface CertificateStoreOptions {
  minVersion: SecureVersion
  log: FastifyBaseLogger
  /** after each pair's reload: reloaded (its files changed and load), failed (previous kept) */
  onReload?: (certificate: LoadedCertificate, result: 'reloaded' | 'failed') => void
}

/** Reads and checks one pair; throws with a reason an operator can act on. */
async function loadCertificate (files: CertificateFiles, minVersion: SecureVersion): Promise<LoadedCertificate> {
  const [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)])
  const certificate = new X509Certificate(cert)
  if (!certificate.checkPrivateKey(createPrivateKey(key))) throw new Error(`the key in ${files.keyFile} does not belong to the certificate in ${files.certFile}`)
  return {
    files,
    cert,
    key,
    names: certificateNames(certificate),
    fingerprint256: certificate.fingerprint256,
    notAfter: new Date(certificate.validTo),
    context: createSecureContext({ cert, key, minVersion })
  }
}

function describe (files: CertificateFiles): string {
  return `${files.certFile} (key ${files.keyFile})`
}

export class CertificateStore {
  readonly #options: CertificateStoreOptions
  #certificates: LoadedCertificate[]
  #index: ServerNameIndex<LoadedCertificate>
  #reloading: Promise<void> = Promise.resolve()

  private constructor (certificates: LoadedCertificate[], options: CertificateStoreOptions) {
    this.#options = options
    this.#certificates = certificates
    this.#index = CertificateStore.#indexOf(certificates)
  }

  /** Loads every pair; any that does not load stops the start with its reason. */
  static async open (files: readonly CertificateFiles[], options: CertificateStoreOptions): Promise<CertificateStore> {
    if (files.length === 0) throw new Error('no TLS certificate configured')
    const certificates = await Promise.all(files.map(async pair => await loadCertificate(pair, options.minVersion).catch((error: Error) => {
      throw new Error(`TLS certificate ${describe(pair)}: ${error.message}`)
    })))
    for (const certificate of certificates) options.log.info({ certFile: certificate.files.certFile, names: certificate.names, notAfter: certificate.notAfter.toISOString() }, 'TLS certificate loaded')
    return new CertificateStore(certificates, options)
  }

  static #indexOf (certificates: LoadedCertificate[]): ServerNameIndex<LoadedCertificate> {
    return new ServerNameIndex(certificates.map(certificate => ({ names: certificate.names, value: certificate })), certificates[0])
  }

  get certificates (): readonly LoadedCertificate[] {
    return this.#certificates
  }

  /** The certificate for clients that send no server name, or one no certificate covers. */
  get defaultCertificate (): LoadedCertificate {
    return this.#certificates[0]
  }

  /** The secure context for a client hello's SNI server name. */
  contextFor (serverName: string): SecureContext {
    return this.#index.lookup(serverName).context
  }

  /** Reads every pair again (one reload at a time); resolves when the new certificates are in use. */
  async reload (): Promise<void> {
    this.#reloading = this.#reloading.then(async () => { await this.#reloadAll() })
    await this.#reloading
  }

  async #reloadAll (): Promise<void> {
    const { log, minVersion, onReload } = this.#options
    const next = await Promise.all(this.#certificates.map(async previous => {
      try {
        const loaded = await loadCertificate(previous.files, minVersion)
        if (loaded.cert.equals(previous.cert) && loaded.key.equals(previous.key)) return previous
        log.info({ certFile: loaded.files.certFile, names: loaded.names, notAfter: loaded.notAfter.toISOString(), previousNotAfter: previous.notAfter.toISOString() }, 'TLS certificate reloaded')
        onReload?.(loaded, 'reloaded')
        return loaded
      } catch (error) {
        log.error({ certFile: previous.files.certFile, keyFile: previous.files.keyFile, err: error }, 'TLS certificate could not be reloaded; the previous one stays in use')
        onReload?.(previous, 'failed')
        return previous
      }
    }))
    this.#certificates = next
    this.#index = CertificateStore.#indexOf(next)
  }
}
