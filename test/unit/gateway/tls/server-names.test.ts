// Which certificate a TLS client's SNI server name gets: the names in a certificate, and the
// lookup over several certificates with exact names, one-label wildcards and a default.
import { X509Certificate } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { certificateNames, ServerNameIndex } from '../../../../src/gateway/tls/server-names.js'
import { createTestCa, type TestCa } from '../../../helpers/certificates.js'

describe('server names', () => {
  let ca: TestCa

  beforeAll(async () => { ca = await createTestCa() })
  afterAll(() => { ca?.close() })

  it('reads the DNS names of the subjectAltName, lowercase, and ignores the CN once there are some', async () => {
    const certificate = new X509Certificate((await ca.issue(['API.Example.com', '*.eu.example.com'], { commonName: 'other.example.com' })).cert)
    expect(certificateNames(certificate)).toEqual(['api.example.com', '*.eu.example.com'])
  })

  it('falls back to the CN of a certificate without DNS names', async () => {
    const certificate = new X509Certificate((await ca.issue([], { commonName: 'legacy.example.com' })).cert)
    expect(certificateNames(certificate)).toEqual(['legacy.example.com'])
  })

  it('prefers an exact name, then a wildcard covering one label, then the default', () => {
    const index = new ServerNameIndex([
      { names: ['api.example.com', '*.example.com'], value: 'wild' },
      { names: ['shop.example.com', '*.eu.example.com'], value: 'shop' }
    ], 'default')
    expect(index.lookup('api.example.com')).toBe('wild')
    expect(index.lookup('shop.example.com')).toBe('shop')
    expect(index.lookup('SHOP.Example.COM.')).toBe('shop')
    expect(index.lookup('other.example.com')).toBe('wild')
    expect(index.lookup('fr.eu.example.com')).toBe('shop')
    expect(index.lookup('a.b.example.com')).toBe('default')
    expect(index.lookup('example.com')).toBe('default')
    expect(index.lookup('localhost')).toBe('default')
    expect(index.lookup('')).toBe('default')
  })

  it('gives a name to the first certificate that claims it, and none to partial wildcards', () => {
    const index = new ServerNameIndex([
      { names: ['api.example.com', 'a*.test.com', '*.*.example.com'], value: 'first' },
      { names: ['api.example.com', '*.example.com'], value: 'second' }
    ], 'default')
    expect(index.lookup('api.example.com')).toBe('first')
    expect(index.lookup('abc.test.com')).toBe('default')
    expect(index.lookup('x.y.example.com')).toBe('default')
    expect(index.lookup('x.example.com')).toBe('second')
  })
})
