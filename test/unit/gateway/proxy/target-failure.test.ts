import { describe, expect, it } from 'vitest'
import { isRetryableFailure, isTargetFailure, isTargetFailureStatus } from '../../../../src/gateway/proxy/target-failure.js'

function failure (code: string): Error {
  return Object.assign(new Error(code), { code })
}

describe('target failures', () => {
  it.each(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND'])('counts %s against the target', code => {
    expect(isTargetFailure(failure(code))).toBe(true)
    expect(isRetryableFailure(failure(code))).toBe(true)
  })

  it.each(['SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'ERR_SSL_WRONG_VERSION_NUMBER'])('counts the TLS failure %s against the target and replays the request elsewhere', code => {
    expect(isTargetFailure(failure(code))).toBe(true)
    expect(isRetryableFailure(failure(code))).toBe(true)
  })

  it.each(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_ABORTED', 'UND_ERR_CLOSED'])('does not count %s against the target', code => {
    expect(isTargetFailure(failure(code))).toBe(false)
  })

  it('replays a request whose pool closed under it but not one that timed out', () => {
    expect(isRetryableFailure(failure('UND_ERR_CLOSED'))).toBe(true)
    expect(isRetryableFailure(failure('UND_ERR_HEADERS_TIMEOUT'))).toBe(false)
    expect(isRetryableFailure(new Error('no code'))).toBe(false)
  })

  it('counts 502, 503 and 504 answers against the target, not other statuses', () => {
    expect([500, 501, 502, 503, 504, 505, 429, 200].filter(isTargetFailureStatus)).toEqual([502, 503, 504])
  })
})
