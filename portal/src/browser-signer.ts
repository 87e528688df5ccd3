// HMAC signing in the browser for the try-it console: the gateway's own string-to-sign
// (src/domain/string-to-sign.ts, the recipe of Alibaba Cloud API Gateway's app signature)
// and WebCrypto's HMAC-SHA256. The secret is typed by the partner and used here only: it is
// never stored and never sent. WebCrypto has no MD5, so requests carry no Content-MD5.
import { buildStringToSign, isFormContentType, mergeSigningParameters, type ParameterSource } from '../../src/domain/string-to-sign.js'

export interface BrowserRequest {
  method: string
  url: URL
  accept: string
  contentType?: string
  body?: string
}

export interface BrowserSignature {
  /** every header to send: Accept, Content-Type and the X-Ca-* ones */
  headers: Record<string, string>
  /** what was signed, to compare with the server's when it refuses the signature */
  stringToSign: string
}

/** WebCrypto's subtle API exists in secure contexts only (HTTPS, or localhost). */
export function canSignInBrowser (): boolean {
  return globalThis.crypto?.subtle !== undefined
}

function parameterSource (params: URLSearchParams): ParameterSource {
  const source: Record<string, string[]> = {}
  for (const [name, value] of params) (source[name] ??= []).push(value)
  return source
}

function randomNonce (): string {
  return [...globalThis.crypto.getRandomValues(new Uint8Array(16))].map(byte => byte.toString(16).padStart(2, '0')).join('')
}

export async function signInBrowser (request: BrowserRequest, key: string, secret: string, options: { timestamp?: number, nonce?: string } = {}): Promise<BrowserSignature> {
  const signed: Array<[string, string]> = [
    ['x-ca-key', key],
    ['x-ca-nonce', options.nonce ?? randomNonce()],
    ['x-ca-signature-method', 'HmacSHA256'],
    ['x-ca-timestamp', String(options.timestamp ?? Date.now())]
  ]
  const form = isFormContentType(request.contentType) && request.body !== undefined ? parameterSource(new URLSearchParams(request.body)) : undefined
  const stringToSign = buildStringToSign({
    method: request.method,
    accept: request.accept,
    contentType: request.contentType,
    signedHeaders: signed,
    // the path exactly as the browser sends it: percent-encoded
    path: request.url.pathname,
    parameters: mergeSigningParameters(parameterSource(request.url.searchParams), form)
  })
  const encoder = new TextEncoder()
  const hmacKey = await globalThis.crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const mac = new Uint8Array(await globalThis.crypto.subtle.sign('HMAC', hmacKey, encoder.encode(stringToSign)))
  const headers: Record<string, string> = { accept: request.accept }
  if (request.contentType !== undefined) headers['content-type'] = request.contentType
  for (const [name, value] of signed) headers[name] = value
  headers['x-ca-signature-headers'] = signed.map(([name]) => name).join(',')
  headers['x-ca-signature'] = btoa(String.fromCharCode(...mac))
  return { headers, stringToSign }
}

/** The server's string-to-sign from X-Ca-Error-Message, newlines shown as # (as the server sends it). */
export function serverStringToSign (errorMessage: string | null): string | undefined {
  const match = errorMessage === null ? null : /Server StringToSign:`([^`]*)`/.exec(errorMessage)
  return match === null ? undefined : match[1]
}
