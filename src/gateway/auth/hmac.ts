// Verifies Alibaba Cloud API Gateway compatible app signatures (X-Ca-* headers), so
// that partners can call us with that ecosystem's SDKs unchanged. Pure: the caller
// looks the secret up by readHmacKey(), checks the nonce for replay and the body
// against Content-MD5 once it has read it.
import { constantTimeEqual } from '../../domain/crypto.js'
import { computeSignature, SIGNATURE_METHODS, type SignatureMethod } from '../../domain/sign-request.js'
import {
  buildStringToSign,
  isExcludedFromHeaderBlock,
  isFormContentType,
  mergeSigningParameters
} from '../../domain/string-to-sign.js'

export type IncomingHeaders = Record<string, string | string[] | undefined>

export interface HmacRequestParts {
  method: string
  /** Raw path without the query, exactly as received: the client signed these bytes. */
  path: string
  /** Decoded query parameters. */
  query: Record<string, string | string[]>
  /** Decoded form parameters of an application/x-www-form-urlencoded body. */
  form?: Record<string, string | string[]>
  /** Node's headers, names lowercased. */
  headers: IncomingHeaders
}

export type HmacVerification =
  | { ok: true; key: string; /** the signed X-Ca-Timestamp */ sentAtMs: number }
  | {
    ok: false
    code: 'MISSING_CREDENTIALS' | 'BAD_SIGNATURE' | 'EXPIRED_TIMESTAMP' | 'UNKNOWN_KEY'
    message: string
    stringToSign?: string
  }

const MAX_NONCE_LENGTH = 128

// Without these two under the signature, a captured request could be replayed with a
// fresh timestamp and nonce; every published SDK signs all X-Ca-* headers anyway.
const HEADERS_THAT_MUST_BE_SIGNED = ['x-ca-timestamp', 'x-ca-nonce']

function header (headers: IncomingHeaders, name: string): string | undefined {
  // own properties only: a listed name such as __proto__ must not reach the prototype
  const value = Object.hasOwn(headers, name) ? headers[name] : undefined
  // node joins repeated headers with ', ' except for a few; do the same for the rest
  return Array.isArray(value) ? value.join(', ') : value
}

export function readHmacKey (headers: IncomingHeaders): string | undefined {
  const key = header(headers, 'x-ca-key')
  return key === '' ? undefined : key
}

function parseSignatureMethod (value: string | undefined): SignatureMethod | undefined {
  if (value === undefined || value === '') return 'HmacSHA256'
  return SIGNATURE_METHODS.find(method => method.toLowerCase() === value.toLowerCase())
}

/** The header names the client listed, in its casing, without duplicates or excluded ones. */
function listedHeaderNames (value: string | undefined): string[] {
  const seen = new Set<string>()
  const names: string[] = []
  for (const raw of (value ?? '').split(',')) {
    const name = raw.trim()
    const lower = name.toLowerCase()
    if (name === '' || seen.has(lower) || isExcludedFromHeaderBlock(lower)) continue
    seen.add(lower)
    names.push(name)
  }
  return names
}

export function verifyHmacSignature (
  parts: HmacRequestParts,
  secret: string,
  now: number,
  windowMs: number
): HmacVerification {
  const { headers } = parts
  const key = readHmacKey(headers)
  const signature = header(headers, 'x-ca-signature')
  const timestamp = header(headers, 'x-ca-timestamp')
  const nonce = header(headers, 'x-ca-nonce')
  if (key === undefined || signature === undefined || signature === '' ||
    timestamp === undefined || timestamp === '' || nonce === undefined || nonce === '') {
    return {
      ok: false,
      code: 'MISSING_CREDENTIALS',
      message: 'X-Ca-Key, X-Ca-Signature, X-Ca-Timestamp and X-Ca-Nonce are required'
    }
  }
  if (nonce.length > MAX_NONCE_LENGTH) {
    return { ok: false, code: 'MISSING_CREDENTIALS', message: `X-Ca-Nonce must be at most ${MAX_NONCE_LENGTH} characters` }
  }
  const sentAt = /^\d{1,16}$/.test(timestamp) ? Number(timestamp) : Number.NaN
  if (!(Math.abs(now - sentAt) <= windowMs)) {
    return {
      ok: false,
      code: 'EXPIRED_TIMESTAMP',
      message: `X-Ca-Timestamp must be milliseconds since the epoch within ${Math.round(windowMs / 1000)} s of the server time`
    }
  }
  const signatureMethod = parseSignatureMethod(header(headers, 'x-ca-signature-method'))
  if (signatureMethod === undefined) {
    return { ok: false, code: 'BAD_SIGNATURE', message: 'X-Ca-Signature-Method must be HmacSHA256 or HmacSHA1' }
  }
  const signedNames = listedHeaderNames(header(headers, 'x-ca-signature-headers'))
  const signedLower = new Set(signedNames.map(name => name.toLowerCase()))
  if (!HEADERS_THAT_MUST_BE_SIGNED.every(name => signedLower.has(name))) {
    return { ok: false, code: 'BAD_SIGNATURE', message: 'X-Ca-Signature-Headers must include X-Ca-Timestamp and X-Ca-Nonce' }
  }

  const contentType = header(headers, 'content-type')
  const stringToSign = buildStringToSign({
    method: parts.method,
    accept: header(headers, 'accept'),
    contentMd5: header(headers, 'content-md5'),
    contentType,
    date: header(headers, 'date'),
    // Node lowercases names; the client signed them in the casing it listed them
    signedHeaders: signedNames.map(name => [name, header(headers, name.toLowerCase()) ?? '']),
    path: parts.path,
    parameters: mergeSigningParameters(parts.query, isFormContentType(contentType) ? parts.form : undefined)
  })
  if (!constantTimeEqual(computeSignature(stringToSign, secret, signatureMethod), signature)) {
    return { ok: false, code: 'BAD_SIGNATURE', message: 'The signature does not match', stringToSign }
  }
  return { ok: true, key, sentAtMs: sentAt }
}

// Header values must stay printable ASCII: anything else (a decoded non-ASCII query
// value, say) is percent-encoded rather than making the response itself fail.
function toHeaderSafeText (text: string): string {
  return text.replace(/[^\x20-\x7e]/gu, character => encodeURIComponent(character.replace(/[\ud800-\udfff]/u, '\ufffd')))
}

/** The X-Ca-Error-Message value Alibaba's SDKs parse and print on a signature mismatch. */
export function errorMessageHeader (stringToSign: string): string {
  return `Invalid Signature, Server StringToSign:\`${toHeaderSafeText(stringToSign.replace(/\n/g, '#'))}\``
}
