import { describe, expect, it } from 'vitest'
import { tlsFailureOf, upstreamTlsError } from '../../../../src/gateway/proxy/tls-failure.js'

function failure (code: string, message = code): Error {
  return Object.assign(new Error(message), { code })
}

describe('TLS failures of an upstream connection', () => {
  it.each(['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID'])('%s: the certificate is not trusted', code => {
    expect(tlsFailureOf(failure(code))).toBe('untrusted')
  })

  it.each(['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'ERR_SSL_WRONG_VERSION_NUMBER'])('%s: the handshake failed', code => {
    expect(tlsFailureOf(failure(code))).toBe('handshake')
  })

  it.each(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT'])('%s is no TLS failure', code => {
    expect(tlsFailureOf(failure(code))).toBeUndefined()
    expect(upstreamTlsError(failure(code), 'https://a.test')).toBeUndefined()
  })

  it('ignores errors without a string code', () => {
    expect(tlsFailureOf(new Error('plain'))).toBeUndefined()
    expect(tlsFailureOf(null)).toBeUndefined()
    expect(tlsFailureOf({ code: 42 })).toBeUndefined()
  })

  it('gives partners the catalogue error and keeps the reason and the target for the log', () => {
    const cause = failure('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain')
    const untrusted = upstreamTlsError(cause, 'https://a.test:8443') as Error & { code: string, statusCode: number, upstreamTarget: string }
    expect(untrusted).toMatchObject({ code: 'UPSTREAM_CERTIFICATE_UNTRUSTED', statusCode: 502, upstreamTarget: 'https://a.test:8443', cause })
    expect(untrusted.message).not.toContain('self-signed')
    expect(upstreamTlsError(failure('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'), 'https://a.test')).toMatchObject({ code: 'UPSTREAM_TLS_HANDSHAKE_FAILED', statusCode: 502 })
  })
})
