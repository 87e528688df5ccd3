// The client address behind trusted proxies: X-Forwarded-For counts only from them.
import { describe, expect, it } from 'vitest'
import { TrustedProxies } from '../../../src/gateway/client-address.js'

describe('client address', () => {
  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    expect(new TrustedProxies([]).clientAddress('203.0.113.7', '198.51.100.1')).toBe('203.0.113.7')
    expect(new TrustedProxies(['10.0.0.0/8']).clientAddress('203.0.113.7', '198.51.100.1')).toBe('203.0.113.7')
  })

  it('takes the first untrusted address from the right, so a forged prefix is skipped', () => {
    const proxies = new TrustedProxies(['10.0.0.0/8', '192.168.1.1'])
    expect(proxies.clientAddress('10.1.2.3', '198.51.100.1')).toBe('198.51.100.1')
    expect(proxies.clientAddress('10.1.2.3', '6.6.6.6, 198.51.100.1, 192.168.1.1')).toBe('198.51.100.1')
    expect(proxies.clientAddress('::ffff:10.1.2.3', ['6.6.6.6', '198.51.100.1'])).toBe('198.51.100.1')
  })

  it('stops at a hop that is not an address, and falls back to the peer without X-Forwarded-For', () => {
    const proxies = new TrustedProxies(['10.0.0.0/8'])
    expect(proxies.clientAddress('10.1.2.3', 'garbage, 10.9.9.9')).toBe('10.9.9.9')
    expect(proxies.clientAddress('10.1.2.3', undefined)).toBe('10.1.2.3')
    expect(proxies.clientAddress('::ffff:127.0.0.1', undefined)).toBe('127.0.0.1')
  })

  it('handles IPv6 CIDRs and refuses entries that are not addresses', () => {
    expect(new TrustedProxies(['fd00::/8']).clientAddress('fd00::1', '2001:db8::5')).toBe('2001:db8::5')
    // '10.0.0.0/' was read as /0 once: every IPv4 peer trusted to name any client address
    for (const bad of ['10.0.0.0/33', 'proxy.local', '10.0.0.0/8/1', 'fd00::/129', '10.0.0.0/', '10.0.0.0/ 8', '10.0.0.0/-1']) expect(() => new TrustedProxies([bad]), bad).toThrow(/trustedProxies/)
  })
})
