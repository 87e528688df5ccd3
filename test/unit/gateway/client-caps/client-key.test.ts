// Which client a connection or request is charged to: IPv4 addresses as they are (mapped or
// not), IPv6 addresses by their /64, whatever their spelling.
import { describe, expect, it } from 'vitest'
import { clientKey } from '../../../../src/gateway/client-caps/client-key.js'

describe('client key', () => {
  it('is the IPv4 address, also when it reached a dual-stack socket as an IPv4-mapped IPv6 address', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7')
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7')
    expect(clientKey('::FFFF:127.0.0.1')).toBe('127.0.0.1')
  })

  it('is the /64 of an IPv6 address: every address a host can pick in its /64 is the same client', () => {
    expect(clientKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64')
    expect(clientKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64')
    expect(clientKey('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64')
  })

  it('gives one key to every spelling of a network: zeros compressed or not, case, leading zeros, zone', () => {
    const spellings = ['2001:db8::1', '2001:0db8:0000:0000:0000:0000:0000:0001', '2001:DB8:0:0:ffff::', '2001:db8::', '2001:db8:0::1:2:3']
    expect(new Set(spellings.map(clientKey))).toEqual(new Set(['2001:db8:0:0::/64']))
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
    expect(clientKey('::1')).toBe('0:0:0:0::/64')
  })

  it('reads groups after the gap into the first 64 bits when the gap is short', () => {
    expect(clientKey('2001:db8::5:6:7:8:9')).toBe('2001:db8:0:5::/64')
    expect(clientKey('64:ff9b::198.51.100.1')).toBe('64:ff9b:0:0::/64')
    expect(clientKey('2001:db8:1:2:3:4:198.51.100.1')).toBe('2001:db8:1:2::/64')
  })

  it('leaves what is not an address as it came', () => {
    expect(clientKey('')).toBe('')
    expect(clientKey('not-an-address')).toBe('not-an-address')
  })
})
