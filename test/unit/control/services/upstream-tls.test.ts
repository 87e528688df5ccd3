// The checks run on the operator's PEM before anything is stored, and what a change writes.
import { randomBytes, X509Certificate } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { auditedTls, NO_TLS, upstreamTlsChange, upstreamTlsView } from '../../../../src/control/services/upstream-tls.js'
import { SecretBox } from '../../../../src/domain/crypto.js'
import { createTestPki, type TestPki } from '../../../helpers/tls-certificates.js'

const box = new SecretBox(randomBytes(32))

describe('upstream TLS settings', () => {
  let pki: TestPki
  beforeAll(() => { pki = createTestPki() })

  it('writes only the columns a change names, with the key sealed', () => {
    const change = upstreamTlsChange({ clientCertificate: pki.clientCertificate, clientKey: pki.clientKey, servername: 'orders.internal' }, box)
    expect(Object.keys(change).sort()).toEqual(['tlsClientCertificate', 'tlsClientKeyCiphertext', 'tlsServername'])
    expect(box.decrypt(change.tlsClientKeyCiphertext as string)).toBe(pki.clientKey)
    expect(upstreamTlsChange(undefined, box)).toEqual({})
    expect(upstreamTlsChange(null, box)).toEqual(NO_TLS)
    expect(upstreamTlsChange({ caBundle: null }, box)).toEqual({ tlsCaBundle: null })
  })

  it('takes a bundle of several certificates with text around them', () => {
    const bundle = `# private CA\n${pki.caCertificate}\n# another\n${pki.otherCaCertificate}`
    expect(upstreamTlsChange({ caBundle: bundle }, box)).toEqual({ tlsCaBundle: bundle })
  })

  it('names a block without its END line, or a malformed BEGIN line, at once however long the text', () => {
    expect(() => upstreamTlsChange({ caBundle: '-----BEGIN CERTIFICATE-----'.repeat(20_000) }, box)).toThrow(/tls\.caBundle has a CERTIFICATE block without its -----END CERTIFICATE----- line/)
    expect(() => upstreamTlsChange({ caBundle: `${pki.caCertificate}-----BEGIN cert-----\n` }, box)).toThrow(/tls\.caBundle has a malformed -----BEGIN line/)
    expect(() => upstreamTlsChange({ clientCertificate: pki.clientCertificate, clientKey: pki.clientKey.replace('-----END PRIVATE KEY-----', '') }, box)).toThrow(/tls\.clientKey has a PRIVATE KEY block without/)
  })

  it('refuses a client certificate that has expired', () => {
    const validTo = new Date(new X509Certificate(pki.clientCertificate).validTo)
    const later = new Date(validTo.getTime() + 1000)
    expect(() => upstreamTlsChange({ clientCertificate: pki.clientCertificate, clientKey: pki.clientKey }, box, later)).toThrow(/tls\.clientCertificate expired on/)
  })

  it('shows whether a key is set, never the key, and nothing when nothing is set', () => {
    const columns = { ...NO_TLS, ...upstreamTlsChange({ clientCertificate: pki.clientCertificate, clientKey: pki.clientKey }, box) }
    expect(upstreamTlsView(columns)).toEqual({ caBundle: null, clientCertificate: pki.clientCertificate, clientKeySet: true, servername: null, insecureSkipVerify: false })
    expect(upstreamTlsView(NO_TLS)).toBeNull()
    expect(upstreamTlsView({ ...NO_TLS, tlsInsecureSkipVerify: true })).toMatchObject({ insecureSkipVerify: true })
  })

  it('keeps the key out of the audit log', () => {
    expect(auditedTls({ clientCertificate: 'CERT', clientKey: 'KEY' })).toEqual({ clientCertificate: 'CERT', clientKey: '(sealed)' })
    expect(auditedTls({ clientCertificate: null, clientKey: null })).toEqual({ clientCertificate: null, clientKey: null })
    expect(auditedTls(undefined)).toBeUndefined()
  })
})
