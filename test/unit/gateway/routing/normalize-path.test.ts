import { describe, expect, it } from 'vitest'
import { normalizePath } from '../../../../src/gateway/routing/normalize-path.js'

describe('normalizePath', () => {
  it('returns plain paths unchanged, with or without a trailing slash', () => {
    for (const path of ['/', '/v1/orders', '/v1/orders/', '/v1/orders/7;v=2', "/a:b@c!$&'()*+,=~_-"]) {
      expect(normalizePath(path)).toBe(path)
    }
  })

  it('collapses empty segments', () => {
    expect(normalizePath('//v1//orders///')).toBe('/v1/orders/')
    expect(normalizePath('//')).toBe('/')
  })

  it('resolves dot-segments, never above the root, keeping a trailing slash', () => {
    expect(normalizePath('/v1/./orders')).toBe('/v1/orders')
    expect(normalizePath('/v1/orders/.')).toBe('/v1/orders/')
    expect(normalizePath('/v1/orders/..')).toBe('/v1/')
    expect(normalizePath('/v1/orders/../admin')).toBe('/v1/admin')
    expect(normalizePath('/../../etc/passwd')).toBe('/etc/passwd')
    expect(normalizePath('/..')).toBe('/')
  })

  it('keeps names that only look like dot-segments', () => {
    expect(normalizePath('/v1/.well-known/...')).toBe('/v1/.well-known/...')
    expect(normalizePath('/v1/..a/a..')).toBe('/v1/..a/a..')
  })

  it('decodes escaped unreserved characters, including encoded dots', () => {
    expect(normalizePath('/v1/%6Frders')).toBe('/v1/orders')
    expect(normalizePath('/v1/orders/%2e%2e/admin')).toBe('/v1/admin')
    expect(normalizePath('/v1/orders/.%2E/admin')).toBe('/v1/admin')
    expect(normalizePath('/v1/%7Euser')).toBe('/v1/~user')
  })

  it('keeps other escapes, in upper case, so that reserved characters keep their meaning', () => {
    expect(normalizePath('/v1/a%3bb')).toBe('/v1/a%3Bb')
    expect(normalizePath('/v1/%e4%b8%ad%e6%96%87')).toBe('/v1/%E4%B8%AD%E6%96%87')
    expect(normalizePath('/v1/100%25')).toBe('/v1/100%25')
  })

  it('encodes printable characters that may not appear raw', () => {
    expect(normalizePath('/v1/a|b{c}')).toBe('/v1/a%7Cb%7Bc%7D')
  })

  it('rejects malformed escapes and escapes that are not UTF-8', () => {
    for (const path of ['/v1/%', '/v1/%4', '/v1/%zz', '/v1/%c0%ae%c0%ae', '/v1/%ff']) {
      expect(normalizePath(path)).toBeUndefined()
    }
  })

  it('rejects NUL and control characters, raw or escaped', () => {
    for (const path of ['/v1/a%00', '/v1/a%0d%0a', '/v1/a%7f', '/v1/a\u0000', '/v1/a b', '/v1/a\tb']) {
      expect(normalizePath(path)).toBeUndefined()
    }
  })

  it('rejects encoded slashes and backslashes, raw backslashes and raw non-ASCII', () => {
    for (const path of ['/v1/orders/..%2f..%2fadmin', '/v1/a%2Fb', '/v1/orders/..%5cadmin', '/v1\\..\\admin', '/v1/中文']) {
      expect(normalizePath(path)).toBeUndefined()
    }
  })

  it('rejects dot-segments followed by a path parameter', () => {
    for (const path of ['/v1/orders/..;/admin', '/v1/orders/..;x=1/admin', '/v1/orders/.;/x', '/v1/orders/%2e%2e%3b/admin']) {
      expect(normalizePath(path)).toBeUndefined()
    }
  })

  it('rejects paths that do not start with a slash', () => {
    for (const path of ['', '*', 'v1/orders', 'http://example.com/v1']) {
      expect(normalizePath(path)).toBeUndefined()
    }
  })
})
