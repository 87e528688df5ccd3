// The IP restriction's pure logic: which configurations are refused and why, and which
// addresses its compiled lists admit (deny first, then the allow list), in both families.
import { Compile } from 'typebox/compile'
import { describe, expect, it } from 'vitest'
import { IpRestriction, IpRestrictionConfig, ipRestrictionProblem, MAX_IP_RULES } from '../../../../../src/gateway/policies/ip-restriction/ip-restriction.js'

const schema = Compile(IpRestrictionConfig)

function admits (config: IpRestrictionConfig, addresses: string[]): Record<string, boolean> {
  const restriction = new IpRestriction(config)
  return Object.fromEntries(addresses.map(address => [address, restriction.admits(address)]))
}

describe('IP restriction configuration', () => {
  it.each([
    [{ allow: ['203.0.113.7'] }],
    [{ deny: ['10.0.0.0/8', '2001:db8::/32', '::1', '0.0.0.0/0'] }],
    [{ allow: ['2001:db8:1:2::/64', '::ffff:10.0.0.0/104', '192.0.2.0/24'], deny: ['192.0.2.66'] }],
    [{ allow: [], deny: [] }]
  ])('passes the schema: %j', config => {
    expect(schema.Check(config)).toBe(true)
  })

  it.each([
    [{ allow: '10.0.0.1' }, 'a string for a list'],
    [{ allow: ['10.0.0.1', '10.0.0.1'] }, 'a duplicate'],
    [{ allow: [''] }, 'an empty entry'],
    [{ allow: ['10.0.0.1'], except: ['10.0.0.2'] }, 'an unknown field'],
    [{ deny: Array.from({ length: MAX_IP_RULES + 1 }, (_, index) => `10.0.${index >> 8}.${index & 255}`) }, 'more entries than the cap']
  ] as Array<[unknown, string]>)('refuses %j (%s) by schema', config => {
    expect(schema.Check(config)).toBe(false)
  })

  it('accepts addresses and CIDRs of both families', () => {
    expect(ipRestrictionProblem({ allow: ['203.0.113.7', '198.51.100.0/24', '2001:db8::1', '2001:db8::/32', '0.0.0.0/0', '::/0'], deny: ['10.0.0.0/8'] })).toBeUndefined()
    expect(ipRestrictionProblem({ deny: [] })).toBeUndefined()
  })

  it.each([
    [{ allow: ['10.0.0.0/33'] }, 'ipRestriction.allow: 10.0.0.0/33 is not a CIDR: the prefix length of an IPv4 address is 0 to 32'],
    [{ deny: ['2001:db8::/129'] }, 'ipRestriction.deny: 2001:db8::/129 is not a CIDR: the prefix length of an IPv6 address is 0 to 128'],
    [{ deny: ['10.0.0.0/'] }, 'ipRestriction.deny: 10.0.0.0/ is not a CIDR: the prefix length of an IPv4 address is 0 to 32'],
    [{ deny: ['10.0.0.0/-1'] }, 'ipRestriction.deny: 10.0.0.0/-1 is not a CIDR: the prefix length of an IPv4 address is 0 to 32'],
    [{ deny: ['10.0.0.0/8/8'] }, 'ipRestriction.deny: 10.0.0.0/8/8 is not a CIDR: the prefix length of an IPv4 address is 0 to 32'],
    [{ allow: ['10.0.0.1', 'office'] }, 'ipRestriction.allow: office is not an IP address or CIDR'],
    [{ allow: ['256.0.0.1'] }, 'ipRestriction.allow: 256.0.0.1 is not an IP address or CIDR'],
    [{ allow: ['010.0.0.1'] }, 'ipRestriction.allow: 010.0.0.1 is not an IP address or CIDR'],
    [{ allow: [' 10.0.0.1'] }, 'ipRestriction.allow:  10.0.0.1 is not an IP address or CIDR'],
    [{ allow: ['fe80::1%eth0'] }, 'ipRestriction.allow: fe80::1%eth0 is not an IP address or CIDR'],
    [{ allow: ['10.0.0.*'] }, 'ipRestriction.allow: 10.0.0.* is not an IP address or CIDR']
  ] as Array<[IpRestrictionConfig, string]>)('refuses %j with a message naming the entry', (config, message) => {
    expect(ipRestrictionProblem(config)).toBe(message)
  })

  it('refuses a restriction that lists nothing, and an allow list that admits no one', () => {
    expect(ipRestrictionProblem({})).toMatch(/needs an allow or a deny list/)
    expect(ipRestrictionProblem({ allow: [], deny: ['10.0.0.1'] })).toMatch(/allow is empty: no address could call/)
  })
})

describe('IP restriction decisions', () => {
  it('admits only the allow list, with single addresses and CIDRs', () => {
    expect(admits({ allow: ['203.0.113.7', '198.51.100.0/24'] }, ['203.0.113.7', '203.0.113.8', '198.51.100.255', '198.51.101.0', '127.0.0.1'])).toEqual({
      '203.0.113.7': true, '203.0.113.8': false, '198.51.100.255': true, '198.51.101.0': false, '127.0.0.1': false
    })
  })

  it('refuses the deny list and admits the rest when there is no allow list', () => {
    expect(admits({ deny: ['10.0.0.0/8'] }, ['10.255.0.1', '11.0.0.1', '2001:db8::1'])).toEqual({ '10.255.0.1': false, '11.0.0.1': true, '2001:db8::1': true })
  })

  it('lets deny win over allow', () => {
    expect(admits({ allow: ['192.0.2.0/24'], deny: ['192.0.2.66', '192.0.2.128/25'] }, ['192.0.2.1', '192.0.2.66', '192.0.2.200'])).toEqual({ '192.0.2.1': true, '192.0.2.66': false, '192.0.2.200': false })
  })

  it('matches an IPv4-mapped IPv6 address against an IPv4 rule, and an IPv4 address against a mapped rule', () => {
    expect(admits({ allow: ['10.1.2.0/24'] }, ['::ffff:10.1.2.3', '::FFFF:10.1.2.3', '::ffff:a01:203', '::ffff:10.1.3.3'])).toEqual({
      '::ffff:10.1.2.3': true, '::FFFF:10.1.2.3': true, '::ffff:a01:203': true, '::ffff:10.1.3.3': false
    })
    expect(admits({ deny: ['10.1.2.3'] }, ['::ffff:10.1.2.3'])).toEqual({ '::ffff:10.1.2.3': false })
    expect(admits({ allow: ['::ffff:10.0.0.0/104'] }, ['10.9.9.9', '11.0.0.1'])).toEqual({ '10.9.9.9': true, '11.0.0.1': false })
  })

  it('matches an IPv6 /64 in any spelling, and keeps the families apart otherwise', () => {
    expect(admits({ allow: ['2001:db8:1:2::/64'] }, ['2001:db8:1:2::1', '2001:0db8:0001:0002:ffff:ffff:ffff:ffff', '2001:DB8:1:2:0:0:0:9', '2001:db8:1:3::1', '10.0.0.1'])).toEqual({
      '2001:db8:1:2::1': true, '2001:0db8:0001:0002:ffff:ffff:ffff:ffff': true, '2001:DB8:1:2:0:0:0:9': true, '2001:db8:1:3::1': false, '10.0.0.1': false
    })
    expect(admits({ allow: ['::1'] }, ['::1', '0:0:0:0:0:0:0:1', '127.0.0.1'])).toEqual({ '::1': true, '0:0:0:0:0:0:0:1': true, '127.0.0.1': false })
    expect(admits({ allow: ['0.0.0.0/0'] }, ['203.0.113.7', '2001:db8::1'])).toEqual({ '203.0.113.7': true, '2001:db8::1': false })
  })

  it('takes a CIDR written with host bits as its network', () => {
    expect(admits({ allow: ['10.1.2.3/8'] }, ['10.200.0.1', '11.0.0.1'])).toEqual({ '10.200.0.1': true, '11.0.0.1': false })
  })

  it('refuses an address it cannot read, even with only a deny list', () => {
    expect(admits({ deny: ['10.0.0.1'] }, ['', 'unknown'])).toEqual({ '': false, unknown: false })
  })

  it('answers the same for an address it has seen, also after its recent answers are dropped', () => {
    const restriction = new IpRestriction({ allow: ['10.0.0.0/8'], deny: ['10.0.0.13'] })
    const addresses = Array.from({ length: 600 }, (_, index) => `10.0.${index >> 8}.${index & 255}`)
    const first = addresses.map(address => restriction.admits(address))
    expect(addresses.map(address => restriction.admits(address))).toEqual(first)
    expect(first.filter(admitted => !admitted)).toHaveLength(1)
    expect([restriction.admits('10.0.0.13'), restriction.admits('11.0.0.1'), restriction.admits('10.0.0.14')]).toEqual([false, false, true])
  })
})
