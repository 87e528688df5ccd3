import { describe, expect, it } from 'vitest'
import {
  errorMessageHeader,
  readHmacKey,
  verifyHmacSignature,
  type HmacRequestParts,
  type IncomingHeaders
} from '../../../../src/gateway/auth/hmac.js'
import { contentMd5, signRequest, type SignRequestOptions } from '../../../helpers/sign-request.js'

const KEY = 'app-key-1'
const SECRET = 'app-secret-1'
const NOW = 1_700_000_000_000
const WINDOW = 15 * 60 * 1000

function toRecord (params: URLSearchParams): Record<string, string | string[]> {
  const record: Record<string, string | string[]> = {}
  for (const [name, value] of params) {
    const existing = record[name]
    record[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value]
  }
  return record
}

/** What the gateway sees of a request: Node's lowercased headers, a decoded query and form. */
function received (method: string, url: string, headers: Record<string, string>, body?: string): HmacRequestParts {
  const incoming: IncomingHeaders = {}
  for (const [name, value] of Object.entries(headers)) incoming[name.toLowerCase()] = value
  const [path, query = ''] = url.split('?', 2)
  const isForm = (incoming['content-type'] as string | undefined)?.startsWith('application/x-www-form-urlencoded') === true
  return {
    method,
    path,
    query: toRecord(new URLSearchParams(query)),
    form: isForm && body !== undefined ? toRecord(new URLSearchParams(body)) : undefined,
    headers: incoming
  }
}

function signAndReceive (
  method: string,
  url: string,
  options: SignRequestOptions & { headers?: Record<string, string>, body?: string } = {}
): HmacRequestParts {
  const headers = signRequest({ method, url, headers: options.headers, body: options.body }, KEY, SECRET, { timestamp: NOW, nonce: 'nonce-1', ...options })
  return received(method, url, headers, options.body)
}

function stringToSignOf (parts: HmacRequestParts): string {
  const result = verifyHmacSignature(parts, 'another secret', NOW, WINDOW)
  if (result.ok || result.stringToSign === undefined) throw new Error('expected a signature mismatch')
  return result.stringToSign
}

describe('verifyHmacSignature', () => {
  it('accepts a GET with empty values and repeated keys in the query', () => {
    const parts = signAndReceive('GET', '/v1/orders?b=2&a=&c=1&c=3&d')
    expect(verifyHmacSignature(parts, SECRET, NOW, WINDOW)).toEqual({ ok: true, key: KEY, sentAtMs: NOW })
    expect(stringToSignOf(parts).endsWith('\n/v1/orders?a&b=2&c=1&d')).toBe(true)
  })

  it('rejects a query changed after signing, including a repeated key reordered', () => {
    const parts = signAndReceive('GET', '/v1/orders?c=1&c=3')
    expect(verifyHmacSignature({ ...parts, query: { c: ['3', '1'] } }, SECRET, NOW, WINDOW)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' })
  })

  it('accepts a POST JSON body with Content-MD5 and rejects a changed Content-MD5', () => {
    const body = JSON.stringify({ item: 'book', quantity: 2 })
    const parts = signAndReceive('POST', '/v1/orders', { body, contentMd5: true, headers: { 'Content-Type': 'application/json; charset=utf-8', Accept: 'application/json' } })
    expect(parts.headers['content-md5']).toBe(contentMd5(body))
    expect(verifyHmacSignature(parts, SECRET, NOW, WINDOW).ok).toBe(true)
    expect(stringToSignOf(parts).startsWith(`POST\napplication/json\n${contentMd5(body)}\napplication/json; charset=utf-8\n\n`)).toBe(true)

    const tampered = { ...parts, headers: { ...parts.headers, 'content-md5': contentMd5('{}') } }
    expect(verifyHmacSignature(tampered, SECRET, NOW, WINDOW)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' })
  })

  it('signs form parameters of a form body, the form value winning over the query', () => {
    const body = 'name=%E5%BC%A0%E4%B8%89&age=3&source=form&empty='
    const parts = signAndReceive('POST', '/v1/people?source=query&page=1', {
      body,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8' }
    })
    expect(verifyHmacSignature(parts, SECRET, NOW, WINDOW).ok).toBe(true)
    expect(stringToSignOf(parts).endsWith('\n/v1/people?age=3&empty&name=张三&page=1&source=form')).toBe(true)

    const tampered = { ...parts, form: { ...parts.form, age: '4' } }
    expect(verifyHmacSignature(tampered, SECRET, NOW, WINDOW)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' })
  })

  it('ignores form parameters when the body is not a form', () => {
    const parts = signAndReceive('POST', '/v1/orders', { body: '{}', headers: { 'Content-Type': 'application/json' } })
    expect(verifyHmacSignature({ ...parts, form: { injected: 'x' } }, SECRET, NOW, WINDOW).ok).toBe(true)
  })

  it('verifies extra signed headers, an empty one written as name:', () => {
    const parts = signAndReceive('GET', '/v1/orders', {
      headers: { 'X-Custom': 'value', 'X-Empty': '' },
      signedHeaders: ['X-Custom', 'X-Empty', 'X-Absent']
    })
    expect(parts.headers['x-ca-signature-headers']).toContain('X-Custom')
    expect(verifyHmacSignature(parts, SECRET, NOW, WINDOW).ok).toBe(true)
    expect(stringToSignOf(parts)).toContain('X-Absent:\nX-Ca-Key:app-key-1\n')
    expect(stringToSignOf(parts)).toContain('X-Custom:value\nX-Empty:\n/v1/orders')

    const tampered = { ...parts, headers: { ...parts.headers, 'x-custom': 'other' } }
    expect(verifyHmacSignature(tampered, SECRET, NOW, WINDOW)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' })
  })

  it('writes header names in the casing the client listed, whatever node did to them', () => {
    const parts = signAndReceive('GET', '/v1/orders', { stage: 'TEST' })
    expect(stringToSignOf(parts)).toContain('X-Ca-Key:app-key-1\nX-Ca-Nonce:nonce-1\nX-Ca-Signature-Method:HmacSHA256\nX-Ca-Stage:TEST\nX-Ca-Timestamp:1700000000000\n')
    expect(verifyHmacSignature(parts, SECRET, NOW, WINDOW).ok).toBe(true)
  })

  it('leaves Accept, Content-Type and the signature headers out of the header block even when listed', () => {
    const parts = signAndReceive('GET', '/v1/orders', { headers: { Accept: 'text/plain' } })
    const listed = `${parts.headers['x-ca-signature-headers'] as string},Accept,Content-Type,X-Ca-Signature`
    const withListed = { ...parts, headers: { ...parts.headers, 'x-ca-signature-headers': listed } }
    expect(verifyHmacSignature(withListed, SECRET, NOW, WINDOW).ok).toBe(true)
  })

  it('accepts HmacSHA1', () => {
    const parts = signAndReceive('DELETE', '/v1/orders/7?force=true', { signatureMethod: 'HmacSHA1' })
    expect(parts.headers['x-ca-signature-method']).toBe('HmacSHA1')
    expect(verifyHmacSignature(parts, SECRET, NOW, WINDOW).ok).toBe(true)
  })

  it('rejects an unknown signature method', () => {
    const parts = signAndReceive('GET', '/v1/orders')
    const changed = { ...parts, headers: { ...parts.headers, 'x-ca-signature-method': 'HmacMD5' } }
    expect(verifyHmacSignature(changed, SECRET, NOW, WINDOW)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' })
  })

  it('returns BAD_SIGNATURE with the server string-to-sign for a wrong secret', () => {
    const parts = signAndReceive('GET', '/v1/orders?id=7')
    expect(verifyHmacSignature(parts, 'wrong', NOW, WINDOW)).toEqual({
      ok: false,
      code: 'BAD_SIGNATURE',
      message: 'The signature does not match',
      stringToSign: 'GET\napplication/json\n\n\n\nX-Ca-Key:app-key-1\nX-Ca-Nonce:nonce-1\nX-Ca-Signature-Method:HmacSHA256\n' +
        'X-Ca-Timestamp:1700000000000\n/v1/orders?id=7'
    })
  })

  it('rejects a timestamp outside the window in both directions', () => {
    const parts = signAndReceive('GET', '/v1/orders')
    expect(verifyHmacSignature(parts, SECRET, NOW + WINDOW, WINDOW).ok).toBe(true)
    expect(verifyHmacSignature(parts, SECRET, NOW - WINDOW, WINDOW).ok).toBe(true)
    expect(verifyHmacSignature(parts, SECRET, NOW + WINDOW + 1, WINDOW)).toMatchObject({ ok: false, code: 'EXPIRED_TIMESTAMP' })
    expect(verifyHmacSignature(parts, SECRET, NOW - WINDOW - 1, WINDOW)).toMatchObject({ ok: false, code: 'EXPIRED_TIMESTAMP' })
  })

  it('rejects a timestamp that is not milliseconds as a number', () => {
    for (const timestamp of ['soon', '1.7e12', '-1', '0x10']) {
      const parts = signAndReceive('GET', '/v1/orders')
      const changed = { ...parts, headers: { ...parts.headers, 'x-ca-timestamp': timestamp } }
      expect(verifyHmacSignature(changed, SECRET, NOW, WINDOW)).toMatchObject({ ok: false, code: 'EXPIRED_TIMESTAMP' })
    }
  })

  it('accepts unicode query values, signed decoded', () => {
    const parts = signAndReceive('GET', '/v1/search?q=%E4%B8%AD%E6%96%87&face=%F0%9F%98%80&plus=a+b')
    expect(verifyHmacSignature(parts, SECRET, NOW, WINDOW).ok).toBe(true)
    expect(stringToSignOf(parts).endsWith('\n/v1/search?face=😀&plus=a b&q=中文')).toBe(true)
  })

  it('requires key, signature, timestamp and nonce', () => {
    for (const name of ['x-ca-key', 'x-ca-signature', 'x-ca-timestamp', 'x-ca-nonce']) {
      const parts = signAndReceive('GET', '/v1/orders')
      const headers = { ...parts.headers }
      delete headers[name]
      expect(verifyHmacSignature({ ...parts, headers }, SECRET, NOW, WINDOW)).toMatchObject({ ok: false, code: 'MISSING_CREDENTIALS' })
    }
  })

  it('rejects a nonce longer than 128 characters', () => {
    const parts = signAndReceive('GET', '/v1/orders', { nonce: 'n'.repeat(129) })
    expect(verifyHmacSignature(parts, SECRET, NOW, WINDOW)).toMatchObject({ ok: false, code: 'MISSING_CREDENTIALS' })
    expect(verifyHmacSignature(signAndReceive('GET', '/v1/orders', { nonce: 'n'.repeat(128) }), SECRET, NOW, WINDOW).ok).toBe(true)
  })

  it('requires the timestamp and nonce to be under the signature, so that they cannot be refreshed for a replay', () => {
    const parts = signAndReceive('GET', '/v1/orders')
    const unsigned = { ...parts, headers: { ...parts.headers, 'x-ca-signature-headers': 'X-Ca-Key' } }
    expect(verifyHmacSignature(unsigned, SECRET, NOW, WINDOW)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' })
  })

  it('does not read a listed header name from the object prototype', () => {
    const parts = signAndReceive('GET', '/v1/orders', { signedHeaders: ['__proto__'] })
    expect(verifyHmacSignature(parts, SECRET, NOW, WINDOW).ok).toBe(true)
  })

  it('verifies a request signed independently with openssl', () => {
    // printf 'GET\n\n\n\n\nX-Ca-Key:key1\nX-Ca-Nonce:n-1\nX-Ca-Signature-Method:HmacSHA1\nX-Ca-Timestamp:1700000000000\n/v1/items?a&b=2' \
    //   | openssl dgst -sha1 -hmac s3cret -binary | base64
    const parts: HmacRequestParts = {
      method: 'GET',
      path: '/v1/items',
      query: { b: '2', a: '' },
      headers: {
        'x-ca-key': 'key1',
        'x-ca-nonce': 'n-1',
        'x-ca-timestamp': '1700000000000',
        'x-ca-signature-method': 'HmacSHA1',
        'x-ca-signature-headers': 'X-Ca-Timestamp,X-Ca-Key,X-Ca-Nonce,X-Ca-Signature-Method',
        'x-ca-signature': 'b9F3+Z46APRTndzC7YmgqP5+3b8='
      }
    }
    expect(verifyHmacSignature(parts, 's3cret', NOW, WINDOW)).toEqual({ ok: true, key: 'key1', sentAtMs: 1_700_000_000_000 })
  })
})

describe('readHmacKey', () => {
  it('reads X-Ca-Key and treats an empty one as missing', () => {
    expect(readHmacKey({ 'x-ca-key': 'k1' })).toBe('k1')
    expect(readHmacKey({ 'x-ca-key': '' })).toBeUndefined()
    expect(readHmacKey({})).toBeUndefined()
  })
})

describe('errorMessageHeader', () => {
  it('shows newlines as # in the text shape the SDKs parse', () => {
    expect(errorMessageHeader('GET\n\n\n\n\n/v1')).toBe('Invalid Signature, Server StringToSign:`GET#####/v1`')
  })

  it('stays a valid header value for non-ASCII parameters', () => {
    const value = errorMessageHeader('GET\n\n\n\n\n/v1?q=中文\r')
    expect(value).toBe('Invalid Signature, Server StringToSign:`GET#####/v1?q=%E4%B8%AD%E6%96%87%0D`')
    expect(value).toMatch(/^[\x20-\x7e]*$/)
  })
})
