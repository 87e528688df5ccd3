// An upstream's TLS settings as the operator API takes and shows them. PEM text is parsed
// with node:crypto before anything is stored, so a bad bundle or key is a 400 that says
// what is wrong instead of a gateway that cannot connect. The client key is sealed with
// the master key like credential secrets, and never shown again: only whether one is set.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto'
import { isIP } from 'node:net'
import { createSecureContext } from 'node:tls'
import type { SecretBox } from '../../domain/crypto.js'
import { ValidationError } from '../../domain/errors.js'

/** A field left out keeps its value; null clears it. */
export interface UpstreamTlsInput {
  caBundle?: string | null
  clientCertificate?: string | null
  clientKey?: string | null
  servername?: string | null
  insecureSkipVerify?: boolean
}

/** The Upstream row's TLS columns. */
export interface UpstreamTlsColumns {
  tlsCaBundle: string | null
  tlsClientCertificate: string | null
  tlsClientKeyCiphertext: string | null
  tlsServername: string | null
  tlsInsecureSkipVerify: boolean
}

export const NO_TLS: UpstreamTlsColumns = { tlsCaBundle: null, tlsClientCertificate: null, tlsClientKeyCiphertext: null, tlsServername: null, tlsInsecureSkipVerify: false }

export interface UpstreamTlsView {
  caBundle: string | null
  clientCertificate: string | null
  clientKeySet: boolean
  servername: string | null
  insecureSkipVerify: boolean
}

interface PemBlock { label: string, text: string }

const PRIVATE_KEY_LABELS = new Set(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY'])

/**
 * The PEM blocks of a text; text around them (bundles often carry comments) is ignored. One
 * pass with indexOf: a backtracking pattern would take quadratic time on a text of many
 * unterminated blocks.
 */
function pemBlocks (text: string, field: string): PemBlock[] {
  const blocks: PemBlock[] = []
  for (let start = text.indexOf('-----BEGIN '); start !== -1; start = text.indexOf('-----BEGIN ', start)) {
    const labelEnd = text.indexOf('-----', start + 11)
    const label = labelEnd === -1 ? '' : text.slice(start + 11, labelEnd)
    if (!/^[A-Z0-9 ]{1,64}$/.test(label)) throw new ValidationError(`${field} has a malformed -----BEGIN line`)
    const footer = `-----END ${label}-----`
    const end = text.indexOf(footer, labelEnd)
    if (end === -1) throw new ValidationError(`${field} has a ${label} block without its ${footer} line`)
    blocks.push({ label, text: text.slice(start, end + footer.length) })
    start = end + footer.length
  }
  return blocks
}

function parseCertificates (text: string, field: string): X509Certificate[] {
  const blocks = pemBlocks(text, field)
  if (blocks.length === 0) throw new ValidationError(`${field} must be PEM text with at least one -----BEGIN CERTIFICATE----- block`)
  return blocks.map((block, index) => {
    if (block.label !== 'CERTIFICATE') throw new ValidationError(`${field} holds a ${block.label} block (number ${index + 1}): it takes certificates only`)
    try {
      return new X509Certificate(block.text)
    } catch {
      throw new ValidationError(`${field}: certificate number ${index + 1} is not a valid X.509 certificate`)
    }
  })
}

function parsePrivateKey (text: string): KeyObject {
  const blocks = pemBlocks(text, 'tls.clientKey')
  if (blocks.length !== 1) throw new ValidationError('tls.clientKey must be exactly one PEM private key block')
  const { label } = blocks[0]
  if (label === 'ENCRYPTED PRIVATE KEY') throw new ValidationError('tls.clientKey is encrypted with a passphrase: give it unencrypted (it is stored sealed with the master key)')
  if (!PRIVATE_KEY_LABELS.has(label)) throw new ValidationError(`tls.clientKey holds a ${label} block, not a private key`)
  try {
    return createPrivateKey({ key: blocks[0].text, format: 'pem' })
  } catch {
    throw new ValidationError('tls.clientKey is not a valid private key')
  }
}

/** The client certificate must be current and its key the one it certifies: anything else fails every handshake. */
function checkClientCertificate (certificateText: string, keyText: string, now: Date): void {
  const [leaf] = parseCertificates(certificateText, 'tls.clientCertificate')
  const key = parsePrivateKey(keyText)
  if (!leaf.checkPrivateKey(key)) throw new ValidationError('tls.clientKey does not belong to tls.clientCertificate (the first certificate in it)')
  if (new Date(leaf.validTo) < now) throw new ValidationError(`tls.clientCertificate expired on ${new Date(leaf.validTo).toISOString()}`)
}

function checkServername (servername: string): void {
  // the schema's pattern lets dotted digits through
  if (isIP(servername) !== 0) throw new ValidationError('tls.servername must be a DNS name: TLS does not send addresses as SNI (RFC 6066 §3)')
}

/**
 * The columns an input changes, checked and with the key sealed: none for undefined, all of
 * them (cleared) for null, else those of the fields it names. The client certificate and key
 * come, and go, together.
 */
export function upstreamTlsChange (input: UpstreamTlsInput | null | undefined, secretBox: SecretBox, now = new Date()): Partial<UpstreamTlsColumns> {
  if (input === undefined) return {}
  if (input === null) return NO_TLS
  const { caBundle, clientCertificate, clientKey, servername, insecureSkipVerify } = input
  if ((clientCertificate === undefined) !== (clientKey === undefined) || (clientCertificate === null) !== (clientKey === null)) {
    throw new ValidationError('tls.clientCertificate and tls.clientKey are set, and cleared, together')
  }
  if (caBundle != null) parseCertificates(caBundle, 'tls.caBundle')
  if (clientCertificate != null && clientKey != null) checkClientCertificate(clientCertificate, clientKey, now)
  if (servername != null) checkServername(servername)
  try {
    // what OpenSSL itself will be given: the last word on whether the texts are usable
    createSecureContext({ ca: caBundle ?? undefined, cert: clientCertificate ?? undefined, key: clientKey ?? undefined })
  } catch (error) {
    throw new ValidationError(`tls settings are not usable: ${(error as Error).message}`)
  }
  const change: Partial<UpstreamTlsColumns> = {}
  if (caBundle !== undefined) change.tlsCaBundle = caBundle
  if (clientCertificate !== undefined) change.tlsClientCertificate = clientCertificate
  if (clientKey !== undefined) change.tlsClientKeyCiphertext = clientKey === null ? null : secretBox.encrypt(clientKey)
  if (servername !== undefined) change.tlsServername = servername
  if (insecureSkipVerify !== undefined) change.tlsInsecureSkipVerify = insecureSkipVerify
  return change
}

export function hasTls (columns: UpstreamTlsColumns): boolean {
  return columns.tlsCaBundle !== null || columns.tlsClientCertificate !== null || columns.tlsClientKeyCiphertext !== null || columns.tlsServername !== null || columns.tlsInsecureSkipVerify
}

/** null when nothing is set; the key only as whether there is one. */
export function upstreamTlsView (columns: UpstreamTlsColumns): UpstreamTlsView | null {
  if (!hasTls(columns)) return null
  return {
    caBundle: columns.tlsCaBundle,
    clientCertificate: columns.tlsClientCertificate,
    clientKeySet: columns.tlsClientKeyCiphertext !== null,
    servername: columns.tlsServername,
    insecureSkipVerify: columns.tlsInsecureSkipVerify
  }
}

/** The input as the audit log keeps it: the key is a secret, its presence is not. */
export function auditedTls<T extends UpstreamTlsInput | null | undefined> (input: T): T {
  if (input == null || input.clientKey == null) return input
  return { ...input, clientKey: '(sealed)' }
}
