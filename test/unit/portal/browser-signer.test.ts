// The try-it console's WebCrypto signer against the gateway's own verifier: what the browser
// signs is what the gateway checks, and a refusal's X-Ca-Error-Message is read back.
import { describe, expect, it } from 'vitest'
import { serverStringToSign, signInBrowser } from '../../../portal/src/browser-signer.js'
import { errorMessageHeader, verifyHmacSignature, type HmacRequestParts } from '../../../src/gateway/auth/hmac.js'

const KEY = 'app-key-1'
const SECRET = 'app-secret-1'
const NOW = 1_700_000_000_000
const WINDOW = 15 * 60 * 1000

function asReceived (method: string, url: URL, headers: Record<string, string>, body?: string): HmacRequestParts {
  const record = (params: URLSearchParams): Record<string, string[]> => {
    const result: Record<string, string[]> = {}
    for (const [name, value] of params) (result[name] ??= []).push(value)
    return result
  }
  return {
    method,
    path: url.pathname,
    query: record(url.searchParams),
    form: headers['content-type']?.startsWith('application/x-www-form-urlencoded') === true && body !== undefined ? record(new URLSearchParams(body)) : undefined,
    headers
  }
}

describe('browser signer', () => {
  it('signs a GET with an encoded path and query parameters so that the gateway accepts it', async () => {
    const url = new URL('https://gateway.example.com/v1/orders/o%201?status=open&empty=&tag=x&tag=y&note=a%26b%20c')
    const { headers, stringToSign } = await signInBrowser({ method: 'GET', url, accept: 'application/json' }, KEY, SECRET, { timestamp: NOW, nonce: 'n-1' })
    expect(stringToSign).toBe(`GET\napplication/json\n\n\n\nx-ca-key:${KEY}\nx-ca-nonce:n-1\nx-ca-signature-method:HmacSHA256\nx-ca-timestamp:${NOW}\n/v1/orders/o%201?empty&note=a&b c&status=open&tag=x`)
    expect(verifyHmacSignature(asReceived('GET', url, headers), SECRET, NOW, WINDOW)).toEqual({ ok: true, key: KEY, sentAtMs: NOW })
  })

  it('signs a JSON POST with its Content-Type, and a form POST with its parameters', async () => {
    const url = new URL('https://gateway.example.com/v1/orders?dry')
    const json = await signInBrowser({ method: 'POST', url, accept: 'application/json', contentType: 'application/json', body: '{"a":1}' }, KEY, SECRET, { timestamp: NOW })
    expect(json.headers['content-type']).toBe('application/json')
    expect(verifyHmacSignature(asReceived('POST', url, json.headers, '{"a":1}'), SECRET, NOW, WINDOW)).toEqual({ ok: true, key: KEY, sentAtMs: NOW })

    const form = await signInBrowser({ method: 'POST', url, accept: 'application/json', contentType: 'application/x-www-form-urlencoded', body: 'b=2&a=1' }, KEY, SECRET, { timestamp: NOW })
    expect(form.stringToSign.endsWith('/v1/orders?a=1&b=2&dry')).toBe(true)
    expect(verifyHmacSignature(asReceived('POST', url, form.headers, 'b=2&a=1'), SECRET, NOW, WINDOW)).toEqual({ ok: true, key: KEY, sentAtMs: NOW })
  })

  it("uses a fresh nonce per request, and with a wrong secret the server's string-to-sign is the browser's", async () => {
    const url = new URL('https://gateway.example.com/v1/orders')
    const first = await signInBrowser({ method: 'GET', url, accept: 'application/json' }, KEY, 'wrong', { timestamp: NOW })
    const second = await signInBrowser({ method: 'GET', url, accept: 'application/json' }, KEY, 'wrong', { timestamp: NOW })
    expect(first.headers['x-ca-nonce']).toMatch(/^[0-9a-f]{32}$/)
    expect(first.headers['x-ca-nonce']).not.toBe(second.headers['x-ca-nonce'])
    const refusal = verifyHmacSignature(asReceived('GET', url, first.headers), SECRET, NOW, WINDOW)
    expect(refusal).toMatchObject({ ok: false, code: 'BAD_SIGNATURE', stringToSign: first.stringToSign })
    const header = errorMessageHeader((refusal as { stringToSign: string }).stringToSign)
    expect(serverStringToSign(header)).toBe(first.stringToSign.replace(/\n/g, '#'))
    expect(serverStringToSign(null)).toBeUndefined()
    expect(serverStringToSign('something else')).toBeUndefined()
  })
})
