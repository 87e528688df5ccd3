// Where the plain port sends a client when only HTTPS is served: the same host and path on
// the TLS port, and no redirect for a Host header that names no host.
import { describe, expect, it } from 'vitest'
import { httpsLocation } from '../../../../src/gateway/tls/redirect-server.js'

describe('HTTPS redirect location', () => {
  it('keeps the host and the path with its query, and replaces the port with the TLS port', () => {
    expect(httpsLocation('api.example.com:8080', '/orders/42?expand=items', 8443)).toBe('https://api.example.com:8443/orders/42?expand=items')
    expect(httpsLocation('api.example.com', '/', 8443)).toBe('https://api.example.com:8443/')
    expect(httpsLocation('10.0.0.5:80', '/x', 8443)).toBe('https://10.0.0.5:8443/x')
    expect(httpsLocation('[2001:db8::1]:8080', '/x', 8443)).toBe('https://[2001:db8::1]:8443/x')
  })

  it('leaves the port out when it is 443', () => {
    expect(httpsLocation('api.example.com', '/orders', 443)).toBe('https://api.example.com/orders')
  })

  it('refuses a Host header that is missing or is not a host name', () => {
    for (const host of [undefined, '', 'evil.test/phish', 'user@evil.test', 'a b', 'api.example.com:port', '[zz::1]']) {
      expect(httpsLocation(host, '/x', 8443)).toBeUndefined()
    }
  })

  it('does not carry an absolute-form target to another host', () => {
    expect(httpsLocation('api.example.com', 'http://evil.test/x', 8443)).toBe('https://api.example.com:8443/')
  })
})
