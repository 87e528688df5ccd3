import { describe, expect, it } from 'vitest'
import { computeSignature } from '../../../src/domain/sign-request.js'
import {
  buildPathAndParameters,
  buildStringToSign,
  isFormContentType,
  mergeSigningParameters
} from '../../../src/domain/string-to-sign.js'

describe('buildStringToSign', () => {
  it('keeps the newline of every empty standard header', () => {
    const text = buildStringToSign({ method: 'get', signedHeaders: [], path: '/v1', parameters: new Map() })
    expect(text).toBe('GET\n\n\n\n\n/v1')
  })

  it('writes signed headers sorted, in the listed casing, an empty value as name:', () => {
    const text = buildStringToSign({
      method: 'GET',
      accept: 'application/json',
      signedHeaders: [['X-Ca-Timestamp', '1'], ['X-Ca-Key', 'k'], ['x-empty', ''], ['Accept', 'ignored'], ['X-Ca-Signature', 'ignored']],
      path: '/v1',
      parameters: new Map()
    })
    expect(text).toBe('GET\napplication/json\n\n\n\nX-Ca-Key:k\nX-Ca-Timestamp:1\nx-empty:\n/v1')
  })

  // computed independently with:
  // printf '%s' "$STRING_TO_SIGN" | openssl dgst -sha256 -hmac appSecretDemo -binary | base64
  it('matches a known-answer vector computed with openssl (HmacSHA256)', () => {
    const text = buildStringToSign({
      method: 'POST',
      accept: 'application/json; charset=utf-8',
      contentType: 'application/x-www-form-urlencoded; charset=utf-8',
      signedHeaders: [
        ['x-ca-timestamp', '1525872629832'],
        ['x-ca-key', '203753385'],
        ['x-ca-signature-method', 'HmacSHA256'],
        ['x-ca-nonce', 'c9f15cbf-f4ac-4a6c-b54d-f51abf4b5b44']
      ],
      path: '/http2test/test',
      parameters: mergeSigningParameters({ param1: 'test' }, { username: 'xiaoming', password: '123456788' })
    })
    expect(text).toBe(
      'POST\napplication/json; charset=utf-8\n\napplication/x-www-form-urlencoded; charset=utf-8\n\n' +
      'x-ca-key:203753385\nx-ca-nonce:c9f15cbf-f4ac-4a6c-b54d-f51abf4b5b44\nx-ca-signature-method:HmacSHA256\n' +
      'x-ca-timestamp:1525872629832\n/http2test/test?param1=test&password=123456788&username=xiaoming'
    )
    expect(computeSignature(text, 'appSecretDemo')).toBe('vdze2v1rTeC5im4UjmdBof1HOjzX9JNrfsA8acbNU/g=')
  })

  it('matches a known-answer vector computed with openssl (HmacSHA1)', () => {
    const text = 'GET\n\n\n\n\nX-Ca-Key:key1\nX-Ca-Nonce:n-1\nX-Ca-Signature-Method:HmacSHA1\nX-Ca-Timestamp:1700000000000\n/v1/items?a&b=2'
    expect(computeSignature(text, 's3cret', 'HmacSHA1')).toBe('b9F3+Z46APRTndzC7YmgqP5+3b8=')
  })
})

describe('buildPathAndParameters', () => {
  it('is the bare path without parameters', () => {
    expect(buildPathAndParameters('/v1/orders', new Map())).toBe('/v1/orders')
  })

  it('sorts by name in code-unit order and writes an empty value as the bare name', () => {
    const parameters = new Map([['b', '2'], ['a', ''], ['B', 'upper'], ['c', '中文']])
    expect(buildPathAndParameters('/p', parameters)).toBe('/p?B=upper&a&b=2&c=中文')
  })
})

describe('mergeSigningParameters', () => {
  it('signs only the first value of a repeated name', () => {
    expect(mergeSigningParameters({ id: ['1', '2'] })).toEqual(new Map([['id', '1']]))
  })

  it('prefers the form value over the query value of the same name', () => {
    expect(mergeSigningParameters({ a: 'query', q: '1' }, { a: 'form' })).toEqual(new Map([['a', 'form'], ['q', '1']]))
  })
})

describe('isFormContentType', () => {
  it('recognises form bodies whatever the parameters and casing', () => {
    expect(isFormContentType('Application/X-WWW-Form-Urlencoded; charset=UTF-8')).toBe(true)
    expect(isFormContentType('application/json')).toBe(false)
    expect(isFormContentType(undefined)).toBe(false)
  })
})
