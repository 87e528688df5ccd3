import { describe, expect, it } from 'vitest'
import { isInternalAddress } from '../../../src/gateway/internal-address.js'

describe('isInternalAddress', () => {
  it('accepts loopback and private addresses, IPv4, IPv6 and IPv4-mapped', () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.5']) {
      expect(isInternalAddress(address), address).toBe(true)
    }
  })

  it('refuses public addresses and unknown peers', () => {
    for (const address of ['8.8.8.8', '172.32.0.1', '172.15.0.1', '192.169.0.1', '2001:db8::1', '::ffff:8.8.8.8', undefined]) {
      expect(isInternalAddress(address), String(address)).toBe(false)
    }
  })
})
